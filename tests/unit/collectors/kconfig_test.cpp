// KConfig INI as KDE reads kscreenlockerrc: groups, [$i] on file, group and key, localized and
// unreadable lines skipped.
#include "collectors/kconfig.h"

#include <gtest/gtest.h>

namespace cg::collectors {
namespace {

TEST(KConfig, GroupsKeysAndImmutableMarkers) {
  const KConfigFile f = ParseKConfig(
      "# comment\n[Daemon]\nTimeout=5\nAutolock[$i]=true\n  LockGrace = 10 \n"
      "[Greeter][Wallpaper][$i]\nImage=x.png\n[Other][$i]\n");
  ASSERT_EQ(f.groups.count("Daemon"), 1u);
  const KConfigGroup& daemon = f.groups.at("Daemon");
  EXPECT_FALSE(daemon.immutable);
  EXPECT_EQ(daemon.entries.at("Timeout").value, "5");
  EXPECT_FALSE(daemon.entries.at("Timeout").immutable);
  EXPECT_TRUE(daemon.entries.at("Autolock").immutable);
  EXPECT_EQ(daemon.entries.at("LockGrace").value, "10");
  ASSERT_EQ(f.groups.count("Greeter\x1dWallpaper"), 1u);  // nested group
  EXPECT_TRUE(f.groups.at("Greeter\x1dWallpaper").immutable);
  EXPECT_EQ(f.groups.at("Greeter\x1dWallpaper").entries.at("Image").value, "x.png");
  EXPECT_TRUE(f.groups.at("Other").immutable);
  EXPECT_FALSE(f.immutable);
}

TEST(KConfig, FileLevelImmutableOnlyBeforeTheFirstGroup) {
  EXPECT_TRUE(ParseKConfig("[$i]\n[Daemon]\nTimeout=5\n").immutable);
  EXPECT_FALSE(ParseKConfig("[Daemon]\n[$i]\nTimeout=5\n").immutable);
}

TEST(KConfig, SkipsWhatKConfigSkips) {
  const KConfigFile f = ParseKConfig(
      "Orphan=1\n[Daemon]\nTimeout[de]=9\nno equals sign\n[Broken\nTimeout=7\n=nokey\n");
  // The key before any group, the localized value, the line without '=' and the empty key are
  // dropped; a header KConfig cannot read leaves the current group as it was.
  ASSERT_EQ(f.groups.size(), 1u);
  const auto& entries = f.groups.at("Daemon").entries;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries.at("Timeout").value, "7");
}

TEST(KConfig, BooleansAsKConfigReadsThem) {
  for (const char* t : {"true", "TRUE", "on", "Yes", "1", " true "}) {
    EXPECT_EQ(ParseKdeBool(t), true) << t;
  }
  for (const char* f : {"false", "Off", "no", "0"}) {
    EXPECT_EQ(ParseKdeBool(f), false) << f;
  }
  for (const char* bad : {"", "2", "enabled", "truee"}) {
    EXPECT_EQ(ParseKdeBool(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace cg::collectors

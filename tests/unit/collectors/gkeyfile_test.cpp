// GKeyFile syntax and dconf's reading of its keyfiles and locks files.
#include "collectors/gkeyfile.h"

#include <gtest/gtest.h>

namespace cg::collectors {
namespace {

TEST(GKeyFile, GroupsKeysCommentsAndWhitespace) {
  auto entries = ParseKeyFile(
      "# a comment\n\n[org.gnome.desktop.session]\n  idle-delay = uint32 300  \n"
      "[org.gnome.desktop.screensaver:GNOME-Classic]\nlock-enabled=true\r\nempty=\n");
  ASSERT_TRUE(entries.ok()) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].group, "org.gnome.desktop.session");
  EXPECT_EQ((*entries)[0].key, "idle-delay");
  EXPECT_EQ((*entries)[0].value, "uint32 300");
  EXPECT_EQ((*entries)[1].group, "org.gnome.desktop.screensaver:GNOME-Classic");
  EXPECT_EQ((*entries)[1].value, "true");
  EXPECT_EQ((*entries)[2].key, "empty");
  EXPECT_EQ((*entries)[2].value, "");
}

TEST(GKeyFile, RefusesWhatGLibRefusesWithTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const auto& c :
       {Case{"x=1\n", "line 1: key before the first group"},
        Case{"[g]\nnot a pair\n", "line 2: neither a group nor key=value"},
        Case{"[g]\n=value\n", "line 2: neither a group nor key=value"},
        Case{"# c\n[]\n", "line 2: bad group"}, Case{"[g\nx=1\n", "line 1: bad group"}}) {
    auto r = ParseKeyFile(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::kParse);
    EXPECT_EQ(r.error().message, c.message) << c.text;
  }
}

TEST(GKeyFile, DconfKeyfilesAndLocksFollowDconfRules) {
  auto kf = ParseDconfKeyfile("# c\n[org/a]\nx = uint32 1\n[/]\ntop=true\n[org/a]\nx=uint32 2\n");
  ASSERT_TRUE(kf.ok()) << kf.error().ToString();
  EXPECT_EQ(kf->at("/org/a/x"), "uint32 2");  // the later entry wins
  EXPECT_EQ(kf->at("/top"), "true");
  EXPECT_FALSE(ParseDconfKeyfile("x=1\n").ok());
  EXPECT_FALSE(ParseDconfKeyfile("[g]\nnot a pair\n").ok());
  const auto locks = ParseDconfLocks("# comment\n/a/b  \n  /c/d\n\n/e\n");
  EXPECT_EQ(locks, (std::set<std::string>{"/a/b", "/e"}));
}

}  // namespace
}  // namespace cg::collectors

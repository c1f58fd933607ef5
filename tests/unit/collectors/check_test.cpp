// The runner's undo engine: files restored newest first, then commands, over the fake platform.
#include "collectors/check.h"

#include <gtest/gtest.h>

#include "platform/fake/fake_platform.h"

namespace cg::collectors {
namespace {

using nlohmann::json;

TEST(UndoChanges, RestoresFilesNewestFirstThenRunsCommands) {
  auto fake = platform::fake::MakeFakePlatform();
  fake.fs().AddFile("/etc/a.conf", "new a");
  fake.fs().AddFile("/etc/b.conf", "created by enforcement");
  platform::CommandResult ok;
  ok.exit_code = 0;
  fake.commands().SetResult({"dconf", "update"}, ok);
  const json changes = json::array({
      {{"target", "/etc/a.conf"}, {"undo", {RestoreFileOp("/etc/a.conf", "old a", 0600)}}},
      {{"target", "/etc/b.conf"}, {"undo", {RestoreFileOp("/etc/b.conf", std::nullopt, 0644)}}},
      {{"target", "db"}, {"undo", {{{"op", "run"}, {"argv", {"dconf", "update"}}}}}},
  });
  auto dry = UndoChanges(fake.platform(), changes, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.error().ToString();
  EXPECT_EQ(dry->size(), 3u);
  EXPECT_TRUE(fake.fs().writes().empty());
  EXPECT_TRUE(fake.commands().calls().empty());

  auto done = UndoChanges(fake.platform(), changes, /*dry_run=*/false);
  ASSERT_TRUE(done.ok()) << done.error().ToString();
  ASSERT_EQ(done->size(), 3u);
  EXPECT_EQ((*done)[0], "remove /etc/b.conf");  // newest file change first
  EXPECT_EQ((*done)[2], "run dconf update");    // commands after every file
  EXPECT_EQ(*fake.platform().fs->ReadFile("/etc/a.conf"), "old a");
  EXPECT_FALSE(fake.platform().fs->Exists("/etc/b.conf"));
  ASSERT_EQ(fake.commands().calls().size(), 1u);
}

TEST(UndoChanges, BinaryContentRoundTripsThroughBase64) {
  auto fake = platform::fake::MakeFakePlatform();
  const std::string binary("\xff\xfe\x00\x01", 4);
  const json op = RestoreFileOp("/etc/bin", binary, 0644);
  EXPECT_TRUE(op.contains("content_base64"));
  ASSERT_TRUE(UndoChanges(fake.platform(), json::array({{{"undo", {op}}}}), false).ok());
  EXPECT_EQ(*fake.platform().fs->ReadFile("/etc/bin"), binary);
}

TEST(UndoChanges, RefusesUnknownOperationsBeforeChangingAnything) {
  auto fake = platform::fake::MakeFakePlatform();
  fake.fs().AddFile("/etc/a.conf", "new a");
  const json changes = json::array({
      {{"undo", {RestoreFileOp("/etc/a.conf", "old a", 0644)}}},
      {{"undo", {{{"op", "format_disk"}}}}},
  });
  auto r = UndoChanges(fake.platform(), changes, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("format_disk"), std::string::npos);
  EXPECT_EQ(*fake.platform().fs->ReadFile("/etc/a.conf"), "new a");
}

TEST(UndoChanges, AFailingCommandIsAnError) {
  auto fake = platform::fake::MakeFakePlatform();
  platform::CommandResult bad;
  bad.exit_code = 3;
  bad.err = "chage: user 'zed' does not exist\n";
  fake.commands().SetResult({"chage", "-M", "-1", "zed"}, bad);
  auto r = UndoChanges(
      fake.platform(),
      json::array({{{"undo", {{{"op", "run"}, {"argv", {"chage", "-M", "-1", "zed"}}}}}}}), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos);
}

}  // namespace
}  // namespace cg::collectors

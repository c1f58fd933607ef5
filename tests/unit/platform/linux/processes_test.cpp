// The /proc walker over a small tree: numeric entries only, sorted by pid, vanished processes
// skipped, exe read from the link; and the live /proc containing this test.
#include "platform/linux/processes.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

using std::string_literals::operator""s;

TEST(ProcProcessTable, FixtureTree) {
  testing::TempTree tree;
  tree.Put("proc/1/comm", "systemd\n");
  tree.Put("proc/1/cmdline", "/sbin/init\0splash\0"s);
  tree.Link("proc/1/exe", "/usr/lib/systemd/systemd");
  tree.Put("proc/42/comm", "clamd\n");
  tree.Put("proc/42/cmdline", "/usr/sbin/clamd\0--foreground=true\0"s);
  tree.Put("proc/1000/comm", "kworker/0:1\n");  // kernel thread: empty cmdline, no exe
  tree.Put("proc/1000/cmdline", "");
  tree.Dir("proc/7");  // exited between listing and reading
  tree.Put("proc/99", "not a directory");
  tree.Link("proc/self", "42");
  tree.Put("proc/sys/kernel/osrelease", "6.1.0\n");
  auto fs = RootedFileSystem::Create(tree.root());
  ASSERT_TRUE(fs.ok());
  auto list = ProcProcessTable(**fs).List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 3u);
  const auto& init = (*list)[0];
  EXPECT_EQ(init.pid, 1);
  EXPECT_EQ(init.name, "systemd");
  EXPECT_EQ(init.exe, "/usr/lib/systemd/systemd");
  EXPECT_EQ(init.cmdline, (std::vector<std::string>{"/sbin/init", "splash"}));
  const auto& clamd = (*list)[1];
  EXPECT_EQ(clamd.pid, 42);  // numeric order, though "1000" < "42" as names
  EXPECT_EQ(clamd.name, "clamd");
  EXPECT_EQ(clamd.exe, "");
  EXPECT_EQ(clamd.cmdline, (std::vector<std::string>{"/usr/sbin/clamd", "--foreground=true"}));
  const auto& kthread = (*list)[2];
  EXPECT_EQ(kthread.pid, 1000);
  EXPECT_EQ(kthread.name, "kworker/0:1");
  EXPECT_TRUE(kthread.cmdline.empty());
}

TEST(ProcProcessTable, MissingProcIsAnError) {
  testing::TempTree tree;
  tree.Dir("etc");
  auto fs = RootedFileSystem::Create(tree.root());
  ASSERT_TRUE(fs.ok());
  auto list = ProcProcessTable(**fs).List();
  ASSERT_FALSE(list.ok());
  EXPECT_EQ(list.error().code, ErrorCode::kNotFound);
}

TEST(ProcProcessTable, LiveProcContainsThisTest) {
  auto fs = RootedFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  auto list = ProcProcessTable(**fs).List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  const auto self = std::find_if(list->begin(), list->end(),
                                 [](const ProcessInfo& p) { return p.pid == getpid(); });
  ASSERT_NE(self, list->end());
  EXPECT_EQ(self->name, "cg_platform_pro");  // comm: the first 15 bytes of the name
  EXPECT_NE(self->exe.find("cg_platform_processes_test"), std::string::npos) << self->exe;
  ASSERT_FALSE(self->cmdline.empty());
  EXPECT_TRUE(
      std::is_sorted(list->begin(), list->end(),
                     [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; }));
}

}  // namespace
}  // namespace cg::platform::linux_

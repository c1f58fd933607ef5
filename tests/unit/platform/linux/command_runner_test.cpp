// The command runner with real Debian programs: exit codes, bounded output, a timeout that
// kills the whole process group, a clean environment, and Which() under a root.
#include "platform/linux/command_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "platform/os/files.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<PosixCommandRunner> LiveRunner() {
  auto fs = RootedFileSystem::Create("/");
  EXPECT_TRUE(fs.ok());
  return std::make_unique<PosixCommandRunner>(**fs);
}

// True once `pid` has exited (gone, or a zombie waiting for its reaper).
bool ProcessEnded(pid_t pid) {
  auto stat = ReadFileToString("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) {
    return true;
  }
  const size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z';
}

TEST(CommandRunner, TrueAndExitCodes) {
  auto runner = LiveRunner();
  auto r = runner->Run({"/bin/true"}, seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  auto bare = runner->Run({"true"}, seconds(10));  // bare names: the fixed system PATH
  ASSERT_TRUE(bare.ok()) << bare.error().ToString();
  EXPECT_EQ(bare->exit_code, 0);
  auto three = runner->Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, seconds(10));
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->exit_code, 3);
  EXPECT_EQ(three->out, "out\n");
  EXPECT_EQ(three->err, "err\n");
}

TEST(CommandRunner, ArgvIsNotInterpretedByAShell) {
  auto runner = LiveRunner();
  auto r = runner->Run({"/bin/echo", "a; echo injected", "$HOME", "*"}, seconds(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a; echo injected $HOME *\n");
}

TEST(CommandRunner, OutputIsBoundedAndTheRestDiscarded) {
  auto runner = LiveRunner();
  // 200 KB is more than a pipe holds: the runner must keep draining or the child would block
  // until the deadline.
  auto r =
      runner->Run({"/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; echo tail >&2; exit 0"},
                  seconds(30), 1000);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, std::string(1000, 'a'));
  EXPECT_EQ(r->err, "tail\n");
}

TEST(CommandRunner, TimeoutKillsTheProcessGroup) {
  auto runner = LiveRunner();
  auto r = runner->Run({"/bin/sh", "-c", "sleep 60 & echo $!; wait"}, milliseconds(300));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  const pid_t grandchild = std::stoi(r->out);
  // The background sleep was in the group: it must die too (bounded wait for the reaper).
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    ended = ProcessEnded(grandchild);
    if (!ended) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  EXPECT_TRUE(ended) << "pid " << grandchild << " survived the timeout";
}

TEST(CommandRunner, BackgroundDescendantDoesNotHoldTheResult) {
  auto runner = LiveRunner();
  auto r = runner->Run({"/bin/sh", "-c", "sleep 60 & echo $!"}, seconds(30));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_FALSE(r->timed_out);  // returned when sh exited, not at the deadline
  EXPECT_EQ(r->exit_code, 0);
  const pid_t leftover = std::stoi(r->out);
  ASSERT_GT(leftover, 1);
  ::kill(leftover, SIGKILL);  // the sleep we started
}

TEST(CommandRunner, EnvironmentIsCleanAndStdinIsDevNull) {
  ASSERT_EQ(setenv("CG_TEST_SECRET", "leak", 1), 0);
  auto runner = LiveRunner();
  auto env = runner->Run({"/usr/bin/env"}, seconds(10));
  unsetenv("CG_TEST_SECRET");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->out, "LC_ALL=C\nLANG=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
  auto in = runner->Run({"/bin/readlink", "/proc/self/fd/0"}, seconds(10));
  ASSERT_TRUE(in.ok());
  EXPECT_EQ(in->out, "/dev/null\n");
  auto cat = runner->Run({"/bin/cat"}, seconds(10));  // would wait for input otherwise
  ASSERT_TRUE(cat.ok());
  EXPECT_FALSE(cat->timed_out);
  EXPECT_EQ(cat->out, "");
}

TEST(CommandRunner, UnstartableProgramsAreErrors) {
  auto runner = LiveRunner();
  auto missing = runner->Run({"/nonexistent/cg-tool"}, seconds(10));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto bare = runner->Run({"cg-no-such-program"}, seconds(10));
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kNotFound);
  auto relative = runner->Run({"bin/true"}, seconds(10));
  ASSERT_FALSE(relative.ok());
  EXPECT_EQ(relative.error().code, ErrorCode::kInvalidArgument);
  auto empty = runner->Run({}, seconds(10));
  ASSERT_FALSE(empty.ok());
}

TEST(CommandRunner, WhichLooksUnderTheRoot) {
  testing::TempTree tree{"cg-which"};
  const std::string& root = tree.root();
  tree.Put("usr/bin/tool", "#!/bin/sh\n", std::filesystem::perms(0755));
  tree.Put("usr/sbin/plain", "data\n", std::filesystem::perms(0644));
  tree.Link("bin", "usr/bin");  // merged /usr, relative link
  tree.Link("usr/sbin/linked", "/usr/bin/tool");

  auto fs = RootedFileSystem::Create(root);
  ASSERT_TRUE(fs.ok());
  PosixCommandRunner runner(**fs);
  EXPECT_EQ(runner.Which("tool"), "/usr/bin/tool");
  EXPECT_EQ(runner.Which("linked"), "/usr/sbin/linked");
  EXPECT_EQ(runner.Which("plain"), "");  // not executable
  EXPECT_EQ(runner.Which("sh"), "");     // the host has it, the tree does not
  EXPECT_EQ(runner.Which("../bin/tool"), "");
  EXPECT_EQ(runner.Which(""), "");

  EXPECT_NE(LiveRunner()->Which("sh"), "");
}

}  // namespace
}  // namespace cg::platform::linux_

// The Linux stop source (platform/linux/os/stop_source.cpp): SIGTERM and SIGINT reach Wait and
// Start's callback, and the source's thread waits for them without waking up on its own (an idle
// `cg-agent run` must not spend wakeups on it).
#include "platform/os/stop_source.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cg::os {
namespace {

// What a Start callback saw. The wait is bounded only so that a broken source fails the test
// instead of hanging it; nothing is asserted about how long delivery takes.
struct Seen {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<std::string> why;

  StopSource::Callback Callback() {
    return [this](const std::string& w) {
      std::lock_guard lock(mutex);
      why = w;
      cv.notify_all();
    };
  }
  std::optional<std::string> Take() {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, std::chrono::seconds(60), [this] { return why.has_value(); });
    std::optional<std::string> out = why;
    why.reset();
    return out;
  }
};

// The fields of /proc/self/task/TID/syscall of every other thread of this process: the number
// of the system call it is blocked in, then its arguments ("running" when it is not blocked).
std::vector<std::vector<std::string>> OtherThreadsSyscalls() {
  std::vector<std::vector<std::string>> out;
  const auto self = std::to_string(::syscall(SYS_gettid));
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    if (task.path().filename() == self) {
      continue;
    }
    std::ifstream in(task.path() / "syscall");
    std::string line;
    std::getline(in, line);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string x; fields >> x;) {
      f.push_back(x);
    }
    out.push_back(f);
  }
  return out;
}

TEST(StopSourceTest, SigtermReachesWait) {
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  // Blocked in this thread by Create, so it stays pending until Wait takes it.
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_EQ((*source)->Wait(), "signal 15");
}

TEST(StopSourceTest, SignalsReachStartCallbackEveryTime) {
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  Seen seen;
  (*source)->Start(seen.Callback());
  ASSERT_EQ(::kill(::getpid(), SIGINT), 0);
  EXPECT_EQ(seen.Take(), "signal 2");
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  EXPECT_EQ(seen.Take(), "signal 15");
}

TEST(StopSourceTest, TheSourcesThreadWaitsWithoutATimeout) {
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  Seen seen;
  (*source)->Start(seen.Callback());
  // Find the source's thread blocked in rt_sigtimedwait (what sigwaitinfo and sigtimedwait
  // both call); its third argument is the timeout, which must be NULL.
  std::optional<std::vector<std::string>> waiting;
  for (int attempt = 0; attempt < 6000 && !waiting; ++attempt) {
    for (auto& f : OtherThreadsSyscalls()) {
      if (!f.empty() && f[0] == std::to_string(SYS_rt_sigtimedwait)) {
        waiting = f;
      }
    }
    if (!waiting) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ASSERT_TRUE(waiting.has_value()) << "the source's thread never waited for a signal";
  ASSERT_GE(waiting->size(), 4u);
  EXPECT_EQ((*waiting)[3], "0x0") << "the wait has a timeout: the thread wakes up on its own";
}

TEST(StopSourceTest, DestroyingAStartedSourceCallsNothing) {
  Seen seen;
  {
    auto source = StopSource::Create();
    ASSERT_TRUE(source.ok()) << source.error().ToString();
    (*source)->Start(seen.Callback());
  }
  std::lock_guard lock(seen.mutex);
  EXPECT_FALSE(seen.why.has_value());
}

}  // namespace
}  // namespace cg::os

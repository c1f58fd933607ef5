// The Windows stop source (platform/windows/os/stop_source.cpp): the SCM's stop (through
// windows::RequestStop, as RunAsService calls it; the SCM route itself is in
// platform/service_test.cpp) and a real console Ctrl+Break reach Wait and Start's callback.
#include "platform/os/stop_source.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "platform/windows/os/stop_request.h"

namespace cg::os {
namespace {

// What a Start callback saw. The wait is bounded only so that a broken source fails the test
// instead of hanging it; nothing is asserted about how long delivery takes.
struct Seen {
  std::mutex mutex;
  std::condition_variable cv;
  std::optional<std::string> why;
  std::thread::id thread;

  StopSource::Callback Callback() {
    return [this](const std::string& w) {
      std::lock_guard lock(mutex);
      why = w;
      thread = std::this_thread::get_id();
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

TEST(StopSourceTest, ServiceStopReachesWait) {
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  windows::RequestStop("service stop");
  EXPECT_EQ((*source)->Wait(), "service stop");
}

TEST(StopSourceTest, ServiceStopReachesStartCallbackOnTheSourcesThread) {
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  Seen seen;
  (*source)->Start(seen.Callback());
  windows::RequestStop("service shutdown");
  EXPECT_EQ(seen.Take(), "service shutdown");
  EXPECT_NE(seen.thread, std::this_thread::get_id());
  // A second request is delivered too (the agent may be asked twice).
  windows::RequestStop("service stop");
  EXPECT_EQ(seen.Take(), "service stop");
}

TEST(StopSourceTest, RequestBeforeAnySourceIsDeliveredToTheNextOne) {
  windows::RequestStop("service stop");  // the SCM stopped the service while it was starting
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  EXPECT_EQ((*source)->Wait(), "service stop");
}

TEST(StopSourceTest, EveryLiveSourceGetsTheRequest) {
  auto a = StopSource::Create();
  auto b = StopSource::Create();
  ASSERT_TRUE(a.ok() && b.ok());
  windows::RequestStop("service stop");
  EXPECT_EQ((*a)->Wait(), "service stop");
  EXPECT_EQ((*b)->Wait(), "service stop");
}

TEST(StopSourceTest, ConsoleCtrlBreakReachesTheCallback) {
  if (GetConsoleWindow() == nullptr && GetStdHandle(STD_INPUT_HANDLE) == nullptr) {
    GTEST_SKIP() << "no console attached";
  }
  auto source = StopSource::Create();
  ASSERT_TRUE(source.ok()) << source.error().ToString();
  Seen seen;
  (*source)->Start(seen.Callback());
  // Process group 0: every process of this console, i.e. this test process. Without the
  // source's handler the default action would end the process.
  if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, 0)) {
    GTEST_SKIP() << "GenerateConsoleCtrlEvent failed: " << GetLastError();
  }
  EXPECT_EQ(seen.Take(), "console Ctrl+Break");
}

}  // namespace
}  // namespace cg::os

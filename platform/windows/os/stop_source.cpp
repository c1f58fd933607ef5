// Stop requests on Windows: the console's Ctrl+C, Ctrl+Break, close, and shutdown events
// (SetConsoleCtrlHandler) and the SCM's stop and shutdown controls (RunAsService calls
// windows::RequestStop). A request is queued on every live source; each source hands it to
// its own thread (Start) or to the thread blocked in Wait.
#include "platform/os/stop_source.h"

#include <windows.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "platform/windows/os/stop_request.h"
#include "platform/windows/win32_error.h"

namespace cg::os {
namespace {

class ConsoleStopSource;

// Every live source, and a request that came while there was none.
std::mutex g_mutex;
std::vector<ConsoleStopSource*> g_sources;
std::optional<std::string> g_unclaimed;
// Signalled when a source finishes delivering (the close/shutdown handler waits for it).
std::condition_variable g_delivered;
int g_delivered_count = 0;

BOOL WINAPI ConsoleHandler(DWORD event);

class ConsoleStopSource final : public StopSource {
 public:
  ConsoleStopSource() = default;
  ~ConsoleStopSource() override {
    {
      std::lock_guard lock(g_mutex);
      const auto it = std::find(g_sources.begin(), g_sources.end(), this);
      if (it != g_sources.end()) {
        g_sources.erase(it);
      }
      if (g_sources.empty()) {
        SetConsoleCtrlHandler(ConsoleHandler, FALSE);
      }
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  // Called with g_mutex held.
  void Push(const std::string& why) {
    pending_.push_back(why);
    cv_.notify_all();
  }

  void Start(Callback on_stop) override {
    thread_ = std::thread([this, on_stop = std::move(on_stop)] {
      std::unique_lock lock(g_mutex);
      while (true) {
        cv_.wait(lock, [this] { return done_ || !pending_.empty(); });
        if (done_) {
          return;
        }
        const std::string why = std::move(pending_.front());
        pending_.pop_front();
        lock.unlock();
        on_stop(why);
        lock.lock();
        ++g_delivered_count;
        g_delivered.notify_all();
      }
    });
  }

  std::string Wait() override {
    std::unique_lock lock(g_mutex);
    cv_.wait(lock, [this] { return !pending_.empty(); });
    std::string why = std::move(pending_.front());
    pending_.pop_front();
    ++g_delivered_count;
    g_delivered.notify_all();
    return why;
  }

 private:
  std::condition_variable cv_;  // waits on g_mutex
  std::deque<std::string> pending_;
  bool done_ = false;
  std::thread thread_;
};

BOOL WINAPI ConsoleHandler(DWORD event) {
  const char* why = nullptr;
  switch (event) {
    case CTRL_C_EVENT:
      why = "console Ctrl+C";
      break;
    case CTRL_BREAK_EVENT:
      why = "console Ctrl+Break";
      break;
    case CTRL_CLOSE_EVENT:
      why = "console closed";
      break;
    case CTRL_SHUTDOWN_EVENT:
      why = "system shutdown";
      break;
    default:
      // CTRL_LOGOFF_EVENT: a user logging off does not stop a service.
      return FALSE;
  }
  int delivered_before = 0;
  {
    std::lock_guard lock(g_mutex);
    delivered_before = g_delivered_count;
  }
  windows::RequestStop(why);
  if (event == CTRL_CLOSE_EVENT || event == CTRL_SHUTDOWN_EVENT) {
    // Windows ends the process when this handler returns (or after ~5 s): give the stop
    // request a chance to be taken before returning.
    std::unique_lock lock(g_mutex);
    g_delivered.wait_for(lock, std::chrono::seconds(4),
                         [&] { return g_delivered_count != delivered_before; });
  }
  return TRUE;
}

}  // namespace

namespace windows {

void RequestStop(const std::string& why) {
  std::lock_guard lock(g_mutex);
  if (g_sources.empty()) {
    g_unclaimed = why;
    return;
  }
  for (ConsoleStopSource* source : g_sources) {
    source->Push(why);
  }
}

}  // namespace windows

Result<std::unique_ptr<StopSource>> StopSource::Create() {
  auto source = std::make_unique<ConsoleStopSource>();
  std::lock_guard lock(g_mutex);
  // A process without a console (a service) has no console events to take; the call still
  // succeeds there, so a failure is a real error.
  if (g_sources.empty() && !SetConsoleCtrlHandler(ConsoleHandler, TRUE)) {
    return platform::windows::Win32Error("SetConsoleCtrlHandler", GetLastError());
  }
  g_sources.push_back(source.get());
  if (g_unclaimed) {
    source->Push(*g_unclaimed);
    g_unclaimed.reset();
  }
  return std::unique_ptr<StopSource>(std::move(source));
}

}  // namespace cg::os

// Stop requests on Linux: SIGTERM and SIGINT, blocked in every thread and taken synchronously
// (sigtimedwait in a thread of the source, or sigwait in the caller).
#include "platform/os/stop_source.h"

#include <signal.h>

#include <atomic>
#include <ctime>
#include <thread>

namespace cg::os {
namespace {

class SignalStopSource final : public StopSource {
 public:
  SignalStopSource() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  ~SignalStopSource() override {
    done_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void Start(Callback on_stop) override {
    thread_ = std::thread([this, on_stop = std::move(on_stop)] {
      // A short timeout so that the destructor is never kept waiting for a signal.
      while (!done_) {
        timespec ts{0, 200 * 1000 * 1000};
        siginfo_t info{};
        const int sig = sigtimedwait(&set_, &info, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
          on_stop("signal " + std::to_string(sig));
        }
      }
    });
  }

  std::string Wait() override {
    int sig = 0;
    sigwait(&set_, &sig);
    return "signal " + std::to_string(sig);
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<StopSource>> StopSource::Create() {
  return std::unique_ptr<StopSource>(std::make_unique<SignalStopSource>());
}

}  // namespace cg::os

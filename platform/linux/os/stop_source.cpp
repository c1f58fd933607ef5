// Stop requests on Linux: SIGTERM and SIGINT, blocked in every thread and taken synchronously
// (sigwaitinfo in a thread of the source, or sigwait in the caller).
#include "platform/os/stop_source.h"

#include <signal.h>

#include <atomic>
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
      // Wakes the thread's wait with a signal of the set sent to that thread alone (blocked
      // there, so it is only ever taken by the wait, now or at its next call).
      pthread_kill(thread_.native_handle(), SIGTERM);
      thread_.join();
    }
  }

  void Start(Callback on_stop) override {
    thread_ = std::thread([this, on_stop = std::move(on_stop)] {
      // Waits without a timeout: an idle agent's thread must not wake up on its own (it woke
      // five times a second with a 200 ms timeout).
      for (;;) {
        siginfo_t info{};
        const int sig = sigwaitinfo(&set_, &info);
        if (done_) {
          return;
        }
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

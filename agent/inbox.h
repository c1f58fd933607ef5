// What wakes the agent's service loop between scheduled cycles: a stop request, a new policy,
// SOC tasks (inspections), a finished YARA scan. Filled by the poller, scan and signal threads;
// drained by the loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "protocol/report.h"

namespace cg::agent {

// A task from the SOC, as the long-poll hands it out.
struct AgentTask {
  std::string id;
  bool yara = false;  // run a YARA scan before the report that answers it
};

class Inbox {
 public:
  void RequestStop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
  }
  // Asks for a report as soon as possible (a new policy was accepted or refused, a scan ended).
  void RequestCycle() {
    {
      std::lock_guard lock(mu_);
      cycle_ = true;
    }
    cv_.notify_all();
  }
  void AddTasks(std::vector<AgentTask> tasks) {
    {
      std::lock_guard lock(mu_);
      for (auto& t : tasks) {
        tasks_.push_back(std::move(t));
      }
    }
    cv_.notify_all();
  }
  void AddEvent(protocol::Event event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }

  // Waits until `deadline`, a stop, a cycle request or new tasks. Returns false on stop.
  bool WaitUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return stop_ || cycle_ || !tasks_.empty(); });
    return !stop_;
  }
  // Waits up to `d` for a stop; true when stopping. For threads' back-off sleeps.
  bool SleepFor(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return stop_; });
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stop_;
  }
  struct News {
    std::vector<AgentTask> tasks;  // received since the last Take
    bool cycle_requested = false;
  };
  News Take() {
    std::lock_guard lock(mu_);
    return {std::exchange(tasks_, {}), std::exchange(cycle_, false)};
  }
  std::vector<protocol::Event> TakeEvents() {
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool cycle_ = false;
  std::vector<AgentTask> tasks_;
  std::vector<protocol::Event> events_;
};

}  // namespace cg::agent

// The agent's long-poll: one mutually authenticated connection on which the SOC answers as soon
// as a newer policy for this device's group or a task exists (otherwise after about a minute
// with "no change"). New policies are judged by the PolicyStore; tasks and the verdicts go to
// the service loop through the Inbox.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/inbox.h"
#include "agent/policy_store.h"
#include "agent/state.h"
#include "platform/platform.h"

namespace cg::protocol {
class HttpsClient;
}

namespace cg::agent {

// The policy in force, shared by the poller (which changes it) and the service loop.
struct SharedPolicy {
  std::mutex mu;
  PolicyStore* store = nullptr;
};

class PolicyPoller {
 public:
  PolicyPoller(const StateDir& state, Enrollment enrollment, SharedPolicy& policy, Inbox& inbox,
               platform::Clock& clock);
  ~PolicyPoller();  // Stop()
  PolicyPoller(const PolicyPoller&) = delete;
  PolicyPoller& operator=(const PolicyPoller&) = delete;

  void Start();
  // Ends a long-poll in flight and joins the thread (the Inbox must be stopping already, or
  // the thread is told to stop here).
  void Stop();

 private:
  void Loop();
  // One long-poll; returns how long to wait before the next one.
  std::chrono::milliseconds PollOnce(protocol::HttpsClient& client);

  const StateDir& state_;
  Enrollment enrollment_;
  SharedPolicy& policy_;
  Inbox& inbox_;
  platform::Clock& clock_;
  std::string refused_hash_;  // the last policy refused: not asked for again
  std::chrono::milliseconds backoff_{0};

  std::mutex client_mu_;
  protocol::HttpsClient* client_ = nullptr;  // while a request may be running (for Stop)
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace cg::agent

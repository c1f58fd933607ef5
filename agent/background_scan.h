// YARA scans of the service: on the policy's daily schedule (with its CPU budget) and on demand
// (an inspection with --yara: no budget), in a thread of their own so that posture cycles and
// the long-poll go on meanwhile. The outcome goes to the state dir, where the `yara` check
// reads it; the service loop is asked for a report when a scan ends.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/inbox.h"
#include "common/timeutil.h"
#include "platform/platform.h"
#include "policy/policy.h"

namespace cg::agent {

class BackgroundScan {
 public:
  BackgroundScan(platform::Platform& platform, std::string state_dir, Inbox& inbox)
      : platform_(platform), state_dir_(std::move(state_dir)), inbox_(inbox) {}
  ~BackgroundScan();  // cancels a running scan and joins it
  BackgroundScan(const BackgroundScan&) = delete;
  BackgroundScan& operator=(const BackgroundScan&) = delete;

  // Starts a scan with the policy's `yara` section unless one is running (false then).
  // `on_demand` lifts the CPU budget.
  bool Start(const policy::CheckPolicy& yara, bool on_demand);
  bool running() const { return running_; }
  // When the last scan (scheduled or not) ended, from the stored outcome; nullopt if none.
  std::optional<SysTime> LastScanTime() const;

 private:
  void Join();

  platform::Platform& platform_;
  std::string state_dir_;
  Inbox& inbox_;
  std::atomic<bool> running_{false};
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

// Compiles the policy's YARA rules (once per rule set: the compiled form is cached by hash) and
// returns an event for the SOC when the compiler had errors or warnings (file:line), nullopt
// when they compiled cleanly or the policy has none. The rules in force are not changed here:
// a scan keeps using the last rules that compiled.
std::optional<protocol::Event> CheckPolicyRules(const policy::CheckPolicy& yara,
                                                const std::string& state_dir, SysTime now);

}  // namespace cg::agent

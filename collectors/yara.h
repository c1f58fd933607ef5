// The `yara` check and the scheduled scan behind it. Scanning a whole PC takes minutes, so the
// check does not scan inside each posture cycle: the agent calls RunScheduledScan() on the
// policy's schedule, which stores the outcome under the agent's state directory, and the check
// judges that stored outcome against the current policy.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/check.h"
#include "collectors/yara_engine.h"
#include "common/timeutil.h"

namespace cg::collectors {

// Where scan state lives under the agent's state directory (created 0700 by the scan).
struct YaraStatePaths {
  explicit YaraStatePaths(const std::string& state_dir);
  std::string dir;         // <state_dir>/yara
  std::string last_scan;   // <dir>/last_scan.json: the last scheduled scan's outcome
  std::string file_cache;  // <dir>/files.sqlite: the incremental cache
  std::string compiled;    // <dir>/compiled: compiled rule sets by hash
};

// The policy's `yara` section, validated (docs/yara.md documents each parameter).
struct YaraPolicy {
  std::vector<RuleSource> rules;   // `rules`: [{namespace, source}]
  std::vector<std::string> paths;  // machine paths; "~" is every user's home
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  uint64_t max_file_size = 0;
  std::vector<std::string> skip_extensions;
  bool follow_symlinks = false;
  bool one_filesystem = true;
  int threads = 0;
  int cpu_budget_percent = 25;
  bool pause_on_battery = false;
  std::chrono::seconds file_timeout{10};
  protocol::Severity severity_threshold = protocol::Severity::kHigh;
  int window_start_minute = 0;  // schedule_window "HH:MM-HH:MM", local time
  int window_end_minute = 0;
};

// Errors name the parameter ("policy checks.yara.rules[1].source: must be a non-empty string").
Result<YaraPolicy> ParseYaraPolicy(const policy::CheckPolicy& policy);

// Passes when the last scheduled scan, made with the policy's current rules within the last
// two days, found nothing at or above severity_threshold (a rule's severity is its meta
// `severity`, "high" when absent). Fails on such a match. `error` when no scan has completed,
// the last one is older than two days, was interrupted, used other rules, or the policy's rules
// do not compile (the compiler's file:line messages are in the facts). Without rules in the
// policy the check is not_applicable.
class YaraCheck final : public Check {
 public:
  static constexpr std::string_view kId = "yara";
  static constexpr std::chrono::hours kMaxScanAge{48};

  // `state_dir` is the agent's state directory (/var/lib/counterguard).
  explicit YaraCheck(std::string state_dir) : state_dir_(std::move(state_dir)) {}

  std::string_view id() const override { return kId; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;

 private:
  std::string state_dir_;
};

// Runs the scan the policy's `yara` section describes (paths with "~" expanded through
// platform.accounts, mapped under platform.fs's root; lowest CPU and I/O priority; the CPU
// budget; the incremental cache) and stores its outcome atomically in
// YaraStatePaths(state_dir).last_scan for YaraCheck. When the policy's rules do not compile,
// the rules in force before (the last ones that compiled) are used and the compiler's messages
// are stored with the outcome; with no earlier rules the error is stored and returned.
Result<ScanSummary> RunScheduledScan(platform::Platform& platform,
                                     const policy::CheckPolicy& policy,
                                     const std::string& state_dir,
                                     const std::atomic<bool>* cancel = nullptr);

// When the agent should run the next scheduled scan: a point chosen by `random01` (uniform in
// [0, 1)) within the first schedule window (local time = UTC + utc_offset) that ends after
// both `now` and 20 hours after the last scan; within the next 10 minutes when there was no
// scan yet or the last one is over 36 hours old (the PC was off during its windows).
Result<SysTime> NextScheduledScan(const policy::CheckPolicy& policy,
                                  std::optional<SysTime> last_scan, SysTime now,
                                  std::chrono::minutes utc_offset, double random01);

}  // namespace cg::collectors

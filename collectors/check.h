// A posture check: reads the machine through the platform, judges against its policy section,
// and knows its own remediation. One file pair per check, registered in registry.cpp.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "platform/platform.h"
#include "policy/policy.h"
#include "protocol/report.h"

namespace cg::collectors {

struct CheckContext {
  platform::Platform& platform;
  const policy::CheckPolicy& policy;
};

// One change that enforcement made (or, in a dry run, would make).
struct Change {
  std::string target;  // file path, "account:alice", ...
  std::string action;  // "write_file", "chage -M 90", ...
  nlohmann::json before;
  nlohmann::json after;
  // How to take it back, in a small OS-neutral vocabulary that UndoChanges executes:
  //   {"op":"restore_file","path":P,"exists":bool,"content"|"content_base64":...,"mode":M}
  //   {"op":"run","argv":[...]}   (a fixed argv, run after every file is restored)
  nlohmann::json undo = nlohmann::json::array();
};

class Check {
 public:
  virtual ~Check() = default;
  virtual std::string_view id() const = 0;
  // Never throws and never reports kPass unless it decided so; a machine it cannot read is
  // kError with the reason in the summary.
  virtual protocol::CheckResult Evaluate(const CheckContext& ctx) const = 0;
  virtual bool CanRemediate() const { return false; }
  // Brings the machine to the policy for a failed result. Idempotent: on a compliant machine
  // it changes nothing. With dry_run it returns the plan and changes nothing.
  virtual Result<std::vector<Change>> Remediate(const CheckContext& ctx,
                                                const protocol::CheckResult& failed,
                                                bool dry_run) const;
};

class CheckRegistry {
 public:
  void Register(std::unique_ptr<Check> check);
  const Check* Find(std::string_view id) const;
  const std::vector<std::unique_ptr<Check>>& checks() const { return checks_; }

 private:
  std::vector<std::unique_ptr<Check>> checks_;
};

// The explicit list of built-in checks (no static self-registration). `state_dir` is the
// agent's state directory (the yara check reads the last scheduled scan there).
void RegisterBuiltinChecks(CheckRegistry& registry, const std::string& state_dir);

enum class EnforceMode {
  kPolicy,  // remediate the checks whose policy section says enforce: true
  kForce,   // --enforce: remediate every failing check that has a remediation
  kDryRun,  // --dry-run: plan only, change nothing
  kNever,   // evaluate only
};

struct RunOptions {
  std::vector<std::string> only;  // empty: every enabled check
  EnforceMode enforce = EnforceMode::kPolicy;
};

// Evaluates the selected checks (in registry order), remediates per `enforce`, re-evaluates
// after a real remediation, and records the changes in the result's `remediation`.
// Unknown ids in `only` are an error.
Result<std::vector<protocol::CheckResult>> RunChecks(const CheckRegistry& registry,
                                                     platform::Platform& platform,
                                                     const policy::Policy& policy,
                                                     const RunOptions& options);

// Takes back recorded changes (the "changes" arrays of remediation records, newest record
// first): every restore_file in reverse order, then every run in recorded order (so that
// e.g. `dconf update` compiles the restored files). With dry_run, describes and changes
// nothing. Returns one line per operation.
Result<std::vector<std::string>> UndoChanges(platform::Platform& platform,
                                             const nlohmann::json& changes, bool dry_run);

// Helpers for check implementations.
// The undo operation that puts `path` back as it was (`previous` nullopt: it did not exist).
nlohmann::json RestoreFileOp(std::string_view path, const std::optional<std::string>& previous,
                             uint32_t mode);
protocol::CheckResult MakeResult(std::string_view id, const policy::CheckPolicy& policy);
protocol::CheckResult ErrorResult(std::string_view id, const policy::CheckPolicy& policy,
                                  std::string reason);
// On Windows (the host identity's os_id), a check whose Windows source is not in this build:
// `error` saying so, with the host in the facts. Its Linux sources must not run there: they
// would find no Linux files and judge their absence ("no antivirus", "headless"). nullopt on
// any other OS.
std::optional<protocol::CheckResult> NoWindowsSource(std::string_view id,
                                                     const policy::CheckPolicy& policy,
                                                     const platform::Platform& platform,
                                                     std::string_view needs);

}  // namespace cg::collectors

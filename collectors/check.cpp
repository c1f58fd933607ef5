// The check registry and the runner that evaluates, enforces and records.
#include "collectors/check.h"

#include <algorithm>
#include <exception>

namespace cg::collectors {

using protocol::CheckResult;
using protocol::CheckStatus;

Result<std::vector<Change>> Check::Remediate(const CheckContext&, const CheckResult&, bool) const {
  return MakeError(ErrorCode::kInvalidArgument,
                   "check '" + std::string(id()) + "' has no remediation");
}

void CheckRegistry::Register(std::unique_ptr<Check> check) { checks_.push_back(std::move(check)); }

const Check* CheckRegistry::Find(std::string_view id) const {
  for (const auto& c : checks_) {
    if (c->id() == id) {
      return c.get();
    }
  }
  return nullptr;
}

CheckResult MakeResult(std::string_view id, const policy::CheckPolicy& policy) {
  CheckResult r;
  r.id = std::string(id);
  r.severity = policy.severity;
  r.status = CheckStatus::kError;
  return r;
}

CheckResult ErrorResult(std::string_view id, const policy::CheckPolicy& policy,
                        std::string reason) {
  CheckResult r = MakeResult(id, policy);
  r.status = CheckStatus::kError;
  r.summary = std::move(reason);
  return r;
}

namespace {

// A check that throws (a library surprise) must not take the agent down or pass silently.
CheckResult SafeEvaluate(const Check& check, const CheckContext& ctx) {
  try {
    return check.Evaluate(ctx);
  } catch (const std::exception& e) {
    return ErrorResult(check.id(), ctx.policy, std::string("internal error: ") + e.what());
  }
}

nlohmann::json ChangesToJson(const std::vector<Change>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : changes) {
    out.push_back(
        {{"target", c.target}, {"action", c.action}, {"before", c.before}, {"after", c.after}});
  }
  return out;
}

}  // namespace

Result<std::vector<CheckResult>> RunChecks(const CheckRegistry& registry,
                                           platform::Platform& platform,
                                           const policy::Policy& policy,
                                           const RunOptions& options) {
  for (const auto& id : options.only) {
    if (registry.Find(id) == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument, "unknown check '" + id + "'");
    }
  }
  std::vector<CheckResult> results;
  for (const auto& check : registry.checks()) {
    const auto& id = check->id();
    const bool selected =
        options.only.empty() ||
        std::find(options.only.begin(), options.only.end(), id) != options.only.end();
    const auto& section = policy.Check(id);
    if (!selected || (!section.enabled && options.only.empty())) {
      continue;
    }
    CheckContext ctx{platform, section};
    CheckResult result = SafeEvaluate(*check, ctx);
    const bool wants_enforce = options.enforce == EnforceMode::kForce ||
                               options.enforce == EnforceMode::kDryRun ||
                               (options.enforce == EnforceMode::kPolicy && section.enforce);
    if (result.status == CheckStatus::kFail && wants_enforce && check->CanRemediate()) {
      const bool dry_run = options.enforce == EnforceMode::kDryRun;
      auto changes = check->Remediate(ctx, result, dry_run);
      nlohmann::json record = {{"dry_run", dry_run}};
      if (!changes.ok()) {
        record["result"] = "error";
        record["error"] = changes.error().message;
      } else {
        record["result"] = dry_run ? "planned" : "applied";
        record["changes"] = ChangesToJson(*changes);
        if (!dry_run) {
          // Report what the machine looks like now, not what it looked like before.
          result = SafeEvaluate(*check, ctx);
        }
      }
      result.remediation = std::move(record);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace cg::collectors

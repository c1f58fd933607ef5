// `cg-agent check`: local evaluation, optional enforcement, human or JSON output.
#include "agent/check_command.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "agent/enforcement.h"
#include "collectors/check.h"
#include "policy/policy.h"

namespace cg::agent {

int RunCheckCommand(const CheckCommandOptions& options, platform::Platform& platform) {
  auto fail = [](const Error& e) {
    std::fprintf(stderr, "cg-agent: %s\n", e.ToString().c_str());
    return 2;
  };
  policy::Policy policy = policy::DefaultPolicy();
  if (!options.policy_file.empty()) {
    auto loaded = policy::LoadPolicyFile(options.policy_file);
    if (!loaded.ok()) {
      return fail(loaded.error());
    }
    policy = std::move(loaded).value();
  }
  collectors::CheckRegistry registry;
  collectors::RegisterBuiltinChecks(registry, options.state_dir);
  collectors::RunOptions run;
  run.only = options.only;
  run.enforce = options.enforce   ? collectors::EnforceMode::kForce
                : options.dry_run ? collectors::EnforceMode::kDryRun
                                  : collectors::EnforceMode::kPolicy;
  auto results = collectors::RunChecks(registry, platform, policy, run);
  if (!results.ok()) {
    return fail(results.error());
  }
  if (options.enforce || !options.dry_run) {
    // Whatever was changed must be recorded for undo; a change we cannot record is an error.
    if (auto s =
            RecordEnforcement(options.state_dir, options.root, *results, platform.clock->Now());
        !s.ok()) {
      std::fprintf(stderr, "cg-agent: changes were made but could not be journaled: %s\n",
                   s.error().ToString().c_str());
      return 2;
    }
  }
  if (options.json) {
    nlohmann::json checks = nlohmann::json::array();
    for (const auto& r : *results) {
      checks.push_back(protocol::ToJson(r));
    }
    std::cout << nlohmann::json{{"checks", checks}}.dump(2) << "\n";
  } else {
    std::printf("%-16s %-15s %-9s %s\n", "CHECK", "STATUS", "SEVERITY", "SUMMARY");
    for (const auto& r : *results) {
      std::printf("%-16s %-15s %-9s %s\n", r.id.c_str(),
                  std::string(protocol::ToString(r.status)).c_str(),
                  std::string(protocol::ToString(r.severity)).c_str(), r.summary.c_str());
      if (!r.remediation.is_null()) {
        for (const auto& c : r.remediation.value("changes", nlohmann::json::array())) {
          std::printf("%-16s   %s %s: %s\n", "",
                      r.remediation.value("dry_run", false) ? "would change" : "changed",
                      c.value("target", "").c_str(), c.value("action", "").c_str());
        }
        if (r.remediation.contains("error")) {
          std::printf("%-16s   enforcement failed: %s\n", "",
                      r.remediation.value("error", "").c_str());
        }
      }
    }
  }
  bool any_fail = false;
  bool any_error = false;
  for (const auto& r : *results) {
    any_fail = any_fail || r.status == protocol::CheckStatus::kFail;
    any_error = any_error || r.status == protocol::CheckStatus::kError;
  }
  return any_fail ? 1 : any_error ? 2 : 0;
}

}  // namespace cg::agent

// The policy document: what each check judges against, its severity, and whether the agent
// enforces it. Pure data and validation: no OS code (the agent and the SOC both use it).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/report.h"

namespace cg::policy {

struct CheckPolicy {
  bool enabled = true;
  protocol::Severity severity = protocol::Severity::kMedium;
  bool enforce = false;
  // Check-specific parameters (every key of the section other than enabled/severity/enforce),
  // with the defaults filled in; docs/policy.md lists them.
  nlohmann::json params = nlohmann::json::object();

  // Typed access with the default already merged in by ParsePolicy; a missing or mistyped
  // key here is a broken invariant of the defaults table, so these abort.
  int64_t Int(std::string_view key) const;
  bool Bool(std::string_view key) const;
  std::string String(std::string_view key) const;
};

// How often agents report and when the SOC calls a silent device stale (top-level
// `reporting`); unset fields leave the agent's configuration and the SOC's default in force.
struct Reporting {
  std::optional<int64_t> interval_seconds;       // 60..86400
  std::optional<int64_t> stale_after_intervals;  // 1..10000
  std::optional<int64_t> spool_max_bytes;        // 1 MiB..4 GiB: the agent's report spool bound
};

struct Policy {
  int64_t version = 0;  // 0: the default policy shipped with the agent
  std::string name = "builtin-default";
  Reporting reporting;
  std::map<std::string, CheckPolicy, std::less<>> checks;
  nlohmann::json document;  // the document as given (after defaults), for hashing and reports

  // The section for `id` (every known check has one after ParsePolicy).
  const CheckPolicy& Check(std::string_view id) const;
};

// The ids of the checks that policy sections may name, in report order.
const std::vector<std::string>& KnownCheckIds();

// The built-in policy: the directive's baseline (90-day passwords, 300 s screen lock, ...).
Policy DefaultPolicy();

// Validates a document and merges it over the defaults; unknown checks or parameters, wrong
// types and out-of-range values are errors naming the JSON path.
Result<Policy> ParsePolicy(const nlohmann::json& document);
Result<Policy> LoadPolicyFile(const std::string& path);

// Canonical JSON: keys sorted, no insignificant whitespace, UTF-8 as is (docs/policy.md).
std::string CanonicalJson(const nlohmann::json& j);
// SHA-256 hex of the canonical form of the policy document.
std::string PolicyHash(const Policy& p);

}  // namespace cg::policy

// What an agent reports: check results and the report envelope, with their JSON mapping.
// The JSON field names are the wire format and the `--json` output; keep them stable.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::protocol {

enum class CheckStatus { kPass, kFail, kError, kNotApplicable };
enum class Severity { kInfo, kLow, kMedium, kHigh, kCritical };

std::string_view ToString(CheckStatus s);
std::string_view ToString(Severity s);
Result<CheckStatus> ParseCheckStatus(std::string_view s);
Result<Severity> ParseSeverity(std::string_view s);

// A device's overall state from its latest report.
// kUnverified: the latest report names a policy the SOC never served to the device (SOC-side,
// never an overall status of checks).
enum class DeviceStatus {
  kCompliant,
  kNoncompliant,
  kError,
  kStale,
  kRevoked,
  kUnknown,
  kUnverified
};
std::string_view ToString(DeviceStatus s);
Result<DeviceStatus> ParseDeviceStatus(std::string_view s);

struct CheckResult {
  std::string id;
  CheckStatus status = CheckStatus::kError;
  Severity severity = Severity::kMedium;
  std::string summary;
  nlohmann::json facts = nlohmann::json::object();
  nlohmann::json expected;     // null when not applicable
  nlohmann::json observed;     // null when not applicable
  nlohmann::json remediation;  // null, or {action, dry_run, changes:[{target, before, after}]}
};

struct OsInfo {
  std::string name;     // "Debian GNU/Linux"
  std::string version;  // "12"
  std::string kernel;   // "6.1.0-18-amd64"
  std::string arch;     // "x86_64"
};

// Something that happened on the agent between reports and that the SOC must hear about:
// a refused policy (with the reason), a corrupt cached policy, enforcement changes, rules that
// failed to compile. Types are stable strings ("policy_refused", ...).
struct Event {
  std::string type;
  std::string time;  // RFC 3339 UTC
  nlohmann::json details = nlohmann::json::object();
};

struct Report {
  std::string report_id;  // UUID, makes retries idempotent
  std::string device_id;  // UUID from the device certificate
  std::string hostname;
  OsInfo os;
  std::string agent_version;
  std::string collected_at;  // RFC 3339 UTC
  int64_t policy_version = 0;
  std::string policy_hash;
  std::vector<CheckResult> checks;
  std::vector<Event> events;
  // The SOC tasks (inspections) this report answers: it was collected after they arrived.
  std::vector<std::string> task_ids;
};

// Overall status of a set of results: any fail -> noncompliant, else any error -> error,
// else compliant (not_applicable counts as compliant).
DeviceStatus OverallStatus(const std::vector<CheckResult>& checks);

nlohmann::json ToJson(const CheckResult& r);
nlohmann::json ToJson(const Report& r);
// Strict: wrong types, missing required fields and over-long fields are errors (kParse).
Result<CheckResult> CheckResultFromJson(const nlohmann::json& j);
Result<Report> ReportFromJson(const nlohmann::json& j);

// Limits that the SOC enforces on what an agent may send.
inline constexpr size_t kMaxReportBytes = 1u << 20;
inline constexpr size_t kMaxChecksPerReport = 64;
inline constexpr size_t kMaxEventsPerReport = 256;
inline constexpr size_t kMaxTasksPerReport = 64;
inline constexpr size_t kMaxShortField = 256;
inline constexpr size_t kMaxSummary = 4096;

}  // namespace cg::protocol

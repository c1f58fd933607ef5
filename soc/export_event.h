// The security and status events the SOC exports to a SIEM (issue 15): what happened, to which
// device, judged by which check, with the evidence. Stored as JSON in the database's outbox in
// the same transaction as the change they describe, and rendered as ECS or CEF on delivery
// (soc/export_format.h). Deciding which events a report produces is here, free of SQL.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::soc {

// event.action values (stable: SIEM rules match on them).
namespace export_action {
inline constexpr const char* kDeviceNoncompliant = "device-noncompliant";
inline constexpr const char* kDeviceCompliant = "device-compliant";
inline constexpr const char* kDeviceError = "device-error";
inline constexpr const char* kCheckFailed = "check-failed";
inline constexpr const char* kCheckPassed = "check-passed";
inline constexpr const char* kYaraMatch = "yara-match";
inline constexpr const char* kPolicyRefused = "policy-refused";
inline constexpr const char* kPolicyUnverified = "policy-unverified";
inline constexpr const char* kDeviceRevoked = "device-revoked";
inline constexpr const char* kEnforcementChange = "enforcement-change";
inline constexpr const char* kDeviceStale = "device-stale";
inline constexpr const char* kClockSkew = "clock-skew";
}  // namespace export_action

struct ExportEvent {
  std::string id;  // UUID: event.id, what a receiver deduplicates on
  SysTime time;    // when the SOC saw it happen
  std::string action;
  std::string kind;      // ECS event.kind: "state" | "alert"
  std::string category;  // ECS event.category: "configuration" | "malware" | "host"
  std::string type;      // ECS event.type: "change" | "info"
  std::string outcome;   // ECS event.outcome: "success" | "failure" | "unknown"
  protocol::Severity severity = protocol::Severity::kMedium;
  std::string message;  // one line for a human

  // The device (host.*, agent.*).
  std::string device_id;
  std::string hostname;  // the enrolled host name
  std::string group;
  protocol::OsInfo os;
  std::string agent_version;
  std::string previous_status;  // overall status before ("" when not about a status)
  std::string status;           // overall status after

  // The check that judged it (rule.*); empty when the event is about the whole device.
  std::string rule_id;
  std::string rule_name;
  std::string ruleset;
  std::string evaluation;  // "passed" | "failed" | "" (result.evaluation)
  std::string report_id;   // the report that showed it ("" when none did)
  // YARA: the matching file.
  std::string file_path;
  std::string file_sha256;
  std::optional<int64_t> file_size;
  // What was expected and observed, the failing checks, the changes made: check-specific.
  nlohmann::json evidence = nlohmann::json::object();
};

nlohmann::json ToJson(const ExportEvent& e);
Result<ExportEvent> ExportEventFromJson(const nlohmann::json& j);

// What the SOC knew about the device before a report arrived (its latest report).
struct DeviceBefore {
  std::string device_id;
  std::string hostname;
  std::string group;
  protocol::DeviceStatus status = protocol::DeviceStatus::kUnknown;  // kUnknown: never reported
  std::string policy_state;
  std::chrono::seconds clock_skew{0};
  // The checks of the latest report: id -> status.
  std::vector<std::pair<std::string, protocol::CheckStatus>> checks;
  // The YARA matches of the latest report (rule, path, sha256), to alert once per new match.
  std::vector<std::string> yara_match_keys;
};

struct EventOptions {
  // Reports dated further ahead of the SOC's clock flag the device's clock (SocConfig).
  std::chrono::seconds clock_skew_tolerance{300};
};

// The events a report produces when it becomes the device's latest: overall status and
// per-check changes, new YARA matches, refused policies, enforcement changes, a policy the SOC
// never served, a clock that went wrong. Each fires on the change, not on every report that
// still shows it (a SIEM wants the transition; the device page shows the state).
std::vector<ExportEvent> DeriveReportEvents(const DeviceBefore& before,
                                            const protocol::Report& report,
                                            std::string_view policy_state, SysTime received_at,
                                            const EventOptions& options);

// A key identifying one YARA match across reports.
std::vector<std::string> YaraMatchKeys(const protocol::Report& report);
std::vector<std::string> YaraMatchKeys(const nlohmann::json& yara_facts);

ExportEvent RevokedEvent(std::string_view device_id, std::string_view hostname,
                         std::string_view group, SysTime now);
ExportEvent StaleEvent(std::string_view device_id, std::string_view hostname,
                       std::string_view group, std::optional<SysTime> last_seen,
                       std::string_view status, SysTime now);

}  // namespace cg::soc

// The fleet query API of the operator port, as both sides see it: the query parameters of
// GET /api/v1/devices and /api/v1/summary, and the JSON field names of their answers, of
// GET /api/v1/reports/{id} and of an inspection's devices. The server writes these names and
// cgctl reads them from here, so that a field is spelled once.
#pragma once

#include <cstdint>
#include <string_view>

namespace cg::protocol::api {

// GET /api/v1/devices query parameters. Repeating `status` (or giving "a,b") matches any.
namespace devices_param {
inline constexpr std::string_view kGroup = "group";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kCheck = "check";
inline constexpr std::string_view kStale = "stale";      // true | false
inline constexpr std::string_view kRevoked = "revoked";  // true | false
inline constexpr std::string_view kOs = "os";
inline constexpr std::string_view kOsVersion = "os_version";
inline constexpr std::string_view kAgentVersion = "agent_version";
inline constexpr std::string_view kPolicyVersion = "policy_version";
inline constexpr std::string_view kSeenBefore = "last_seen_before";  // RFC 3339
inline constexpr std::string_view kSeenAfter = "last_seen_after";    // RFC 3339
inline constexpr std::string_view kSearch = "search";
inline constexpr std::string_view kSort = "sort";    // group | hostname | status | last_seen
inline constexpr std::string_view kOrder = "order";  // asc | desc
inline constexpr std::string_view kLimit = "limit";
inline constexpr std::string_view kCursor = "cursor";
}  // namespace devices_param

inline constexpr int64_t kDefaultDevicePage = 100;
inline constexpr int64_t kMaxDevicePage = 1000;

// Fields of a device (list rows and GET /api/v1/devices/{id}'s "device").
namespace device_field {
inline constexpr const char* kDeviceId = "device_id";
inline constexpr const char* kHostname = "hostname";
inline constexpr const char* kReportedHostname = "reported_hostname";
inline constexpr const char* kGroup = "group";
// What the latest report says (compliant, noncompliant, error, unknown, unverified); stale and
// revoked are shown beside it, never instead of it.
inline constexpr const char* kStatus = "status";
inline constexpr const char* kStale = "stale";
inline constexpr const char* kRevoked = "revoked";
inline constexpr const char* kLastSeen = "last_seen";
inline constexpr const char* kPolicyVersion = "policy_version";
inline constexpr const char* kOsName = "os_name";
inline constexpr const char* kOsVersion = "os_version";
inline constexpr const char* kAgentVersion = "agent_version";
inline constexpr const char* kFailingChecks = "failing_checks";
inline constexpr const char* kErrorChecks = "error_checks";
inline constexpr const char* kClockSkew = "clock_skew";
inline constexpr const char* kEnrolledAt = "enrolled_at";
}  // namespace device_field

// GET /api/v1/devices answer.
namespace devices_field {
inline constexpr const char* kDevices = "devices";
inline constexpr const char* kNextCursor = "next_cursor";  // null on the last page
// Devices matching, all pages: on the first page; null on the pages a cursor asks for (the
// count reads every matching row, which those pages do not need).
inline constexpr const char* kTotal = "total";
}  // namespace devices_field

// GET /api/v1/summary answer: {"groups": [...], "total": {...}} (total: the same fields over
// every listed group, "group" = the prefix asked or "").
namespace summary_field {
inline constexpr const char* kGroups = "groups";
inline constexpr const char* kTotal = "total";
inline constexpr const char* kGroup = "group";
inline constexpr const char* kDevices = "devices";
inline constexpr const char* kRevoked = "revoked";
inline constexpr const char* kStatus = "status";  // {posture: devices}, revoked ones excluded
inline constexpr const char* kStale = "stale";
inline constexpr const char* kNeverReported = "never_reported";
inline constexpr const char* kFailing = "failing";  // {check id: devices failing it}
inline constexpr const char* kErrors = "errors";    // {check id: devices where it errs}
}  // namespace summary_field

// GET /api/v1/reports/{id} answer: where the report came from and the report as stored.
namespace report_field {
inline constexpr const char* kReportId = "report_id";
inline constexpr const char* kDeviceId = "device_id";
inline constexpr const char* kHostname = "hostname";
inline constexpr const char* kGroup = "group";
inline constexpr const char* kStatus = "status";
inline constexpr const char* kReceivedAt = "received_at";
inline constexpr const char* kCollectedAt = "collected_at";
inline constexpr const char* kClockSkewSeconds = "clock_skew_seconds";
inline constexpr const char* kPolicyState = "policy_state";
inline constexpr const char* kReport = "report";
}  // namespace report_field

// An inspection's per-device rows (GET /api/v1/inspections/{id} "devices").
namespace inspection_field {
inline constexpr const char* kDevices = "devices";
inline constexpr const char* kDeviceId = "device_id";
inline constexpr const char* kHostname = "hostname";
inline constexpr const char* kState = "state";
inline constexpr const char* kReportId = "report_id";
inline constexpr const char* kResult = "result";  // the report's status, null until done
inline constexpr const char* kFailingChecks = "failing_checks";
}  // namespace inspection_field

}  // namespace cg::protocol::api

// The SOC's HTTP routes, shared by the server's route tables (soc/service.cpp) and its clients
// (cgctl), so that a path is spelled once. A "{id}" segment stands for one path segment.
#pragma once

#include <string>
#include <string_view>

namespace cg::protocol::api {

// Agent port.
inline constexpr std::string_view kEnroll = "/v1/enroll";
inline constexpr std::string_view kRenew = "/v1/renew";
inline constexpr std::string_view kCrl = "/v1/crl.pem";
inline constexpr std::string_view kReports = "/v1/reports";
inline constexpr std::string_view kPoll = "/v1/poll";
inline constexpr std::string_view kReportBatch = "/v1/reports/batch";

// Operator port.
inline constexpr std::string_view kDevices = "/api/v1/devices";
inline constexpr std::string_view kDevice = "/api/v1/devices/{id}";
inline constexpr std::string_view kDeviceHistory = "/api/v1/devices/{id}/history";
inline constexpr std::string_view kDeviceRevoke = "/api/v1/devices/{id}/revoke";
inline constexpr std::string_view kDeviceAllowReenroll = "/api/v1/devices/{id}/allow-reenroll";
inline constexpr std::string_view kEnrollTokens = "/api/v1/enroll-tokens";
inline constexpr std::string_view kEnrollTokenRevoke = "/api/v1/enroll-tokens/{id}/revoke";
inline constexpr std::string_view kAudit = "/api/v1/audit";
inline constexpr std::string_view kPolicies = "/api/v1/policies";
inline constexpr std::string_view kPolicyStatus = "/api/v1/policies/status";
inline constexpr std::string_view kPolicyEffective = "/api/v1/policies/effective";
inline constexpr std::string_view kInspections = "/api/v1/inspections";
inline constexpr std::string_view kInspection = "/api/v1/inspections/{id}";
inline constexpr std::string_view kOperatorTokens = "/api/v1/operator-tokens";
inline constexpr std::string_view kOperatorTokenRevoke = "/api/v1/operator-tokens/{id}/revoke";
inline constexpr std::string_view kConflicts = "/api/v1/conflicts";
inline constexpr std::string_view kConflictResolve = "/api/v1/conflicts/{id}/resolve";
// Fleet queries (protocol/fleet_api.h): per-group summary, any stored report by its id.
inline constexpr std::string_view kSummary = "/api/v1/summary";
inline constexpr std::string_view kStoredReport = "/api/v1/reports/{id}";

// `pattern` with its "{id}" segment replaced by `id`, percent-encoded.
std::string PathWithId(std::string_view pattern, std::string_view id);

}  // namespace cg::protocol::api

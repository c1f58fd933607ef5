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
// SIEM export and monitoring (operator port). /healthz and /readyz need no token.
inline constexpr std::string_view kExportStatus = "/api/v1/export/status";
inline constexpr std::string_view kMetrics = "/metrics";
inline constexpr std::string_view kHealthz = "/healthz";
inline constexpr std::string_view kReadyz = "/readyz";
// Staff accounts (docs/accounts.md). Login and setup carry their own credentials; the session
// token a login gives is then a bearer token like an operator token.
inline constexpr std::string_view kLogin = "/api/v1/login";
inline constexpr std::string_view kLogout = "/api/v1/logout";
inline constexpr std::string_view kSession = "/api/v1/session";
inline constexpr std::string_view kAccountSetupStart = "/api/v1/account-setup/start";
inline constexpr std::string_view kAccountSetupFinish = "/api/v1/account-setup/finish";
inline constexpr std::string_view kAccounts = "/api/v1/accounts";
inline constexpr std::string_view kAccountDisable = "/api/v1/accounts/{id}/disable";
inline constexpr std::string_view kAccountEnable = "/api/v1/accounts/{id}/enable";
inline constexpr std::string_view kAccountReset = "/api/v1/accounts/{id}/reset";
// Inspection reports: GET generates one (?group=&from=DATE&to=DATE&format=html|csv&lang=vi|en)
// and answers the document with its digest and record id in the headers below; GET of the
// collection with ?digest=HEX lists the SOC's records of that digest.
inline constexpr std::string_view kInspectionReport = "/api/v1/inspection-reports/generate";
inline constexpr std::string_view kInspectionReports = "/api/v1/inspection-reports";
// One recorded report again (?format=html|csv&lang=vi|en, default as generated): rendered from
// the canonical content stored with its record, after checking that content against the digest.
inline constexpr std::string_view kInspectionReportById = "/api/v1/inspection-reports/{id}";
inline constexpr std::string_view kReportDigestHeader = "X-CounterGuard-Digest";
inline constexpr std::string_view kReportIdHeader = "X-CounterGuard-Report-Id";
// Fleet queries (protocol/fleet_api.h): per-group summary, any stored report by its id.
inline constexpr std::string_view kSummary = "/api/v1/summary";
inline constexpr std::string_view kStoredReport = "/api/v1/reports/{id}";
// Groups and their display names (protocol/group_api.h).
inline constexpr std::string_view kGroups = "/api/v1/groups";
inline constexpr std::string_view kGroupNames = "/api/v1/group-names";

// `pattern` with its "{id}" segment replaced by `id`, percent-encoded.
std::string PathWithId(std::string_view pattern, std::string_view id);

}  // namespace cg::protocol::api

// What SocService's handlers, split over service_<area>.cpp, share: the Call a route handler
// gets, the request limits, and a few JSON helpers. Internal to the SOC library.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "soc/service.h"

namespace cg::soc {

// What a route handler gets.
struct SocService::Call {
  Call(const protocol::HttpRequest& r, SysTime t, std::vector<std::string> p,
       const OperatorToken* op = nullptr)
      : request(r), now(t), params(std::move(p)), operator_token(op) {}

  const protocol::HttpRequest& request;
  SysTime now;
  std::vector<std::string> params;      // the {name} segments of the route's pattern, in order
  const OperatorToken* operator_token;  // the authenticated operator (operator port)
  // Staff accounts: the account behind the request (a session or a token it owns) and the
  // session, when the request came with one.
  std::string account_id;
  std::string account_name;
  std::string session_id;
  std::string display_name;
  std::string session_kind;  // "cli" | "browser"; "" for a token
  // A browser session's secret (from the cookie), from which its CSRF token is derived.
  std::string cookie_secret;
  // A handler that knows whom a public request was about (login) names them for the audit.
  std::string audit_account;
  std::string audit_role;
  // Agent port, Access::kDevice routes: the device record of the client certificate, checked
  // to be live and this certificate to be its current one (DeviceOfCertificate).
  std::optional<Device> device;
  std::string audit_target;       // what the request acted on, for the audit log
  std::string audit_actor = "-";  // agent routes: who asked (enrollment token, device)
  bool skip_audit = false;        // agent routes: rate-limited floods are not recorded
  // Agent port: a handler that answers later (after the group commit) takes this Responder and
  // sets `deferred`; its return value is then ignored.
  Responder* respond = nullptr;
  bool deferred = false;
};

// The enrollment route is open to anyone who can connect: a token, a CSR and two names.
inline constexpr size_t kMaxEnrollBodyBytes = 32 * 1024;
inline constexpr size_t kMaxTokenBytes = 256;
inline constexpr size_t kMaxGroupBytes = 128;
inline constexpr size_t kMaxOperatorNameBytes = 128;
inline constexpr int64_t kDefaultEnrollTtlSeconds = 24 * 3600;
// How far ahead of the SOC an agent's clock may be when it drops an expiring policy layer.
inline constexpr std::chrono::minutes kPolicyClockTolerance{10};
inline constexpr int64_t kMaxEnrollTtlSeconds = 30 * 24 * 3600;
inline constexpr int64_t kMaxEnrollUses = 10000;
inline constexpr int64_t kDefaultHistoryLimit = 50;
inline constexpr int64_t kMaxHistoryLimit = 1000;
inline constexpr int64_t kDefaultAuditLimit = 100;
inline constexpr int64_t kMaxAuditLimit = 10000;
// The directive wants secrets changed at least every 90 days: no operator token lives longer.
inline constexpr int64_t kMaxOperatorTtlSeconds = 90LL * 86400;
inline constexpr int64_t kDefaultOperatorTtlSeconds = kMaxOperatorTtlSeconds;
// Reports per POST /v1/reports/batch (the body limit applies as well).
inline constexpr size_t kMaxBatchReports = 100;
// What a 503 for a full ingest queue asks the agent to wait.
inline constexpr int kOverloadRetryAfterSeconds = 2;

int RoleRank(std::string_view role);
// The operator-token role of a Prometheus scraper: GET /metrics and nothing else (rank 0).
inline constexpr std::string_view kRoleMetrics = "metrics";
nlohmann::json OptionalTime(const std::optional<SysTime>& t);
nlohmann::json DeviceJson(const Device& device, SysTime stale_before, bool detail,
                          std::chrono::seconds skew_tolerance);
std::string DumpJson(const nlohmann::json& j);
// The answer of the policy and inspection routes when no PolicyHub is set.
protocol::HttpResponse NoHub();

}  // namespace cg::soc

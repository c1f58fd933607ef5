// Routing, authentication and audit of the SOC's agent and operator ports, with their route
// tables. The handlers live in service_<area>.cpp, request validation in validation.cpp.
#include "soc/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "protocol/account_api.h"
#include "protocol/api_paths.h"
#include "protocol/json.h"
#include "soc/account_service.h"
#include "soc/browser_security.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;
namespace api = protocol::api;

// What a route handler gets: see service_internal.h.

namespace {

// "Bearer <token>" (the scheme is case-insensitive, RFC 7235); nullopt when absent or malformed.
std::optional<std::string> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) {
    return std::nullopt;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = header[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
    token.remove_prefix(1);
  }
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
    token.remove_suffix(1);
  }
  if (token.empty()) {
    return std::nullopt;
  }
  return std::string(token);
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) {
      return segments;
    }
    start = slash + 1;
  }
}

// Matches segment by segment; a "{name}" segment matches any non-empty segment, which is
// captured percent-decoded.
bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::vector<std::string>& params) {
  const auto want = SplitPath(pattern);
  const auto have = SplitPath(path);
  if (want.size() != have.size()) {
    return false;
  }
  std::vector<std::string> captured;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{' && want[i].back() == '}') {
      if (have[i].empty()) {
        return false;
      }
      captured.push_back(protocol::UrlDecode(have[i], /*plus_is_space=*/false));
    } else if (want[i] != have[i]) {
      return false;
    }
  }
  params = std::move(captured);
  return true;
}

template <typename RouteT>
struct RouteLookup {
  const RouteT* route = nullptr;
  std::vector<std::string> params;
  std::string allowed_methods;  // when the path matched but the method did not
};

template <typename RouteT>
RouteLookup<RouteT> FindRoute(const std::vector<RouteT>& routes, const HttpRequest& request) {
  RouteLookup<RouteT> lookup;
  const std::string path = request.Path();
  for (const auto& route : routes) {
    std::vector<std::string> params;
    if (!MatchPattern(route.pattern, path, params)) {
      continue;
    }
    if (route.method == request.method) {
      lookup.route = &route;
      lookup.params = std::move(params);
      return lookup;
    }
    lookup.allowed_methods += (lookup.allowed_methods.empty() ? "" : ", ");
    lookup.allowed_methods += route.method;
  }
  return lookup;
}

template <typename RouteT>
HttpResponse NoRoute(const RouteLookup<RouteT>& lookup, const HttpRequest& request) {
  if (lookup.allowed_methods.empty()) {
    return Fail(404, "not_found", "no such resource: " + Clip(request.Path(), 200));
  }
  HttpResponse response =
      Fail(405, "method_not_allowed", "use " + lookup.allowed_methods + " here");
  response.headers.emplace_back("Allow", lookup.allowed_methods);
  return response;
}

HttpResponse Unauthenticated(std::string_view message) {
  HttpResponse response = Fail(401, "unauthenticated", message);
  response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

// Handlers report failures as Results; an exception reaching here is a bug (a JSON type error)
// or memory exhaustion, and costs this request a 500 rather than the whole SOC.
template <typename F>
HttpResponse Guarded(std::string_view port, const HttpRequest& request, F&& handle) {
  try {
    return handle();
  } catch (const std::exception& e) {
    spdlog::error("{} port: {} {}: unexpected exception: {}", port, Clip(request.method, 16),
                  Clip(request.Path(), 200), e.what());
    return Fail(500, "internal", "internal error");
  }
}

}  // namespace

int RoleRank(std::string_view role) {
  if (role == "admin") {
    return 3;
  }
  if (role == "inspector") {
    return 2;
  }
  if (role == "analyst") {
    return 1;
  }
  return 0;
}

json OptionalTime(const std::optional<SysTime>& t) {
  return t ? json(FormatRfc3339(*t)) : json(nullptr);
}

json DeviceJson(const Device& device, SysTime stale_before, bool detail,
                std::chrono::seconds skew_tolerance) {
  json j = {{"device_id", device.device_id},
            {"hostname", device.hostname},
            {"reported_hostname", device.reported_hostname},
            {"group", device.group},
            // The latest report's verdict; stale and revoked are shown beside it (issue 15).
            {"status", protocol::ToString(PostureStatus(device))},
            {"stale", EffectiveStatus(device, stale_before) == protocol::DeviceStatus::kStale},
            {"revoked", device.revoked},
            {"last_seen", OptionalTime(device.last_seen)},
            {"policy_version", device.policy_version},
            {"enrolled_at", FormatRfc3339(device.enrolled_at)},
            // The latest report was dated further ahead of the SOC's clock than the tolerance.
            {"clock_skew", device.clock_skew > skew_tolerance},
            {"clock_skew_seconds", device.clock_skew.count()}};
  if (!device.policy_state.empty()) {
    j["policy_state"] = device.policy_state;
  }
  if (detail) {
    j["policy_hash"] = device.policy_hash;
    j["verified_policy"] = {{"version", device.verified_policy_version},
                            {"hash", device.verified_policy_hash}};
    j["served_policy"] = {{"version", device.served_policy_version},
                          {"hash", device.served_policy_hash}};
    j["machine_id"] = device.machine_id;
    j["cert_serial"] = device.cert_serial;
    j["cert_not_after"] = FormatRfc3339(device.cert_not_after);
    j["reenroll_allowed"] = device.reenroll_allowed;
    if (!device.pending_cert_serial.empty()) {
      j["renewed_cert_serial"] = device.pending_cert_serial;
      j["renewed_cert_not_after"] = FormatRfc3339(device.pending_cert_not_after);
    }
  }
  return j;
}

std::string DumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

SocService::SocService(Storage& storage, const protocol::CertificateAuthority& ca, Clock now,
                       SocConfig config)
    : storage_(storage),
      ca_(ca),
      now_(std::move(now)),
      config_(std::move(config)),
      enroll_limiter_(config_.enroll_burst, config_.enroll_refill),
      renew_limiter_(config_.renew_burst, config_.renew_refill),
      auth_throttle_(config_.auth_delay_base, config_.auth_delay_max, config_.auth_forget_after) {}

const std::vector<SocService::Route>& SocService::AgentRoutes() {
  static const std::vector<Route> routes = {
      {"POST", api::kEnroll, Access::kPublic, &SocService::Enroll, /*audited=*/true},
      {"POST", api::kRenew, Access::kDevice, &SocService::Renew, /*audited=*/true},
      {"GET", api::kCrl, Access::kPublic, &SocService::GetCrl},
      {"POST", api::kReports, Access::kDevice, &SocService::SubmitReport},
      {"GET", api::kPoll, Access::kDevice, &SocService::Poll},
      {"POST", api::kReportBatch, Access::kDevice, &SocService::SubmitReportBatch},
  };
  return routes;
}

const std::vector<SocService::Route>& SocService::OperatorRoutes() {
  static const std::vector<Route> routes = {
      {"GET", api::kDevices, Access::kAnalyst, &SocService::ListDevices},
      {"GET", api::kDevice, Access::kAnalyst, &SocService::GetDevice},
      {"GET", api::kDeviceHistory, Access::kAnalyst, &SocService::DeviceHistory},
      {"POST", api::kDeviceRevoke, Access::kAdmin, &SocService::RevokeDevice},
      {"POST", api::kEnrollTokens, Access::kAdmin, &SocService::CreateEnrollToken},
      {"GET", api::kAudit, Access::kInspector, &SocService::ListAudit},
      {"POST", api::kPolicies, Access::kAdmin, &SocService::PushPolicy},
      {"GET", api::kPolicies, Access::kAnalyst, &SocService::ListPolicies},
      {"GET", api::kPolicyStatus, Access::kAnalyst, &SocService::PolicyStatus},
      {"GET", api::kPolicyEffective, Access::kAnalyst, &SocService::EffectivePolicy},
      {"POST", api::kInspections, Access::kAdmin, &SocService::CreateInspection},
      {"GET", api::kInspections, Access::kAnalyst, &SocService::ListInspections},
      {"GET", api::kInspection, Access::kAnalyst, &SocService::GetInspection},
      {"GET", api::kEnrollTokens, Access::kAdmin, &SocService::ListEnrollTokens},
      {"POST", api::kEnrollTokenRevoke, Access::kAdmin, &SocService::RevokeEnrollToken},
      {"GET", api::kOperatorTokens, Access::kAdmin, &SocService::ListOperatorTokens},
      {"POST", api::kOperatorTokens, Access::kAdmin, &SocService::CreateOperatorTokenRoute},
      {"POST", api::kOperatorTokenRevoke, Access::kAdmin, &SocService::RevokeOperatorToken},
      {"POST", api::kDeviceAllowReenroll, Access::kAdmin, &SocService::AllowReenroll},
      {"GET", api::kConflicts, Access::kAnalyst, &SocService::ListConflicts},
      {"POST", api::kConflictResolve, Access::kAdmin, &SocService::ResolveConflict},
      {"GET", api::kExportStatus, Access::kAnalyst, &SocService::ExportStatus},
      {"GET", api::kMetrics, Access::kMetrics, &SocService::MetricsRoute},
      // Staff accounts (service_accounts.cpp). Login and setup are open: they carry their own
      // credentials (password and code, or the one-time setup code), throttled.
      {"POST", api::kLogin, Access::kPublic, &SocService::Login},
      {"POST", api::kAccountSetupStart, Access::kPublic, &SocService::SetupStart},
      {"POST", api::kAccountSetupFinish, Access::kPublic, &SocService::SetupFinish},
      {"POST", api::kLogout, Access::kAnyOperator, &SocService::Logout},
      {"GET", api::kSession, Access::kAnyOperator, &SocService::SessionInfo},
      {"GET", api::kAccounts, Access::kAdmin, &SocService::ListAccounts},
      {"POST", api::kAccounts, Access::kAdmin, &SocService::CreateAccount},
      {"POST", api::kAccountDisable, Access::kAdmin, &SocService::DisableAccount},
      {"POST", api::kAccountEnable, Access::kAdmin, &SocService::EnableAccount},
      {"POST", api::kAccountReset, Access::kAdmin, &SocService::ResetAccount},
      {"GET", api::kInspectionReport, Access::kAnalyst, &SocService::InspectionReport},
      {"GET", api::kInspectionReports, Access::kAnalyst, &SocService::FindInspectionReports},
      // After .../generate, which the {id} pattern would match too.
      {"GET", api::kInspectionReportById, Access::kAnalyst, &SocService::DownloadInspectionReport},
      {"GET", api::kSummary, Access::kAnalyst, &SocService::FleetSummary},
      {"GET", api::kStoredReport, Access::kAnalyst, &SocService::GetStoredReport},
      {"GET", api::kGroups, Access::kAnalyst, &SocService::ListGroups},
      {"POST", api::kGroupNames, Access::kAdmin, &SocService::SetGroupName},
  };
  return routes;
}

std::vector<SocService::RouteInfo> SocService::OperatorRouteList() {
  std::vector<RouteInfo> list;
  for (const Route& route : OperatorRoutes()) {
    std::string_view min_role;
    switch (route.access) {
      case Access::kMetrics:
        min_role = kRoleMetrics;
        break;
      case Access::kAnalyst:
        min_role = "analyst";
        break;
      case Access::kInspector:
        min_role = "inspector";
        break;
      case Access::kAdmin:
        min_role = "admin";
        break;
      default:
        break;
    }
    list.push_back({route.method, route.pattern, route.access == Access::kAdmin, min_role,
                    route.access == Access::kPublic});
  }
  return list;
}

void SocService::HandleAgent(HttpRequest request, Responder respond) {
  bool deferred = false;
  HttpResponse response =
      Guarded("agent", request, [&] { return DispatchAgent(request, respond, deferred); });
  if (!deferred) {
    respond(std::move(response));
  }
}

void SocService::HandleOperator(HttpRequest request, Responder respond) {
  // Every answer of the operator port, API or page, carries the browser security headers.
  respond = [inner = std::move(respond)](HttpResponse response) mutable {
    AddSecurityHeaders(response);
    inner(std::move(response));
  };
  if (auto probe = ProbeAnswer(request)) {
    respond(std::move(*probe));
    return;
  }
  // The dashboard's static files are public and not audited (a page load is a dozen files;
  // what the page then asks of the API is).
  if (auto page = DashboardAnswer(request)) {
    respond(std::move(*page));
    return;
  }
  const SysTime now = now_();
  AuditEntry audit;
  audit.time = now;
  audit.actor = "-";
  audit.role = "-";
  audit.method = Clip(request.method, 16);
  audit.path = Clip(request.Path());
  audit.source = Clip(request.peer_address, 64);
  bool authenticated = false;
  HttpResponse response = Guarded(
      "operator", request, [&] { return DispatchOperator(request, now, audit, authenticated); });
  audit.result = response.status;
  // No audit row, no answer: what an operator is told must be on record.
  if (auto written = storage_.AppendAudit(audit); !written.ok()) {
    spdlog::error("audit log write failed, answering 500 to {} {} from {}: {}", audit.method,
                  audit.path, audit.source, written.error().ToString());
    response = Fail(500, "internal", "the audit log could not be written");
  }
  // Guessing tokens gets slower with every failure from the same address; the delay holds no
  // thread (the Responder is kept and called later).
  const std::string address = AddressOf(request.peer_address);
  if (response.status == 401) {
    const auto delay = auth_throttle_.Failure(address, now);
    if (defer_ && delay.count() > 0) {
      spdlog::debug("failed authentication from {}: answering in {} ms", address, delay.count());
      defer_(delay, [respond = std::move(respond), response = std::move(response)]() mutable {
        respond(std::move(response));
      });
      return;
    }
  } else if (authenticated) {
    // Not for a throttled or refused login: naming an account proves nothing.
    auth_throttle_.Success(address);
  }
  respond(std::move(response));
}

HttpResponse SocService::DispatchAgent(const HttpRequest& request, Responder& respond,
                                       bool& deferred) {
  auto lookup = FindRoute(AgentRoutes(), request);
  if (lookup.route == nullptr) {
    return NoRoute(lookup, request);
  }
  // Anything but an explicitly public route needs the certificate (fails closed).
  if (lookup.route->access != Access::kPublic && !request.peer_cert) {
    return Fail(401, "unauthenticated", "this route needs a verified client certificate");
  }
  Call call(request, now_(), std::move(lookup.params));
  call.respond = &respond;
  HttpResponse response;
  if (lookup.route->access == Access::kDevice) {
    // One check for every device route: a refusal is about the credentials, not the request
    // (the agent keeps what it sent and tries again later).
    auto device = DeviceOfCertificate(*request.peer_cert, call.now);
    if (device.ok()) {
      call.device = std::move(device).value();
    } else if (device.error().code == ErrorCode::kPermissionDenied) {
      spdlog::warn("{} {} from {} (certificate CN {}, serial {}) refused: {}", request.method,
                   request.Path(), request.peer_address, request.peer_cert->subject_cn,
                   request.peer_cert->serial_hex, device.error().message);
      call.audit_actor = "device " + Clip(request.peer_cert->subject_cn, 64);
      response = Fail(403, "forbidden", device.error().message);
    } else {
      response = StorageFailure("looking up a device", device.error());
    }
  }
  if (lookup.route->access != Access::kDevice || call.device) {
    response = (this->*lookup.route->handler)(call);
  }
  deferred = call.deferred;
  if (!deferred && lookup.route->audited && !call.skip_audit) {
    AuditEntry audit;
    audit.time = call.now;
    audit.actor = Clip(call.audit_actor);
    audit.role = "agent";
    audit.method = Clip(request.method, 16);
    audit.path = Clip(request.Path());
    audit.target = Clip(call.audit_target);
    audit.result = response.status;
    audit.source = Clip(request.peer_address, 64);
    if (auto written = storage_.AppendAudit(audit); !written.ok()) {
      spdlog::error("audit log write failed for {} {} from {}: {}", audit.method, audit.path,
                    audit.source, written.error().ToString());
    }
  }
  return response;
}

HttpResponse SocService::DispatchOperator(const HttpRequest& request, SysTime now,
                                          AuditEntry& audit, bool& authenticated) {
  // Authentication comes before routing: without a token, nothing about the API is shown,
  // except the routes that carry their own credentials (login, account setup).
  auto lookup = FindRoute(OperatorRoutes(), request);
  if (lookup.route != nullptr) {
    audit.action = std::string(lookup.route->method) + " " + std::string(lookup.route->pattern);
  }
  if (lookup.route != nullptr && lookup.route->access == Access::kPublic) {
    Call call(request, now, std::move(lookup.params));
    HttpResponse response = (this->*lookup.route->handler)(call);
    audit.target = Clip(call.audit_target);
    audit.actor = Clip(call.audit_actor, 128);
    audit.account = Clip(call.audit_account, 128);
    audit.role = call.audit_role.empty() ? "-" : call.audit_role;
    authenticated = response.status < 300;
    return response;
  }
  // A bearer token (cgctl, scripts) or the dashboard's session cookie. A request with both is
  // judged by its bearer token: browsers never send one by themselves.
  const std::string authorization = request.Header("Authorization");
  std::optional<std::string> cookie;
  if (authorization.empty() && accounts_ != nullptr) {
    cookie = CookieValue(request, protocol::account_api::kSessionCookie);
  }
  std::variant<Principal, HttpResponse> who;
  if (cookie) {
    const bool background = request.Header(protocol::account_api::kBackgroundHeader) == "1";
    who = SessionPrincipal(*cookie, kSessionBrowser, now, audit, /*refresh=*/!background);
    if (auto* refused = std::get_if<HttpResponse>(&who); refused && refused->status == 401) {
      refused->headers.emplace_back("Set-Cookie", ClearedSessionSetCookie());
    }
  } else {
    const auto secret = BearerToken(authorization);
    if (!secret) {
      return Unauthenticated("missing bearer token (Authorization: Bearer <token>)");
    }
    who = Authenticate(*secret, now, audit);
  }
  if (auto* refused = std::get_if<HttpResponse>(&who)) {
    return std::move(*refused);
  }
  Principal& principal = std::get<Principal>(who);
  authenticated = true;
  if (cookie) {
    // Before routing: a forged change is refused the same whether its route exists or not.
    if (auto refused = CheckBrowserRequest(request, principal)) {
      return std::move(*refused);
    }
  }
  if (lookup.route == nullptr) {
    return NoRoute(lookup, request);
  }
  // A scrape-only token reads the metrics and nothing else, not even its own session.
  const bool scraper = principal.token.role == kRoleMetrics;
  if (scraper && lookup.route->access != Access::kMetrics) {
    return Fail(403, "forbidden", "a metrics token may only GET " + std::string(api::kMetrics));
  }
  std::string_view needed;
  switch (lookup.route->access) {
    case Access::kMetrics:
      needed = scraper ? "" : "analyst";
      break;
    case Access::kAdmin:
      needed = "admin";
      break;
    case Access::kInspector:
      needed = "inspector";
      break;
    case Access::kAnalyst:
      needed = "analyst";
      break;
    default:
      break;  // any authenticated operator
  }
  if (!needed.empty() && RoleRank(principal.token.role) < RoleRank(needed)) {
    return Fail(403, "forbidden", "this needs the " + std::string(needed) + " role");
  }
  // Last use, for `cgctl operator list` (a token nobody uses any more is one to revoke).
  if (principal.session_id.empty()) {
    if (auto touched = storage_.TouchOperatorToken(principal.token.id, now); !touched.ok()) {
      spdlog::warn("recording the use of operator token {} failed: {}", principal.token.id,
                   touched.error().ToString());
    }
  }
  Call call(request, now, std::move(lookup.params), &principal.token);
  call.account_id = principal.account_id;
  call.account_name = principal.account_name;
  call.session_id = principal.session_id;
  call.display_name = principal.display_name;
  call.session_kind = principal.session_kind;
  if (cookie) {
    call.cookie_secret = std::move(*cookie);
  }
  HttpResponse response = (this->*lookup.route->handler)(call);
  audit.target = Clip(call.audit_target);
  return response;
}

std::variant<SocService::Principal, HttpResponse> SocService::Authenticate(std::string_view secret,
                                                                           SysTime now,
                                                                           AuditEntry& audit) {
  const std::string secret_hash = Sha256Hex(secret);
  auto token = storage_.FindOperatorTokenByHash(secret_hash);
  // The lookup is by the secret's SHA-256 (its timing can only tell about a hash, never the
  // secret); the match itself is compared in constant time.
  if (token.ok() && !ConstantTimeEquals(token->token_hash, secret_hash)) {
    token = MakeError(ErrorCode::kNotFound, "unknown operator token");
  }
  if (!token.ok()) {
    if (token.error().code != ErrorCode::kNotFound) {
      return StorageFailure("looking up an operator token", token.error());
    }
    if (accounts_ != nullptr) {
      return SessionPrincipal(secret, kSessionCli, now, audit);
    }
    spdlog::warn("operator request {} {} from {} with an unknown token", audit.method, audit.path,
                 audit.source);
    return Unauthenticated("unknown token");
  }
  // From here on the token is known: the audit row names whose it is, refused or not.
  audit.actor = Clip(token->name);
  audit.role = token->role;
  if (token->revoked || (token->expires_at && now >= *token->expires_at)) {
    const char* why = token->revoked ? "token revoked" : "token expired";
    spdlog::warn("operator request {} {} from {} refused: {} ({})", audit.method, audit.path,
                 audit.source, why, token->name);
    return Unauthenticated(why);
  }
  Principal principal;
  principal.token = std::move(token).value();
  if (accounts_ != nullptr) {
    if (auto refused = ApplyTokenOwner(principal, audit)) {
      return std::move(*refused);
    }
  }
  return principal;
}

SysTime SocService::StaleBefore(std::string_view group, SysTime now) const {
  if (hub_ != nullptr) {
    if (auto after = hub_->StaleAfterFor(group)) {
      return now - *after;
    }
  }
  return now - config_.stale_after;
}

bool SocService::CertificateAllowed(const protocol::PeerCertificate& peer) {
  auto device = storage_.GetDevice(peer.subject_cn);
  if (!device.ok()) {
    return false;  // unknown device, or storage trouble: fail closed
  }
  return !device->revoked &&
         (device->cert_serial == peer.serial_hex ||
          (!device->pending_cert_serial.empty() && device->pending_cert_serial == peer.serial_hex));
}

Result<Device> SocService::DeviceOfCertificate(const protocol::PeerCertificate& peer, SysTime now) {
  // Two connections of the device may bring its renewed certificate at once: the one that
  // loses the race to make it current reads the record again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto device = storage_.GetDevice(peer.subject_cn);
    if (!device.ok()) {
      if (device.error().code == ErrorCode::kNotFound) {
        return MakeError(ErrorCode::kPermissionDenied, "unknown device");
      }
      return device;
    }
    if (device->revoked) {
      return MakeError(ErrorCode::kPermissionDenied, "device revoked");
    }
    if (device->cert_serial == peer.serial_hex) {
      return device;
    }
    if (device->pending_cert_serial.empty() || device->pending_cert_serial != peer.serial_hex) {
      return MakeError(ErrorCode::kPermissionDenied, "not the certificate issued to this device");
    }
    // First use of the renewed certificate: it becomes the current one, the old is superseded.
    auto switched = storage_.ReplaceDeviceCertificate(
        device->device_id, device->cert_serial, device->pending_cert_serial,
        device->pending_cert_not_after, device->group, /*reenroll=*/false, now);
    if (switched.ok()) {
      spdlog::info("device {} now uses its renewed certificate {}; {} is superseded",
                   device->device_id, peer.serial_hex, device->cert_serial);
      RepublishCrl();
      device->cert_serial = device->pending_cert_serial;
      device->cert_not_after = device->pending_cert_not_after;
      device->pending_cert_serial.clear();
      return device;
    }
    if (switched.error().code != ErrorCode::kConflict) {
      return std::move(switched).error();
    }
  }
  return MakeError(ErrorCode::kPermissionDenied, "not the certificate issued to this device");
}

}  // namespace cg::soc

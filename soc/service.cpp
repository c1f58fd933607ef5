// Request handlers of the SOC's agent and operator ports, with their route tables.
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
#include "protocol/json.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

// What a route handler gets.
struct SocService::Call {
  Call(const HttpRequest& r, SysTime t, std::vector<std::string> p,
       const OperatorToken* op = nullptr)
      : request(r), now(t), params(std::move(p)), operator_token(op) {}

  const HttpRequest& request;
  SysTime now;
  std::vector<std::string> params;      // the {name} segments of the route's pattern, in order
  const OperatorToken* operator_token;  // the authenticated operator (operator port)
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

namespace {

// The enrollment route is open to anyone who can connect: a token, a CSR and two names.
constexpr size_t kMaxEnrollBodyBytes = 32 * 1024;
constexpr size_t kMaxTokenBytes = 256;
constexpr size_t kMaxGroupBytes = 128;
constexpr size_t kMaxOperatorNameBytes = 128;
constexpr int64_t kDefaultEnrollTtlSeconds = 24 * 3600;
// How far ahead of the SOC an agent's clock may be when it drops an expiring policy layer.
constexpr std::chrono::minutes kPolicyClockTolerance{10};
constexpr int64_t kMaxEnrollTtlSeconds = 30 * 24 * 3600;
constexpr int64_t kMaxEnrollUses = 10000;
constexpr int64_t kDefaultHistoryLimit = 50;
constexpr int64_t kMaxHistoryLimit = 1000;
constexpr int64_t kDefaultAuditLimit = 100;
constexpr int64_t kMaxAuditLimit = 10000;
// The directive wants secrets changed at least every 90 days: no operator token lives longer.
constexpr int64_t kMaxOperatorTtlSeconds = 90LL * 86400;
constexpr int64_t kDefaultOperatorTtlSeconds = kMaxOperatorTtlSeconds;
// Reports per POST /v1/reports/batch (the body limit applies as well).
constexpr size_t kMaxBatchReports = 100;
// What a 503 for a full ingest queue asks the agent to wait.
constexpr int kOverloadRetryAfterSeconds = 2;
// Audit fields come from the request line; a long one is cut rather than stored whole.
constexpr size_t kMaxAuditField = 512;

HttpResponse Fail(int status, std::string_view code, std::string_view message) {
  return HttpResponse::Error(status, code, message);
}

HttpResponse InvalidRequest(std::string_view message) {
  return Fail(400, "invalid_request", message);
}

// Storage failures are logged in full and answered without the database's details.
HttpResponse StorageFailure(std::string_view what, const Error& error) {
  spdlog::error("{}: {}", what, error.ToString());
  return Fail(500, "internal", "storage error (the SOC log has the details)");
}

std::string Clip(std::string_view text, size_t max = kMaxAuditField) {
  return std::string(text.substr(0, max));
}

// No C0, DEL, C1 or text-reordering control, and valid UTF-8 (escape.h).
bool IsPrintable(std::string_view text) { return !HasControlCharacters(text); }

// A request body as a JSON object (kParse with the reason otherwise).
Result<json> ParseJsonBody(std::string_view body) {
  auto parsed = protocol::ParseJsonBounded(body);
  if (!parsed.ok()) {
    return MakeError(ErrorCode::kParse, "the body is " + parsed.error().message);
  }
  if (!parsed->is_object()) {
    return MakeError(ErrorCode::kParse, "the body must be a JSON object");
  }
  return parsed;
}

// body[key] as a string of at most max_bytes; control characters are refused unless
// `multiline` (PEM).
Result<std::string> StringField(const json& body, const char* key, size_t max_bytes,
                                bool allow_empty, bool multiline = false) {
  auto bad = [key](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("'") + key + "' " + std::string(why));
  };
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return bad("must be a string");
  }
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty() && !allow_empty) {
    return bad("must not be empty");
  }
  if (value.size() > max_bytes) {
    return bad("is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!multiline && !IsPrintable(value)) {
    return bad("contains control characters");
  }
  return value;
}

// body[key] as an integer in [min, max]; `fallback` when absent or null.
Result<int64_t> IntField(const json& body, const char* key, int64_t fallback, int64_t min,
                         int64_t max) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    return fallback;
  }
  int64_t value = 0;
  bool integral = false;
  if (it->is_number_unsigned()) {
    // Above INT64_MAX stays out of range instead of wrapping.
    const auto u = it->get<uint64_t>();
    integral = u <= static_cast<uint64_t>(max);
    value = integral ? static_cast<int64_t>(u) : max;
  } else if (it->is_number_integer()) {
    integral = true;
    value = it->get<int64_t>();
  }
  if (!integral || value < min || value > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("'") + key + "' must be an integer from " + std::to_string(min) +
                         " to " + std::to_string(max));
  }
  return value;
}

// The query parameter `key`, treating an empty value as absent (as forms send them).
std::optional<std::string> NonEmptyQuery(const HttpRequest& request, std::string_view key) {
  auto value = request.Query(key);
  if (!value || value->empty()) {
    return std::nullopt;
  }
  return value;
}

// ?limit=N with N in [1, max]; `fallback` when absent.
Result<size_t> LimitQuery(const HttpRequest& request, int64_t fallback, int64_t max) {
  const auto text = NonEmptyQuery(request, "limit");
  if (!text) {
    return static_cast<size_t>(fallback);
  }
  int64_t limit = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "limit must be an integer from 1 to " + std::to_string(max));
  }
  return static_cast<size_t>(limit);
}

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

int RoleRank(std::string_view role) {
  if (role == "admin") {
    return 2;
  }
  if (role == "analyst") {
    return 1;
  }
  return 0;
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

json OptionalTime(const std::optional<SysTime>& t) {
  return t ? json(FormatRfc3339(*t)) : json(nullptr);
}

json DeviceJson(const Device& device, SysTime stale_before, bool detail,
                std::chrono::seconds skew_tolerance) {
  json j = {{"device_id", device.device_id},
            {"hostname", device.hostname},
            {"reported_hostname", device.reported_hostname},
            {"group", device.group},
            {"status", protocol::ToString(EffectiveStatus(device, stale_before))},
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
    j["revoked"] = device.revoked;
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

}  // namespace

bool IsValidGroupName(std::string_view group) {
  if (group.empty() || group.size() > kMaxGroupBytes) {
    return false;
  }
  size_t segment = 0;
  for (const char c : group) {
    if (c == '/') {
      if (segment == 0) {
        return false;
      }
      segment = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      ++segment;
    } else {
      return false;
    }
  }
  return segment > 0;
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
      {"POST", "/v1/enroll", Access::kPublic, &SocService::Enroll, /*audited=*/true},
      {"POST", "/v1/renew", Access::kDevice, &SocService::Renew, /*audited=*/true},
      {"GET", "/v1/crl.pem", Access::kPublic, &SocService::GetCrl},
      {"POST", "/v1/reports", Access::kDevice, &SocService::SubmitReport},
      {"GET", "/v1/poll", Access::kDevice, &SocService::Poll},
      {"POST", "/v1/reports/batch", Access::kDevice, &SocService::SubmitReportBatch},
  };
  return routes;
}

const std::vector<SocService::Route>& SocService::OperatorRoutes() {
  static const std::vector<Route> routes = {
      {"GET", "/api/v1/devices", Access::kAnalyst, &SocService::ListDevices},
      {"GET", "/api/v1/devices/{id}", Access::kAnalyst, &SocService::GetDevice},
      {"GET", "/api/v1/devices/{id}/history", Access::kAnalyst, &SocService::DeviceHistory},
      {"POST", "/api/v1/devices/{id}/revoke", Access::kAdmin, &SocService::RevokeDevice},
      {"POST", "/api/v1/enroll-tokens", Access::kAdmin, &SocService::CreateEnrollToken},
      {"GET", "/api/v1/audit", Access::kAdmin, &SocService::ListAudit},
      {"POST", "/api/v1/policies", Access::kAdmin, &SocService::PushPolicy},
      {"GET", "/api/v1/policies", Access::kAnalyst, &SocService::ListPolicies},
      {"GET", "/api/v1/policies/status", Access::kAnalyst, &SocService::PolicyStatus},
      {"GET", "/api/v1/policies/effective", Access::kAnalyst, &SocService::EffectivePolicy},
      {"POST", "/api/v1/inspections", Access::kAdmin, &SocService::CreateInspection},
      {"GET", "/api/v1/inspections", Access::kAnalyst, &SocService::ListInspections},
      {"GET", "/api/v1/inspections/{id}", Access::kAnalyst, &SocService::GetInspection},
      {"GET", "/api/v1/enroll-tokens", Access::kAdmin, &SocService::ListEnrollTokens},
      {"POST", "/api/v1/enroll-tokens/{id}/revoke", Access::kAdmin, &SocService::RevokeEnrollToken},
      {"GET", "/api/v1/operator-tokens", Access::kAdmin, &SocService::ListOperatorTokens},
      {"POST", "/api/v1/operator-tokens", Access::kAdmin, &SocService::CreateOperatorTokenRoute},
      {"POST", "/api/v1/operator-tokens/{id}/revoke", Access::kAdmin,
       &SocService::RevokeOperatorToken},
      {"POST", "/api/v1/devices/{id}/allow-reenroll", Access::kAdmin, &SocService::AllowReenroll},
      {"GET", "/api/v1/conflicts", Access::kAnalyst, &SocService::ListConflicts},
      {"POST", "/api/v1/conflicts/{id}/resolve", Access::kAdmin, &SocService::ResolveConflict},
  };
  return routes;
}

std::vector<SocService::RouteInfo> SocService::OperatorRouteList() {
  std::vector<RouteInfo> list;
  for (const Route& route : OperatorRoutes()) {
    list.push_back({route.method, route.pattern, route.access == Access::kAdmin});
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
  const SysTime now = now_();
  AuditEntry audit;
  audit.time = now;
  audit.actor = "-";
  audit.role = "-";
  audit.method = Clip(request.method, 16);
  audit.path = Clip(request.Path());
  audit.source = Clip(request.peer_address, 64);
  HttpResponse response =
      Guarded("operator", request, [&] { return DispatchOperator(request, now, audit); });
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
  } else if (audit.actor != "-") {
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
                                          AuditEntry& audit) {
  // Authentication comes before routing: without a token, nothing about the API is shown.
  const auto secret = BearerToken(request.Header("Authorization"));
  if (!secret) {
    return Unauthenticated("missing bearer token (Authorization: Bearer <token>)");
  }
  const std::string secret_hash = Sha256Hex(*secret);
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
  auto lookup = FindRoute(OperatorRoutes(), request);
  if (lookup.route == nullptr) {
    return NoRoute(lookup, request);
  }
  const std::string_view needed = lookup.route->access == Access::kAdmin ? "admin" : "analyst";
  if (RoleRank(token->role) < RoleRank(needed)) {
    return Fail(403, "forbidden", "this needs the " + std::string(needed) + " role");
  }
  // Last use, for `cgctl operator list` (a token nobody uses any more is one to revoke).
  if (auto touched = storage_.TouchOperatorToken(token->id, now); !touched.ok()) {
    spdlog::warn("recording the use of operator token {} failed: {}", token->id,
                 touched.error().ToString());
  }
  Call call(request, now, std::move(lookup.params), &*token);
  HttpResponse response = (this->*lookup.route->handler)(call);
  audit.target = Clip(call.audit_target);
  return response;
}

SysTime SocService::StaleBefore(std::string_view group, SysTime now) const {
  if (hub_ != nullptr) {
    if (auto after = hub_->StaleAfterFor(group)) {
      return now - *after;
    }
  }
  return now - config_.stale_after;
}

HttpResponse SocService::Enroll(Call& call) {
  const HttpRequest& request = call.request;
  // Before anything is parsed or looked up: the route is open to anyone who can connect.
  if (const auto wait = enroll_limiter_.Take(AddressOf(request.peer_address), call.now);
      wait.count() > 0) {
    spdlog::debug("enrollment from {} rate-limited (retry in {} s)", request.peer_address,
                  wait.count());
    call.skip_audit = true;
    HttpResponse response = Fail(429, "rate_limited",
                                 "too many enrollment attempts from this address; retry in " +
                                     std::to_string(wait.count()) + " s");
    response.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    return response;
  }
  if (request.body.size() > kMaxEnrollBodyBytes) {
    return Fail(413, "too_large",
                "enrollment request larger than " + std::to_string(kMaxEnrollBodyBytes) + " bytes");
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto secret = StringField(*body, "token", kMaxTokenBytes, false);
  auto csr = StringField(*body, "csr_pem", protocol::kMaxCsrBytes, false, /*multiline=*/true);
  auto hostname = StringField(*body, "hostname", protocol::kMaxShortField, false);
  auto machine_id = StringField(*body, "machine_id", protocol::kMaxShortField, true);
  for (const auto* field : {&secret, &csr, &hostname, &machine_id}) {
    if (!field->ok()) {
      return InvalidRequest(field->error().message);
    }
  }
  call.audit_target = Clip("hostname " + *hostname, 200);
  // Never the token itself in the log: the peer, the host name it claims, the reason.
  auto refuse = [&](int status, std::string_view code, const std::string& reason) {
    spdlog::warn("enrollment from {} (hostname '{}') refused: {}", request.peer_address, *hostname,
                 reason);
    return Fail(status, code, reason);
  };
  const std::string token_hash = Sha256Hex(*secret);
  auto token = storage_.FindEnrollmentTokenByHash(token_hash);
  if (!token.ok()) {
    if (token.error().code == ErrorCode::kNotFound) {
      return refuse(401, "unauthenticated", "unknown enrollment token");
    }
    return StorageFailure("looking up an enrollment token", token.error());
  }
  call.audit_actor = "enroll-token " + token->id;
  if (auto refusal = EnrollmentTokenRefusal(*token, call.now)) {
    return refuse(403, "forbidden", *refusal);
  }

  // The same machine enrolling again becomes a new certificate of its device only when an admin
  // allowed it (`cgctl device allow-reenroll`) and the token is for the device's own group: the
  // machine id is no secret (world-readable on the PC, shown to analysts), so neither a token
  // alone nor an expired certificate is consent. Every other attempt is refused and stays an
  // open conflict until an admin closes it (`cgctl conflicts resolve`).
  auto same_machine = storage_.FindDevicesByMachine(*machine_id, *hostname);
  if (!same_machine.ok()) {
    return StorageFailure("looking up devices of a machine", same_machine.error());
  }
  std::optional<Device> previous;
  if (!same_machine->empty()) {
    const Device* target = &same_machine->front();
    for (const Device& d : *same_machine) {
      if (d.reenroll_allowed) {
        target = &d;
        break;
      }
    }
    std::string refusal;
    if (!target->reenroll_allowed) {
      const std::string state = target->revoked                      ? " (revoked)"
                                : call.now >= target->cert_not_after ? " (certificate expired)"
                                                                     : "";
      refusal = "this machine is already enrolled as device " + target->device_id + state +
                "; an admin must allow it to enroll again (`cgctl device allow-reenroll " +
                target->device_id + "`, see `cgctl conflicts`), with a token for its group " +
                target->group;
    } else if (token->group != target->group) {
      refusal = "device " + target->device_id + " belongs to group " + target->group +
                "; enrolling it again needs a token for that group, not " + token->group;
    }
    if (refusal.empty()) {
      previous = *target;
    } else {
      EnrollmentConflict conflict;
      conflict.time = call.now;
      conflict.device_id = target->device_id;
      conflict.hostname = *hostname;
      conflict.machine_id = *machine_id;
      conflict.group = token->group;
      conflict.source = Clip(request.peer_address, 64);
      if (auto added = storage_.AddEnrollmentConflict(conflict); !added.ok()) {
        return StorageFailure("recording an enrollment conflict", added.error());
      }
      call.audit_target = "conflict with device " + target->device_id;
      return refuse(409, "conflict", refusal);
    }
  }

  const std::string device_id = previous ? previous->device_id : NewUuid();
  auto certificate = ca_.IssueDeviceCertificate(*csr, device_id, token->group,
                                                config_.device_cert_validity, call.now);
  if (!certificate.ok()) {
    if (certificate.error().code == ErrorCode::kInvalidArgument) {
      return refuse(400, "bad_csr", certificate.error().message);
    }
    spdlog::error("issuing a device certificate failed: {}", certificate.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  auto info = protocol::InspectCertificatePem(*certificate);
  if (!info.ok()) {
    spdlog::error("reading back an issued certificate failed: {}", info.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  // The token is used only now, so a CSR the CA refuses does not cost one of its uses. Another
  // enrollment may have used it up meanwhile: the certificate above is then dropped unseen.
  auto consumed = storage_.ConsumeEnrollmentToken(token_hash, call.now);
  if (!consumed.ok()) {
    switch (consumed.error().code) {
      case ErrorCode::kNotFound:
        return refuse(401, "unauthenticated", consumed.error().message);
      case ErrorCode::kPermissionDenied:
        return refuse(403, "forbidden", consumed.error().message);
      default:
        return StorageFailure("using an enrollment token", consumed.error());
    }
  }
  call.audit_target = "device " + device_id;
  if (previous) {
    auto replaced = storage_.ReplaceDeviceCertificate(
        device_id, previous->cert_serial, info->serial_hex, info->not_after, consumed->group,
        /*reenroll=*/previous->reenroll_allowed, call.now);
    if (!replaced.ok()) {
      if (replaced.error().code == ErrorCode::kConflict) {
        return refuse(409, "conflict", "the device changed meanwhile; enroll again");
      }
      return StorageFailure("re-enrolling a device", replaced.error());
    }
    RepublishCrl();
    spdlog::info(
        "re-enrolled device {} (hostname '{}') into group {} from {} with enrollment token {}: "
        "certificate {} supersedes {}",
        device_id, *hostname, consumed->group, request.peer_address, consumed->id, info->serial_hex,
        previous->cert_serial);
  } else {
    Device device;
    device.device_id = device_id;
    device.hostname = *hostname;
    device.machine_id = *machine_id;
    device.group = consumed->group;
    device.cert_serial = info->serial_hex;
    device.cert_not_after = info->not_after;
    device.enrolled_at = call.now;
    if (auto added = storage_.AddDevice(device); !added.ok()) {
      return StorageFailure("storing an enrolled device", added.error());
    }
    spdlog::info(
        "enrolled device {} (hostname '{}') into group {} from {} with enrollment token {}",
        device_id, *hostname, consumed->group, request.peer_address, consumed->id);
  }
  return HttpResponse::Json(200, {{"device_id", device_id},
                                  {"group", consumed->group},
                                  {"reenrolled", previous.has_value()},
                                  {"certificate_pem", *certificate},
                                  {"ca_pem", ca_.cert_pem()}});
}

HttpResponse SocService::Renew(Call& call) {
  const HttpRequest& request = call.request;
  const protocol::PeerCertificate& peer = *request.peer_cert;  // Access::kDevice
  call.audit_actor = "device " + Clip(peer.subject_cn, 64);
  call.audit_target = "certificate " + Clip(peer.serial_hex, 64);
  // Every renewal signs a certificate and may supersede one (a CRL entry): a device gets a few
  // a day, not a flood.
  if (const auto wait = renew_limiter_.Take(peer.subject_cn, call.now); wait.count() > 0) {
    spdlog::warn("certificate renewal from {} (device {}) rate-limited (retry in {} s)",
                 request.peer_address, peer.subject_cn, wait.count());
    HttpResponse response = Fail(429, "rate_limited",
                                 "too many certificate renewals for this device; retry in " +
                                     std::to_string(wait.count()) + " s");
    response.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    return response;
  }
  if (request.body.size() > kMaxEnrollBodyBytes) {
    return Fail(413, "too_large",
                "renewal request larger than " + std::to_string(kMaxEnrollBodyBytes) + " bytes");
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto csr = StringField(*body, "csr_pem", protocol::kMaxCsrBytes, false, /*multiline=*/true);
  if (!csr.ok()) {
    return InvalidRequest(csr.error().message);
  }
  auto refuse = [&](int status, std::string_view code, const std::string& reason) {
    spdlog::warn("certificate renewal from {} (device {}) refused: {}", request.peer_address,
                 peer.subject_cn, reason);
    return Fail(status, code, reason);
  };
  const Device* device = &*call.device;  // Access::kDevice: live, and this is its certificate
  auto certificate = ca_.IssueDeviceCertificate(*csr, device->device_id, device->group,
                                                config_.device_cert_validity, call.now);
  if (!certificate.ok()) {
    if (certificate.error().code == ErrorCode::kInvalidArgument) {
      return refuse(400, "bad_csr", certificate.error().message);
    }
    spdlog::error("issuing a renewed certificate failed: {}", certificate.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  auto info = protocol::InspectCertificatePem(*certificate);
  if (!info.ok()) {
    spdlog::error("reading back an issued certificate failed: {}", info.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  // The new certificate is pending: the current one stays valid until the device first uses the
  // new one, so an answer lost on the way (or an agent that dies before installing it) leaves
  // the device able to try again.
  const bool replaces_pending = !device->pending_cert_serial.empty();
  auto offered = storage_.OfferRenewedCertificate(device->device_id, peer.serial_hex,
                                                  info->serial_hex, info->not_after, call.now);
  if (!offered.ok()) {
    if (offered.error().code == ErrorCode::kConflict) {
      return refuse(409, "conflict", "the certificate was replaced or revoked meanwhile");
    }
    return StorageFailure("renewing a device certificate", offered.error());
  }
  call.audit_target = "certificate " + info->serial_hex + " renews " + peer.serial_hex;
  if (replaces_pending) {
    RepublishCrl();  // the unused earlier renewal is superseded
  }
  spdlog::info(
      "device {} renewed its certificate: {} (until {}) will supersede {} at its first use",
      device->device_id, info->serial_hex, FormatRfc3339(info->not_after), peer.serial_hex);
  return HttpResponse::Json(200, {{"device_id", device->device_id},
                                  {"certificate_pem", *certificate},
                                  {"not_after", FormatRfc3339(info->not_after)},
                                  {"ca_pem", ca_.cert_pem()}});
}

HttpResponse SocService::GetCrl(Call&) {
  auto crl = CrlPem();
  if (!crl.ok()) {
    spdlog::error("building the CRL failed: {}", crl.error().ToString());
    return Fail(500, "internal", "the CRL could not be built");
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = "application/x-pem-file";
  response.body = std::move(crl).value();
  return response;
}

Result<std::string> SocService::CrlPem() {
  std::lock_guard lock(crl_mu_);
  return CrlPemLocked();
}

Result<std::string> SocService::CrlPemLocked() {
  const SysTime now = now_();
  // Re-signed when something changed (RepublishCrl drops the cache) or halfway to nextUpdate,
  // never per request: GET /v1/crl.pem needs no authentication.
  if (crl_cache_ && now >= crl_cache_->issued_at &&
      now < crl_cache_->issued_at + config_.crl_validity / 2) {
    return crl_cache_->pem;
  }
  CG_ASSIGN_OR_RETURN(auto revoked, storage_.ListRevokedCertificates(now));
  std::vector<protocol::CertificateAuthority::CrlEntry> entries;
  entries.reserve(revoked.size());
  for (const auto& r : revoked) {
    entries.push_back({r.serial_hex, r.revoked_at, r.reason == "superseded"});
  }
  // The CRL number must grow with every new CRL: the time in milliseconds does, across restarts.
  const int64_t number =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  CG_ASSIGN_OR_RETURN(auto pem, ca_.IssueCrl(entries, number, config_.crl_validity, now));
  crl_cache_ = CachedCrl{pem, now};
  return pem;
}

Status SocService::PublishCrl() {
  std::lock_guard lock(crl_mu_);
  CG_ASSIGN_OR_RETURN(auto pem, CrlPemLocked());
  if (config_.crl_file.empty()) {
    return OkStatus();
  }
  return WriteFileAtomic(config_.crl_file, pem, 0644);
}

void SocService::RepublishCrl() {
  {
    std::lock_guard lock(crl_mu_);
    crl_cache_.reset();
  }
  if (auto s = PublishCrl(); !s.ok()) {
    spdlog::error("rewriting the CRL {} failed (revocation itself is in effect): {}",
                  config_.crl_file, s.error().ToString());
  }
}

namespace {

// The answer to one stored (or refused) report: what the agent needs to drop it from its spool,
// or why not. Logged here because the deferred path has no request any more.
HttpResponse StoredAnswer(const std::string& report_id, const std::string& peer_address,
                          const Result<bool>& stored) {
  if (stored.ok()) {
    return HttpResponse::Json(
        200, {{"status", "committed"}, {"report_id", report_id}, {"duplicate", !*stored}});
  }
  switch (stored.error().code) {
    case ErrorCode::kNotFound:
      spdlog::warn("report {} from {} refused: unknown device", report_id, peer_address);
      return Fail(403, "forbidden", "unknown device");
    case ErrorCode::kConflict:
      return Fail(409, "conflict", stored.error().message);
    case ErrorCode::kInvalidArgument:
      return Fail(400, "invalid_report", stored.error().message);
    default:
      return StorageFailure("storing report " + report_id, stored.error());
  }
}

// 503 + Retry-After: the ingest queue is full. The agent keeps the report and comes back.
HttpResponse Overloaded() {
  HttpResponse response =
      Fail(503, "overloaded", "the SOC is busy storing reports; retry after the delay given");
  response.headers.emplace_back("Retry-After", std::to_string(kOverloadRetryAfterSeconds));
  return response;
}

// One entry of a batch answer.
json BatchEntry(const std::string& report_id, const HttpResponse& answer) {
  json body = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (answer.status == 200 && body.is_object()) {
    return {{"report_id", report_id},
            {"status", "committed"},
            {"duplicate", body.value("duplicate", false)}};
  }
  json error = body.is_object() && body.contains("error") ? body["error"] : json::object();
  // 5xx: the SOC's trouble, worth a retry; 4xx: this report will never be accepted.
  return {{"report_id", report_id},
          {"status", answer.status >= 500 ? "error" : "rejected"},
          {"http_status", answer.status},
          {"error", std::move(error)}};
}

}  // namespace

std::variant<protocol::Report, HttpResponse> SocService::AdmitReport(const json& body,
                                                                     const Call& call) {
  const HttpRequest& request = call.request;
  const protocol::PeerCertificate& peer = *request.peer_cert;  // Access::kDevice
  auto report = protocol::ReportFromJson(body);
  if (!report.ok()) {
    return Fail(400, "invalid_report", report.error().message);
  }
  // The device and its certificate were checked for the whole request (DispatchAgent); what is
  // left is about this report, and final: it will never be accepted as it is.
  if (report->device_id != peer.subject_cn) {
    spdlog::warn("report {} from {} (certificate CN {}) refused: another device's report",
                 report->report_id, request.peer_address, peer.subject_cn);
    return Fail(422, "wrong_device",
                "the report's device_id is not the client certificate's device");
  }
  // Names and identifiers never hold control characters: such a report is refused. Free text
  // (summaries, facts, OS strings, event details) may quote what the machine holds, so it is
  // kept with its control characters escaped, and cgctl escapes again on output.
  std::vector<std::pair<std::string, const std::string*>> names = {
      {"hostname", &report->hostname},
      {"agent_version", &report->agent_version},
      {"policy_hash", &report->policy_hash}};
  for (const auto& check : report->checks) {
    names.emplace_back("check id", &check.id);
  }
  for (const auto& event : report->events) {
    names.emplace_back("event type", &event.type);
  }
  for (const auto& [what, value] : names) {
    if (HasControlCharacters(*value)) {
      spdlog::warn("report {} from {} (device {}) refused: control characters in its {}",
                   report->report_id, request.peer_address, peer.subject_cn, what);
      return Fail(400, "invalid_report", "the report's " + what + " contains control characters");
    }
  }
  size_t escaped = 0;
  for (std::string* text :
       {&report->os.name, &report->os.version, &report->os.kernel, &report->os.arch}) {
    if (HasControlCharacters(*text)) {
      *text = EscapeControlCharacters(*text);
      ++escaped;
    }
  }
  for (auto& check : report->checks) {
    if (HasControlCharacters(check.summary)) {
      check.summary = EscapeControlCharacters(check.summary);
      ++escaped;
    }
    escaped += EscapeControlCharactersInJson(check.facts);
    escaped += EscapeControlCharactersInJson(check.expected);
    escaped += EscapeControlCharactersInJson(check.observed);
    escaped += EscapeControlCharactersInJson(check.remediation);
  }
  for (auto& event : report->events) {
    escaped += EscapeControlCharactersInJson(event.details);
  }
  if (escaped > 0) {
    spdlog::warn("report {} from {} (device {}): control characters escaped in {} field(s)",
                 report->report_id, request.peer_address, peer.subject_cn, escaped);
  }
  // The agent's clock is evidence: a report dated ahead of ours is stored (ordered by arrival)
  // and the device is flagged.
  if (auto collected = ParseRfc3339(report->collected_at);
      collected.ok() && *collected > call.now + config_.clock_skew_tolerance) {
    spdlog::warn(
        "report {} from {} (device {}) is dated {}, {} s ahead of the SOC's clock: the device's "
        "clock is wrong",
        report->report_id, request.peer_address, peer.subject_cn, report->collected_at,
        std::chrono::duration_cast<std::chrono::seconds>(*collected - call.now).count());
  }
  return std::move(report).value();
}

std::string SocService::JudgeReportPolicy(const protocol::Report& report, Call& call) {
  if (hub_ == nullptr || !call.device) {
    return "";
  }
  const Device& device = *call.device;
  auto same = [&](int64_t version, std::string_view hash) {
    return !hash.empty() && report.policy_version == version && report.policy_hash == hash;
  };
  // What the device should run now, or a little later: an agent whose clock is ahead drops an
  // expiring layer first.
  static const std::string kBuiltinHash = policy::PolicyHash(policy::DefaultPolicy());
  std::string expected_text = "the built-in policy";
  bool expected = false;
  bool part_of_expected = false;
  for (const SysTime at : {call.now, call.now + kPolicyClockTolerance}) {
    auto e = hub_->ExpectedFor(device.group, at);
    if (!e) {
      expected = expected || same(0, kBuiltinHash);
      continue;
    }
    expected = expected || same(e->version, e->hash);
    if (at == call.now) {
      expected_text = "version " + std::to_string(e->version) + " hash " + e->hash.substr(0, 16);
    }
    // Some of the expected layers only: the agent refused one (it says why in its events), lost
    // it with a damaged cache, or has not applied a new one yet. Each of those is a policy the
    // SOC serves; `policy status` lists the device as lagging.
    const size_t n = e->layers.size();
    for (uint32_t mask = 1; n > 1 && n <= 6 && mask + 1 < (1u << n) && !part_of_expected; ++mask) {
      std::vector<policy::Layer> subset;
      for (size_t i = 0; i < n; ++i) {
        if ((mask & (1u << i)) != 0) {
          subset.push_back({e->layers[i].target, e->layers[i].version, e->layers[i].hash, {}});
        }
      }
      part_of_expected = same(policy::LayerSetVersion(subset), policy::LayerSetHash(subset));
    }
  }
  if (expected) {
    return kPolicyExpected;
  }
  // Still accepted while a roll-out reaches the device: the set it last confirmed, the set the
  // SOC last handed it, part of the expected set, and the agent's built-in policy (what it
  // falls back to when its cache is lost or a policy expires; it is the directive's baseline,
  // never a relaxation).
  if (same(device.verified_policy_version, device.verified_policy_hash) ||
      same(device.served_policy_version, device.served_policy_hash) || part_of_expected ||
      same(0, kBuiltinHash)) {
    return kPolicyRollout;
  }
  const std::string what = "report " + report.report_id + " claims policy version " +
                           std::to_string(report.policy_version) + " hash " +
                           Clip(report.policy_hash, 16) + ", which the SOC never served to it (" +
                           expected_text + " expected)";
  spdlog::warn("security event policy_unverified: device {} ({}): {}", device.device_id,
               call.request.peer_address, what);
  AuditEntry entry;
  entry.time = call.now;
  entry.actor = "device " + device.device_id;
  entry.role = "agent";
  entry.method = call.request.method;
  entry.path = "policy_unverified";
  entry.target = Clip(what, 400);
  entry.result = 200;
  entry.source = call.request.peer_address;
  if (auto s = storage_.AppendAudit(entry); !s.ok()) {
    spdlog::error("audit of an unverified policy report failed: {}", s.error().ToString());
  }
  return kPolicyUnverified;
}

HttpResponse SocService::SubmitReport(Call& call) {
  const HttpRequest& request = call.request;
  if (request.body.size() > config_.max_report_bytes) {
    return Fail(413, "too_large",
                "report of " + std::to_string(request.body.size()) +
                    " bytes exceeds the limit of " + std::to_string(config_.max_report_bytes));
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto admitted = AdmitReport(*body, call);
  if (auto* refused = std::get_if<HttpResponse>(&admitted)) {
    return std::move(*refused);
  }
  protocol::Report& report = std::get<protocol::Report>(admitted);
  std::string policy_state = JudgeReportPolicy(report, call);
  // What is stored is the report as validated, re-serialised: fields the parser does not know
  // are not kept.
  std::string body_json = DumpJson(protocol::ToJson(report));
  const std::string report_id = report.report_id;
  if (writer_ == nullptr) {
    return StoredAnswer(report_id, request.peer_address,
                        storage_.StoreReport(report, body_json, call.now, policy_state));
  }
  std::vector<IngestItem> items;
  items.push_back(IngestItem{
      std::move(report), std::move(body_json), call.now,
      [respond = *call.respond, report_id, peer = request.peer_address](Result<bool> stored) {
        respond(StoredAnswer(report_id, peer, stored));
      },
      std::move(policy_state)});
  if (!writer_->TrySubmit(std::move(items))) {
    return Overloaded();
  }
  call.deferred = true;
  return HttpResponse{};
}

HttpResponse SocService::SubmitReportBatch(Call& call) {
  const HttpRequest& request = call.request;
  if (request.body.size() > config_.max_report_bytes) {
    return Fail(413, "too_large",
                "batch of " + std::to_string(request.body.size()) + " bytes exceeds the limit of " +
                    std::to_string(config_.max_report_bytes));
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  const auto reports = body->find("reports");
  if (reports == body->end() || !reports->is_array() || reports->empty() ||
      reports->size() > kMaxBatchReports) {
    return InvalidRequest("'reports' must be an array of 1 to " + std::to_string(kMaxBatchReports) +
                          " reports");
  }
  // Every entry answered in order; the admitted ones are stored together.
  struct Pending {
    json results = json::array();
    std::vector<size_t> slots;  // result index of each queued report
    std::mutex mu;
    size_t remaining = 0;
  };
  auto pending = std::make_shared<Pending>();
  std::vector<protocol::Report> admitted;
  std::vector<std::string> bodies;
  std::vector<std::string> policy_states;
  for (const auto& entry : *reports) {
    std::string id =
        entry.is_object() && entry.contains("report_id") && entry["report_id"].is_string()
            ? Clip(entry["report_id"].get<std::string>(), 64)
            : std::string();
    auto verdict = AdmitReport(entry, call);
    if (auto* refused = std::get_if<HttpResponse>(&verdict)) {
      pending->results.push_back(BatchEntry(id, *refused));
      continue;
    }
    pending->results.push_back(nullptr);
    pending->slots.push_back(pending->results.size() - 1);
    admitted.push_back(std::move(std::get<protocol::Report>(verdict)));
    bodies.push_back(DumpJson(protocol::ToJson(admitted.back())));
    policy_states.push_back(JudgeReportPolicy(admitted.back(), call));
  }
  if (admitted.empty()) {
    return HttpResponse::Json(200, {{"results", std::move(pending->results)}});
  }
  if (writer_ == nullptr) {
    std::vector<ReportToStore> rows;
    for (size_t i = 0; i < admitted.size(); ++i) {
      rows.push_back(ReportToStore{&admitted[i], bodies[i], call.now, policy_states[i]});
    }
    auto stored = storage_.StoreReports(rows);
    for (size_t i = 0; i < admitted.size(); ++i) {
      pending->results[pending->slots[i]] =
          BatchEntry(admitted[i].report_id,
                     StoredAnswer(admitted[i].report_id, request.peer_address, stored[i]));
    }
    return HttpResponse::Json(200, {{"results", std::move(pending->results)}});
  }
  pending->remaining = admitted.size();
  std::vector<IngestItem> items;
  for (size_t i = 0; i < admitted.size(); ++i) {
    const std::string report_id = admitted[i].report_id;
    items.push_back(IngestItem{
        std::move(admitted[i]), std::move(bodies[i]), call.now,
        [pending, slot = pending->slots[i], respond = *call.respond, report_id,
         peer = request.peer_address](Result<bool> stored) {
          std::lock_guard lock(pending->mu);
          pending->results[slot] = BatchEntry(report_id, StoredAnswer(report_id, peer, stored));
          if (--pending->remaining == 0) {
            respond(HttpResponse::Json(200, {{"results", std::move(pending->results)}}));
          }
        },
        std::move(policy_states[i])});
  }
  if (!writer_->TrySubmit(std::move(items))) {
    return Overloaded();
  }
  call.deferred = true;
  return HttpResponse{};
}

HttpResponse SocService::ListDevices(Call& call) {
  const HttpRequest& request = call.request;
  DeviceFilter filter;
  // Staleness depends on each device's group (its policy's reporting interval), so the status
  // filter is applied here rather than in the database.
  std::optional<protocol::DeviceStatus> wanted;
  if (auto status = NonEmptyQuery(request, "status")) {
    auto parsed = protocol::ParseDeviceStatus(*status);
    if (!parsed.ok() || *parsed == protocol::DeviceStatus::kUnknown) {
      return InvalidRequest(
          "status must be compliant, noncompliant, error, stale, revoked or unverified");
    }
    wanted = *parsed;
  }
  if (auto group = NonEmptyQuery(request, "group")) {
    if (group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    filter.group_prefix = *group;
  }
  if (auto check = NonEmptyQuery(request, "check")) {
    const auto& known = policy::KnownCheckIds();
    if (std::find(known.begin(), known.end(), *check) == known.end()) {
      std::string list;
      for (const auto& id : known) {
        list += (list.empty() ? "" : ", ") + id;
      }
      return InvalidRequest("unknown check (known: " + list + ")");
    }
    filter.check_id = *check;
  }
  auto devices = storage_.ListDevices(filter);
  if (!devices.ok()) {
    return StorageFailure("listing devices", devices.error());
  }
  json list = json::array();
  for (const auto& device : *devices) {
    const SysTime stale_before = StaleBefore(device.group, call.now);
    if (wanted && EffectiveStatus(device, stale_before) != *wanted) {
      continue;
    }
    list.push_back(
        DeviceJson(device, stale_before, /*detail=*/false, config_.clock_skew_tolerance));
  }
  return HttpResponse::Json(200, {{"devices", std::move(list)}});
}

HttpResponse SocService::GetDevice(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  auto device = storage_.GetDevice(id);
  if (!device.ok()) {
    if (device.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("looking up a device", device.error());
  }
  auto latest = storage_.LatestReport(id);
  if (!latest.ok()) {
    return StorageFailure("reading the latest report of " + id, latest.error());
  }
  json latest_json = nullptr;
  if (latest->has_value()) {
    latest_json = json::parse((*latest)->body, nullptr, /*allow_exceptions=*/false);
    if (latest_json.is_discarded()) {
      spdlog::error("stored report {} is not valid JSON", (*latest)->report_id);
      return Fail(500, "internal", "the stored report is damaged");
    }
  }
  return HttpResponse::Json(
      200, {{"device", DeviceJson(*device, StaleBefore(device->group, call.now), /*detail=*/true,
                                  config_.clock_skew_tolerance)},
            {"latest_report", std::move(latest_json)}});
}

HttpResponse SocService::RevokeDevice(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  if (auto s = storage_.RevokeDevice(id, call.now); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("revoking a device", s.error());
  }
  spdlog::warn("device {} revoked", id);
  if (on_revoke_) {
    on_revoke_(id);
  }
  RepublishCrl();
  return HttpResponse::Json(200, {{"device_id", id}, {"status", "revoked"}});
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

HttpResponse SocService::DeviceHistory(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  auto limit = LimitQuery(call.request, kDefaultHistoryLimit, kMaxHistoryLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  auto reports = storage_.ReportHistory(id, *limit);
  if (!reports.ok()) {
    if (reports.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("reading the history of " + id, reports.error());
  }
  json list = json::array();
  for (const auto& report : *reports) {
    list.push_back({{"report_id", report.report_id},
                    {"collected_at", FormatRfc3339(report.collected_at)},
                    {"received_at", FormatRfc3339(report.received_at)},
                    {"clock_skew", report.clock_skew > config_.clock_skew_tolerance},
                    {"clock_skew_seconds", report.clock_skew.count()},
                    {"status", protocol::ToString(report.status)}});
  }
  return HttpResponse::Json(200, {{"reports", std::move(list)}});
}

HttpResponse SocService::CreateEnrollToken(Call& call) {
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto group = StringField(*body, "group", kMaxGroupBytes, false);
  if (!group.ok()) {
    return InvalidRequest(group.error().message);
  }
  if (!IsValidGroupName(*group)) {
    return InvalidRequest(
        "group must be segments of a-z 0-9 - _ separated by '/', 1 to 128 "
        "characters (laocai/bac-ha)");
  }
  auto ttl = IntField(*body, "ttl_seconds", kDefaultEnrollTtlSeconds, 1, kMaxEnrollTtlSeconds);
  if (!ttl.ok()) {
    return InvalidRequest(ttl.error().message);
  }
  auto uses = IntField(*body, "uses", 1, 1, kMaxEnrollUses);
  if (!uses.ok()) {
    return InvalidRequest(uses.error().message);
  }
  const std::string secret = RandomToken();
  EnrollmentToken token;
  token.id = NewUuid();
  token.token_hash = Sha256Hex(secret);
  token.group = *group;
  token.created_at = call.now;
  token.expires_at = call.now + std::chrono::seconds(*ttl);
  token.uses_allowed = *uses;
  token.created_by = call.operator_token->name;
  call.audit_target = "enroll-token " + token.id + " group " + token.group;
  if (auto created = storage_.CreateEnrollmentToken(token); !created.ok()) {
    return StorageFailure("creating an enrollment token", created.error());
  }
  spdlog::info("enrollment token {} for group {} ({} uses, expires {}) created by {}", token.id,
               token.group, token.uses_allowed, FormatRfc3339(token.expires_at), token.created_by);
  return HttpResponse::Json(201, {{"token", secret},
                                  {"id", token.id},
                                  {"group", token.group},
                                  {"expires_at", FormatRfc3339(token.expires_at)},
                                  {"uses", token.uses_allowed}});
}

HttpResponse SocService::ListAudit(Call& call) {
  auto limit = LimitQuery(call.request, kDefaultAuditLimit, kMaxAuditLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  auto entries = storage_.ListAudit(*limit);
  if (!entries.ok()) {
    return StorageFailure("reading the audit log", entries.error());
  }
  json list = json::array();
  for (const auto& e : *entries) {
    list.push_back({{"time", FormatRfc3339(e.time)},
                    {"actor", e.actor},
                    {"role", e.role},
                    {"method", e.method},
                    {"path", e.path},
                    {"target", e.target},
                    {"result", e.result},
                    {"source", e.source}});
  }
  return HttpResponse::Json(200, {{"entries", std::move(list)}});
}

namespace {

HttpResponse NoHub() {
  return Fail(503, "unavailable", "policy distribution is not running on this SOC");
}

json TaskJson(const Task& task) {
  return {{"task_id", task.id},
          {"kind", task.kind},
          {"yara", task.yara},
          {"target", task.target},
          {"created_by", task.created_by},
          {"created_at", FormatRfc3339(task.created_at)},
          {"expires_at", FormatRfc3339(task.expires_at)}};
}

constexpr int64_t kDefaultTaskTtlSeconds = 24 * 3600;
constexpr int64_t kMaxTaskTtlSeconds = 30 * 24 * 3600;
constexpr int64_t kDefaultTaskListLimit = 20;
constexpr int64_t kMaxTaskListLimit = 1000;

}  // namespace

// The long-poll: answered now when there is news, else held by the hub (the Responder is taken
// and call.deferred set; the returned value is then ignored).
HttpResponse SocService::Poll(Call& call) {
  const protocol::PeerCertificate& peer = *call.request.peer_cert;  // Access::kDevice
  if (hub_ == nullptr) {
    return NoHub();
  }
  PollRequest poll;
  poll.device_id = peer.subject_cn;
  if (auto version = NonEmptyQuery(call.request, "policy_version")) {
    const auto [end, ec] =
        std::from_chars(version->data(), version->data() + version->size(), poll.policy_version);
    if (ec != std::errc() || end != version->data() + version->size() || poll.policy_version < 0) {
      return InvalidRequest("policy_version must be a non-negative integer");
    }
  }
  if (auto refused = NonEmptyQuery(call.request, "refused")) {
    if (refused->size() > 128 || !IsPrintable(*refused)) {
      return InvalidRequest("refused must be a policy hash");
    }
    poll.refused_hash = *refused;
  }
  if (auto hash = NonEmptyQuery(call.request, "policy_hash")) {
    if (hash->size() > 128 || !IsPrintable(*hash)) {
      return InvalidRequest("policy_hash must be a policy hash");
    }
    poll.policy_hash = *hash;
  }
  // The group is the SOC's record, not anything the agent says.
  poll.group = call.device->group;  // Access::kDevice: live, and this is its certificate
  call.deferred = true;
  hub_->Poll(std::move(poll), std::move(*call.respond));
  return HttpResponse{};
}

HttpResponse SocService::PushPolicy(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  const auto envelope = body->find("envelope");
  if (envelope == body->end() || !envelope->is_object()) {
    return InvalidRequest("'envelope' must be the signed policy envelope (cgctl policy sign)");
  }
  std::string scope;
  if (auto group = body->find("group"); group != body->end() && !group->is_null()) {
    auto value = StringField(*body, "group", kMaxGroupBytes + 1, false);
    if (!value.ok()) {
      return InvalidRequest(value.error().message);
    }
    scope = *value;
    if (scope.back() == '/') {
      scope.pop_back();
    }
    if (!IsValidGroupName(scope)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
  }
  auto outcome = hub_->Push(*envelope, scope, call.operator_token->name);
  if (auto* refused = std::get_if<PushRefusal>(&outcome)) {
    call.audit_target = "policy (refused)";
    spdlog::warn("policy push by {} refused: {}", call.operator_token->name, refused->message);
    return Fail(refused->status, refused->code, refused->message);
  }
  const auto& pushed = std::get<PushOutcome>(outcome);
  call.audit_target = "policy version " + std::to_string(pushed.policy.version) +
                      (scope.empty() ? "" : " group " + scope);
  return HttpResponse::Json(pushed.already_stored ? 200 : 201,
                            {{"version", pushed.policy.version},
                             {"hash", pushed.policy.hash},
                             {"key_id", pushed.policy.key_id},
                             {"scope", pushed.policy.scope},
                             {"already_stored", pushed.already_stored},
                             {"agents_woken", pushed.woken}});
}

HttpResponse SocService::ListPolicies(Call&) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  json list = json::array();
  for (const auto& p : hub_->Policies()) {
    list.push_back({{"target", p.target},
                    {"version", p.version},
                    {"hash", p.hash},
                    {"key_id", p.key_id},
                    {"name", p.name},
                    {"scope", p.scope},
                    {"pushed_by", p.pushed_by},
                    {"pushed_at", FormatRfc3339(p.pushed_at)}});
  }
  return HttpResponse::Json(200, {{"policies", std::move(list)}});
}

HttpResponse SocService::PolicyStatus(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  DeviceFilter filter;
  if (auto group = NonEmptyQuery(call.request, "group")) {
    if (group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    filter.group_prefix = *group;
  }
  auto devices = storage_.ListDevices(filter);
  if (!devices.ok()) {
    return StorageFailure("listing devices", devices.error());
  }
  // Per (version, hash) the devices whose latest report confirms it; lagging: devices that do
  // not run the set their group is served; unverified: devices whose latest report names a
  // policy the SOC never served them (not counted under that version).
  std::map<std::pair<int64_t, std::string>, int64_t> confirmed;
  std::map<std::string, std::optional<ExpectedPolicy>> expected_of;  // by group
  json lagging = json::array();
  json unverified = json::array();
  for (const auto& d : *devices) {
    if (d.revoked) {
      continue;
    }
    const SysTime stale_before = StaleBefore(d.group, call.now);
    auto [slot, fresh] = expected_of.try_emplace(d.group);
    if (fresh) {
      slot->second = hub_->ExpectedFor(d.group, call.now);
    }
    const auto& expected = slot->second;
    const json expected_version = expected ? json(expected->version) : json(0);
    if (d.policy_state == kPolicyUnverified) {
      unverified.push_back({{"device_id", d.device_id},
                            {"hostname", d.hostname},
                            {"group", d.group},
                            {"policy_version", d.policy_version},
                            {"policy_hash", d.policy_hash},
                            {"expected_version", expected_version},
                            {"last_seen", OptionalTime(d.last_seen)}});
      continue;
    }
    ++confirmed[{d.policy_version, d.policy_hash}];
    if (expected && (d.policy_version != expected->version || d.policy_hash != expected->hash)) {
      lagging.push_back({{"device_id", d.device_id},
                         {"hostname", d.hostname},
                         {"group", d.group},
                         {"policy_version", d.policy_version},
                         {"expected_version", expected->version},
                         {"expected_hash", expected->hash},
                         {"status", protocol::ToString(EffectiveStatus(d, stale_before))},
                         {"last_seen", OptionalTime(d.last_seen)}});
    }
  }
  // The layers of every set some group is served, so a set's hash can be read.
  std::map<std::string, json> layers_of;
  for (const auto& [group, expected] : expected_of) {
    if (expected) {
      json layers = json::array();
      for (const auto& l : expected->layers) {
        layers.push_back({{"target", l.target}, {"version", l.version}, {"hash", l.hash}});
      }
      layers_of[expected->hash] = std::move(layers);
    }
  }
  json versions = json::array();
  for (auto it = confirmed.rbegin(); it != confirmed.rend(); ++it) {
    json v = {{"version", it->first.first}, {"hash", it->first.second}, {"devices", it->second}};
    if (auto l = layers_of.find(it->first.second); l != layers_of.end()) {
      v["layers"] = l->second;
    }
    versions.push_back(std::move(v));
  }
  return HttpResponse::Json(200, {{"versions", std::move(versions)},
                                  {"lagging", std::move(lagging)},
                                  {"unverified", std::move(unverified)}});
}

// The merged policy a device or a group runs, with the layer each value comes from.
HttpResponse SocService::EffectivePolicy(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto device_id = NonEmptyQuery(call.request, "device");
  auto group = NonEmptyQuery(call.request, "group");
  if (device_id.has_value() == group.has_value()) {
    return InvalidRequest("give either device=ID or group=G");
  }
  json answer = json::object();
  if (device_id) {
    call.audit_target = Clip(*device_id, 64);
    if (!IsUuid(*device_id)) {
      return Fail(404, "not_found", "no such device");
    }
    auto device = storage_.GetDevice(*device_id);
    if (!device.ok()) {
      if (device.error().code == ErrorCode::kNotFound) {
        return Fail(404, "not_found", "no such device");
      }
      return StorageFailure("reading a device", device.error());
    }
    group = device->group;
    answer["device"] = {{"device_id", device->device_id},
                        {"hostname", device->hostname},
                        {"policy_version", device->policy_version},
                        {"policy_hash", device->policy_hash},
                        {"policy_state", device->policy_state}};
  } else {
    if (group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    call.audit_target = "group " + *group;
  }
  auto merged = hub_->EffectiveFor(*group, call.now);
  if (!merged.ok()) {
    return StorageFailure("merging policy layers", merged.error());
  }
  json layers = json::array();
  if (auto expected = hub_->ExpectedFor(*group, call.now)) {
    for (const auto& l : expected->layers) {
      layers.push_back({{"target", l.target},
                        {"version", l.version},
                        {"hash", l.hash},
                        {"name", l.name},
                        {"key_id", l.key_id}});
    }
  }
  // Every value of the merged document (defaults included) and where it comes from.
  json origin = json::object();
  const json& doc = merged->policy.document;
  auto from = [&](const std::string& path) {
    auto it = merged->origin.find(path);
    return it == merged->origin.end() ? std::string("built-in") : it->second;
  };
  for (auto check = doc["checks"].begin(); check != doc["checks"].end(); ++check) {
    for (auto v = check->begin(); v != check->end(); ++v) {
      const std::string path = "checks." + check.key() + "." + v.key();
      origin[path] = from(path);
    }
  }
  if (auto r = doc.find("reporting"); r != doc.end()) {
    for (auto v = r->begin(); v != r->end(); ++v) {
      origin["reporting." + v.key()] = from("reporting." + v.key());
    }
  }
  origin["name"] = from("name");
  answer["group"] = *group;
  answer["version"] = merged->policy.version;
  answer["hash"] = merged->hash;
  answer["layers"] = std::move(layers);
  answer["policy"] = doc;
  answer["origin"] = std::move(origin);
  return HttpResponse::Json(200, answer);
}

HttpResponse SocService::CreateInspection(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  const bool by_device = body->contains("device_id") && !(*body)["device_id"].is_null();
  const bool by_group = body->contains("group") && !(*body)["group"].is_null();
  if (by_device == by_group) {
    return InvalidRequest("give either 'device_id' or 'group'");
  }
  bool yara = false;
  if (auto it = body->find("yara"); it != body->end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return InvalidRequest("'yara' must be a boolean");
    }
    yara = it->get<bool>();
  }
  auto ttl = IntField(*body, "ttl_seconds", kDefaultTaskTtlSeconds, 60, kMaxTaskTtlSeconds);
  if (!ttl.ok()) {
    return InvalidRequest(ttl.error().message);
  }
  Task task;
  task.id = NewUuid();
  task.yara = yara;
  task.created_by = call.operator_token->name;
  task.created_at = call.now;
  task.expires_at = call.now + std::chrono::seconds(*ttl);
  std::vector<std::string> device_ids;
  if (by_device) {
    auto id = StringField(*body, "device_id", 36, false);
    if (!id.ok()) {
      return InvalidRequest(id.error().message);
    }
    call.audit_target = *id;
    auto device = IsUuid(*id) ? storage_.GetDevice(*id)
                              : Result<Device>(MakeError(ErrorCode::kNotFound, "no such device"));
    if (!device.ok()) {
      return device.error().code == ErrorCode::kNotFound
                 ? Fail(404, "not_found", "no such device")
                 : StorageFailure("looking up a device", device.error());
    }
    if (device->revoked) {
      return Fail(409, "revoked", "device " + *id + " is revoked");
    }
    task.target = "device " + *id;
    device_ids.push_back(*id);
  } else {
    auto group = StringField(*body, "group", kMaxGroupBytes + 1, false);
    if (!group.ok()) {
      return InvalidRequest(group.error().message);
    }
    std::string g = *group;
    if (g.back() == '/') {
      g.pop_back();
    }
    if (!IsValidGroupName(g)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    call.audit_target = "group " + g;
    DeviceFilter filter;
    filter.group_prefix = g;
    auto devices = storage_.ListDevices(filter);
    if (!devices.ok()) {
      return StorageFailure("listing devices", devices.error());
    }
    for (const auto& d : *devices) {
      if (!d.revoked) {
        device_ids.push_back(d.device_id);
      }
    }
    if (device_ids.empty()) {
      return Fail(404, "not_found", "no enrolled device in group " + g);
    }
    task.target = "group " + g;
  }
  if (auto created = storage_.CreateTask(task, device_ids); !created.ok()) {
    return StorageFailure("creating a task", created.error());
  }
  call.audit_target = "inspection " + task.id + " " + task.target;
  spdlog::info("inspection {} of {} ({} devices{}) requested by {}", task.id, task.target,
               device_ids.size(), task.yara ? ", with a YARA scan" : "", task.created_by);
  hub_->WakeDevices(device_ids);
  json j = TaskJson(task);
  j["devices"] = device_ids.size();
  return HttpResponse::Json(201, j);
}

HttpResponse SocService::ListInspections(Call& call) {
  auto limit = LimitQuery(call.request, kDefaultTaskListLimit, kMaxTaskListLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  auto tasks = storage_.ListTasks(*limit);
  if (!tasks.ok()) {
    return StorageFailure("listing tasks", tasks.error());
  }
  json list = json::array();
  for (const auto& task : *tasks) {
    auto detail = storage_.GetTask(task.id);
    if (!detail.ok()) {
      return StorageFailure("reading task " + task.id, detail.error());
    }
    json j = TaskJson(task);
    std::map<std::string, int64_t> counts = {{"pending", 0}, {"delivered", 0}, {"done", 0}};
    for (const auto& a : detail->second) {
      ++counts[a.state];
    }
    j["devices"] = detail->second.size();
    j["pending"] = counts["pending"];
    j["delivered"] = counts["delivered"];
    j["done"] = counts["done"];
    list.push_back(std::move(j));
  }
  return HttpResponse::Json(200, {{"inspections", std::move(list)}});
}

HttpResponse SocService::GetInspection(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "inspection " + id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such inspection");
  }
  auto detail = storage_.GetTask(id);
  if (!detail.ok()) {
    return detail.error().code == ErrorCode::kNotFound
               ? Fail(404, "not_found", "no such inspection")
               : StorageFailure("reading task " + id, detail.error());
  }
  json j = TaskJson(detail->first);
  json devices = json::array();
  for (const auto& a : detail->second) {
    devices.push_back({{"device_id", a.device_id},
                       {"hostname", a.hostname},
                       {"state", a.state},
                       {"delivered_at", OptionalTime(a.delivered_at)},
                       {"done_at", OptionalTime(a.done_at)},
                       {"report_id", a.report_id}});
  }
  j["devices"] = std::move(devices);
  return HttpResponse::Json(200, j);
}

Result<std::string> SocService::CreateOperatorToken(std::string_view name, std::string_view role,
                                                    std::optional<SysTime> expires_at) {
  CG_ASSIGN_OR_RETURN(auto created, CreateOperatorTokenRecord(name, role, expires_at, now_()));
  return std::move(created.first);
}

Result<std::pair<std::string, OperatorToken>> SocService::CreateOperatorTokenRecord(
    std::string_view name, std::string_view role, std::optional<SysTime> expires_at, SysTime now) {
  if (RoleRank(role) == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "role must be analyst or admin, not '" + Clip(role, 32) + "'");
  }
  if (name.empty() || name.size() > kMaxOperatorNameBytes || !IsPrintable(name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token name must be 1 to 128 printable characters");
  }
  const SysTime latest = now + std::chrono::seconds(kMaxOperatorTtlSeconds);
  if (!expires_at) {
    expires_at = latest;
  }
  if (*expires_at <= now) {
    return MakeError(ErrorCode::kInvalidArgument, "the expiry time is not in the future");
  }
  if (*expires_at > latest) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "operator tokens live at most 90 days (the directive's password rule)");
  }
  std::string secret = RandomToken();
  OperatorToken token;
  token.id = NewUuid();
  token.name = std::string(name);
  token.role = std::string(role);
  token.token_hash = Sha256Hex(secret);
  token.created_at = now;
  token.expires_at = expires_at;
  CG_RETURN_IF_ERROR(storage_.CreateOperatorToken(token));
  spdlog::info("operator token {} ({}, role {}) created", token.id, token.name, token.role);
  return std::make_pair(std::move(secret), std::move(token));
}

// --- enrollment tokens, operator tokens, re-enrollment ----------------------------------------

namespace {

json EnrollTokenJson(const EnrollmentToken& t, SysTime now) {
  const auto refusal = EnrollmentTokenRefusal(t, now);
  return {{"id", t.id},
          {"group", t.group},
          {"created_at", FormatRfc3339(t.created_at)},
          {"created_by", t.created_by},
          {"expires_at", FormatRfc3339(t.expires_at)},
          {"uses_allowed", t.uses_allowed},
          {"uses", t.uses},
          {"revoked", t.revoked},
          // "usable", or why not: "revoked", "expired", "used up"
          {"state", refusal ? refusal->substr(std::string_view("enrollment token ").size())
                            : std::string("usable")}};
}

json OperatorTokenJson(const OperatorToken& t, SysTime now) {
  const bool expired = t.expires_at && now >= *t.expires_at;
  return {{"id", t.id},
          {"name", t.name},
          {"role", t.role},
          {"created_at", FormatRfc3339(t.created_at)},
          {"expires_at", OptionalTime(t.expires_at)},
          {"last_used_at", OptionalTime(t.last_used_at)},
          {"revoked", t.revoked},
          {"state", t.revoked ? "revoked"
                    : expired ? "expired"
                              : "active"}};
}

}  // namespace

HttpResponse SocService::ListEnrollTokens(Call& call) {
  auto tokens = storage_.ListEnrollmentTokens();
  if (!tokens.ok()) {
    return StorageFailure("listing enrollment tokens", tokens.error());
  }
  json list = json::array();
  for (const auto& t : *tokens) {
    list.push_back(EnrollTokenJson(t, call.now));
  }
  return HttpResponse::Json(200, {{"enroll_tokens", std::move(list)}});
}

HttpResponse SocService::RevokeEnrollToken(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "enroll-token " + Clip(id, 64);
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such enrollment token");
  }
  if (auto s = storage_.RevokeEnrollmentToken(id); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such enrollment token");
    }
    return StorageFailure("revoking an enrollment token", s.error());
  }
  spdlog::warn("enrollment token {} revoked by {}", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"id", id}, {"state", "revoked"}});
}

HttpResponse SocService::ListOperatorTokens(Call& call) {
  auto tokens = storage_.ListOperatorTokens();
  if (!tokens.ok()) {
    return StorageFailure("listing operator tokens", tokens.error());
  }
  json list = json::array();
  for (const auto& t : *tokens) {
    list.push_back(OperatorTokenJson(t, call.now));
  }
  return HttpResponse::Json(200, {{"operator_tokens", std::move(list)}});
}

HttpResponse SocService::CreateOperatorTokenRoute(Call& call) {
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto name = StringField(*body, "name", kMaxOperatorNameBytes, false);
  auto role = StringField(*body, "role", 16, false);
  if (!name.ok() || !role.ok()) {
    return InvalidRequest((name.ok() ? role : name).error().message);
  }
  auto ttl = IntField(*body, "ttl_seconds", kDefaultOperatorTtlSeconds, 1, kMaxOperatorTtlSeconds);
  if (!ttl.ok()) {
    return InvalidRequest(ttl.error().message + " (90 days at most)");
  }
  const std::optional<SysTime> expires = call.now + std::chrono::seconds(*ttl);
  call.audit_target = "operator-token " + Clip(*name, 128) + " role " + Clip(*role, 16);
  auto created = CreateOperatorTokenRecord(*name, *role, expires, call.now);
  if (!created.ok()) {
    if (created.error().code == ErrorCode::kInvalidArgument) {
      return InvalidRequest(created.error().message);
    }
    return StorageFailure("creating an operator token", created.error());
  }
  const auto& [secret, token] = *created;
  call.audit_target = "operator-token " + token.id + " (" + Clip(*name, 128) + ", " + *role + ")";
  json answer = OperatorTokenJson(token, call.now);
  answer["token"] = secret;
  return HttpResponse::Json(201, answer);
}

HttpResponse SocService::RevokeOperatorToken(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "operator-token " + Clip(id, 64);
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such operator token");
  }
  if (auto s = storage_.RevokeOperatorToken(id); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such operator token");
    }
    return StorageFailure("revoking an operator token", s.error());
  }
  spdlog::warn("operator token {} revoked by {}", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"id", id}, {"state", "revoked"}});
}

HttpResponse SocService::AllowReenroll(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  if (auto s = storage_.AllowReenroll(id, call.now); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("allowing re-enrollment", s.error());
  }
  spdlog::info("device {} may enroll again (allowed by {})", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"device_id", id}, {"reenroll_allowed", true}});
}

HttpResponse SocService::ListConflicts(Call& call) {
  const auto all = NonEmptyQuery(call.request, "all");
  auto conflicts = storage_.ListEnrollmentConflicts(all && *all != "0" && *all != "false");
  if (!conflicts.ok()) {
    return StorageFailure("listing enrollment conflicts", conflicts.error());
  }
  json list = json::array();
  for (const auto& c : *conflicts) {
    list.push_back({{"id", c.id},
                    {"time", FormatRfc3339(c.time)},
                    {"device_id", c.device_id},
                    {"hostname", c.hostname},
                    {"machine_id", c.machine_id},
                    {"group", c.group},
                    {"source", c.source},
                    {"resolved_at", OptionalTime(c.resolved_at)},
                    {"resolved_by", c.resolved_by}});
  }
  return HttpResponse::Json(200, {{"conflicts", std::move(list)}});
}

HttpResponse SocService::ResolveConflict(Call& call) {
  const std::string& text = call.params.at(0);
  call.audit_target = "conflict " + Clip(text, 32);
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return Fail(404, "not_found", "no such conflict");
  }
  if (auto s = storage_.ResolveEnrollmentConflict(id, call.operator_token->name, call.now);
      !s.ok()) {
    switch (s.error().code) {
      case ErrorCode::kNotFound:
        return Fail(404, "not_found", "no such conflict");
      case ErrorCode::kConflict:
        return Fail(409, "conflict", s.error().message);
      default:
        return StorageFailure("resolving a conflict", s.error());
    }
  }
  spdlog::info("enrollment conflict {} resolved by {}", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"id", id}, {"resolved_by", call.operator_token->name}});
}

}  // namespace cg::soc

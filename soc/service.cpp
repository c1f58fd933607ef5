// Request handlers of the SOC's agent and operator ports, with their route tables.
#include "soc/service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "policy/policy.h"
#include "soc/ingest_writer.h"

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
  std::string audit_target;             // what the request acted on, for the audit log
  // Agent port: a handler that answers later (after the group commit) takes this Responder and
  // sets `deferred`; its return value is then ignored.
  Responder* respond = nullptr;
  bool deferred = false;
};

namespace {

// Deeper JSON is refused while it is parsed (the deeper values are dropped as they are read,
// never built): nlohmann's copies and dumps recurse, and a 1 MiB body of '[' would otherwise
// reach them with 500 000 levels.
constexpr int kMaxJsonDepth = 64;
// The enrollment route is open to anyone who can connect: a token, a CSR and two names.
constexpr size_t kMaxEnrollBodyBytes = 32 * 1024;
constexpr size_t kMaxTokenBytes = 256;
constexpr size_t kMaxGroupBytes = 128;
constexpr size_t kMaxOperatorNameBytes = 128;
constexpr int64_t kDefaultEnrollTtlSeconds = 24 * 3600;
constexpr int64_t kMaxEnrollTtlSeconds = 30 * 24 * 3600;
constexpr int64_t kMaxEnrollUses = 10000;
constexpr int64_t kDefaultHistoryLimit = 50;
constexpr int64_t kMaxHistoryLimit = 1000;
constexpr int64_t kDefaultAuditLimit = 100;
constexpr int64_t kMaxAuditLimit = 10000;
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

bool IsPrintable(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A request body as a JSON object (kParse with the reason otherwise).
Result<json> ParseJsonBody(std::string_view body) {
  bool too_deep = false;
  const json::parser_callback_t limit_depth = [&too_deep](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json parsed = json::parse(body, limit_depth, /*allow_exceptions=*/false);
  if (too_deep) {
    return MakeError(ErrorCode::kParse,
                     "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kParse, "the body is not valid JSON");
  }
  if (!parsed.is_object()) {
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

json DeviceJson(const Device& device, SysTime stale_before, bool detail) {
  json j = {{"device_id", device.device_id},
            {"hostname", device.hostname},
            {"group", device.group},
            {"status", protocol::ToString(EffectiveStatus(device, stale_before))},
            {"last_seen", OptionalTime(device.last_seen)},
            {"policy_version", device.policy_version},
            {"enrolled_at", FormatRfc3339(device.enrolled_at)}};
  if (detail) {
    j["machine_id"] = device.machine_id;
    j["cert_serial"] = device.cert_serial;
    j["cert_not_after"] = FormatRfc3339(device.cert_not_after);
    j["revoked"] = device.revoked;
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
    : storage_(storage), ca_(ca), now_(std::move(now)), config_(config) {}

const std::vector<SocService::Route>& SocService::AgentRoutes() {
  static const std::vector<Route> routes = {
      {"POST", "/v1/enroll", Access::kPublic, &SocService::Enroll},
      {"POST", "/v1/reports", Access::kDevice, &SocService::SubmitReport},
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
  };
  return routes;
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
  HttpResponse response = (this->*lookup.route->handler)(call);
  deferred = call.deferred;
  return response;
}

HttpResponse SocService::DispatchOperator(const HttpRequest& request, SysTime now,
                                          AuditEntry& audit) {
  // Authentication comes before routing: without a token, nothing about the API is shown.
  const auto secret = BearerToken(request.Header("Authorization"));
  if (!secret) {
    return Unauthenticated("missing bearer token (Authorization: Bearer <token>)");
  }
  auto token = storage_.FindOperatorTokenByHash(Sha256Hex(*secret));
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
  Call call(request, now, std::move(lookup.params), &*token);
  HttpResponse response = (this->*lookup.route->handler)(call);
  audit.target = Clip(call.audit_target);
  return response;
}

HttpResponse SocService::Enroll(Call& call) {
  const HttpRequest& request = call.request;
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
  if (auto refusal = EnrollmentTokenRefusal(*token, call.now)) {
    return refuse(403, "forbidden", *refusal);
  }
  const std::string device_id = NewUuid();
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
  spdlog::info("enrolled device {} (hostname '{}') into group {} from {} with enrollment token {}",
               device_id, device.hostname, device.group, request.peer_address, consumed->id);
  return HttpResponse::Json(200, {{"device_id", device_id},
                                  {"group", device.group},
                                  {"certificate_pem", *certificate},
                                  {"ca_pem", ca_.cert_pem()}});
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
                                                                     const HttpRequest& request) {
  const protocol::PeerCertificate& peer = *request.peer_cert;  // Access::kDevice
  auto report = protocol::ReportFromJson(body);
  if (!report.ok()) {
    return Fail(400, "invalid_report", report.error().message);
  }
  auto refuse = [&](std::string_view reason) {
    spdlog::warn("report {} from {} (certificate CN {}) refused: {}", report->report_id,
                 request.peer_address, peer.subject_cn, reason);
    return Fail(403, "forbidden", reason);
  };
  if (report->device_id != peer.subject_cn) {
    return refuse("the report's device_id is not the client certificate's device");
  }
  auto device = storage_.GetDevice(report->device_id);
  if (!device.ok()) {
    if (device.error().code == ErrorCode::kNotFound) {
      return refuse("unknown device");
    }
    return StorageFailure("looking up a device", device.error());
  }
  if (device->revoked) {
    return refuse("device revoked");
  }
  if (device->cert_serial != peer.serial_hex) {
    return refuse("not the certificate issued to this device");
  }
  return std::move(report).value();
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
  auto admitted = AdmitReport(*body, request);
  if (auto* refused = std::get_if<HttpResponse>(&admitted)) {
    return std::move(*refused);
  }
  protocol::Report& report = std::get<protocol::Report>(admitted);
  // What is stored is the report as validated, re-serialised: fields the parser does not know
  // are not kept.
  std::string body_json = DumpJson(protocol::ToJson(report));
  const std::string report_id = report.report_id;
  if (writer_ == nullptr) {
    return StoredAnswer(report_id, request.peer_address,
                        storage_.StoreReport(report, body_json, call.now));
  }
  std::vector<IngestItem> items;
  items.push_back(IngestItem{
      std::move(report), std::move(body_json), call.now,
      [respond = *call.respond, report_id, peer = request.peer_address](Result<bool> stored) {
        respond(StoredAnswer(report_id, peer, stored));
      }});
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
  for (const auto& entry : *reports) {
    std::string id =
        entry.is_object() && entry.contains("report_id") && entry["report_id"].is_string()
            ? Clip(entry["report_id"].get<std::string>(), 64)
            : std::string();
    auto verdict = AdmitReport(entry, request);
    if (auto* refused = std::get_if<HttpResponse>(&verdict)) {
      pending->results.push_back(BatchEntry(id, *refused));
      continue;
    }
    pending->results.push_back(nullptr);
    pending->slots.push_back(pending->results.size() - 1);
    admitted.push_back(std::move(std::get<protocol::Report>(verdict)));
    bodies.push_back(DumpJson(protocol::ToJson(admitted.back())));
  }
  if (admitted.empty()) {
    return HttpResponse::Json(200, {{"results", std::move(pending->results)}});
  }
  if (writer_ == nullptr) {
    std::vector<ReportToStore> rows;
    for (size_t i = 0; i < admitted.size(); ++i) {
      rows.push_back(ReportToStore{&admitted[i], bodies[i], call.now});
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
        }});
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
  filter.stale_before = call.now - config_.stale_after;
  if (auto status = NonEmptyQuery(request, "status")) {
    auto parsed = protocol::ParseDeviceStatus(*status);
    if (!parsed.ok() || *parsed == protocol::DeviceStatus::kUnknown) {
      return InvalidRequest("status must be compliant, noncompliant, error, stale or revoked");
    }
    filter.status = *parsed;
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
    list.push_back(DeviceJson(device, *filter.stale_before, /*detail=*/false));
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
      200, {{"device", DeviceJson(*device, call.now - config_.stale_after, /*detail=*/true)},
            {"latest_report", std::move(latest_json)}});
}

HttpResponse SocService::RevokeDevice(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  if (auto s = storage_.RevokeDevice(id); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("revoking a device", s.error());
  }
  spdlog::warn("device {} revoked", id);
  if (on_revoke_) {
    on_revoke_(id);
  }
  return HttpResponse::Json(200, {{"device_id", id}, {"status", "revoked"}});
}

bool SocService::CertificateAllowed(const protocol::PeerCertificate& peer) {
  auto device = storage_.GetDevice(peer.subject_cn);
  if (!device.ok()) {
    return false;  // unknown device, or storage trouble: fail closed
  }
  return !device->revoked && device->cert_serial == peer.serial_hex;
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

Result<std::string> SocService::CreateOperatorToken(std::string_view name, std::string_view role,
                                                    std::optional<SysTime> expires_at) {
  if (RoleRank(role) == 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "role must be analyst or admin, not '" + Clip(role, 32) + "'");
  }
  if (name.empty() || name.size() > kMaxOperatorNameBytes || !IsPrintable(name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "token name must be 1 to 128 printable characters");
  }
  const SysTime now = now_();
  if (expires_at && *expires_at <= now) {
    return MakeError(ErrorCode::kInvalidArgument, "the expiry time is not in the future");
  }
  const std::string secret = RandomToken();
  OperatorToken token;
  token.id = NewUuid();
  token.name = std::string(name);
  token.role = std::string(role);
  token.token_hash = Sha256Hex(secret);
  token.created_at = now;
  token.expires_at = expires_at;
  CG_RETURN_IF_ERROR(storage_.CreateOperatorToken(token));
  spdlog::info("operator token {} ({}, role {}) created", token.id, token.name, token.role);
  return secret;
}

}  // namespace cg::soc

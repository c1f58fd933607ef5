// Staff accounts on the operator port: login and logout, account setup, account management
// (admin), sessions and account-owned tokens as principals, and the filtered audit log.
#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "protocol/account_api.h"
#include "soc/account_service.h"
#include "soc/auth/otpauth.h"
#include "soc/browser_security.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpResponse;
namespace fields = protocol::account_api;

namespace {

HttpResponse NoAccounts() {
  return Fail(503, "unavailable", "staff accounts are not configured on this SOC");
}

// The preamble of an account call with a JSON body: staff accounts configured, the body parsed.
// The parsed body, or the answer to send instead.
std::variant<json, HttpResponse> AccountCallBody(const AccountService* accounts,
                                                 std::string_view body) {
  if (accounts == nullptr) {
    return NoAccounts();
  }
  auto parsed = ParseJsonBody(body);
  if (!parsed.ok()) {
    return Fail(400, "bad_json", parsed.error().message);
  }
  return std::move(parsed).value();
}

HttpResponse FailureAnswer(const AccountFailure& f) {
  const char* code = f.status == 401   ? "unauthenticated"
                     : f.status == 403 ? "forbidden"
                     : f.status == 409 ? "conflict"
                     : f.status == 429 ? "throttled"
                     : f.status == 400 ? "invalid_request"
                                       : "internal";
  HttpResponse response = Fail(f.status, code, f.message);
  if (f.retry_after.count() > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(f.retry_after.count()));
  }
  return response;
}

// Login and setup: names whom an AccountService outcome was about in the audit row; the error
// answer when it failed, nullopt when it succeeded. (CallT is SocService::Call, a type only the
// class's members may name.)
template <typename CallT, typename T>
std::optional<HttpResponse> OutcomeRefusal(CallT& call, const Outcome<T>& outcome) {
  if (outcome.account) {
    call.audit_account = outcome.account->name;
    call.audit_role = outcome.account->role;
  }
  if (!outcome.ok()) {
    call.audit_target = outcome.failure.audit;
    return FailureAnswer(outcome.failure);
  }
  return std::nullopt;
}

// body[key] as a string that may be empty or absent ("" then).
std::string OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json AccountJson(const Account& a, SysTime now, size_t sessions, const json& tokens) {
  std::string state = a.disabled                ? "disabled"
                      : !a.setup_hash.empty()   ? "setup pending"
                      : a.password_hash.empty() ? "no password"
                                                : "active";
  if (state == "setup pending" && (!a.setup_expires_at || now >= *a.setup_expires_at)) {
    state = "setup expired";
  }
  return {{"id", a.id},
          {fields::kName, a.name},
          {fields::kDisplayName, a.display_name},
          {fields::kRole, a.role},
          {"state", state},
          {"totp", a.totp_enabled},
          {"created_at", FormatRfc3339(a.created_at)},
          {"created_by", a.created_by},
          {"last_login_at", OptionalTime(a.last_login_at)},
          {"failed_logins", a.failed_logins},
          {"last_failed_login_at", OptionalTime(a.last_failed_login_at)},
          {fields::kSetupExpiresAt,
           a.setup_hash.empty() ? json(nullptr) : OptionalTime(a.setup_expires_at)},
          {"sessions", sessions},
          {fields::kTokens, tokens}};
}

}  // namespace

// --- principals ------------------------------------------------------------------------------

std::variant<SocService::Principal, HttpResponse> SocService::SessionPrincipal(
    std::string_view secret, std::string_view kind, SysTime now, AuditEntry& audit, bool refresh) {
  auto who = accounts_->Authenticate(secret, kind, now, refresh);
  if (!who.ok()) {
    if (who.error().code == ErrorCode::kNotFound) {
      spdlog::warn("operator request {} {} from {} with an unknown {}", audit.method, audit.path,
                   audit.source, kind == kSessionBrowser ? "session cookie" : "token");
      HttpResponse r =
          Fail(401, "unauthenticated",
               kind == kSessionBrowser ? "not logged in (or the session ended)" : "unknown token");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    if (who.error().code == ErrorCode::kUnauthenticated) {
      HttpResponse r = Fail(401, "unauthenticated", who.error().message);
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    return StorageFailure("looking up a session", who.error());
  }
  Principal p;
  p.token.id = who->session.id;
  p.token.name = who->account.name;
  p.token.role = who->account.role;
  p.token.created_at = who->session.created_at;
  p.token.expires_at = who->session.expires_at;
  p.account_id = who->account.id;
  p.account_name = who->account.name;
  p.session_id = who->session.id;
  p.display_name = who->account.display_name;
  p.session_kind = who->session.kind;
  p.csrf_hash = who->session.csrf_hash;
  audit.actor = Clip(who->account.name, 128);
  audit.account = audit.actor;
  audit.role = who->account.role;
  return p;
}

std::optional<HttpResponse> SocService::ApplyTokenOwner(Principal& principal, AuditEntry& audit) {
  auto owner = accounts_->store().TokenOwner(principal.token.id);
  if (!owner.ok()) {
    return StorageFailure("looking up a token's owner", owner.error());
  }
  if (!owner->has_value()) {
    return std::nullopt;  // a token from before accounts: it keeps its own role
  }
  auto account = accounts_->store().GetAccount(**owner);
  if (!account.ok()) {
    return StorageFailure("looking up a token's owner", account.error());
  }
  audit.account = Clip(account->name, 128);
  if (account->disabled) {
    spdlog::warn("operator token {} of disabled account {} refused", principal.token.id,
                 account->name);
    HttpResponse r = Fail(401, "unauthenticated", "the token's account is disabled");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  // Never more than the account may do.
  if (RoleRank(account->role) < RoleRank(principal.token.role)) {
    principal.token.role = account->role;
    audit.role = account->role;
  }
  principal.account_id = account->id;
  principal.account_name = account->name;
  return std::nullopt;
}

// --- login, logout, setup ----------------------------------------------------------------------

HttpResponse SocService::Login(Call& call) {
  auto parsed = AccountCallBody(accounts_, call.request.body);
  if (auto* answer = std::get_if<HttpResponse>(&parsed)) {
    return std::move(*answer);
  }
  const json& body = std::get<json>(parsed);
  LoginRequest request;
  request.account = OptionalString(body, fields::kAccount);
  request.password = OptionalString(body, fields::kPassword);
  request.code = OptionalString(body, fields::kCode);
  request.recovery_code = OptionalString(body, fields::kRecoveryCode);
  request.address = AddressOf(call.request.peer_address);
  const std::string client = OptionalString(body, fields::kClient);
  if (!client.empty() && client != fields::kClientCli && client != fields::kClientBrowser) {
    return InvalidRequest("client must be cli or browser");
  }
  const bool browser = client == fields::kClientBrowser;
  if (browser) {
    // No login forced on from another site's page (its cookie would replace the person's).
    const std::string site = call.request.Header("Sec-Fetch-Site");
    if (site == "cross-site" || site == "same-site") {
      call.audit_target = "login refused: request from another site";
      return Fail(403, "forbidden", "a login from another site is refused");
    }
  }
  request.kind = browser ? kSessionBrowser : kSessionCli;
  call.audit_actor = IsValidAccountName(request.account) ? request.account : "-";
  auto outcome = accounts_->Login(request, call.now);
  if (auto refused = OutcomeRefusal(call, outcome)) {
    return std::move(*refused);
  }
  const LoginDone& done = *outcome.value;
  call.audit_target = "login: " + done.session.kind + " session " + done.session.id +
                      (done.used_recovery_code ? " (recovery code used)" : "");
  const auto idle = accounts_->IdleTimeout(done.session.kind);
  if (browser) {
    // The session's secret goes only into the HttpOnly cookie: no script ever reads it.
    json answer = {{fields::kAccount, done.account.name},
                   {fields::kDisplayName, done.account.display_name},
                   {fields::kRole, done.account.role},
                   {fields::kCsrfToken, done.csrf_token},
                   {fields::kExpiresAt, FormatRfc3339(done.session.expires_at)},
                   {fields::kIdleTimeoutSeconds, idle.count()}};
    if (done.used_recovery_code) {
      answer[fields::kRecoveryCodesLeft] = done.recovery_codes_left;
    }
    HttpResponse response = HttpResponse::Json(200, answer);
    response.headers.emplace_back("Set-Cookie", SessionSetCookie(done.token));
    return response;
  }
  json answer = {{fields::kToken, done.token},
                 {fields::kAccount, done.account.name},
                 {fields::kDisplayName, done.account.display_name},
                 {fields::kRole, done.account.role},
                 {"session_id", done.session.id},
                 {fields::kExpiresAt, FormatRfc3339(done.session.expires_at)},
                 {fields::kIdleTimeoutSeconds, idle.count()}};
  if (done.used_recovery_code) {
    answer[fields::kRecoveryCodesLeft] = done.recovery_codes_left;
  }
  return HttpResponse::Json(200, answer);
}

HttpResponse SocService::Logout(Call& call) {
  if (call.session_id.empty()) {
    return InvalidRequest("this is an operator token, not a login session: revoke it instead");
  }
  call.audit_target = "session " + call.session_id;
  if (auto s = accounts_->store().DeleteSession(call.session_id); !s.ok()) {
    return StorageFailure("ending a session", s.error());
  }
  spdlog::info("account {} logged out (session {})", call.account_name, call.session_id);
  HttpResponse response =
      HttpResponse::Json(200, {{"session_id", call.session_id}, {"state", "ended"}});
  if (call.session_kind == kSessionBrowser) {
    response.headers.emplace_back("Set-Cookie", ClearedSessionSetCookie());
  }
  return response;
}

HttpResponse SocService::SessionInfo(Call& call) {
  json answer = {
      {fields::kAccount, call.account_name.empty() ? json(nullptr) : json(call.account_name)},
      {fields::kRole, call.operator_token->role},
      {"via", call.session_id.empty() ? "operator token" : "session"},
      {"token_name", call.operator_token->name},
      {fields::kExpiresAt, OptionalTime(call.operator_token->expires_at)}};
  if (!call.session_id.empty()) {
    answer[fields::kDisplayName] = call.display_name;
    answer["session_kind"] = call.session_kind;
    answer[fields::kIdleTimeoutSeconds] = accounts_->IdleTimeout(call.session_kind).count();
  }
  if (!call.cookie_secret.empty()) {
    // A reloaded page holds only the cookie: this gives it the CSRF token again.
    answer[fields::kCsrfToken] = CsrfTokenOf(call.cookie_secret);
  }
  return HttpResponse::Json(200, answer);
}

HttpResponse SocService::SetupStart(Call& call) {
  auto parsed = AccountCallBody(accounts_, call.request.body);
  if (auto* answer = std::get_if<HttpResponse>(&parsed)) {
    return std::move(*answer);
  }
  const json& body = std::get<json>(parsed);
  const std::string name = OptionalString(body, fields::kAccount);
  call.audit_actor = IsValidAccountName(name) ? name : "-";
  auto outcome = accounts_->StartSetup(name, OptionalString(body, fields::kSetupCode),
                                       AddressOf(call.request.peer_address), call.now);
  if (auto refused = OutcomeRefusal(call, outcome)) {
    return std::move(*refused);
  }
  const SetupOffer& offer = *outcome.value;
  call.audit_target =
      offer.totp_secret.empty() ? "setup started" : "setup started: authenticator secret offered";
  json answer = {
      {fields::kAccount, offer.account.name},
      {fields::kDisplayName, offer.account.display_name},
      {fields::kRole, offer.account.role},
      {fields::kPasswordRequired, offer.password_required},
      {fields::kTotpSecret, offer.totp_secret.empty() ? json(nullptr) : json(offer.totp_secret)},
      {fields::kOtpauthUri, offer.otpauth_uri.empty() ? json(nullptr) : json(offer.otpauth_uri)},
      {fields::kQrCode, nullptr}};
  if (!offer.otpauth_uri.empty()) {
    // For the dashboard: an <img src> the Content-Security-Policy allows (img-src data:).
    auto qr = auth::EncodeQr(offer.otpauth_uri);
    if (!qr.ok()) {
      return StorageFailure("drawing the authenticator's QR code", qr.error());
    }
    answer[fields::kQrCode] = "data:image/svg+xml;base64," + Base64Encode(auth::RenderQrSvg(*qr));
  }
  return HttpResponse::Json(200, answer);
}

HttpResponse SocService::SetupFinish(Call& call) {
  auto parsed = AccountCallBody(accounts_, call.request.body);
  if (auto* answer = std::get_if<HttpResponse>(&parsed)) {
    return std::move(*answer);
  }
  const json& body = std::get<json>(parsed);
  const std::string name = OptionalString(body, fields::kAccount);
  call.audit_actor = IsValidAccountName(name) ? name : "-";
  auto outcome = accounts_->FinishSetup(
      name, OptionalString(body, fields::kSetupCode), OptionalString(body, fields::kPassword),
      OptionalString(body, fields::kCode), AddressOf(call.request.peer_address), call.now);
  if (auto refused = OutcomeRefusal(call, outcome)) {
    return std::move(*refused);
  }
  call.audit_target = "setup finished";
  return HttpResponse::Json(200, {{fields::kAccount, outcome.value->account.name},
                                  {"totp", outcome.value->account.totp_enabled},
                                  {fields::kRecoveryCodes, outcome.value->recovery_codes}});
}

// --- account management (admin) -----------------------------------------------------------------

HttpResponse SocService::ListAccounts(Call& call) {
  if (accounts_ == nullptr) {
    return NoAccounts();
  }
  AccountStore& store = accounts_->store();
  auto accounts = store.ListAccounts();
  auto sessions = store.ListSessions(call.now);
  auto owners = store.TokenOwners();
  auto tokens = storage_.ListOperatorTokens();
  if (!accounts.ok() || !sessions.ok() || !owners.ok() || !tokens.ok()) {
    const Error& e = !accounts.ok()   ? accounts.error()
                     : !sessions.ok() ? sessions.error()
                     : !owners.ok()   ? owners.error()
                                      : tokens.error();
    return StorageFailure("listing accounts", e);
  }
  std::map<std::string, size_t> session_count;
  for (const auto& s : *sessions) {
    ++session_count[s.account_id];
  }
  std::map<std::string, std::string> owner_of(owners->begin(), owners->end());
  std::map<std::string, json> tokens_of;
  for (const auto& t : *tokens) {
    auto it = owner_of.find(t.id);
    if (it == owner_of.end()) {
      continue;
    }
    const bool expired = t.expires_at && call.now >= *t.expires_at;
    tokens_of[it->second].push_back({{"id", t.id},
                                     {"name", t.name},
                                     {"role", t.role},
                                     {"state", t.revoked ? "revoked"
                                               : expired ? "expired"
                                                         : "active"},
                                     {"expires_at", OptionalTime(t.expires_at)},
                                     {"last_used_at", OptionalTime(t.last_used_at)}});
  }
  json list = json::array();
  for (const auto& a : *accounts) {
    auto t = tokens_of.find(a.id);
    list.push_back(AccountJson(a, call.now, session_count[a.id],
                               t == tokens_of.end() ? json::array() : t->second));
  }
  return HttpResponse::Json(200, {{fields::kAccounts, std::move(list)}});
}

HttpResponse SocService::CreateAccount(Call& call) {
  auto parsed = AccountCallBody(accounts_, call.request.body);
  if (auto* answer = std::get_if<HttpResponse>(&parsed)) {
    return std::move(*answer);
  }
  const json& body = std::get<json>(parsed);
  const std::string name = OptionalString(body, fields::kName);
  const std::string role = OptionalString(body, fields::kRole);
  call.audit_target = "account " + Clip(name, 64) + " role " + Clip(role, 16);
  auto created = accounts_->CreateAccount(name, OptionalString(body, fields::kDisplayName), role,
                                          call.operator_token->name, call.now);
  if (!created.ok()) {
    switch (created.error().code) {
      case ErrorCode::kInvalidArgument:
        return InvalidRequest(created.error().message);
      case ErrorCode::kAlreadyExists:
        return Fail(409, "conflict", created.error().message);
      default:
        return StorageFailure("creating an account", created.error());
    }
  }
  const Account& a = created->account;
  json answer = AccountJson(a, call.now, 0, json::array());
  answer[fields::kSetupCode] = created->setup_code;
  return HttpResponse::Json(201, answer);
}

namespace {

// The account named by the route's {id}, or the 404.
std::variant<Account, HttpResponse> NamedAccount(AccountStore& store, const std::string& name) {
  if (!IsValidAccountName(name)) {
    return Fail(404, "not_found", "no such account");
  }
  auto account = store.GetAccountByName(name);
  if (!account.ok()) {
    if (account.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such account: " + name);
    }
    return StorageFailure("looking up an account", account.error());
  }
  return std::move(account).value();
}

}  // namespace

HttpResponse SocService::DisableAccount(Call& call) {
  if (accounts_ == nullptr) {
    return NoAccounts();
  }
  call.audit_target = "account " + Clip(call.params.at(0), 64);
  auto found = NamedAccount(accounts_->store(), call.params.at(0));
  if (auto* answer = std::get_if<HttpResponse>(&found)) {
    return std::move(*answer);
  }
  const Account& a = std::get<Account>(found);
  if (a.id == call.account_id) {
    return Fail(409, "conflict", "you cannot disable your own account: ask another admin");
  }
  if (auto s = accounts_->store().SetDisabled(a.id, true, call.now); !s.ok()) {
    return StorageFailure("disabling an account", s.error());
  }
  spdlog::warn("account {} disabled by {}: its sessions ended and its tokens are revoked", a.name,
               call.operator_token->name);
  return HttpResponse::Json(200, {{fields::kName, a.name}, {"state", "disabled"}});
}

HttpResponse SocService::EnableAccount(Call& call) {
  if (accounts_ == nullptr) {
    return NoAccounts();
  }
  call.audit_target = "account " + Clip(call.params.at(0), 64);
  auto found = NamedAccount(accounts_->store(), call.params.at(0));
  if (auto* answer = std::get_if<HttpResponse>(&found)) {
    return std::move(*answer);
  }
  const Account& a = std::get<Account>(found);
  if (auto s = accounts_->store().SetDisabled(a.id, false, call.now); !s.ok()) {
    return StorageFailure("enabling an account", s.error());
  }
  spdlog::warn("account {} enabled by {}", a.name, call.operator_token->name);
  return HttpResponse::Json(200, {{fields::kName, a.name}, {"state", "enabled"}});
}

HttpResponse SocService::ResetAccount(Call& call) {
  auto parsed = AccountCallBody(accounts_, call.request.body.empty() ? "{}" : call.request.body);
  if (auto* answer = std::get_if<HttpResponse>(&parsed)) {
    return std::move(*answer);
  }
  const json& body = std::get<json>(parsed);
  bool password = body.value(fields::kResetPassword, false);
  bool totp = body.value(fields::kResetTotp, false);
  if (!password && !totp) {
    password = totp = true;  // nothing said: both
  }
  call.audit_target = "account " + Clip(call.params.at(0), 64) + " reset" +
                      (password ? " password" : "") + (totp ? " totp" : "");
  auto found = NamedAccount(accounts_->store(), call.params.at(0));
  if (auto* answer = std::get_if<HttpResponse>(&found)) {
    return std::move(*answer);
  }
  const Account& a = std::get<Account>(found);
  auto code = accounts_->ResetAccount(a, password, totp, call.now);
  if (!code.ok()) {
    return StorageFailure("resetting an account", code.error());
  }
  return HttpResponse::Json(
      200, {{fields::kName, a.name},
            {fields::kResetPassword, password},
            {fields::kResetTotp, totp},
            {fields::kSetupCode, *code},
            {fields::kSetupExpiresAt, FormatRfc3339(call.now + accounts_->config().setup_ttl)}});
}

// --- audit log ---------------------------------------------------------------------------------

HttpResponse SocService::ListAudit(Call& call) {
  auto limit = LimitQuery(call.request, kDefaultAuditLimit, kMaxAuditLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  AuditFilter filter;
  filter.limit = *limit;
  if (auto kind = NonEmptyQuery(call.request, fields::kQueryKind)) {
    if (*kind != "changes" && *kind != "reads") {
      return InvalidRequest("kind must be changes or reads");
    }
    filter.changes = *kind == "changes";
  }
  if (auto account = NonEmptyQuery(call.request, fields::kQueryAccount)) {
    filter.account = Clip(*account, 128);
  }
  if (auto action = NonEmptyQuery(call.request, fields::kQueryAction)) {
    filter.action = Clip(*action, 200);
  }
  for (auto [key, slot] : {std::pair{fields::kQuerySince, &filter.since},
                           std::pair{fields::kQueryUntil, &filter.until}}) {
    if (auto text = NonEmptyQuery(call.request, key)) {
      auto t = ParseRfc3339(*text);
      if (!t.ok()) {
        return InvalidRequest(std::string(key) +
                              " must be an RFC 3339 time (2026-12-01T08:00:00Z)");
      }
      *slot = *t;
    }
  }
  Result<std::vector<AuditEntry>> entries = std::vector<AuditEntry>{};
  if (accounts_ != nullptr) {
    entries = accounts_->store().QueryAudit(filter);
  } else if (filter.changes || filter.account || filter.action || filter.since || filter.until) {
    return NoAccounts();
  } else {
    entries = storage_.ListAudit(*limit);
  }
  if (!entries.ok()) {
    return StorageFailure("reading the audit log", entries.error());
  }
  json list = json::array();
  for (const auto& e : *entries) {
    const bool change = e.method != "GET" && e.method != "HEAD";
    list.push_back({{"time", FormatRfc3339(e.time)},
                    {"actor", e.actor},
                    {"account", e.account},
                    {"role", e.role},
                    {"kind", change ? "change" : "read"},
                    {"action", e.action.empty() ? e.method + " " + e.path : e.action},
                    {"method", e.method},
                    {"path", e.path},
                    {"target", e.target},
                    {"result", e.result},
                    {"source", e.source}});
  }
  return HttpResponse::Json(200, {{fields::kEntries, std::move(list)}});
}

}  // namespace cg::soc

// Enrollment tokens and operator tokens (operator port).
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
#include "soc/account_service.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

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

Result<std::string> SocService::CreateOperatorToken(std::string_view name, std::string_view role,
                                                    std::optional<SysTime> expires_at) {
  CG_ASSIGN_OR_RETURN(auto created, CreateOperatorTokenRecord(name, role, expires_at, now_()));
  return std::move(created.first);
}

Result<std::pair<std::string, OperatorToken>> SocService::CreateOperatorTokenRecord(
    std::string_view name, std::string_view role, std::optional<SysTime> expires_at, SysTime now) {
  if (role != "analyst" && role != "admin" && role != kRoleMetrics) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "role must be analyst, admin or metrics (GET /metrics only), not '" + Clip(role, 32) + "'");
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
  // Account names of the owned tokens (accounts, issue 16); "" for tokens from before.
  std::map<std::string, std::string> owner_names;
  if (accounts_ != nullptr) {
    auto owners = accounts_->store().TokenOwners();
    auto accounts = accounts_->store().ListAccounts();
    if (!owners.ok() || !accounts.ok()) {
      return StorageFailure("listing token owners",
                            !owners.ok() ? owners.error() : accounts.error());
    }
    std::map<std::string, std::string> name_of;
    for (const auto& a : *accounts) {
      name_of[a.id] = a.name;
    }
    for (const auto& [token_id, account_id] : *owners) {
      owner_names[token_id] = name_of[account_id];
    }
  }
  json list = json::array();
  for (const auto& t : *tokens) {
    json j = OperatorTokenJson(t, call.now);
    auto owner = owner_names.find(t.id);
    j["account"] = owner == owner_names.end() ? json(nullptr) : json(owner->second);
    list.push_back(std::move(j));
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
  // The owner: the account named, else the calling account (a session or an owned token);
  // tokens from before accounts create unowned tokens as before.
  std::optional<Account> owner;
  if (accounts_ != nullptr) {
    Result<std::string> owner_name = std::string();
    if (body->contains("account") && !(*body)["account"].is_null()) {
      owner_name = StringField(*body, "account", 64, true);
      if (!owner_name.ok()) {
        return InvalidRequest(owner_name.error().message);
      }
    }
    const std::string wanted = !owner_name->empty() ? *owner_name : call.account_name;
    if (!wanted.empty()) {
      auto found = accounts_->store().GetAccountByName(wanted);
      if (!found.ok()) {
        return found.error().code == ErrorCode::kNotFound
                   ? InvalidRequest("no such account: " + Clip(wanted, 64))
                   : StorageFailure("looking up an account", found.error());
      }
      if (found->disabled) {
        return InvalidRequest("account " + found->name + " is disabled");
      }
      if (RoleRank(*role) > RoleRank(found->role)) {
        return InvalidRequest("a token of " + found->name + " cannot have more than the " +
                              found->role + " role");
      }
      owner = std::move(found).value();
    }
  }
  auto created = CreateOperatorTokenRecord(*name, *role, expires, call.now);
  if (!created.ok()) {
    if (created.error().code == ErrorCode::kInvalidArgument) {
      return InvalidRequest(created.error().message);
    }
    return StorageFailure("creating an operator token", created.error());
  }
  const auto& [secret, token] = *created;
  call.audit_target = "operator-token " + token.id + " (" + Clip(*name, 128) + ", " + *role + ")";
  if (owner) {
    if (auto s = accounts_->store().SetTokenOwner(token.id, owner->id); !s.ok()) {
      // An unowned token would outlive the account's disabling: it must not stay usable.
      (void)storage_.RevokeOperatorToken(token.id);
      return StorageFailure("recording a token's owner", s.error());
    }
    call.audit_target += " of account " + owner->name;
  }
  json answer = OperatorTokenJson(token, call.now);
  answer["account"] = owner ? json(owner->name) : json(nullptr);
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

}  // namespace cg::soc

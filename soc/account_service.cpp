// Staff accounts: setup codes, setup, login and sessions (see account_service.h).
#include "soc/account_service.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/ids.h"
#include "soc/auth/base32.h"
#include "soc/auth/otpauth.h"
#include "soc/auth/recovery_codes.h"
#include "soc/validation.h"

namespace cg::soc {
namespace {

constexpr size_t kMaxDisplayNameBytes = 128;
constexpr size_t kMaxSecretInputBytes = 1024;
// What a caller who failed is told: never which of account, password or code was wrong.
constexpr const char* kLoginRefused = "login refused: wrong account, password or code";
constexpr const char* kSetupRefused =
    "setup refused: unknown account, or a wrong or expired setup code";

// What a code looks like after the spaces people type in are gone.
std::string WithoutSpaces(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != ' ' && c != '\t') {
      out.push_back(c);
    }
  }
  return out;
}

std::string SetupCodeHash(std::string_view typed) {
  auto normal = auth::NormalizeRecoveryCode(typed);
  return normal.ok() ? Sha256Hex("setup:" + *normal) : std::string();
}

}  // namespace

bool IsValidAccountName(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
      return false;
    }
  }
  return true;
}

std::string CsrfTokenOf(std::string_view session_secret) {
  return Sha256Hex("counterguard csrf v1:" + std::string(session_secret));
}

bool CsrfMatches(std::string_view csrf_hash, std::string_view typed) {
  if (csrf_hash.empty() || typed.empty() || typed.size() > 256) {
    return false;
  }
  return ConstantTimeEquals(Sha256Hex(typed), csrf_hash);
}

bool IsAccountRole(std::string_view role) {
  return role == kRoleAnalyst || role == kRoleInspector || role == kRoleAdmin;
}

Result<std::unique_ptr<AccountService>> AccountService::Create(AccountStore& store, SecretBox box,
                                                               AccountConfig config) {
  CG_RETURN_IF_ERROR(auth::ValidateTotpParams(config.totp));
  for (const auto& role : config.totp_roles) {
    if (!IsAccountRole(role)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown role '" + Clip(role, 32) + "' (analyst, inspector, admin)");
    }
  }
  CG_ASSIGN_OR_RETURN(auto hasher, auth::PasswordHasher::Create(config.argon2));
  CG_ASSIGN_OR_RETURN(auto dummy, hasher.Hash(RandomToken(24)));
  return std::unique_ptr<AccountService>(new AccountService(
      store, std::move(box), std::move(config), std::move(hasher), std::move(dummy)));
}

AccountService::AccountService(AccountStore& store, SecretBox box, AccountConfig config,
                               auth::PasswordHasher hasher, std::string dummy_hash)
    : store_(store),
      box_(std::move(box)),
      config_(std::move(config)),
      hasher_(std::move(hasher)),
      dummy_hash_(std::move(dummy_hash)),
      throttle_(config_.throttle) {}

Result<NewAccount> AccountService::CreateAccount(std::string_view name,
                                                 std::string_view display_name,
                                                 std::string_view role, std::string_view created_by,
                                                 SysTime now) {
  if (!IsValidAccountName(name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "account names are 1 to 64 of a-z 0-9 . _ - starting with a letter or "
                     "digit (nguyen.van.a)");
  }
  if (display_name.empty() || display_name.size() > kMaxDisplayNameBytes ||
      !IsPrintable(display_name)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the display name must be 1 to 128 bytes of printable UTF-8");
  }
  if (!IsAccountRole(role)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "role must be analyst, inspector or admin, not '" + Clip(role, 32) + "'");
  }
  CG_ASSIGN_OR_RETURN(auto codes, auth::GenerateRecoveryCodes(1));
  NewAccount created;
  created.setup_code = codes.codes.at(0);
  Account& a = created.account;
  a.id = NewUuid();
  a.name = std::string(name);
  a.display_name = std::string(display_name);
  a.role = std::string(role);
  a.setup_hash = SetupCodeHash(created.setup_code);
  a.setup_expires_at = now + config_.setup_ttl;
  a.setup_password = true;
  a.setup_totp = TotpRequired(role);
  a.created_at = now;
  a.updated_at = now;
  a.created_by = std::string(created_by);
  CG_RETURN_IF_ERROR(store_.CreateAccount(a));
  spdlog::info("account {} ({}) created by {}", a.name, a.role, a.created_by);
  return created;
}

Result<std::string> AccountService::ResetAccount(const Account& account, bool password, bool totp,
                                                 SysTime now) {
  CG_ASSIGN_OR_RETURN(auto codes, auth::GenerateRecoveryCodes(1));
  const std::string code = codes.codes.at(0);
  CG_RETURN_IF_ERROR(store_.ResetAccount(account.id, SetupCodeHash(code), now + config_.setup_ttl,
                                         password, totp, now));
  spdlog::warn("account {} reset (password: {}, totp: {}); its sessions ended", account.name,
               password, totp);
  return code;
}

AccountFailure AccountService::Failed(std::string_view name, std::string_view address,
                                      const Account* account, std::string audit, SysTime now) {
  throttle_.RecordFailure(name, address, now);
  if (account != nullptr) {
    if (auto s = store_.RecordLoginFailure(account->id, now); !s.ok()) {
      spdlog::warn("recording a failed login of {}: {}", account->name, s.error().ToString());
    }
  }
  spdlog::warn("account {} from {}: {}", Clip(name, 64), address, audit);
  return {401, kLoginRefused, std::move(audit)};
}

Outcome<Account> AccountService::CheckSetupCode(std::string_view name, std::string_view setup_code,
                                                std::string_view address, SysTime now) {
  Outcome<Account> out;
  if (const auto wait = throttle_.RetryAfter(name, address, now); wait.count() > 0) {
    out.failure = {429,
                   "too many failed attempts: try again in " + std::to_string(wait.count()) + " s",
                   "setup throttled", wait};
    return out;
  }
  auto account = store_.GetAccountByName(name);
  if (!account.ok()) {
    if (account.error().code != ErrorCode::kNotFound) {
      out.failure = {500, "internal error", "setup: " + account.error().ToString()};
      return out;
    }
    out.failure = Failed(name, address, nullptr, "setup failed: no such account", now);
    out.failure.message = kSetupRefused;
    return out;
  }
  out.account = *account;
  const std::string typed = SetupCodeHash(setup_code);
  std::string why;
  if (account->disabled) {
    why = "setup failed: account disabled";
  } else if (account->setup_hash.empty()) {
    why = "setup failed: no setup pending";
  } else if (!account->setup_expires_at || now >= *account->setup_expires_at) {
    why = "setup failed: setup code expired";
  } else if (typed.empty() || !ConstantTimeEquals(typed, account->setup_hash)) {
    why = "setup failed: wrong setup code";
  }
  if (!why.empty()) {
    out.failure = Failed(name, address, &*account, why, now);
    out.failure.message = kSetupRefused;
    return out;
  }
  out.value = std::move(account).value();
  return out;
}

Outcome<SetupOffer> AccountService::StartSetup(std::string_view name, std::string_view setup_code,
                                               std::string_view address, SysTime now) {
  Outcome<SetupOffer> out;
  auto checked = CheckSetupCode(name, setup_code, address, now);
  out.account = checked.account;
  if (!checked.ok()) {
    out.failure = std::move(checked.failure);
    return out;
  }
  SetupOffer offer;
  offer.account = *checked.value;
  offer.password_required = offer.account.setup_password;
  if (offer.account.setup_totp ||
      (TotpRequired(offer.account.role) && !offer.account.totp_enabled)) {
    auto secret = auth::GenerateTotpSecret();
    auto sealed = secret.ok()
                      ? box_.Seal(std::string(secret->begin(), secret->end()), offer.account.id)
                      : Result<std::string>(secret.error());
    auto uri = secret.ok()
                   ? auth::OtpauthUri(config_.issuer, offer.account.name, *secret, config_.totp)
                   : Result<std::string>(secret.error());
    Status stored = sealed.ok() ? store_.SetPendingTotp(offer.account.id, *sealed, now)
                                : Status(sealed.error());
    if (!uri.ok() || !stored.ok()) {
      const Error& e = !uri.ok() ? uri.error() : stored.error();
      out.failure = {500, "internal error", "setup: " + e.ToString()};
      return out;
    }
    offer.totp_secret = auth::Base32Encode(*secret);
    offer.otpauth_uri = *uri;
  }
  out.value = std::move(offer);
  return out;
}

Outcome<SetupDone> AccountService::FinishSetup(std::string_view name, std::string_view setup_code,
                                               std::string_view password, std::string_view code,
                                               std::string_view address, SysTime now) {
  Outcome<SetupDone> out;
  auto checked = CheckSetupCode(name, setup_code, address, now);
  out.account = checked.account;
  if (!checked.ok()) {
    out.failure = std::move(checked.failure);
    return out;
  }
  const Account& a = *checked.value;
  SetupRecord record;
  record.account_id = a.id;
  record.setup_hash = a.setup_hash;
  if (a.setup_password) {
    auto hash = hasher_.Hash(password);
    if (!hash.ok()) {
      out.failure = {400, "password refused: " + hash.error().message,
                     "setup failed: password refused by the policy"};
      return out;
    }
    record.password_hash = *hash;
  } else {
    // Only the authenticator is set up again: the person proves the password they have.
    auto match = hasher_.Verify(password, a.password_hash);
    if (!match.ok() || !*match) {
      out.failure = Failed(name, address, &a, "setup failed: wrong password", now);
      return out;
    }
  }
  const bool enrol = a.setup_totp || (TotpRequired(a.role) && !a.totp_enabled);
  if (enrol) {
    if (a.pending_totp_secret.empty()) {
      out.failure = {409, "start the setup first (it shows the authenticator's QR code)",
                     "setup failed: not started"};
      return out;
    }
    auto secret = box_.Open(a.pending_totp_secret, a.id);
    if (!secret.ok()) {
      out.failure = {500, "internal error", "setup: " + secret.error().ToString()};
      return out;
    }
    auto step = auth::VerifyTotp(auth::Bytes(secret->begin(), secret->end()), WithoutSpaces(code),
                                 now, std::nullopt, config_.totp);
    if (!step.ok()) {
      out.failure = Failed(name, address, &a, "setup failed: wrong TOTP code", now);
      return out;
    }
    auto codes = auth::GenerateRecoveryCodes();
    if (!codes.ok()) {
      out.failure = {500, "internal error", "setup: " + codes.error().ToString()};
      return out;
    }
    record.totp_secret = a.pending_totp_secret;
    record.totp_step = step->step;
    record.recovery_hashes = codes->hashes;
    out.value.emplace();
    out.value->recovery_codes = codes->codes;
  }
  if (auto s = store_.FinishSetup(record, now); !s.ok()) {
    out.value.reset();
    out.failure = {s.error().code == ErrorCode::kConflict ? 409 : 500, s.error().message,
                   "setup failed: " + s.error().message};
    return out;
  }
  if (!out.value) {
    out.value.emplace();
  }
  auto fresh = store_.GetAccount(a.id);
  out.value->account = fresh.ok() ? *fresh : a;
  throttle_.RecordSuccess(name);
  spdlog::info("account {} set up (password {}, authenticator {})", a.name,
               a.setup_password ? "chosen" : "kept", enrol ? "enrolled" : "unchanged");
  return out;
}

Outcome<LoginDone> AccountService::Login(const LoginRequest& r, SysTime now) {
  Outcome<LoginDone> out;
  if (r.kind != kSessionCli && r.kind != kSessionBrowser) {
    out.failure = {400, "client must be cli or browser", "login refused: malformed request"};
    return out;
  }
  if (r.account.empty() || r.account.size() > 64 || r.password.size() > kMaxSecretInputBytes ||
      r.code.size() > 64 || r.recovery_code.size() > 64) {
    out.failure = {400, "account, password and code are required (and short)",
                   "login refused: malformed request"};
    return out;
  }
  if (const auto wait = throttle_.RetryAfter(r.account, r.address, now); wait.count() > 0) {
    out.failure = {429,
                   "too many failed logins: try again in " + std::to_string(wait.count()) + " s",
                   "login throttled", wait};
    auto known = store_.GetAccountByName(r.account);
    if (known.ok()) {
      out.account = *known;
    }
    return out;
  }
  auto found = store_.GetAccountByName(r.account);
  if (!found.ok()) {
    if (found.error().code != ErrorCode::kNotFound) {
      out.failure = {500, "internal error", "login: " + found.error().ToString()};
      return out;
    }
    // The same work as for a real account, so that the time does not tell names apart.
    (void)hasher_.Verify(r.password, dummy_hash_);
    out.failure = Failed(r.account, r.address, nullptr, "login failed: no such account", now);
    return out;
  }
  const Account& a = *found;
  out.account = a;
  auto match = hasher_.Verify(r.password, a.password_hash.empty() ? dummy_hash_ : a.password_hash);
  if (a.password_hash.empty()) {
    out.failure = Failed(r.account, r.address, &a, "login failed: account not set up", now);
    return out;
  }
  if (!match.ok() || !*match) {
    out.failure = Failed(r.account, r.address, &a, "login failed: wrong password", now);
    return out;
  }
  if (a.disabled) {
    out.failure = Failed(r.account, r.address, &a, "login failed: account disabled", now);
    return out;
  }
  LoginRecord record;
  record.account_id = a.id;
  LoginDone done;
  if (a.totp_enabled || TotpRequired(a.role)) {
    if (!a.totp_enabled) {
      // The password was right: saying why helps the person and tells an attacker nothing new.
      out.failure = {403,
                     "the " + a.role +
                         " role must log in with an authenticator code, and this account has none "
                         "set up: ask an admin for `cgctl account reset " +
                         a.name + " --totp`",
                     "login refused: TOTP required but not set up"};
      return out;
    }
    if (!r.recovery_code.empty()) {
      auto stored = store_.RecoveryCodes(a.id);
      if (!stored.ok()) {
        out.failure = {500, "internal error", "login: " + stored.error().ToString()};
        return out;
      }
      std::vector<auth::StoredRecoveryCode> codes;
      size_t unused = 0;
      for (const auto& c : *stored) {
        codes.push_back({c.hash, c.used});
        unused += c.used ? 0 : 1;
      }
      auto index = auth::MatchRecoveryCode(r.recovery_code, codes);
      if (!index.ok()) {
        out.failure = Failed(r.account, r.address, &a,
                             index.error().message.find("already used") != std::string::npos
                                 ? "login failed: recovery code already used"
                                 : "login failed: wrong recovery code",
                             now);
        return out;
      }
      record.recovery_code_index = *index;
      done.used_recovery_code = true;
      done.recovery_codes_left = unused - 1;
    } else {
      auto secret = box_.Open(a.totp_secret, a.id);
      if (!secret.ok()) {
        out.failure = {500, "internal error", "login: " + secret.error().ToString()};
        return out;
      }
      auto step = auth::VerifyTotp(auth::Bytes(secret->begin(), secret->end()),
                                   WithoutSpaces(r.code), now, a.totp_last_step, config_.totp);
      if (!step.ok()) {
        out.failure = Failed(r.account, r.address, &a,
                             step.error().message.find("already used") != std::string::npos
                                 ? "login failed: TOTP code already used"
                                 : "login failed: wrong TOTP code",
                             now);
        return out;
      }
      record.totp_step = step->step;
    }
  }
  if (hasher_.NeedsRehash(a.password_hash)) {
    if (auto rehashed = hasher_.Hash(r.password); rehashed.ok()) {
      record.new_password_hash = *rehashed;
    }
  }
  done.token = RandomToken();
  Session& s = record.session;
  s.id = NewUuid();
  s.token_hash = Sha256Hex(done.token);
  s.account_id = a.id;
  s.kind = r.kind;
  s.created_at = now;
  s.last_used_at = now;
  s.expires_at = now + config_.session_ttl;
  s.source = Clip(r.address, 64);
  if (s.kind == kSessionBrowser) {
    done.csrf_token = CsrfTokenOf(done.token);
    s.csrf_hash = Sha256Hex(done.csrf_token);
  }
  if (auto stored = store_.CompleteLogin(record, now); !stored.ok()) {
    if (stored.error().code == ErrorCode::kConflict) {
      // Another login used the same code (or recovery code) first.
      out.failure =
          Failed(r.account, r.address, &a, "login failed: " + stored.error().message, now);
    } else {
      out.failure = {500, "internal error", "login: " + stored.error().ToString()};
    }
    return out;
  }
  throttle_.RecordSuccess(r.account);
  done.account = a;
  done.session = s;
  spdlog::info("account {} logged in from {} ({} session until {})", a.name, s.source, s.kind,
               FormatRfc3339(s.expires_at));
  out.value = std::move(done);
  return out;
}

Result<Authenticated> AccountService::Authenticate(std::string_view secret, std::string_view kind,
                                                   SysTime now, bool refresh) {
  const std::string hash = Sha256Hex(secret);
  CG_ASSIGN_OR_RETURN(auto session, store_.FindSessionByHash(hash));
  if (!ConstantTimeEquals(session.token_hash, hash) || session.kind != kind) {
    return MakeError(ErrorCode::kNotFound, "unknown session");
  }
  std::string why;
  const auto idle = IdleTimeout(session.kind);
  if (now >= session.expires_at) {
    why = "session expired: log in again";
  } else if (now - session.last_used_at >= idle) {
    why = "session ended after " + std::to_string(idle.count() / 60) +
          " min without use: log in again";
  }
  CG_ASSIGN_OR_RETURN(auto account, store_.GetAccount(session.account_id));
  if (why.empty() && account.disabled) {
    why = "account disabled";
  }
  if (!why.empty()) {
    (void)store_.DeleteSession(session.id);
    return MakeError(ErrorCode::kUnauthenticated, why);
  }
  if (!refresh) {
    return Authenticated{std::move(account), std::move(session)};
  }
  if (auto s = store_.TouchSession(session, now); !s.ok()) {
    spdlog::warn("recording the use of a session of {}: {}", account.name, s.error().ToString());
  }
  return Authenticated{std::move(account), std::move(session)};
}

}  // namespace cg::soc

// Staff accounts (issue 16) without HTTP: creating and resetting accounts with one-time setup
// codes, the setup itself (password, authenticator proven by a code, recovery codes), login
// with password and TOTP or recovery code under the per-account and per-address throttle, and
// the sessions that logins give (the CLI's bearer token today, the dashboard's cookie later:
// both are rows of the same table, told apart by `kind`). The operator port's handlers
// (service_accounts.cpp) turn the outcomes into answers and audit rows.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/account_store.h"
#include "soc/auth/login_throttle.h"
#include "soc/auth/password_hasher.h"
#include "soc/auth/totp.h"
#include "soc/secret_box.h"

namespace cg::soc {

struct AccountConfig {
  // Roles whose members must log in with a second factor. All by default (the directive asks
  // MFA of staff accounts); `cg-soc serve --totp-roles`.
  std::set<std::string> totp_roles{"analyst", "inspector", "admin"};
  std::chrono::seconds session_ttl{12 * 3600};
  // A CLI session not used for this long ends (`cg-soc serve --session-idle`).
  std::chrono::seconds session_idle{3600};
  // The dashboard's idle timeout: a browser left open at a counter must not stay logged in
  // (`cg-soc serve --browser-idle`).
  std::chrono::seconds browser_session_idle{15 * 60};
  // How long a setup code from `account create` / `account reset` stays usable.
  std::chrono::seconds setup_ttl{72 * 3600};
  auth::Argon2Params argon2{};
  auth::TotpParams totp{};
  auth::LoginThrottleConfig throttle{};
  std::string issuer = "CounterGuard SOC";  // what the authenticator app shows
};

inline constexpr std::string_view kRoleAnalyst = "analyst";
inline constexpr std::string_view kRoleInspector = "inspector";
inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kSessionCli = "cli";
inline constexpr std::string_view kSessionBrowser = "browser";

// The CSRF token of a browser session: derived from the session's secret (SHA-256 with a
// label), so that the server can give it again to a reloaded page that holds only the cookie,
// while knowing it tells nothing about the cookie. Only its hash is stored (sessions.csrf_hash).
std::string CsrfTokenOf(std::string_view session_secret);
// Whether `typed` (the X-CSRF-Token header) is the CSRF token of a session with this
// csrf_hash (never for a session without one); compared in constant time.
bool CsrfMatches(std::string_view csrf_hash, std::string_view typed);

// a-z 0-9 . _ -, starting with a letter or digit, 1 to 64 characters.
bool IsValidAccountName(std::string_view name);
bool IsAccountRole(std::string_view role);

// A failure with the HTTP status it is answered with and what the audit log says about it
// (never a secret). `message` is what the caller is told.
struct AccountFailure {
  int status = 401;
  std::string message;
  std::string audit;                    // "login failed: wrong TOTP code"
  std::chrono::seconds retry_after{0};  // 429
};

template <typename T>
struct Outcome {
  std::optional<T> value;
  AccountFailure failure;
  std::optional<Account> account;  // whom it was about, when known (the audit row's actor)
  bool ok() const { return value.has_value(); }
};

struct NewAccount {
  Account account;
  std::string setup_code;  // shown once
};

struct SetupOffer {
  Account account;
  bool password_required = false;  // a new password must be chosen
  std::string totp_secret;         // base32, "" when no authenticator is enrolled now
  std::string otpauth_uri;
};

struct SetupDone {
  Account account;
  std::vector<std::string> recovery_codes;  // shown once; empty without TOTP
};

struct LoginRequest {
  std::string account;
  std::string password;
  std::string code;           // TOTP, or
  std::string recovery_code;  // one of the recovery codes
  std::string address;        // client address (throttle)
  std::string kind = "cli";   // kSessionCli | kSessionBrowser
};

struct LoginDone {
  Account account;
  Session session;
  std::string token;       // the session's secret, given once
  std::string csrf_token;  // browser sessions
  bool used_recovery_code = false;
  size_t recovery_codes_left = 0;
};

struct Authenticated {
  Account account;
  Session session;
};

class AccountService {
 public:
  static Result<std::unique_ptr<AccountService>> Create(AccountStore& store, SecretBox box,
                                                        AccountConfig config = {});

  AccountStore& store() { return store_; }
  const AccountConfig& config() const { return config_; }
  bool TotpRequired(std::string_view role) const {
    return config_.totp_roles.contains(std::string(role));
  }

  // A new account that must be set up with the returned code. kInvalidArgument for a bad name,
  // display name or role; kAlreadyExists when the name is taken.
  Result<NewAccount> CreateAccount(std::string_view name, std::string_view display_name,
                                   std::string_view role, std::string_view created_by, SysTime now);
  // A new setup code; `password` / `totp` say what must be set up again. Ends the sessions.
  Result<std::string> ResetAccount(const Account& account, bool password, bool totp, SysTime now);

  // Setup, step 1: the setup code checked; a new authenticator secret offered when one is
  // to be enrolled (it takes effect only in step 2, with a valid code).
  Outcome<SetupOffer> StartSetup(std::string_view name, std::string_view setup_code,
                                 std::string_view address, SysTime now);
  // Step 2: the password chosen (or the current one proven), the code of the offered secret,
  // and recovery codes made.
  Outcome<SetupDone> FinishSetup(std::string_view name, std::string_view setup_code,
                                 std::string_view password, std::string_view code,
                                 std::string_view address, SysTime now);

  Outcome<LoginDone> Login(const LoginRequest& request, SysTime now);

  // The session of a bearer token (kind "cli") or cookie (kind "browser"); kNotFound when the
  // secret is no session of that kind (a browser session's secret is no bearer token, a CLI
  // token no cookie), kUnauthenticated (with why) when it expired, went idle or its account is
  // disabled (the session is deleted then). A use refreshes the idle timeout unless `refresh`
  // is false (a request the dashboard made by itself, not the person).
  Result<Authenticated> Authenticate(std::string_view secret, std::string_view kind, SysTime now,
                                     bool refresh = true);
  // How long a session of this kind may go unused.
  std::chrono::seconds IdleTimeout(std::string_view kind) const {
    return kind == kSessionBrowser ? config_.browser_session_idle : config_.session_idle;
  }

 private:
  AccountService(AccountStore& store, SecretBox box, AccountConfig config,
                 auth::PasswordHasher hasher, std::string dummy_hash);

  // The setup code check shared by both setup steps (throttled like a login).
  Outcome<Account> CheckSetupCode(std::string_view name, std::string_view setup_code,
                                  std::string_view address, SysTime now);
  AccountFailure Failed(std::string_view name, std::string_view address, const Account* account,
                        std::string audit, SysTime now);

  AccountStore& store_;
  SecretBox box_;
  AccountConfig config_;
  auth::PasswordHasher hasher_;
  std::string dummy_hash_;  // verified for unknown names, so timing does not tell them apart
  auth::LoginThrottle throttle_;
};

}  // namespace cg::soc

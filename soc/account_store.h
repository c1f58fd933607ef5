// What the SOC keeps about staff accounts (issue 16): named accounts with their password hash,
// encrypted TOTP secret and recovery codes, login sessions, which account owns which operator
// token, and the filtered audit log. Plain C++ types; SQLite behind it (sqlite_account_store.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/storage.h"

namespace cg::soc {

struct Account {
  std::string id;             // UUID
  std::string name;           // login name: a-z 0-9 . _ -, 1 to 64 ("nguyen.van.a")
  std::string display_name;   // UTF-8, Vietnamese welcome ("Nguyễn Văn A")
  std::string role;           // "analyst" | "inspector" | "admin"
  std::string password_hash;  // Argon2id PHC string; "" until set up
  std::string totp_secret;    // sealed (SecretBox) TOTP secret; "" when none
  bool totp_enabled = false;
  std::optional<int64_t> totp_last_step;  // the step of the last accepted code (replays refused)
  std::string pending_totp_secret;        // sealed; offered during setup, not in force yet
  // A one-time setup code (SHA-256 hex) an admin handed out, until when, and what the setup
  // must (re)do: choose a password, enrol an authenticator.
  std::string setup_hash;
  std::optional<SysTime> setup_expires_at;
  bool setup_password = false;
  bool setup_totp = false;
  bool disabled = false;
  SysTime created_at;
  SysTime updated_at;
  std::string created_by;
  int64_t failed_logins = 0;  // since the last successful login
  std::optional<SysTime> last_failed_login_at;
  std::optional<SysTime> last_login_at;
};

// A login: the CLI's bearer token or (later) the dashboard's cookie. Only the SHA-256 of the
// token is kept.
struct Session {
  std::string id;  // UUID
  std::string token_hash;
  std::string account_id;
  std::string kind = "cli";  // "cli" | "browser"
  SysTime created_at;
  SysTime last_used_at;  // kept to the minute
  SysTime expires_at;
  std::string source;     // the address it logged in from
  std::string csrf_hash;  // browser sessions: SHA-256 of the CSRF token ("" for cli)
};

// What a successful login writes, in one transaction.
struct LoginRecord {
  std::string account_id;
  std::optional<int64_t> totp_step;              // stored only if newer than the last one
  std::optional<size_t> recovery_code_index;     // marked used only if unused
  std::optional<std::string> new_password_hash;  // rehash with the current parameters
  Session session;
};

// What a finished setup writes, in one transaction.
struct SetupRecord {
  std::string account_id;
  std::string setup_hash;  // must still be the account's (a second finish fails)
  std::optional<std::string> password_hash;
  // The sealed secret now in force, the step of the code that proved it, the new recovery
  // codes' hashes.
  std::optional<std::string> totp_secret;
  std::optional<int64_t> totp_step;
  std::vector<std::string> recovery_hashes;
};

struct AuditFilter {
  std::optional<bool> changes;  // true: only changes (not GET/HEAD); false: only reads
  std::optional<std::string> account;
  std::optional<std::string> action;  // a substring of "METHOD /route/pattern"
  std::optional<SysTime> since;       // inclusive
  std::optional<SysTime> until;       // exclusive
  size_t limit = 100;
};

struct RecoveryCodeRow {
  std::string hash;
  bool used = false;
};

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // kAlreadyExists when the name is taken.
  virtual Status CreateAccount(const Account& account) = 0;
  // kNotFound when unknown.
  virtual Result<Account> GetAccountByName(std::string_view name) = 0;
  virtual Result<Account> GetAccount(std::string_view id) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;
  virtual Result<std::vector<RecoveryCodeRow>> RecoveryCodes(std::string_view account_id) = 0;

  // Disabling deletes the account's sessions and revokes its operator tokens in the same
  // transaction. kNotFound when unknown.
  virtual Status SetDisabled(std::string_view account_id, bool disabled, SysTime now) = 0;
  // A new setup code: with `password` the password is cleared, with `totp` the authenticator and
  // the recovery codes; the account's sessions end. kNotFound when unknown.
  virtual Status ResetAccount(std::string_view account_id, std::string_view setup_hash,
                              SysTime setup_expires_at, bool password, bool totp, SysTime now) = 0;
  virtual Status SetPendingTotp(std::string_view account_id, std::string_view sealed,
                                SysTime now) = 0;
  // kConflict when the setup code changed or was used meanwhile.
  virtual Status FinishSetup(const SetupRecord& record, SysTime now) = 0;

  // kConflict "code already used" when the TOTP step is not newer than the stored one, or the
  // recovery code was used meanwhile; nothing is written then.
  virtual Status CompleteLogin(const LoginRecord& record, SysTime now) = 0;
  virtual Status RecordLoginFailure(std::string_view account_id, SysTime now) = 0;

  // kNotFound when unknown.
  virtual Result<Session> FindSessionByHash(std::string_view token_hash) = 0;
  // Writes at most once a minute per session.
  virtual Status TouchSession(const Session& session, SysTime now) = 0;
  virtual Status DeleteSession(std::string_view session_id) = 0;
  // Live sessions per account id.
  virtual Result<std::vector<Session>> ListSessions(SysTime now) = 0;

  // Operator tokens owned by accounts.
  virtual Status SetTokenOwner(std::string_view token_id, std::string_view account_id) = 0;
  // The owning account's id, nullopt for a token made before accounts (or by `cg-soc token
  // create` without --account).
  virtual Result<std::optional<std::string>> TokenOwner(std::string_view token_id) = 0;
  // token id -> account id, for every owned token.
  virtual Result<std::vector<std::pair<std::string, std::string>>> TokenOwners() = 0;

  // Newest first. Rows written before accounts have no action: theirs is "METHOD path".
  virtual Result<std::vector<AuditEntry>> QueryAudit(const AuditFilter& filter) = 0;
};

// Opens the accounts of the SOC database at `path` with a connection of its own. The schema
// (migration 10) must be in place: open the Storage (OpenSqliteStorage) first.
Result<std::unique_ptr<AccountStore>> OpenSqliteAccountStore(const std::string& path);

// Migration 10's SQL (the runner in sqlite_storage.cpp applies it).
extern const char* const kAccountsMigrationSql;

}  // namespace cg::soc

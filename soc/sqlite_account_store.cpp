// SQLite backend of soc/account_store.h, on a connection of its own to the SOC database (WAL:
// it and the main connection queue on the write lock like `cg-soc token create` next to a
// running server). Migration 10's SQL lives here too.
#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "platform/os/files.h"
#include "soc/account_store.h"

namespace cg::soc {

extern const char* const kAccountsMigrationSql = R"sql(
CREATE TABLE accounts (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  display_name          TEXT NOT NULL,
  role                  TEXT NOT NULL CHECK (role IN ('analyst', 'inspector', 'admin')),
  password_hash         TEXT NOT NULL DEFAULT '',
  totp_secret           TEXT NOT NULL DEFAULT '',
  totp_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
  totp_last_step        INTEGER,
  pending_totp_secret   TEXT NOT NULL DEFAULT '',
  setup_hash            TEXT NOT NULL DEFAULT '',
  setup_expires_at      INTEGER,
  setup_password        INTEGER NOT NULL DEFAULT 0 CHECK (setup_password IN (0, 1)),
  setup_totp            INTEGER NOT NULL DEFAULT 0 CHECK (setup_totp IN (0, 1)),
  disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  created_by            TEXT NOT NULL,
  failed_logins         INTEGER NOT NULL DEFAULT 0,
  last_failed_login_at  INTEGER,
  last_login_at         INTEGER
);

CREATE TABLE account_recovery_codes (
  account_id  TEXT NOT NULL REFERENCES accounts(id),
  idx         INTEGER NOT NULL,
  hash        TEXT NOT NULL,
  used_at     INTEGER,
  PRIMARY KEY (account_id, idx)
) WITHOUT ROWID;

CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,
  token_hash    TEXT NOT NULL UNIQUE,
  account_id    TEXT NOT NULL REFERENCES accounts(id),
  kind          TEXT NOT NULL CHECK (kind IN ('cli', 'browser')),
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  source        TEXT NOT NULL,
  csrf_hash     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_by_account ON sessions(account_id);

-- Tokens made before accounts keep working without an owner (docs/accounts.md). No REFERENCES
-- clause (SQLite could never drop the column again): accounts are never deleted, only disabled.
ALTER TABLE operator_tokens ADD COLUMN account_id TEXT;
ALTER TABLE audit_log ADD COLUMN action TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN account TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_by_time ON audit_log(time);
)sql";

namespace {

constexpr int kBusyTimeoutMs = 5000;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

Error SqlError(sqlite3* db, std::string_view what) {
  const int rc = sqlite3_extended_errcode(db);
  const ErrorCode code = rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
                             ? ErrorCode::kAlreadyExists
                             : ErrorCode::kDatabase;
  return MakeError(code, std::string(what) + ": " + sqlite3_errmsg(db));
}

// One statement, prepared per use (account routes are rare next to reports).
class Query {
 public:
  static Result<Query> Make(sqlite3* db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return SqlError(db, "preparing an account statement");
    }
    return Query(db, raw);
  }
  template <typename... Args>
  Query& Bind(const Args&... args) {
    int i = 0;
    (BindOne(++i, args), ...);
    return *this;
  }
  Result<bool> Step() {
    if (bind_failed_) {
      return SqlError(db_, "binding");
    }
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return SqlError(db_, sqlite3_sql(stmt_.get()));
  }
  Status Run() {
    CG_ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return OkStatus();
  }
  int Changes() const { return sqlite3_changes(db_); }
  bool IsNull(int c) const { return sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL; }
  int64_t Int(int c) const { return sqlite3_column_int64(stmt_.get(), c); }
  SysTime Time(int c) const { return FromUnixSeconds(Int(c)); }
  std::optional<SysTime> OptTime(int c) const {
    return IsNull(c) ? std::nullopt : std::optional<SysTime>(Time(c));
  }
  std::string Text(int c) const {
    const auto* t = sqlite3_column_text(stmt_.get(), c);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  }

 private:
  Query(sqlite3* db, sqlite3_stmt* s) : db_(db), stmt_(s) {}
  void Check(int rc) { bind_failed_ = bind_failed_ || rc != SQLITE_OK; }
  void BindOne(int i, int64_t v) { Check(sqlite3_bind_int64(stmt_.get(), i, v)); }
  void BindOne(int i, bool v) { BindOne(i, int64_t{v ? 1 : 0}); }
  void BindOne(int i, SysTime v) { BindOne(i, ToUnixSeconds(v)); }
  void BindOne(int i, std::string_view v) {
    Check(sqlite3_bind_text64(stmt_.get(), i, v.data() == nullptr ? "" : v.data(), v.size(),
                              SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindOne(int i, const std::string& v) { BindOne(i, std::string_view(v)); }
  void BindOne(int i, const char* v) { BindOne(i, std::string_view(v)); }
  void BindOne(int i, std::nullopt_t) { Check(sqlite3_bind_null(stmt_.get(), i)); }
  template <typename T>
  void BindOne(int i, const std::optional<T>& v) {
    if (v) {
      BindOne(i, *v);
    } else {
      BindOne(i, std::nullopt);
    }
  }

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
  bool bind_failed_ = false;
};

Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqlError(db, sql);
  }
  return OkStatus();
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Tx {
 public:
  static Result<Tx> Begin(sqlite3* db) {
    CG_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    return Tx(db);
  }
  Tx(Tx&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  Tx& operator=(Tx&&) = delete;
  ~Tx() {
    if (db_ != nullptr) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Status Commit() {
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    db_ = nullptr;
    return OkStatus();
  }

 private:
  explicit Tx(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

#define CG_ACCOUNT_COLUMNS                                                                    \
  "id, name, display_name, role, password_hash, totp_secret, totp_enabled, totp_last_step, "  \
  "pending_totp_secret, setup_hash, setup_expires_at, setup_password, setup_totp, disabled, " \
  "created_at, updated_at, created_by, failed_logins, last_failed_login_at, last_login_at"

Account ReadAccount(const Query& q) {
  Account a;
  a.id = q.Text(0);
  a.name = q.Text(1);
  a.display_name = q.Text(2);
  a.role = q.Text(3);
  a.password_hash = q.Text(4);
  a.totp_secret = q.Text(5);
  a.totp_enabled = q.Int(6) != 0;
  a.totp_last_step = q.IsNull(7) ? std::nullopt : std::optional<int64_t>(q.Int(7));
  a.pending_totp_secret = q.Text(8);
  a.setup_hash = q.Text(9);
  a.setup_expires_at = q.OptTime(10);
  a.setup_password = q.Int(11) != 0;
  a.setup_totp = q.Int(12) != 0;
  a.disabled = q.Int(13) != 0;
  a.created_at = q.Time(14);
  a.updated_at = q.Time(15);
  a.created_by = q.Text(16);
  a.failed_logins = q.Int(17);
  a.last_failed_login_at = q.OptTime(18);
  a.last_login_at = q.OptTime(19);
  return a;
}

#define CG_SESSION_COLUMNS \
  "id, token_hash, account_id, kind, created_at, last_used_at, expires_at, source, csrf_hash"

Session ReadSession(const Query& q) {
  Session s;
  s.id = q.Text(0);
  s.token_hash = q.Text(1);
  s.account_id = q.Text(2);
  s.kind = q.Text(3);
  s.created_at = q.Time(4);
  s.last_used_at = q.Time(5);
  s.expires_at = q.Time(6);
  s.source = q.Text(7);
  s.csrf_hash = q.Text(8);
  return s;
}

class SqliteAccountStore final : public AccountStore {
 public:
  explicit SqliteAccountStore(sqlite3* handle) : db_(handle) {}

  Status CreateAccount(const Account& a) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(
        auto q, Query::Make(db(), "INSERT INTO accounts (" CG_ACCOUNT_COLUMNS
                                  ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                  "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"));
    auto s =
        q.Bind(a.id, a.name, a.display_name, a.role, a.password_hash, a.totp_secret, a.totp_enabled,
               a.totp_last_step, a.pending_totp_secret, a.setup_hash, a.setup_expires_at,
               a.setup_password, a.setup_totp, a.disabled, a.created_at, a.updated_at, a.created_by,
               a.failed_logins, a.last_failed_login_at, a.last_login_at)
            .Run();
    if (!s.ok() && s.error().code == ErrorCode::kAlreadyExists) {
      return MakeError(ErrorCode::kAlreadyExists, "an account named " + a.name + " exists");
    }
    return s;
  }

  Result<Account> GetAccountByName(std::string_view name) override {
    std::lock_guard lock(mu_);
    return One("SELECT " CG_ACCOUNT_COLUMNS " FROM accounts WHERE name = ?1", name);
  }

  Result<Account> GetAccount(std::string_view id) override {
    std::lock_guard lock(mu_);
    return One("SELECT " CG_ACCOUNT_COLUMNS " FROM accounts WHERE id = ?1", id);
  }

  Result<std::vector<Account>> ListAccounts() override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(
        auto q, Query::Make(db(), "SELECT " CG_ACCOUNT_COLUMNS " FROM accounts ORDER BY name"));
    std::vector<Account> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        return out;
      }
      out.push_back(ReadAccount(q));
    }
  }

  Result<std::vector<RecoveryCodeRow>> RecoveryCodes(std::string_view account_id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                            "SELECT hash, used_at FROM account_recovery_codes "
                                            "WHERE account_id = ?1 ORDER BY idx"));
    q.Bind(account_id);
    std::vector<RecoveryCodeRow> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        return out;
      }
      out.push_back({q.Text(0), !q.IsNull(1)});
    }
  }

  Status SetDisabled(std::string_view account_id, bool disabled, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Tx::Begin(db()));
    {
      CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                              "UPDATE accounts SET disabled = ?2, "
                                              "updated_at = ?3 WHERE id = ?1"));
      CG_RETURN_IF_ERROR(q.Bind(account_id, disabled, now).Run());
      if (q.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no such account");
      }
    }
    if (disabled) {
      CG_RETURN_IF_ERROR(EndSessionsLocked(account_id));
      CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                              "UPDATE operator_tokens SET revoked = 1 "
                                              "WHERE account_id = ?1"));
      CG_RETURN_IF_ERROR(q.Bind(account_id).Run());
    }
    return tx.Commit();
  }

  Status ResetAccount(std::string_view account_id, std::string_view setup_hash,
                      SysTime setup_expires_at, bool password, bool totp, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Tx::Begin(db()));
    {
      CG_ASSIGN_OR_RETURN(
          auto q, Query::Make(db(),
                              "UPDATE accounts SET setup_hash = ?2, setup_expires_at = ?3, "
                              "setup_password = ?4, setup_totp = ?5, pending_totp_secret = '', "
                              "password_hash = CASE WHEN ?4 THEN '' ELSE password_hash END, "
                              "totp_secret = CASE WHEN ?5 THEN '' ELSE totp_secret END, "
                              "totp_enabled = CASE WHEN ?5 THEN 0 ELSE totp_enabled END, "
                              "updated_at = ?6 WHERE id = ?1"));
      CG_RETURN_IF_ERROR(
          q.Bind(account_id, setup_hash, setup_expires_at, password, totp, now).Run());
      if (q.Changes() == 0) {
        return MakeError(ErrorCode::kNotFound, "no such account");
      }
    }
    if (totp) {
      CG_ASSIGN_OR_RETURN(
          auto q, Query::Make(db(), "DELETE FROM account_recovery_codes WHERE account_id = ?1"));
      CG_RETURN_IF_ERROR(q.Bind(account_id).Run());
    }
    CG_RETURN_IF_ERROR(EndSessionsLocked(account_id));
    return tx.Commit();
  }

  Status SetPendingTotp(std::string_view account_id, std::string_view sealed,
                        SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                            "UPDATE accounts SET pending_totp_secret = ?2, "
                                            "updated_at = ?3 WHERE id = ?1"));
    return q.Bind(account_id, sealed, now).Run();
  }

  Status FinishSetup(const SetupRecord& r, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Tx::Begin(db()));
    {
      CG_ASSIGN_OR_RETURN(
          auto q,
          Query::Make(db(),
                      "UPDATE accounts SET setup_hash = '', setup_expires_at = NULL, "
                      "setup_password = 0, setup_totp = 0, pending_totp_secret = '', "
                      "password_hash = COALESCE(?3, password_hash), "
                      "totp_secret = COALESCE(?4, totp_secret), "
                      "totp_enabled = CASE WHEN ?4 IS NULL THEN totp_enabled ELSE 1 END, "
                      "totp_last_step = COALESCE(?5, totp_last_step), failed_logins = 0, "
                      "updated_at = ?6 WHERE id = ?1 AND setup_hash = ?2 AND setup_hash != ''"));
      CG_RETURN_IF_ERROR(
          q.Bind(r.account_id, r.setup_hash, r.password_hash, r.totp_secret, r.totp_step, now)
              .Run());
      if (q.Changes() == 0) {
        return MakeError(ErrorCode::kConflict, "the setup code was used or replaced meanwhile");
      }
    }
    if (r.totp_secret) {
      CG_ASSIGN_OR_RETURN(
          auto del, Query::Make(db(), "DELETE FROM account_recovery_codes WHERE account_id = ?1"));
      CG_RETURN_IF_ERROR(del.Bind(r.account_id).Run());
      for (size_t i = 0; i < r.recovery_hashes.size(); ++i) {
        CG_ASSIGN_OR_RETURN(auto ins, Query::Make(db(),
                                                  "INSERT INTO account_recovery_codes "
                                                  "(account_id, idx, hash) VALUES (?1, ?2, ?3)"));
        CG_RETURN_IF_ERROR(
            ins.Bind(r.account_id, static_cast<int64_t>(i), r.recovery_hashes[i]).Run());
      }
    }
    return tx.Commit();
  }

  Status CompleteLogin(const LoginRecord& r, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Tx::Begin(db()));
    if (r.totp_step) {
      // Compare-and-set: two logins racing with the same code cannot both pass.
      CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                              "UPDATE accounts SET totp_last_step = ?2 "
                                              "WHERE id = ?1 AND (totp_last_step IS NULL OR "
                                              "totp_last_step < ?2)"));
      CG_RETURN_IF_ERROR(q.Bind(r.account_id, *r.totp_step).Run());
      if (q.Changes() == 0) {
        return MakeError(ErrorCode::kConflict, "totp: code already used");
      }
    }
    if (r.recovery_code_index) {
      CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                              "UPDATE account_recovery_codes SET used_at = "
                                              "?3 WHERE account_id = ?1 AND idx = ?2 AND "
                                              "used_at IS NULL"));
      CG_RETURN_IF_ERROR(
          q.Bind(r.account_id, static_cast<int64_t>(*r.recovery_code_index), now).Run());
      if (q.Changes() == 0) {
        return MakeError(ErrorCode::kConflict, "recovery code already used");
      }
    }
    {
      CG_ASSIGN_OR_RETURN(auto q,
                          Query::Make(db(),
                                      "UPDATE accounts SET failed_logins = 0, last_login_at = ?2, "
                                      "password_hash = COALESCE(?3, password_hash) WHERE id = ?1"));
      CG_RETURN_IF_ERROR(q.Bind(r.account_id, now, r.new_password_hash).Run());
    }
    {
      const Session& s = r.session;
      CG_ASSIGN_OR_RETURN(auto q,
                          Query::Make(db(), "INSERT INTO sessions (" CG_SESSION_COLUMNS
                                            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
      CG_RETURN_IF_ERROR(q.Bind(s.id, s.token_hash, s.account_id, s.kind, s.created_at,
                                s.last_used_at, s.expires_at, s.source, s.csrf_hash)
                             .Run());
    }
    {
      // Expired sessions go at every login: the table holds live ones (and a few idle).
      CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), "DELETE FROM sessions WHERE expires_at <= ?1"));
      CG_RETURN_IF_ERROR(q.Bind(now).Run());
    }
    return tx.Commit();
  }

  Status RecordLoginFailure(std::string_view account_id, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                            "UPDATE accounts SET failed_logins = "
                                            "failed_logins + 1, last_failed_login_at = ?2 "
                                            "WHERE id = ?1"));
    return q.Bind(account_id, now).Run();
  }

  Result<Session> FindSessionByHash(std::string_view token_hash) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), "SELECT " CG_SESSION_COLUMNS
                                                  " FROM sessions WHERE token_hash = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, q.Bind(token_hash).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown session");
    }
    return ReadSession(q);
  }

  Status TouchSession(const Session& session, SysTime now) override {
    if (now - session.last_used_at < std::chrono::minutes(1)) {
      return OkStatus();
    }
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q,
                        Query::Make(db(), "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1"));
    return q.Bind(session.id, now).Run();
  }

  Status DeleteSession(std::string_view session_id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), "DELETE FROM sessions WHERE id = ?1"));
    return q.Bind(session_id).Run();
  }

  Result<std::vector<Session>> ListSessions(SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), "SELECT " CG_SESSION_COLUMNS
                                                  " FROM sessions WHERE expires_at > ?1"));
    q.Bind(now);
    std::vector<Session> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        return out;
      }
      out.push_back(ReadSession(q));
    }
  }

  Status SetTokenOwner(std::string_view token_id, std::string_view account_id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(
        auto q, Query::Make(db(), "UPDATE operator_tokens SET account_id = ?2 WHERE id = ?1"));
    CG_RETURN_IF_ERROR(q.Bind(token_id, account_id).Run());
    if (q.Changes() == 0) {
      return MakeError(ErrorCode::kNotFound, "no such operator token");
    }
    return OkStatus();
  }

  Result<std::optional<std::string>> TokenOwner(std::string_view token_id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q,
                        Query::Make(db(), "SELECT account_id FROM operator_tokens WHERE id = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, q.Bind(token_id).Step());
    if (!row || q.IsNull(0)) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(q.Text(0));
  }

  Result<std::vector<std::pair<std::string, std::string>>> TokenOwners() override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(),
                                            "SELECT id, account_id FROM operator_tokens "
                                            "WHERE account_id IS NOT NULL"));
    std::vector<std::pair<std::string, std::string>> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        return out;
      }
      out.emplace_back(q.Text(0), q.Text(1));
    }
  }

  Result<std::vector<AuditEntry>> QueryAudit(const AuditFilter& f) override {
    std::lock_guard lock(mu_);
    // Every filter is a bound parameter; an absent one is NULL and matches everything.
    CG_ASSIGN_OR_RETURN(
        auto q,
        Query::Make(
            db(),
            "SELECT time, actor, role, method, path, target, result, source, "
            "CASE WHEN action = '' THEN method || ' ' || path ELSE action END, account "
            "FROM audit_log WHERE "
            "(?1 IS NULL OR (?1 = 1) = (method NOT IN ('GET', 'HEAD'))) AND "
            "(?2 IS NULL OR account = ?2 OR (account = '' AND actor = ?2)) AND "
            "(?3 IS NULL OR instr(CASE WHEN action = '' THEN method || ' ' || path ELSE action "
            "END, ?3) > 0) AND "
            "(?4 IS NULL OR time >= ?4) AND (?5 IS NULL OR time < ?5) "
            "ORDER BY id DESC LIMIT ?6"));
    std::optional<int64_t> changes;
    if (f.changes) {
      changes = *f.changes ? 1 : 0;
    }
    q.Bind(changes, f.account, f.action, f.since, f.until, static_cast<int64_t>(f.limit));
    std::vector<AuditEntry> out;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        return out;
      }
      AuditEntry e;
      e.time = q.Time(0);
      e.actor = q.Text(1);
      e.role = q.Text(2);
      e.method = q.Text(3);
      e.path = q.Text(4);
      e.target = q.Text(5);
      e.result = static_cast<int>(q.Int(6));
      e.source = q.Text(7);
      e.action = q.Text(8);
      e.account = q.Text(9);
      out.push_back(std::move(e));
    }
  }

 private:
  sqlite3* db() { return db_.get(); }

  Result<Account> One(const char* sql, std::string_view key) {
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), sql));
    CG_ASSIGN_OR_RETURN(bool row, q.Bind(key).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "no such account");
    }
    return ReadAccount(q);
  }

  Status EndSessionsLocked(std::string_view account_id) {
    CG_ASSIGN_OR_RETURN(auto q, Query::Make(db(), "DELETE FROM sessions WHERE account_id = ?1"));
    return q.Bind(account_id).Run();
  }

  std::unique_ptr<sqlite3, DbCloser> db_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<AccountStore>> OpenSqliteAccountStore(const std::string& path) {
  if (!FileExists(path)) {
    return MakeError(ErrorCode::kNotFound, path + ": no such database");
  }
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto store = std::make_unique<SqliteAccountStore>(raw);
  if (rc != SQLITE_OK) {
    return SqlError(raw, "opening " + path);
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  CG_RETURN_IF_ERROR(Exec(raw, "PRAGMA foreign_keys = ON"));
  CG_RETURN_IF_ERROR(Exec(raw, "PRAGMA synchronous = FULL"));
  // The schema must be there (migration 10): the table is the proof.
  CG_RETURN_IF_ERROR(Exec(raw, "SELECT 1 FROM accounts LIMIT 0"));
  return std::unique_ptr<AccountStore>(std::move(store));
}

}  // namespace cg::soc

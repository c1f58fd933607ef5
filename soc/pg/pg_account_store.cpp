// Staff accounts on PostgreSQL (migration 10's tables), the same statements as
// soc/sqlite_account_store.cpp in PostgreSQL's dialect. The compare-and-set updates (a TOTP step,
// a recovery code, a setup code) are single conditional UPDATEs whose affected-row count decides,
// so two nodes racing with one code cannot both pass: the second waits on the row lock and then
// finds its condition false.
#include "soc/pg/pg_account_store.h"

#include "soc/pg/pg.h"

namespace cg::soc {
namespace pg {
namespace {

constexpr size_t kPoolSize = 4;

#define CG_ACCOUNT_COLUMNS                                                                    \
  "id, name, display_name, role, password_hash, totp_secret, totp_enabled, totp_last_step, "  \
  "pending_totp_secret, setup_hash, setup_expires_at, setup_password, setup_totp, disabled, " \
  "created_at, updated_at, created_by, failed_logins, last_failed_login_at, last_login_at"

Account ReadAccount(const Rows& r, int i) {
  Account a;
  a.id = r.Text(i, 0);
  a.name = r.Text(i, 1);
  a.display_name = r.Text(i, 2);
  a.role = r.Text(i, 3);
  a.password_hash = r.Text(i, 4);
  a.totp_secret = r.Text(i, 5);
  a.totp_enabled = r.Bool(i, 6);
  a.totp_last_step = r.IsNull(i, 7) ? std::nullopt : std::optional<int64_t>(r.Int(i, 7));
  a.pending_totp_secret = r.Text(i, 8);
  a.setup_hash = r.Text(i, 9);
  a.setup_expires_at = r.OptionalTime(i, 10);
  a.setup_password = r.Bool(i, 11);
  a.setup_totp = r.Bool(i, 12);
  a.disabled = r.Bool(i, 13);
  a.created_at = r.Time(i, 14);
  a.updated_at = r.Time(i, 15);
  a.created_by = r.Text(i, 16);
  a.failed_logins = r.Int(i, 17);
  a.last_failed_login_at = r.OptionalTime(i, 18);
  a.last_login_at = r.OptionalTime(i, 19);
  return a;
}

#define CG_SESSION_COLUMNS \
  "id, token_hash, account_id, kind, created_at, last_used_at, expires_at, source, csrf_hash"

Session ReadSession(const Rows& r, int i) {
  Session s;
  s.id = r.Text(i, 0);
  s.token_hash = r.Text(i, 1);
  s.account_id = r.Text(i, 2);
  s.kind = r.Text(i, 3);
  s.created_at = r.Time(i, 4);
  s.last_used_at = r.Time(i, 5);
  s.expires_at = r.Time(i, 6);
  s.source = r.Text(i, 7);
  s.csrf_hash = r.Text(i, 8);
  return s;
}

Error NoSuchAccount() { return MakeError(ErrorCode::kNotFound, "no such account"); }

class PgAccountStore final : public AccountStore {
 public:
  explicit PgAccountStore(std::string uri) : pool_(std::move(uri), kPoolSize) {}

  Status CheckSchema() {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    // The schema must be there (migration 10): the table is the proof.
    CG_RETURN_IF_ERROR(conn->Query("SELECT 1 FROM accounts LIMIT 0"));
    return OkStatus();
  }

  Status CreateAccount(const Account& a) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    auto s = conn->Query("INSERT INTO accounts (" CG_ACCOUNT_COLUMNS
                         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                         "$15, $16, $17, $18, $19, $20)",
                         a.id, a.name, a.display_name, a.role, a.password_hash, a.totp_secret,
                         a.totp_enabled, a.totp_last_step, a.pending_totp_secret, a.setup_hash,
                         a.setup_expires_at, a.setup_password, a.setup_totp, a.disabled,
                         a.created_at, a.updated_at, a.created_by, a.failed_logins,
                         a.last_failed_login_at, a.last_login_at);
    if (!s.ok() && s.error().code == ErrorCode::kAlreadyExists) {
      return MakeError(ErrorCode::kAlreadyExists, "an account named " + a.name + " exists");
    }
    CG_RETURN_IF_ERROR(s);
    return OkStatus();
  }

  Result<Account> GetAccountByName(std::string_view name) override {
    return One("SELECT " CG_ACCOUNT_COLUMNS " FROM accounts WHERE name = $1", name);
  }

  Result<Account> GetAccount(std::string_view id) override {
    return One("SELECT " CG_ACCOUNT_COLUMNS " FROM accounts WHERE id = $1", id);
  }

  Result<std::vector<Account>> ListAccounts() override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT " CG_ACCOUNT_COLUMNS
                                               " FROM accounts ORDER BY name COLLATE \"C\""));
    std::vector<Account> out;
    for (int i = 0; i < rows.Count(); ++i) {
      out.push_back(ReadAccount(rows, i));
    }
    return out;
  }

  Result<std::vector<RecoveryCodeRow>> RecoveryCodes(std::string_view account_id) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT hash, used_at FROM account_recovery_codes "
                                               "WHERE account_id = $1 ORDER BY idx",
                                               account_id));
    std::vector<RecoveryCodeRow> out;
    for (int i = 0; i < rows.Count(); ++i) {
      out.push_back({rows.Text(i, 0), !rows.IsNull(i, 1)});
    }
    return out;
  }

  Status SetDisabled(std::string_view account_id, bool disabled, SysTime now) override {
    return RunTransaction(pool_, [&](Connection& conn) -> Status {
      CG_ASSIGN_OR_RETURN(auto rows, conn.Query("UPDATE accounts SET disabled = $2, updated_at = "
                                                "$3 WHERE id = $1",
                                                account_id, disabled, now));
      if (rows.Affected() == 0) {
        return NoSuchAccount();
      }
      if (disabled) {
        CG_RETURN_IF_ERROR(conn.Query("DELETE FROM sessions WHERE account_id = $1", account_id));
        CG_RETURN_IF_ERROR(
            conn.Query("UPDATE operator_tokens SET revoked = 1 WHERE account_id = $1", account_id));
      }
      return OkStatus();
    });
  }

  Status ResetAccount(std::string_view account_id, std::string_view setup_hash,
                      SysTime setup_expires_at, bool password, bool totp, SysTime now) override {
    return RunTransaction(pool_, [&](Connection& conn) -> Status {
      CG_ASSIGN_OR_RETURN(
          auto rows, conn.Query("UPDATE accounts SET setup_hash = $2, setup_expires_at = $3, "
                                "setup_password = $4, setup_totp = $5, pending_totp_secret = '', "
                                "password_hash = CASE WHEN $4 = 1 THEN '' ELSE password_hash END, "
                                "totp_secret = CASE WHEN $5 = 1 THEN '' ELSE totp_secret END, "
                                "totp_enabled = CASE WHEN $5 = 1 THEN 0 ELSE totp_enabled END, "
                                "updated_at = $6 WHERE id = $1",
                                account_id, setup_hash, setup_expires_at, password, totp, now));
      if (rows.Affected() == 0) {
        return NoSuchAccount();
      }
      if (totp) {
        CG_RETURN_IF_ERROR(
            conn.Query("DELETE FROM account_recovery_codes WHERE account_id = $1", account_id));
      }
      CG_RETURN_IF_ERROR(conn.Query("DELETE FROM sessions WHERE account_id = $1", account_id));
      return OkStatus();
    });
  }

  Status SetPendingTotp(std::string_view account_id, std::string_view sealed,
                        SysTime now) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_RETURN_IF_ERROR(
        conn->Query("UPDATE accounts SET pending_totp_secret = $2, updated_at = $3 "
                    "WHERE id = $1",
                    account_id, sealed, now));
    return OkStatus();
  }

  Status FinishSetup(const SetupRecord& r, SysTime now) override {
    return RunTransaction(pool_, [&](Connection& conn) -> Status {
      CG_ASSIGN_OR_RETURN(
          auto rows,
          conn.Query("UPDATE accounts SET setup_hash = '', setup_expires_at = NULL, "
                     "setup_password = 0, setup_totp = 0, pending_totp_secret = '', "
                     "password_hash = COALESCE($3, password_hash), "
                     "totp_secret = COALESCE($4, totp_secret), "
                     "totp_enabled = CASE WHEN $4 IS NULL THEN totp_enabled ELSE 1 END, "
                     "totp_last_step = COALESCE($5, totp_last_step), failed_logins = 0, "
                     "updated_at = $6 WHERE id = $1 AND setup_hash = $2 AND setup_hash <> ''",
                     r.account_id, r.setup_hash, r.password_hash, r.totp_secret, r.totp_step, now));
      if (rows.Affected() == 0) {
        return MakeError(ErrorCode::kConflict, "the setup code was used or replaced meanwhile");
      }
      if (r.totp_secret) {
        CG_RETURN_IF_ERROR(
            conn.Query("DELETE FROM account_recovery_codes WHERE account_id = $1", r.account_id));
        for (size_t i = 0; i < r.recovery_hashes.size(); ++i) {
          CG_RETURN_IF_ERROR(
              conn.Query("INSERT INTO account_recovery_codes (account_id, idx, "
                         "hash) VALUES ($1, $2, $3)",
                         r.account_id, static_cast<int64_t>(i), r.recovery_hashes[i]));
        }
      }
      return OkStatus();
    });
  }

  Status CompleteLogin(const LoginRecord& r, SysTime now) override {
    return RunTransaction(pool_, [&](Connection& conn) -> Status {
      if (r.totp_step) {
        CG_ASSIGN_OR_RETURN(auto rows, conn.Query("UPDATE accounts SET totp_last_step = $2 "
                                                  "WHERE id = $1 AND (totp_last_step IS NULL "
                                                  "OR totp_last_step < $2)",
                                                  r.account_id, *r.totp_step));
        if (rows.Affected() == 0) {
          return MakeError(ErrorCode::kConflict, "totp: code already used");
        }
      }
      if (r.recovery_code_index) {
        CG_ASSIGN_OR_RETURN(
            auto rows, conn.Query("UPDATE account_recovery_codes SET used_at = $3 "
                                  "WHERE account_id = $1 AND idx = $2 AND "
                                  "used_at IS NULL",
                                  r.account_id, static_cast<int64_t>(*r.recovery_code_index), now));
        if (rows.Affected() == 0) {
          return MakeError(ErrorCode::kConflict, "recovery code already used");
        }
      }
      CG_RETURN_IF_ERROR(
          conn.Query("UPDATE accounts SET failed_logins = 0, last_login_at = $2, "
                     "password_hash = COALESCE($3, password_hash) WHERE id = $1",
                     r.account_id, now, r.new_password_hash));
      const Session& s = r.session;
      CG_RETURN_IF_ERROR(conn.Query("INSERT INTO sessions (" CG_SESSION_COLUMNS
                                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                                    s.id, s.token_hash, s.account_id, s.kind, s.created_at,
                                    s.last_used_at, s.expires_at, s.source, s.csrf_hash));
      // Expired sessions go at every login: the table holds live ones (and a few idle).
      CG_RETURN_IF_ERROR(conn.Query("DELETE FROM sessions WHERE expires_at <= $1", now));
      return OkStatus();
    });
  }

  Status RecordLoginFailure(std::string_view account_id, SysTime now) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_RETURN_IF_ERROR(
        conn->Query("UPDATE accounts SET failed_logins = failed_logins + 1, "
                    "last_failed_login_at = $2 WHERE id = $1",
                    account_id, now));
    return OkStatus();
  }

  Result<Session> FindSessionByHash(std::string_view token_hash) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(
        auto rows, conn->Query("SELECT " CG_SESSION_COLUMNS " FROM sessions WHERE token_hash = $1",
                               token_hash));
    if (rows.Count() == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown session");
    }
    return ReadSession(rows, 0);
  }

  Status TouchSession(const Session& session, SysTime now) override {
    if (now - session.last_used_at < std::chrono::minutes(1)) {
      return OkStatus();
    }
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_RETURN_IF_ERROR(
        conn->Query("UPDATE sessions SET last_used_at = $2 WHERE id = $1", session.id, now));
    return OkStatus();
  }

  Status DeleteSession(std::string_view session_id) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_RETURN_IF_ERROR(conn->Query("DELETE FROM sessions WHERE id = $1", session_id));
    return OkStatus();
  }

  Result<std::vector<Session>> ListSessions(SysTime now) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT " CG_SESSION_COLUMNS " FROM sessions WHERE expires_at > $1", now));
    std::vector<Session> out;
    for (int i = 0; i < rows.Count(); ++i) {
      out.push_back(ReadSession(rows, i));
    }
    return out;
  }

  Status SetTokenOwner(std::string_view token_id, std::string_view account_id) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(
        auto rows, conn->Query("UPDATE operator_tokens SET account_id = $2 WHERE id = $1", token_id,
                               account_id));
    if (rows.Affected() == 0) {
      return MakeError(ErrorCode::kNotFound, "no such operator token");
    }
    return OkStatus();
  }

  Result<std::optional<std::string>> TokenOwner(std::string_view token_id) override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(
        auto rows, conn->Query("SELECT account_id FROM operator_tokens WHERE id = $1", token_id));
    if (rows.Count() == 0 || rows.IsNull(0, 0)) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(rows.Text(0, 0));
  }

  Result<std::vector<std::pair<std::string, std::string>>> TokenOwners() override {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, account_id FROM operator_tokens WHERE "
                                               "account_id IS NOT NULL"));
    std::vector<std::pair<std::string, std::string>> out;
    for (int i = 0; i < rows.Count(); ++i) {
      out.emplace_back(rows.Text(i, 0), rows.Text(i, 1));
    }
    return out;
  }

  Result<std::vector<AuditEntry>> QueryAudit(const AuditFilter& f) override {
    std::optional<int64_t> changes;
    if (f.changes) {
      changes = *f.changes ? 1 : 0;
    }
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    // Every filter is a parameter; an absent one is NULL and matches everything.
    CG_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT time, actor, role, method, path, target, result, source, "
                    "CASE WHEN action = '' THEN method || ' ' || path ELSE action END, account "
                    "FROM audit_log WHERE "
                    "($1::bigint IS NULL OR ($1 = 1) = (method NOT IN ('GET', 'HEAD'))) AND "
                    "($2::text IS NULL OR account = $2 OR (account = '' AND actor = $2)) AND "
                    "($3::text IS NULL OR strpos(CASE WHEN action = '' THEN method || ' ' || "
                    "path ELSE action END, $3) > 0) AND "
                    "($4::bigint IS NULL OR time >= $4) AND ($5::bigint IS NULL OR time < $5) "
                    "ORDER BY id DESC LIMIT $6",
                    changes, f.account, f.action, f.since, f.until, static_cast<int64_t>(f.limit)));
    std::vector<AuditEntry> out;
    for (int i = 0; i < rows.Count(); ++i) {
      AuditEntry e;
      e.time = rows.Time(i, 0);
      e.actor = rows.Text(i, 1);
      e.role = rows.Text(i, 2);
      e.method = rows.Text(i, 3);
      e.path = rows.Text(i, 4);
      e.target = rows.Text(i, 5);
      e.result = static_cast<int>(rows.Int(i, 6));
      e.source = rows.Text(i, 7);
      e.action = rows.Text(i, 8);
      e.account = rows.Text(i, 9);
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  Result<Account> One(const char* sql, std::string_view key) {
    CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
    CG_ASSIGN_OR_RETURN(auto rows, conn->Query(sql, key));
    if (rows.Count() == 0) {
      return NoSuchAccount();
    }
    return ReadAccount(rows, 0);
  }

  Pool pool_;
};

}  // namespace
}  // namespace pg

Result<std::unique_ptr<AccountStore>> OpenPgAccountStore(const std::string& uri) {
  auto store = std::make_unique<pg::PgAccountStore>(uri);
  CG_RETURN_IF_ERROR(store->CheckSchema());
  return std::unique_ptr<AccountStore>(std::move(store));
}

}  // namespace cg::soc

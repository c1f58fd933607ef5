// SQLite backend of the SOC's storage: one connection (WAL, synchronous=FULL, foreign keys on),
// ordered schema migrations, cached prepared statements, every handle owned by a unique_ptr.
#include "soc/sqlite_storage.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "platform/os/files.h"
#include "soc/account_store.h"
#include "soc/sqlite_group_names.h"
#include "soc/sqlite_history.h"
#include "soc/sqlite_storage_export.h"
#include "soc/sqlite_storage_query.h"
#include "soc/text_fold.h"

namespace cg::soc {
namespace {

using protocol::DeviceStatus;

// Stored in the database header (PRAGMA application_id) so that a file is recognised as a
// CounterGuard SOC database before anything is written to it: "CGSD" in ASCII.
constexpr int64_t kApplicationId = 0x43475344;
// How long a statement waits for another process's write lock (`cg-soc token create` next to
// a running server) before failing.
constexpr int kBusyTimeoutMs = 5000;

struct Migration {
  int64_t version;
  const char* sql;
};

// Append-only: a released migration never changes, later schema changes are new entries with
// the next version. Each runs in its own transaction together with its schema_migrations row.
// Times are Unix seconds (INTEGER); statuses are the protocol's strings.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, R"sql(
CREATE TABLE operator_tokens (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('analyst', 'admin')),
  token_hash  TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER,
  revoked     INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
);

CREATE TABLE enrollment_tokens (
  id            TEXT PRIMARY KEY,
  token_hash    TEXT NOT NULL UNIQUE,
  group_name    TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  expires_at    INTEGER NOT NULL,
  uses_allowed  INTEGER NOT NULL CHECK (uses_allowed >= 1),
  uses          INTEGER NOT NULL DEFAULT 0 CHECK (uses BETWEEN 0 AND uses_allowed),
  revoked       INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  created_by    TEXT NOT NULL
);

-- status is the latest report's overall status; stale and revoked are derived when read.
-- latest_report points at the newest report by collected_at (the one status comes from).
CREATE TABLE devices (
  device_id       TEXT PRIMARY KEY,
  hostname        TEXT NOT NULL,
  machine_id      TEXT NOT NULL,
  group_name      TEXT NOT NULL,
  cert_serial     TEXT NOT NULL,
  cert_not_after  INTEGER NOT NULL,
  enrolled_at     INTEGER NOT NULL,
  last_seen       INTEGER,
  status          TEXT NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('compliant', 'noncompliant', 'error', 'unknown')),
  policy_version  INTEGER NOT NULL DEFAULT 0,
  revoked         INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  latest_report   INTEGER REFERENCES reports(id)
);
CREATE INDEX devices_by_group ON devices(group_name, hostname);

CREATE TABLE reports (
  id            INTEGER PRIMARY KEY,
  report_id     TEXT NOT NULL UNIQUE,
  device_id     TEXT NOT NULL REFERENCES devices(device_id),
  received_at   INTEGER NOT NULL,
  collected_at  INTEGER NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('compliant', 'noncompliant', 'error')),
  body          TEXT NOT NULL
);
CREATE INDEX reports_by_device ON reports(device_id, collected_at, id);

CREATE TABLE check_results (
  report    INTEGER NOT NULL REFERENCES reports(id),
  check_id  TEXT NOT NULL,
  status    TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'not_applicable')),
  severity  TEXT NOT NULL,
  PRIMARY KEY (report, check_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  time    INTEGER NOT NULL,
  actor   TEXT NOT NULL,
  role    TEXT NOT NULL,
  method  TEXT NOT NULL,
  path    TEXT NOT NULL,
  target  TEXT NOT NULL,
  result  INTEGER NOT NULL,
  source  TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql"},
      // Signed policy distribution and ad-hoc tasks (inspections).
      {2, R"sql(
ALTER TABLE devices ADD COLUMN policy_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE policies (
  version    INTEGER PRIMARY KEY CHECK (version >= 1),
  hash       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  envelope   TEXT NOT NULL,
  pushed_by  TEXT NOT NULL,
  pushed_at  INTEGER NOT NULL
);

CREATE TABLE tasks (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('inspect')),
  yara        INTEGER NOT NULL CHECK (yara IN (0, 1)),
  target      TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);

CREATE TABLE task_devices (
  task_id       TEXT NOT NULL REFERENCES tasks(id),
  device_id     TEXT NOT NULL REFERENCES devices(device_id),
  state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'done')),
  delivered_at  INTEGER,
  done_at       INTEGER,
  report_id     TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (task_id, device_id)
) WITHOUT ROWID;
CREATE INDEX task_devices_by_device ON task_devices(device_id, state);
)sql"},
      // Device identity (issue 4): certificates the SOC stopped accepting (the CRL's content),
      // re-enrollment allowed by an admin, and refused re-enrollments waiting for one.
      {3, R"sql(
ALTER TABLE devices ADD COLUMN reenroll_allowed INTEGER NOT NULL DEFAULT 0
  CHECK (reenroll_allowed IN (0, 1));
CREATE INDEX devices_by_machine ON devices(machine_id, hostname);

CREATE TABLE revoked_certificates (
  serial      TEXT PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  revoked_at  INTEGER NOT NULL,
  not_after   INTEGER NOT NULL,
  reason      TEXT NOT NULL CHECK (reason IN ('revoked', 'superseded'))
);
INSERT INTO revoked_certificates (serial, device_id, revoked_at, not_after, reason)
  SELECT cert_serial, device_id, enrolled_at, cert_not_after, 'revoked' FROM devices
  WHERE revoked = 1;

CREATE TABLE enrollment_conflicts (
  id           INTEGER PRIMARY KEY,
  time         INTEGER NOT NULL,
  device_id    TEXT NOT NULL REFERENCES devices(device_id),
  hostname     TEXT NOT NULL,
  machine_id   TEXT NOT NULL,
  group_name   TEXT NOT NULL,
  source       TEXT NOT NULL,
  resolved_at  INTEGER
);
)sql"},
      // A renewed certificate waits as "pending" until the device first uses it; until then the
      // current one stays valid, so a renewal answer lost on the way does not lock the device
      // out.
      {4, R"sql(
ALTER TABLE devices ADD COLUMN pending_cert_serial TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN pending_cert_not_after INTEGER NOT NULL DEFAULT 0;
)sql"},
      // Issue 13, SOC side. Reports are ordered by arrival (received_at), and the agent's clock
      // is kept as evidence: clock_skew = collected_at - received_at, of every report and of the
      // device's latest. The host name a report gives is an observation next to the enrolled
      // one. Operator tokens record their last use; conflicts are closed by an admin only.
      {5, R"sql(
ALTER TABLE reports ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
UPDATE reports SET clock_skew = collected_at - received_at;
CREATE INDEX reports_by_device_arrival ON reports(device_id, received_at, id);
ALTER TABLE devices ADD COLUMN clock_skew INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN reported_hostname TEXT NOT NULL DEFAULT '';
UPDATE devices SET reported_hostname = hostname WHERE latest_report IS NOT NULL;
UPDATE devices SET clock_skew = COALESCE(
  (SELECT r.clock_skew FROM reports r WHERE r.id = devices.latest_report), 0);
ALTER TABLE operator_tokens ADD COLUMN last_used_at INTEGER;
ALTER TABLE enrollment_conflicts ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
)sql"},
      // Expected policy per device and policy layers (issue 13): how the SOC judged each report's
      // policy, what it last served to and accepted from each device, and versions counted per
      // target (policy::LayerTarget, filled here from the stored envelopes) instead of across
      // the province.
      {6, R"sql(
ALTER TABLE devices ADD COLUMN policy_state TEXT NOT NULL DEFAULT ''
  CHECK (policy_state IN ('', 'expected', 'rollout', 'unverified'));
ALTER TABLE devices ADD COLUMN verified_policy_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN verified_policy_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN served_policy_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN served_policy_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE reports ADD COLUMN policy_state TEXT NOT NULL DEFAULT ''
  CHECK (policy_state IN ('', 'expected', 'rollout', 'unverified'));

CREATE TABLE policy_layers (
  id         INTEGER PRIMARY KEY,
  target     TEXT NOT NULL,
  version    INTEGER NOT NULL CHECK (version >= 1),
  hash       TEXT NOT NULL,
  key_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  envelope   TEXT NOT NULL,
  pushed_by  TEXT NOT NULL,
  pushed_at  INTEGER NOT NULL,
  UNIQUE (target, version)
);
INSERT INTO policy_layers (target, version, hash, key_id, name, scope, envelope, pushed_by,
                           pushed_at)
  SELECT COALESCE((SELECT group_concat(g, ',') FROM
                     (SELECT DISTINCT rtrim(value, '/') AS g
                      FROM json_each(p.envelope, '$.policy.target.groups') ORDER BY g)), ''),
         version, hash, key_id, name, scope, envelope, pushed_by, pushed_at
  FROM policies p ORDER BY version;
DROP TABLE policies;
)sql"},
      // Issue 15: per-check status history kept for years, enforcement changes, reporting
      // gaps, generated reports and retention (soc/sqlite_history.cpp).
      {7, sqlite_history::kMigration7},
      // Issue 15, fleet queries: the folded host name, OS and agent version on the device row.
      {8, sqlite_query::kMigration8},
      // SIEM export (issue 15): the outbox (soc/sqlite_storage_export.cpp).
      {9, sqlite_export::kMigrationSql},
      // Staff accounts (issue 16): accounts, recovery codes, sessions, token owners, and the
      // audit log's action and account (soc/sqlite_account_store.cpp).
      {10, kAccountsMigrationSql},
      // The devices' failing checks on their rows, indexes of the fleet queries (issue 15).
      {11, sqlite_query::kMigration11},
      // Group display names (issue 16): slug -> name, who set it, when (sqlite_group_names.cpp).
      {12, sqlite_groups::kMigration12},
  };
  return migrations;
}

constexpr const char* kCreateMigrationsTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version     INTEGER PRIMARY KEY,
  applied_at  TEXT NOT NULL
))sql";

// The one place where SQLite failures become cg::Error: the connection's message (more precise
// than the code's generic text) prefixed by what was being done. A unique or primary key
// violation is kAlreadyExists so that callers can tell it apart; everything else is kDatabase.
Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const ErrorCode code = rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
                             ? ErrorCode::kAlreadyExists
                             : ErrorCode::kDatabase;
  return MakeError(code, std::string(what) + ": " + detail);
}

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// One use of a cached prepared statement: binds, steps, reads columns, and resets the statement
// (and clears its bindings) when it goes out of scope so that the cache can hand it out again.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt() {
    if (stmt_ != nullptr) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
    }
  }

  // Binds the arguments to ?1, ?2, ... in order. A failed bind is reported by Step.
  template <typename... Args>
  Stmt& Bind(const Args&... args) {
    int index = 0;
    (BindOne(++index, args), ...);
    return *this;
  }

  // true: a row is ready; false: the statement is done.
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) {
      return SqliteError(db_, bind_rc_, "binding " + SqlStart());
    }
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return SqliteError(db_, rc, SqlStart());
  }

  // Runs a statement that returns no row.
  Status Run() {
    CG_ASSIGN_OR_RETURN(bool row, Step());
    if (row) {
      return MakeError(ErrorCode::kInternal, "unexpected row from " + SqlStart());
    }
    return OkStatus();
  }

  sqlite3_stmt* Raw() const { return stmt_; }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool Bool(int column) const { return Int(column) != 0; }
  SysTime Time(int column) const { return FromUnixSeconds(Int(column)); }
  std::optional<SysTime> OptionalTime(int column) const {
    return IsNull(column) ? std::nullopt : std::optional<SysTime>(Time(column));
  }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  void Record(int rc) {
    if (bind_rc_ == SQLITE_OK) {
      bind_rc_ = rc;
    }
  }
  void BindOne(int index, int64_t value) { Record(sqlite3_bind_int64(stmt_, index, value)); }
  void BindOne(int index, SysTime value) { BindOne(index, ToUnixSeconds(value)); }
  void BindOne(int index, std::string_view value) {
    // SQLITE_TRANSIENT: SQLite copies the text, so a temporary argument may die before Step.
    // An empty view may have no data pointer, which SQLite would bind as NULL: bind ''.
    Record(sqlite3_bind_text64(stmt_, index, value.data() == nullptr ? "" : value.data(),
                               value.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindOne(int index, std::nullopt_t) { Record(sqlite3_bind_null(stmt_, index)); }
  template <typename T>
  void BindOne(int index, const std::optional<T>& value) {
    if (value.has_value()) {
      BindOne(index, *value);
    } else {
      BindOne(index, std::nullopt);
    }
  }

  // The statement's first words, to say which one failed.
  std::string SqlStart() const {
    std::string sql = sqlite3_sql(stmt_);
    std::replace(sql.begin(), sql.end(), '\n', ' ');
    return sql.size() > 60 ? sql.substr(0, 60) + "..." : sql;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return SqliteError(db, rc, what);
  }
  return OkStatus();
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. IMMEDIATE takes the write lock at
// the start, so two writers (this server and `cg-soc token create`) queue on busy_timeout
// instead of one failing when its read transaction would have to upgrade to a write.
class Transaction {
 public:
  static Result<Transaction> Begin(sqlite3* db) {
    CG_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "starting a transaction"));
    return Transaction(db);
  }
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() {
    if (db_ != nullptr && sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Status Commit() {
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT", "committing"));
    db_ = nullptr;
    return OkStatus();
  }

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

Result<DeviceStatus> StatusColumn(const std::string& text) {
  auto status = protocol::ParseDeviceStatus(text);
  if (!status.ok()) {
    return MakeError(ErrorCode::kDatabase, "corrupt status column: " + status.error().message);
  }
  return *status;
}

OperatorToken ReadOperatorToken(const Stmt& s) {
  OperatorToken t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.role = s.Text(2);
  t.token_hash = s.Text(3);
  t.created_at = s.Time(4);
  t.expires_at = s.OptionalTime(5);
  t.revoked = s.Bool(6);
  t.last_used_at = s.OptionalTime(7);
  return t;
}

EnrollmentToken ReadEnrollmentToken(const Stmt& s) {
  EnrollmentToken t;
  t.id = s.Text(0);
  t.token_hash = s.Text(1);
  t.group = s.Text(2);
  t.created_at = s.Time(3);
  t.expires_at = s.Time(4);
  t.uses_allowed = s.Int(5);
  t.uses = s.Int(6);
  t.revoked = s.Bool(7);
  t.created_by = s.Text(8);
  return t;
}

// CG_DEVICE_COLUMNS and the reading of its row: sqlite_storage_query.h.
Result<Device> ReadDevice(const Stmt& s) { return sqlite_query::ReadDeviceColumns(s.Raw()); }

// Column list of ReadReport, for "SELECT <this> FROM reports r".
#define CG_REPORT_COLUMNS \
  "r.report_id, r.device_id, r.received_at, r.collected_at, r.status, r.clock_skew"

Result<StoredReport> ReadReport(const Stmt& s, int first_column) {
  StoredReport r;
  r.report_id = s.Text(first_column);
  r.device_id = s.Text(first_column + 1);
  r.received_at = s.Time(first_column + 2);
  r.collected_at = s.Time(first_column + 3);
  CG_ASSIGN_OR_RETURN(r.status, StatusColumn(s.Text(first_column + 4)));
  r.clock_skew = std::chrono::seconds(s.Int(first_column + 5));
  return r;
}

// Column list of ReadTask, for "SELECT <this> FROM tasks t".
#define CG_TASK_COLUMNS "t.id, t.kind, t.yara, t.target, t.created_by, t.created_at, t.expires_at"

Task ReadTask(const Stmt& s) {
  Task t;
  t.id = s.Text(0);
  t.kind = s.Text(1);
  t.yara = s.Bool(2);
  t.target = s.Text(3);
  t.created_by = s.Text(4);
  t.created_at = s.Time(5);
  t.expires_at = s.Time(6);
  return t;
}

int64_t SqlLimit(size_t limit) {
  return static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

// Every row of a statement, each converted by `read` (which returns the row's value or a
// Result of it).
template <typename T, typename Read>
Result<std::vector<T>> AllRows(Stmt& s, Read read) {
  std::vector<T> rows;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) {
      return rows;
    }
    if constexpr (std::is_same_v<std::invoke_result_t<Read, const Stmt&>, T>) {
      rows.push_back(read(s));
    } else {
      CG_ASSIGN_OR_RETURN(T value, read(s));
      rows.push_back(std::move(value));
    }
  }
}

// One connection guarded by one mutex: every call is serialised. SQLite has a single writer
// anyway; if reads ever queue behind it, WAL allows a pool of read-only connections.
// A connection's prepared statements, each prepared on its first use.
class StatementCache {
 public:
  explicit StatementCache(sqlite3* db) : db_(db) {}
  Result<Stmt> Get(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      sqlite3_stmt* raw = nullptr;
      const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      StmtPtr stmt(raw);
      if (rc != SQLITE_OK) {
        return SqliteError(db_, rc, "preparing a statement");
      }
      it = statements_.emplace(sql, std::move(stmt)).first;
    }
    return Stmt(db_, it->second.get());
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, StmtPtr> statements_;
};

class SqliteStorage final : public Storage {
 public:
  SqliteStorage(DbPtr db, std::string path)
      : db_(std::move(db)),
        path_(std::move(path)),
        statements_(db_.get()),
        history_(std::make_unique<sqlite_history::HistoryWriter>(db_.get())) {}

  // A second, read-only connection for the lookups on the agents' hot path (the device of
  // every handshake and request). In WAL mode it reads the last committed state while the
  // writer holds the first one for a group commit and its fsync, so handshakes and admission
  // of the next reports do not wait behind it.
  Status OpenReader() {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    DbPtr reader(raw);
    if (rc != SQLITE_OK) {
      return SqliteError(reader.get(), rc, "opening " + path_ + " for reading");
    }
    sqlite3_extended_result_codes(reader.get(), 1);
    if (const int busy = sqlite3_busy_timeout(reader.get(), kBusyTimeoutMs); busy != SQLITE_OK) {
      return SqliteError(reader.get(), busy, path_);
    }
    std::lock_guard lock(read_mu_);
    reader_ = std::move(reader);
    read_statements_.emplace(reader_.get());
    CG_ASSIGN_OR_RETURN(history_reader_, sqlite_history::HistoryReader::Open(path_));
    return OkStatus();
  }

  // Pragmas, identification and migrations; called once by OpenSqliteStorage.
  Status Initialise(bool create) {
    std::lock_guard lock(mu_);
    sqlite3* db = db_.get();
    sqlite3_extended_result_codes(db, 1);
    if (const int rc = sqlite3_busy_timeout(db, kBusyTimeoutMs); rc != SQLITE_OK) {
      return SqliteError(db, rc, path_);
    }
    CG_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = ON", path_));
    CG_RETURN_IF_ERROR(Identify(create));
    {
      // Only once the file is known to be ours: switching the journal mode writes to it.
      CG_ASSIGN_OR_RETURN(auto journal, Prepare("PRAGMA journal_mode = WAL"));
      CG_ASSIGN_OR_RETURN(bool row, journal.Step());
      if (!row || journal.Text(0) != "wal") {
        return MakeError(ErrorCode::kDatabase, path_ + ": cannot use WAL journal mode (journal " +
                                                   (row ? journal.Text(0) : "?") + ")");
      }
    }
    CG_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous = FULL", path_));
    CG_RETURN_IF_ERROR(sqlite_query::RegisterFunctions(db));
    CG_RETURN_IF_ERROR(Migrate());
    return history_->BackfillIfPending();
  }

  Status CreateOperatorToken(const OperatorToken& token) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO operator_tokens (id, name, role, token_hash, "
                                        "created_at, expires_at, revoked) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    return s
        .Bind(token.id, token.name, token.role, token.token_hash, token.created_at,
              token.expires_at, int64_t{token.revoked})
        .Run();
  }

  Result<OperatorToken> FindOperatorTokenByHash(std::string_view token_hash) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT id, name, role, token_hash, created_at, "
                                        "expires_at, revoked, last_used_at FROM operator_tokens "
                                        "WHERE token_hash = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, s.Bind(token_hash).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown operator token");
    }
    return ReadOperatorToken(s);
  }

  Status CreateEnrollmentToken(const EnrollmentToken& token) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s,
                        Prepare("INSERT INTO enrollment_tokens (id, token_hash, group_name, "
                                "created_at, expires_at, uses_allowed, uses, revoked, created_by) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    return s
        .Bind(token.id, token.token_hash, token.group, token.created_at, token.expires_at,
              token.uses_allowed, token.uses, int64_t{token.revoked}, token.created_by)
        .Run();
  }

  Result<EnrollmentToken> FindEnrollmentTokenByHash(std::string_view token_hash) override {
    std::lock_guard lock(mu_);
    return FindEnrollmentTokenLocked(token_hash);
  }

  Result<EnrollmentToken> ConsumeEnrollmentToken(std::string_view token_hash,
                                                 SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    CG_ASSIGN_OR_RETURN(auto token, FindEnrollmentTokenLocked(token_hash));
    if (auto refusal = EnrollmentTokenRefusal(token, now)) {
      return MakeError(ErrorCode::kPermissionDenied, *refusal);
    }
    {
      CG_ASSIGN_OR_RETURN(auto s,
                          Prepare("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(token.id).Run());
    }
    CG_RETURN_IF_ERROR(tx.Commit());
    ++token.uses;
    return token;
  }

  Status AddDevice(const Device& device) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO devices (device_id, hostname, machine_id, "
                                        "group_name, cert_serial, cert_not_after, enrolled_at, "
                                        "last_seen, status, policy_version, revoked, "
                                        "hostname_folded) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    return s
        .Bind(device.device_id, device.hostname, device.machine_id, device.group,
              device.cert_serial, device.cert_not_after, device.enrolled_at, device.last_seen,
              protocol::ToString(device.status), device.policy_version, int64_t{device.revoked},
              FoldForSearch(device.hostname))
        .Run();
  }

  Status AddEnrolledDevice(const Device& device) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT device_id FROM devices d WHERE "
                                          "CASE WHEN ?1 <> '' THEN d.machine_id = ?1 "
                                          "ELSE d.machine_id = '' AND d.hostname = ?2 END "
                                          "LIMIT 1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(device.machine_id, device.hostname).Step());
      if (row) {
        return MakeError(ErrorCode::kAlreadyExists,
                         "this machine is already enrolled as device " + s.Text(0));
      }
    }
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO devices (device_id, hostname, machine_id, "
                                        "group_name, cert_serial, cert_not_after, enrolled_at, "
                                        "last_seen, status, policy_version, revoked, "
                                        "hostname_folded) VALUES "
                                        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
    CG_RETURN_IF_ERROR(s.Bind(device.device_id, device.hostname, device.machine_id, device.group,
                              device.cert_serial, device.cert_not_after, device.enrolled_at,
                              device.last_seen, protocol::ToString(device.status),
                              device.policy_version, int64_t{device.revoked},
                              FoldForSearch(device.hostname))
                           .Run());
    return tx.Commit();
  }

  Result<Device> GetDevice(std::string_view device_id) override {
    std::lock_guard lock(read_mu_);
    CG_ASSIGN_OR_RETURN(auto s, read_statements_->Get("SELECT " CG_DEVICE_COLUMNS
                                                      " FROM devices d WHERE device_id = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, s.Bind(device_id).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
    }
    return ReadDevice(s);
  }

  Status RevokeDevice(std::string_view device_id, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    CG_RETURN_IF_ERROR(sqlite_export::RecordRevokedEvent(db_.get(), device_id, now));
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET revoked = 1, reenroll_allowed = 0 "
                                          "WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(device_id).Run());
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
      }
    }
    {
      // Revoking twice keeps the first revocation time. A renewed certificate the device has
      // not used yet is revoked with the current one.
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT OR IGNORE INTO revoked_certificates (serial, "
                                          "device_id, revoked_at, not_after, reason) "
                                          "SELECT cert_serial, device_id, ?2, cert_not_after, "
                                          "'revoked' FROM devices WHERE device_id = ?1 "
                                          "UNION ALL SELECT pending_cert_serial, device_id, ?2, "
                                          "pending_cert_not_after, 'revoked' FROM devices "
                                          "WHERE device_id = ?1 AND pending_cert_serial <> ''"));
      CG_RETURN_IF_ERROR(s.Bind(device_id, now).Run());
    }
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET pending_cert_serial = '', "
                                          "pending_cert_not_after = 0 WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(device_id).Run());
    }
    return tx.Commit();
  }

  Result<std::vector<OperatorToken>> ListOperatorTokens() override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT id, name, role, token_hash, created_at, "
                                        "expires_at, revoked, last_used_at FROM operator_tokens "
                                        "ORDER BY created_at DESC, rowid DESC"));
    return AllRows<OperatorToken>(s, ReadOperatorToken);
  }

  Status RevokeOperatorToken(std::string_view id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE operator_tokens SET revoked = 1 WHERE id = ?1"));
    CG_RETURN_IF_ERROR(s.Bind(id).Run());
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown operator token " + std::string(id));
    }
    return OkStatus();
  }

  Status TouchOperatorToken(std::string_view id, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE operator_tokens SET last_used_at = ?2 "
                                        "WHERE id = ?1 AND (last_used_at IS NULL OR "
                                        "last_used_at < ?2 - 60 OR last_used_at > ?2)"));
    return s.Bind(id, now).Run();
  }

  Result<std::vector<EnrollmentToken>> ListEnrollmentTokens() override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s,
                        Prepare("SELECT id, token_hash, group_name, created_at, "
                                "expires_at, uses_allowed, uses, revoked, created_by "
                                "FROM enrollment_tokens ORDER BY created_at DESC, rowid DESC"));
    return AllRows<EnrollmentToken>(s, ReadEnrollmentToken);
  }

  Status RevokeEnrollmentToken(std::string_view id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE enrollment_tokens SET revoked = 1 WHERE id = ?1"));
    CG_RETURN_IF_ERROR(s.Bind(id).Run());
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown enrollment token " + std::string(id));
    }
    return OkStatus();
  }

  Result<std::vector<Device>> FindDevicesByMachine(std::string_view machine_id,
                                                   std::string_view hostname) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT " CG_DEVICE_COLUMNS " FROM devices d WHERE "
                                        "CASE WHEN ?1 <> '' THEN d.machine_id = ?1 "
                                        "ELSE d.machine_id = '' AND d.hostname = ?2 END "
                                        "ORDER BY d.enrolled_at DESC, d.device_id"));
    s.Bind(machine_id, hostname);
    return AllRows<Device>(s, ReadDevice);
  }

  Status ReplaceDeviceCertificate(std::string_view device_id, std::string_view expected_serial,
                                  std::string_view new_serial, SysTime new_not_after,
                                  std::string_view group, bool reenroll, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      // The old certificate is superseded, and so is a pending renewed one that is not the
      // new certificate; a revoked one stays listed as revoked.
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT OR IGNORE INTO revoked_certificates (serial, "
                                          "device_id, revoked_at, not_after, reason) "
                                          "SELECT cert_serial, device_id, ?3, cert_not_after, "
                                          "'superseded' FROM devices "
                                          "WHERE device_id = ?1 AND cert_serial = ?2 "
                                          "UNION ALL SELECT pending_cert_serial, device_id, ?3, "
                                          "pending_cert_not_after, 'superseded' FROM devices "
                                          "WHERE device_id = ?1 AND cert_serial = ?2 AND "
                                          "pending_cert_serial NOT IN ('', ?4)"));
      CG_RETURN_IF_ERROR(s.Bind(device_id, expected_serial, now, new_serial).Run());
    }
    {
      CG_ASSIGN_OR_RETURN(auto s,
                          Prepare("UPDATE devices SET cert_serial = ?3, cert_not_after = ?4, "
                                  "group_name = ?5, reenroll_allowed = 0, "
                                  "pending_cert_serial = '', pending_cert_not_after = 0, "
                                  "revoked = CASE WHEN ?6 = 1 THEN 0 ELSE revoked END "
                                  "WHERE device_id = ?1 AND cert_serial = ?2"));
      CG_RETURN_IF_ERROR(
          s.Bind(device_id, expected_serial, new_serial, new_not_after, group, int64_t{reenroll})
              .Run());
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kConflict,
                         "device " + std::string(device_id) +
                             " is unknown or its certificate changed meanwhile");
      }
    }
    return tx.Commit();
  }

  Status OfferRenewedCertificate(std::string_view device_id, std::string_view current_serial,
                                 std::string_view new_serial, SysTime new_not_after,
                                 SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      // An earlier renewal the device never used (its answer was lost) will not be used now.
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT OR IGNORE INTO revoked_certificates (serial, "
                                          "device_id, revoked_at, not_after, reason) SELECT "
                                          "pending_cert_serial, device_id, ?3, "
                                          "pending_cert_not_after, 'superseded' FROM devices "
                                          "WHERE device_id = ?1 AND cert_serial = ?2 AND "
                                          "pending_cert_serial <> '' AND revoked = 0"));
      CG_RETURN_IF_ERROR(s.Bind(device_id, current_serial, now).Run());
    }
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET pending_cert_serial = ?3, "
                                          "pending_cert_not_after = ?4 WHERE device_id = ?1 AND "
                                          "cert_serial = ?2 AND revoked = 0"));
      CG_RETURN_IF_ERROR(s.Bind(device_id, current_serial, new_serial, new_not_after).Run());
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kConflict,
                         "device " + std::string(device_id) +
                             " is unknown, revoked, or its certificate changed meanwhile");
      }
    }
    return tx.Commit();
  }

  Status AllowReenroll(std::string_view device_id, SysTime /*now*/) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      CG_ASSIGN_OR_RETURN(auto s,
                          Prepare("UPDATE devices SET reenroll_allowed = 1 WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(device_id).Run());
      if (sqlite3_changes(db_.get()) == 0) {
        return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
      }
    }
    return tx.Commit();
  }

  Status ResolveEnrollmentConflict(int64_t id, std::string_view resolved_by, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT resolved_at FROM enrollment_conflicts "
                                          "WHERE id = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(id).Step());
      if (!row) {
        return MakeError(ErrorCode::kNotFound, "unknown conflict " + std::to_string(id));
      }
      if (!s.IsNull(0)) {
        return MakeError(ErrorCode::kConflict,
                         "conflict " + std::to_string(id) + " is already resolved");
      }
    }
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE enrollment_conflicts SET resolved_at = ?2, "
                                          "resolved_by = ?3 WHERE id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(id, now, resolved_by).Run());
    }
    return tx.Commit();
  }

  Status AddEnrollmentConflict(const EnrollmentConflict& c) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO enrollment_conflicts (time, device_id, "
                                        "hostname, machine_id, group_name, source) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    return s.Bind(c.time, c.device_id, c.hostname, c.machine_id, c.group, c.source).Run();
  }

  Result<std::vector<EnrollmentConflict>> ListEnrollmentConflicts(bool include_resolved) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT id, time, device_id, hostname, machine_id, "
                                        "group_name, source, resolved_at, resolved_by FROM "
                                        "enrollment_conflicts WHERE ?1 = 1 OR resolved_at IS "
                                        "NULL ORDER BY id DESC LIMIT 1000"));
    s.Bind(int64_t{include_resolved});
    return AllRows<EnrollmentConflict>(s, [](const Stmt& row) {
      EnrollmentConflict c;
      c.id = row.Int(0);
      c.time = row.Time(1);
      c.device_id = row.Text(2);
      c.hostname = row.Text(3);
      c.machine_id = row.Text(4);
      c.group = row.Text(5);
      c.source = row.Text(6);
      c.resolved_at = row.OptionalTime(7);
      c.resolved_by = row.Text(8);
      return c;
    });
  }

  Result<std::vector<RevokedCertificate>> ListRevokedCertificates(SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT serial, device_id, revoked_at, not_after, reason "
                                        "FROM revoked_certificates WHERE not_after > ?1 "
                                        "ORDER BY revoked_at, serial"));
    s.Bind(now);
    return AllRows<RevokedCertificate>(s, [](const Stmt& row) {
      return RevokedCertificate{row.Text(0), row.Text(1), row.Time(2), row.Time(3), row.Text(4)};
    });
  }

  Result<std::vector<Device>> ListDevices(const DeviceFilter& filter) override {
    std::optional<std::string> group = filter.group_prefix;
    while (group && !group->empty() && group->back() == '/') {
      group->pop_back();
    }
    std::optional<std::string> status;
    if (filter.status) {
      status = std::string(protocol::ToString(*filter.status));
    }
    std::lock_guard lock(mu_);
    // The CASE is EffectiveStatus (storage.h) in SQL; the tests hold the two together.
    CG_ASSIGN_OR_RETURN(
        auto s,
        Prepare("SELECT " CG_DEVICE_COLUMNS " FROM devices d WHERE "
                "(?1 IS NULL OR ?1 = CASE WHEN d.revoked = 1 THEN 'revoked' "
                "  WHEN ?2 IS NOT NULL AND COALESCE(d.last_seen, d.enrolled_at) < ?2 THEN 'stale' "
                "  WHEN d.policy_state = 'unverified' THEN 'unverified' "
                "  ELSE d.status END) "
                "AND (?3 IS NULL OR d.group_name = ?3 "
                "  OR substr(d.group_name, 1, length(?3) + 1) = ?3 || '/') "
                "AND (?4 IS NULL OR EXISTS (SELECT 1 FROM check_results c "
                "  WHERE c.report = d.latest_report AND c.check_id = ?4 "
                "  AND c.status IN ('fail', 'error'))) "
                "ORDER BY d.group_name, d.hostname, d.device_id"));
    s.Bind(status, filter.stale_before, group, filter.check_id);
    return AllRows<Device>(s, ReadDevice);
  }

  Result<bool> StoreReport(const protocol::Report& report, std::string_view body_json,
                           SysTime received_at, std::string_view policy_state) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    CG_ASSIGN_OR_RETURN(bool stored,
                        StoreReportLocked(report, body_json, received_at, policy_state));
    if (stored) {
      CG_RETURN_IF_ERROR(tx.Commit());
    }
    return stored;
  }

  // Group commit: one IMMEDIATE transaction (one WAL fsync) for the whole batch; each report in
  // its own SAVEPOINT so that a refused one leaves the others in.
  std::vector<Result<bool>> StoreReports(std::span<const ReportToStore> reports) override {
    std::vector<Result<bool>> results;
    results.reserve(reports.size());
    std::lock_guard lock(mu_);
    sqlite3* db = db_.get();
    auto fail_all = [&](const Error& e) {
      results.assign(reports.size(), Result<bool>(e));
      return results;
    };
    auto tx = Transaction::Begin(db);
    if (!tx.ok()) {
      return fail_all(tx.error());
    }
    for (const ReportToStore& item : reports) {
      if (auto s = Exec(db, "SAVEPOINT report", "starting a savepoint"); !s.ok()) {
        return fail_all(s.error());
      }
      auto stored =
          StoreReportLocked(*item.report, item.body_json, item.received_at, item.policy_state);
      if (!stored.ok()) {
        if (auto s = Exec(db, "ROLLBACK TO report", "rolling back a savepoint"); !s.ok()) {
          return fail_all(s.error());
        }
      }
      if (auto s = Exec(db, "RELEASE report", "releasing a savepoint"); !s.ok()) {
        return fail_all(s.error());
      }
      results.push_back(std::move(stored));
    }
    if (auto s = tx->Commit(); !s.ok()) {
      return fail_all(s.error());
    }
    return results;
  }

  // StoreReport's work inside a transaction the caller holds (with mu_ locked).
  Result<bool> StoreReportLocked(const protocol::Report& report, std::string_view body_json,
                                 SysTime received_at, std::string_view policy_state) {
    auto collected = ParseRfc3339(report.collected_at);
    if (!collected.ok()) {
      return MakeError(ErrorCode::kInvalidArgument, "collected_at: " + collected.error().message);
    }
    std::set<std::string_view> check_ids;
    for (const auto& check : report.checks) {
      if (!check_ids.insert(check.id).second) {
        return MakeError(ErrorCode::kInvalidArgument, "check '" + check.id + "' given twice");
      }
    }
    const std::string_view status = protocol::ToString(protocol::OverallStatus(report.checks));

    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT device_id FROM reports WHERE report_id = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(report.report_id).Step());
      if (row) {
        if (s.Text(0) != report.device_id) {
          return MakeError(ErrorCode::kConflict,
                           "report " + report.report_id + " was stored for another device");
        }
        return false;
      }
    }
    // Arrival order decides which report the device shows; a report arriving in the same second
    // as the latest one is the later arrival. Only the SOC's clock can be trusted for that.
    bool newest = true;
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT r.received_at FROM devices d LEFT JOIN "
                                          "reports r ON r.id = d.latest_report "
                                          "WHERE d.device_id = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(report.device_id).Step());
      if (!row) {
        return MakeError(ErrorCode::kNotFound, "unknown device " + report.device_id);
      }
      newest = s.IsNull(0) || received_at >= s.Time(0);
    }
    // The events of the change, in its transaction (before the device row moves on).
    CG_RETURN_IF_ERROR(sqlite_export::RecordReportEvents(db_.get(), report, policy_state,
                                                         received_at, newest, event_options_));
    const int64_t clock_skew = ToUnixSeconds(*collected) - ToUnixSeconds(received_at);
    int64_t row_id = 0;
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO reports (report_id, device_id, "
                                          "received_at, collected_at, status, body, clock_skew, "
                                          "policy_state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
      CG_RETURN_IF_ERROR(s.Bind(report.report_id, report.device_id, received_at, *collected, status,
                                body_json, clock_skew, policy_state)
                             .Run());
      row_id = sqlite3_last_insert_rowid(db_.get());
    }
    for (const auto& check : report.checks) {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO check_results (report, check_id, status, "
                                          "severity) VALUES (?1, ?2, ?3, ?4)"));
      CG_RETURN_IF_ERROR(s.Bind(row_id, check.id, protocol::ToString(check.status),
                                protocol::ToString(check.severity))
                             .Run());
    }
    // Before the device row changes: the history reads the arrivals stored so far.
    CG_RETURN_IF_ERROR(history_->OnReportStored(report, row_id, received_at));
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET last_seen = "
                                          "max(COALESCE(last_seen, ?2), ?2) WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(report.device_id, received_at).Run());
    }
    if (newest) {
      // The enrolled host name stays: the report's is recorded beside it.
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET status = ?2, policy_version = ?3, "
                                          "reported_hostname = ?4, latest_report = ?5, "
                                          "policy_hash = ?6, clock_skew = ?7, os_name = ?8, "
                                          "os_version = ?9, agent_version = ?10, "
                                          "failing_checks = ?11, error_checks = ?12 "
                                          "WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(report.device_id, status, report.policy_version, report.hostname,
                                row_id, report.policy_hash, clock_skew, report.os.name,
                                report.os.version, report.agent_version,
                                sqlite_query::JoinedChecks(report, protocol::CheckStatus::kFail),
                                sqlite_query::JoinedChecks(report, protocol::CheckStatus::kError))
                             .Run());
      // An accepted policy becomes the device's confirmed one (the roll-out baseline).
      CG_ASSIGN_OR_RETURN(auto v, Prepare("UPDATE devices SET policy_state = ?2, "
                                          "verified_policy_version = CASE WHEN ?2 IN "
                                          "('expected', 'rollout') THEN ?3 ELSE "
                                          "verified_policy_version END, "
                                          "verified_policy_hash = CASE WHEN ?2 IN "
                                          "('expected', 'rollout') THEN ?4 ELSE "
                                          "verified_policy_hash END WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(
          v.Bind(report.device_id, policy_state, report.policy_version, report.policy_hash).Run());
    }
    for (const auto& task_id : report.task_ids) {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE task_devices SET state = 'done', done_at = ?3, "
                                          "report_id = ?4 WHERE task_id = ?1 AND device_id = ?2 "
                                          "AND state <> 'done'"));
      CG_RETURN_IF_ERROR(s.Bind(task_id, report.device_id, received_at, report.report_id).Run());
    }
    return true;
  }

  Result<std::optional<StoredReport>> LatestReport(std::string_view device_id) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT r.id, " CG_REPORT_COLUMNS ", r.body "
                                        "FROM devices d LEFT JOIN reports r "
                                        "ON r.id = d.latest_report WHERE d.device_id = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, s.Bind(device_id).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
    }
    if (s.IsNull(0)) {
      return std::optional<StoredReport>();
    }
    CG_ASSIGN_OR_RETURN(auto report, ReadReport(s, 1));
    report.body = s.Text(7);
    return std::optional<StoredReport>(std::move(report));
  }

  Result<std::vector<StoredReport>> ReportHistory(std::string_view device_id,
                                                  size_t limit) override {
    std::lock_guard lock(mu_);
    CG_RETURN_IF_ERROR(CheckDeviceExists(device_id));
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT " CG_REPORT_COLUMNS " FROM reports r "
                                        "WHERE r.device_id = ?1 "
                                        "ORDER BY r.received_at DESC, r.id DESC LIMIT ?2"));
    s.Bind(device_id, SqlLimit(limit));
    return AllRows<StoredReport>(s, [](const Stmt& row) { return ReadReport(row, 0); });
  }

  Result<bool> AddPolicy(const StoredPolicy& p) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      CG_ASSIGN_OR_RETURN(
          auto s, Prepare("SELECT hash FROM policy_layers WHERE target = ?1 AND version = ?2"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(p.target, p.version).Step());
      if (row) {
        if (s.Text(0) == p.hash) {
          return false;
        }
        return MakeError(ErrorCode::kAlreadyExists, "policy version " + std::to_string(p.version) +
                                                        " of target '" + p.target +
                                                        "' is already stored with other content");
      }
    }
    {
      // Versions count per target: only a newer one is stored (the in-memory check of one
      // node is not the last word when several share a database).
      CG_ASSIGN_OR_RETURN(auto s,
                          Prepare("SELECT max(version) FROM policy_layers WHERE target = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(p.target).Step());
      if (row && !s.IsNull(0) && s.Int(0) >= p.version) {
        return NotNewerPolicy(p, s.Int(0));
      }
    }
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO policy_layers (target, version, hash, "
                                        "key_id, name, scope, envelope, pushed_by, pushed_at) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
    CG_RETURN_IF_ERROR(s.Bind(p.target, p.version, p.hash, p.key_id, p.name, p.scope, p.envelope,
                              p.pushed_by, p.pushed_at)
                           .Run());
    CG_RETURN_IF_ERROR(tx.Commit());
    return true;
  }

  Result<std::vector<StoredPolicy>> ListPolicies() override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT version, hash, key_id, name, scope, envelope, "
                                        "pushed_by, pushed_at, target FROM policy_layers "
                                        "ORDER BY id DESC"));
    return AllRows<StoredPolicy>(s, [](const Stmt& row) {
      StoredPolicy p;
      p.target = row.Text(8);
      p.version = row.Int(0);
      p.hash = row.Text(1);
      p.key_id = row.Text(2);
      p.name = row.Text(3);
      p.scope = row.Text(4);
      p.envelope = row.Text(5);
      p.pushed_by = row.Text(6);
      p.pushed_at = row.Time(7);
      return p;
    });
  }

  Status RecordPolicyServed(std::string_view device_id, int64_t version,
                            std::string_view hash) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET served_policy_version = ?2, "
                                        "served_policy_hash = ?3 WHERE device_id = ?1"));
    CG_RETURN_IF_ERROR(s.Bind(device_id, version, hash).Run());
    if (sqlite3_changes(db_.get()) == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
    }
    return OkStatus();
  }

  Status RecordPolicyServedMany(const std::vector<std::string>& device_ids, int64_t version,
                                std::string_view hash) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    for (const auto& id : device_ids) {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE devices SET served_policy_version = ?2, "
                                          "served_policy_hash = ?3 WHERE device_id = ?1"));
      CG_RETURN_IF_ERROR(s.Bind(std::string_view(id), version, hash).Run());
    }
    return tx.Commit();
  }

  Status CreateTask(const Task& task, const std::vector<std::string>& device_ids) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO tasks (id, kind, yara, target, "
                                          "created_by, created_at, expires_at) "
                                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
      CG_RETURN_IF_ERROR(s.Bind(task.id, task.kind, int64_t{task.yara}, task.target,
                                task.created_by, task.created_at, task.expires_at)
                             .Run());
    }
    for (const auto& device_id : device_ids) {
      CG_RETURN_IF_ERROR(CheckDeviceExists(device_id));
      CG_ASSIGN_OR_RETURN(auto s,
                          Prepare("INSERT INTO task_devices (task_id, device_id) VALUES (?1, ?2)"));
      CG_RETURN_IF_ERROR(s.Bind(task.id, device_id).Run());
    }
    return tx.Commit();
  }

  Result<std::vector<Task>> TakeTasks(std::string_view device_id, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    std::vector<Task> tasks;
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT " CG_TASK_COLUMNS " FROM tasks t JOIN "
                                          "task_devices a ON a.task_id = t.id WHERE "
                                          "a.device_id = ?1 AND a.state = 'pending' AND "
                                          "t.expires_at > ?2 ORDER BY t.created_at, t.id"));
      s.Bind(device_id, now);
      CG_ASSIGN_OR_RETURN(tasks, AllRows<Task>(s, ReadTask));
    }
    CG_ASSIGN_OR_RETURN(auto s, Prepare("UPDATE task_devices SET state = 'delivered', "
                                        "delivered_at = ?2 WHERE device_id = ?1 AND "
                                        "state = 'pending'"));
    CG_RETURN_IF_ERROR(s.Bind(device_id, now).Run());
    CG_RETURN_IF_ERROR(tx.Commit());
    return tasks;
  }

  Result<std::vector<Task>> ListTasks(size_t limit) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT " CG_TASK_COLUMNS " FROM tasks t "
                                        "ORDER BY t.created_at DESC, t.id LIMIT ?1"));
    s.Bind(SqlLimit(limit));
    return AllRows<Task>(s, ReadTask);
  }

  Result<std::pair<Task, std::vector<TaskAssignment>>> GetTask(std::string_view id) override {
    std::lock_guard lock(mu_);
    std::pair<Task, std::vector<TaskAssignment>> out;
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT " CG_TASK_COLUMNS " FROM tasks t "
                                          "WHERE t.id = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, s.Bind(id).Step());
      if (!row) {
        return MakeError(ErrorCode::kNotFound, "unknown task " + std::string(id));
      }
      out.first = ReadTask(s);
    }
    // With the answering report's status and its failing checks ("id,id", fail before error).
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT a.device_id, d.hostname, a.state, "
                                        "a.delivered_at, a.done_at, a.report_id, r.status, "
                                        "(SELECT group_concat(check_id, ',') FROM (SELECT "
                                        "c.check_id FROM check_results c WHERE c.report = r.id "
                                        "AND c.status IN ('fail', 'error') ORDER BY "
                                        "c.status DESC, c.check_id)) FROM "
                                        "task_devices a JOIN devices d ON d.device_id = "
                                        "a.device_id LEFT JOIN reports r ON a.report_id <> '' "
                                        "AND r.report_id = a.report_id WHERE a.task_id = ?1 "
                                        "ORDER BY d.hostname, a.device_id"));
    s.Bind(id);
    CG_ASSIGN_OR_RETURN(out.second,
                        AllRows<TaskAssignment>(s, [](const Stmt& row) -> Result<TaskAssignment> {
                          TaskAssignment a;
                          a.device_id = row.Text(0);
                          a.hostname = row.Text(1);
                          a.state = row.Text(2);
                          a.delivered_at = row.OptionalTime(3);
                          a.done_at = row.OptionalTime(4);
                          a.report_id = row.Text(5);
                          if (!row.IsNull(6)) {
                            CG_ASSIGN_OR_RETURN(a.report_status, StatusColumn(row.Text(6)));
                          }
                          const std::string failing = row.Text(7);
                          for (size_t at = 0; at < failing.size();) {
                            const size_t comma = std::min(failing.find(',', at), failing.size());
                            a.failing_checks.push_back(failing.substr(at, comma - at));
                            at = comma + 1;
                          }
                          return a;
                        }));
    return out;
  }

  void SetEventOptions(const EventOptions& options) override {
    std::lock_guard lock(mu_);
    event_options_ = options;
  }
  Result<std::vector<OutboxEntry>> ReadOutbox(std::string_view sink, size_t limit) override {
    std::lock_guard lock(mu_);
    return sqlite_export::ReadOutbox(db_.get(), sink, limit);
  }
  Status MarkExported(std::string_view sink, int64_t seq, SysTime now) override {
    std::lock_guard lock(mu_);
    return sqlite_export::MarkExported(db_.get(), sink, seq, now);
  }
  Result<std::vector<ExportSinkState>> ExportStatus(
      const std::vector<std::string>& sinks) override {
    std::lock_guard lock(mu_);
    return sqlite_export::ExportStatus(db_.get(), sinks);
  }
  Result<int64_t> PruneOutbox(const std::vector<std::string>& sinks) override {
    std::lock_guard lock(mu_);
    return sqlite_export::PruneOutbox(db_.get(), sinks);
  }
  Result<int64_t> TrimOutbox(SysTime before, size_t batch) override {
    std::lock_guard lock(mu_);
    return sqlite_export::TrimOutbox(db_.get(), before, batch);
  }
  Result<int64_t> RecordStaleDevices(std::span<const StaleDevice> devices, SysTime now) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db_.get()));
    CG_ASSIGN_OR_RETURN(int64_t n, sqlite_export::RecordStaleDevices(db_.get(), devices, now));
    CG_RETURN_IF_ERROR(tx.Commit());
    return n;
  }

  Result<std::vector<StatusInterval>> StatusIntervals(const HistoryQuery& query) override {
    return history_reader_->StatusIntervals(query);
  }
  Result<std::vector<EnforcementChange>> EnforcementChanges(const HistoryQuery& query) override {
    return history_reader_->EnforcementChanges(query);
  }
  Result<std::vector<ReportingGap>> ReportingGaps(const HistoryQuery& query) override {
    return history_reader_->ReportingGaps(query);
  }
  Result<std::vector<InspectionRecord>> InspectionRecords(const HistoryQuery& query) override {
    return history_reader_->InspectionRecords(query);
  }
  Result<size_t> DeleteReportsBefore(SysTime cutoff, size_t batch) override {
    std::lock_guard lock(mu_);
    return history_->DeleteReportsBefore(cutoff, batch);
  }
  Result<size_t> DeleteHistoryBefore(SysTime cutoff, size_t batch) override {
    std::lock_guard lock(mu_);
    return history_->DeleteHistoryBefore(cutoff, batch);
  }
  Result<size_t> DeleteAuditBefore(SysTime cutoff, size_t batch) override {
    std::lock_guard lock(mu_);
    return history_->DeleteAuditBefore(cutoff, batch);
  }
  Status RecordGeneratedReport(const GeneratedReport& report) override {
    std::lock_guard lock(mu_);
    return history_->RecordGeneratedReport(report);
  }
  Result<std::vector<GeneratedReport>> FindGeneratedReports(std::string_view digest) override {
    return history_reader_->FindGeneratedReports(digest);
  }
  Result<GeneratedReport> GetGeneratedReport(std::string_view id) override {
    return history_reader_->GetGeneratedReport(id);
  }

  // The fleet queries read the last committed state on the reading connection, so they never
  // wait behind a group commit (sqlite_storage_query.cpp).
  Result<DevicePage> QueryDevices(const DeviceQuery& query) override {
    std::lock_guard lock(read_mu_);
    return sqlite_query::QueryDevices(reader_.get(), query);
  }

  Result<std::vector<GroupSummary>> SummarizeFleet(const FleetSummaryQuery& query) override {
    std::lock_guard lock(read_mu_);
    return sqlite_query::SummarizeFleet(reader_.get(), query);
  }

  Result<ReportRecord> GetReport(std::string_view report_id) override {
    std::lock_guard lock(read_mu_);
    return sqlite_query::GetReport(reader_.get(), report_id);
  }

  Result<std::vector<std::string>> ListDeviceGroups() override {
    std::lock_guard lock(read_mu_);
    CG_ASSIGN_OR_RETURN(auto s, read_statements_->Get("SELECT DISTINCT group_name FROM devices "
                                                      "ORDER BY group_name"));
    return AllRows<std::string>(s, [](const Stmt& row) { return row.Text(0); });
  }

  Status SetGroupDisplayName(const GroupDisplayName& name) override {
    std::lock_guard lock(mu_);
    return sqlite_groups::SetDisplayName(db_.get(), name);
  }
  Result<bool> ClearGroupDisplayName(std::string_view group) override {
    std::lock_guard lock(mu_);
    return sqlite_groups::ClearDisplayName(db_.get(), group);
  }
  Result<std::vector<GroupDisplayName>> ListGroupDisplayNames() override {
    std::lock_guard lock(read_mu_);
    return sqlite_groups::ListDisplayNames(reader_.get());
  }

  Status AppendAudit(const AuditEntry& entry) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO audit_log (time, actor, role, method, path, "
                                        "target, result, source, action, account) "
                                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"));
    return s
        .Bind(entry.time, entry.actor, entry.role, entry.method, entry.path, entry.target,
              int64_t{entry.result}, entry.source, entry.action, entry.account)
        .Run();
  }

  Result<std::vector<AuditEntry>> ListAudit(size_t limit) override {
    std::lock_guard lock(mu_);
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT time, actor, role, method, path, target, result, "
                                        "source FROM audit_log ORDER BY id DESC LIMIT ?1"));
    s.Bind(SqlLimit(limit));
    return AllRows<AuditEntry>(s, [](const Stmt& row) {
      AuditEntry e;
      e.time = row.Time(0);
      e.actor = row.Text(1);
      e.role = row.Text(2);
      e.method = row.Text(3);
      e.path = row.Text(4);
      e.target = row.Text(5);
      e.result = static_cast<int>(row.Int(6));
      e.source = row.Text(7);
      return e;
    });
  }

 private:
  // A statement of the writing connection. Callers hold mu_.
  Result<Stmt> Prepare(const char* sql) { return statements_.Get(sql); }

  Result<EnrollmentToken> FindEnrollmentTokenLocked(std::string_view token_hash) {
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT id, token_hash, group_name, created_at, "
                                        "expires_at, uses_allowed, uses, revoked, created_by "
                                        "FROM enrollment_tokens WHERE token_hash = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, s.Bind(token_hash).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown enrollment token");
    }
    return ReadEnrollmentToken(s);
  }

  Status CheckDeviceExists(std::string_view device_id) {
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT 1 FROM devices WHERE device_id = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, s.Bind(device_id).Step());
    if (!row) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
    }
    return OkStatus();
  }

  // Ours (application_id set), or empty and ours to create; anything else is refused before a
  // byte of it changes.
  Status Identify(bool create) {
    auto refuse = [&](const std::string& why) {
      return MakeError(ErrorCode::kDatabase,
                       path_ + " is not a CounterGuard SOC database (" + why + ")");
    };
    int64_t application_id = 0;
    int64_t objects = 0;
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("PRAGMA application_id"));
      auto row = s.Step();
      if (!row.ok()) {
        // The first read of the file: SQLITE_NOTADB here means it is not SQLite at all.
        if (sqlite3_errcode(db_.get()) == SQLITE_NOTADB) {
          return refuse(sqlite3_errmsg(db_.get()));
        }
        return std::move(row).error();
      }
      application_id = *row ? s.Int(0) : 0;
    }
    {
      CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT count(*) FROM sqlite_schema"));
      CG_ASSIGN_OR_RETURN(bool row, s.Step());
      objects = row ? s.Int(0) : 0;
    }
    if (application_id == kApplicationId) {
      return OkStatus();
    }
    if (application_id != 0) {
      char hex[32];
      std::snprintf(hex, sizeof(hex), "0x%08llx",
                    static_cast<unsigned long long>(application_id) & 0xffffffffULL);
      return refuse(std::string("application id ") + hex);
    }
    if (objects != 0) {
      return refuse("it holds " + std::to_string(objects) +
                    " tables or indexes of another program");
    }
    if (!create) {
      return refuse("it is empty; `cg-soc init` creates the database");
    }
    return OkStatus();
  }

  Result<int64_t> SchemaVersionLocked() {
    CG_ASSIGN_OR_RETURN(auto s, Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    CG_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.Int(0) : 0;
  }

  // Each pending migration (no schema_migrations row of its version) in its own IMMEDIATE
  // transaction with its row. The rows are read again inside each transaction, so two processes
  // opening a new file at once apply every migration exactly once.
  Status Migrate() {
    sqlite3* db = db_.get();
    const int64_t known = SqliteSchemaVersion();
    for (const Migration& migration : Migrations()) {
      CG_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(db));
      CG_RETURN_IF_ERROR(Exec(db, kCreateMigrationsTable, path_ + ": creating schema_migrations"));
      CG_ASSIGN_OR_RETURN(int64_t current, SchemaVersionLocked());
      if (current > known) {
        return MakeError(ErrorCode::kDatabase, path_ + " has schema version " +
                                                   std::to_string(current) +
                                                   ", newer than this program knows (" +
                                                   std::to_string(known) + "): run a newer cg-soc");
      }
      // Each version by its own row, not by the highest one: a migration merged below versions
      // a database already has (parallel branches) is still applied, exactly once.
      CG_ASSIGN_OR_RETURN(auto applied,
                          Prepare("SELECT 1 FROM schema_migrations WHERE version = ?1"));
      CG_ASSIGN_OR_RETURN(bool done, applied.Bind(migration.version).Step());
      if (done) {
        continue;
      }
      CG_RETURN_IF_ERROR(Exec(db,
                              ("PRAGMA application_id = " + std::to_string(kApplicationId)).c_str(),
                              path_ + ": setting application_id"));
      CG_RETURN_IF_ERROR(
          Exec(db, migration.sql,
               path_ + ": applying schema migration " + std::to_string(migration.version)));
      {
        CG_ASSIGN_OR_RETURN(auto s, Prepare("INSERT INTO schema_migrations (version, applied_at) "
                                            "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"));
        CG_RETURN_IF_ERROR(s.Bind(migration.version).Run());
      }
      CG_RETURN_IF_ERROR(tx.Commit());
    }
    return OkStatus();
  }

  // Destroyed in reverse order: the cached statements are finalised before the connections.
  DbPtr db_;
  DbPtr reader_;  // OpenReader; read_mu_ serialises its use
  std::string path_;
  std::mutex mu_;
  std::mutex read_mu_;
  StatementCache statements_;
  std::optional<StatementCache> read_statements_;
  EventOptions event_options_;  // guarded by mu_
  // Status history (migration 7); declared after the connections, so finalised before them.
  std::unique_ptr<sqlite_history::HistoryWriter> history_;
  std::unique_ptr<sqlite_history::HistoryReader> history_reader_;  // its own connection
};

}  // namespace

namespace sqlite_query {

Result<Device> ReadDeviceColumns(sqlite3_stmt* stmt) {
  auto text = [&](int c) {
    const unsigned char* t = sqlite3_column_text(stmt, c);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt, c)));
  };
  auto integer = [&](int c) { return sqlite3_column_int64(stmt, c); };
  auto time = [&](int c) { return FromUnixSeconds(integer(c)); };
  Device d;
  d.device_id = text(0);
  d.hostname = text(1);
  d.machine_id = text(2);
  d.group = text(3);
  d.cert_serial = text(4);
  d.cert_not_after = time(5);
  d.enrolled_at = time(6);
  if (sqlite3_column_type(stmt, 7) != SQLITE_NULL) {
    d.last_seen = time(7);
  }
  CG_ASSIGN_OR_RETURN(d.status, StatusColumn(text(8)));
  d.policy_version = integer(9);
  d.revoked = integer(10) != 0;
  d.policy_hash = text(11);
  d.reenroll_allowed = integer(12) != 0;
  d.pending_cert_serial = text(13);
  d.pending_cert_not_after = time(14);
  d.reported_hostname = text(15);
  d.clock_skew = std::chrono::seconds(integer(16));
  d.policy_state = text(17);
  d.verified_policy_version = integer(18);
  d.verified_policy_hash = text(19);
  d.served_policy_version = integer(20);
  d.served_policy_hash = text(21);
  return d;
}

}  // namespace sqlite_query

int64_t SqliteSchemaVersion() { return Migrations().back().version; }

Result<std::unique_ptr<Storage>> OpenSqliteStorage(const std::string& path, bool create) {
  if (!create && !FileExists(path)) {
    return MakeError(ErrorCode::kNotFound, path + ": no such database");
  }
  sqlite3* raw = nullptr;
  // NOMUTEX: SqliteStorage serialises every use of the connection with its own mutex.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // allocated even when opening fails; it carries the message
  if (rc != SQLITE_OK) {
    return SqliteError(db.get(), rc, "opening " + path);
  }
  auto storage = std::make_unique<SqliteStorage>(std::move(db), path);
  CG_RETURN_IF_ERROR(storage->Initialise(create));
  CG_RETURN_IF_ERROR(storage->OpenReader());
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace cg::soc

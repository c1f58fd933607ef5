// SQLite status history (migration 7): intervals kept at ingest, their backfill, retention in
// small batches, and the read-only queries of device history and inspection reports.
#include "soc/sqlite_history.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "soc/history.h"

namespace cg::soc::sqlite_history {

const char* const kMigration7 = R"sql(
CREATE TABLE status_intervals (
  id          INTEGER PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  check_id    TEXT NOT NULL,
  status      TEXT NOT NULL,
  severity    TEXT NOT NULL,
  since       INTEGER NOT NULL,
  start_seq   INTEGER NOT NULL,
  report_id   TEXT NOT NULL,
  until       INTEGER,
  end_seq     INTEGER,
  summary     TEXT NOT NULL,
  evidence    TEXT NOT NULL
);
CREATE INDEX status_intervals_by_device ON status_intervals(device_id, since, start_seq);
CREATE INDEX status_intervals_open ON status_intervals(device_id) WHERE until IS NULL;
CREATE INDEX status_intervals_by_until ON status_intervals(until) WHERE until IS NOT NULL;

CREATE TABLE enforcement_changes (
  id          INTEGER PRIMARY KEY,
  device_id   TEXT NOT NULL REFERENCES devices(device_id),
  check_id    TEXT NOT NULL,
  time        INTEGER NOT NULL,
  report_id   TEXT NOT NULL,
  result      TEXT NOT NULL CHECK (result IN ('applied', 'error')),
  changes     TEXT NOT NULL,
  UNIQUE (report_id, check_id)
);
CREATE INDEX enforcement_changes_by_device ON enforcement_changes(device_id, time);
CREATE INDEX enforcement_changes_by_time ON enforcement_changes(time);

CREATE TABLE reporting_gaps (
  device_id  TEXT NOT NULL REFERENCES devices(device_id),
  since      INTEGER NOT NULL,
  until      INTEGER NOT NULL,
  PRIMARY KEY (device_id, since)
) WITHOUT ROWID;
CREATE INDEX reporting_gaps_by_until ON reporting_gaps(until);

CREATE TABLE generated_reports (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,
  digest        TEXT NOT NULL,
  parameters    TEXT NOT NULL,
  generated_by  TEXT NOT NULL,
  generated_at  INTEGER NOT NULL,
  content       TEXT NOT NULL
);
CREATE INDEX generated_reports_by_digest ON generated_reports(digest);

CREATE INDEX reports_by_arrival ON reports(received_at);
CREATE INDEX devices_by_latest_report ON devices(latest_report);

-- Audit entries may be deleted by retention, never before they are a year old.
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN old.time > CAST(strftime('%s', 'now') AS INTEGER) - 366 * 86400
BEGIN SELECT RAISE(ABORT, 'audit entries younger than a year are never deleted'); END;

CREATE TABLE history_backfill (pending INTEGER NOT NULL);
INSERT INTO history_backfill (pending) VALUES (1);
)sql";

namespace {

constexpr int64_t kFarPast = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kFarFuture = std::numeric_limits<int64_t>::max() / 2;

Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kDatabase, std::string(what) + ": " + sqlite3_errmsg(db));
}

// One use of a cached statement: binds in order, steps, reads, resets on destruction.
class Q {
 public:
  Q(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Q(const Q&) = delete;
  Q& operator=(const Q&) = delete;
  ~Q() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  template <typename... Args>
  Q& Bind(const Args&... args) {
    int i = 0;
    (One(++i, args), ...);
    return *this;
  }
  Result<bool> Step() {
    if (rc_ != SQLITE_OK) {
      return DbError(db_, "binding");
    }
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return DbError(db_, sqlite3_sql(s_));
  }
  Status Run() {
    CG_ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return OkStatus();
  }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  bool Null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  SysTime Time(int c) const { return FromUnixSeconds(Int(c)); }
  std::optional<SysTime> OptTime(int c) const {
    return Null(c) ? std::nullopt : std::optional<SysTime>(Time(c));
  }
  std::string Text(int c) const {
    const auto* t = sqlite3_column_text(s_, c);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(s_, c)));
  }

 private:
  void Keep(int rc) {
    if (rc_ == SQLITE_OK) {
      rc_ = rc;
    }
  }
  void One(int i, int64_t v) { Keep(sqlite3_bind_int64(s_, i, v)); }
  void One(int i, SysTime v) { One(i, ToUnixSeconds(v)); }
  void One(int i, std::string_view v) {
    Keep(sqlite3_bind_text64(s_, i, v.data() == nullptr ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                             SQLITE_UTF8));
  }
  void One(int i, const std::string& v) { One(i, std::string_view(v)); }
  void One(int i, const char* v) { One(i, std::string_view(v)); }
  sqlite3* db_;
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

#define CG_Q(var, statements, sql)                                     \
  CG_ASSIGN_OR_RETURN(sqlite3_stmt* var##_raw, (statements).Get(sql)); \
  Q var((statements).db(), var##_raw)

Status Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return DbError(db, sql);
  }
  return OkStatus();
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class Tx {
 public:
  explicit Tx(sqlite3* db) : db_(db) {}
  ~Tx() {
    if (open_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;
  Status Begin() {
    CG_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    open_ = true;
    return OkStatus();
  }
  Status Commit() {
    CG_RETURN_IF_ERROR(Exec(db_, "COMMIT"));
    open_ = false;
    return OkStatus();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

int64_t Limit(size_t n) { return static_cast<int64_t>(std::min<size_t>(n, 1u << 30)); }

// Group matching as ListDevices does it: the group and every group below it.
std::string TrimGroup(std::string group) {
  while (!group.empty() && group.back() == '/') {
    group.pop_back();
  }
  return group;
}

}  // namespace

Statements::~Statements() {
  for (auto& [sql, stmt] : cache_) {
    sqlite3_finalize(stmt);
  }
}

Result<sqlite3_stmt*> Statements::Get(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    return it->second;
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return DbError(db_, "preparing a history statement");
  }
  cache_.emplace(sql, stmt);
  return stmt;
}

// ---- writer ----

Status HistoryWriter::Apply(const std::string& device_id, const Arrival& arrival,
                            const std::vector<Observation>& observations) {
  std::map<std::string, std::string> open_status;
  std::map<std::string, int64_t> open_id;
  {
    CG_Q(
        q, statements_,
        "SELECT id, check_id, status FROM status_intervals WHERE device_id = ?1 AND until IS NULL");
    q.Bind(device_id);
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      open_status[q.Text(1)] = q.Text(2);
      open_id[q.Text(1)] = q.Int(0);
    }
  }
  const Transition t = ComputeTransition(open_status, observations);
  for (const auto& check_id : t.close) {
    CG_Q(q, statements_, "UPDATE status_intervals SET until = ?2, end_seq = ?3 WHERE id = ?1");
    CG_RETURN_IF_ERROR(q.Bind(open_id[check_id], arrival.received_at, arrival.row_id).Run());
  }
  for (const auto& o : t.open) {
    CG_Q(q, statements_,
         "INSERT INTO status_intervals (device_id, check_id, status, severity, since, start_seq, "
         "report_id, summary, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    CG_RETURN_IF_ERROR(q.Bind(device_id, o.check_id, o.status, o.severity, arrival.received_at,
                              arrival.row_id, arrival.report_id, o.summary, o.evidence)
                           .Run());
  }
  return OkStatus();
}

Status HistoryWriter::RecordEnforcement(const protocol::Report& report, SysTime received_at) {
  for (const auto& c : EnforcementOf(report, received_at)) {
    CG_Q(q, statements_,
         "INSERT OR IGNORE INTO enforcement_changes (device_id, check_id, time, report_id, "
         "result, changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    CG_RETURN_IF_ERROR(
        q.Bind(c.device_id, c.check_id, c.time, c.report_id, c.result, c.changes).Run());
  }
  return OkStatus();
}

Status HistoryWriter::RecordGap(const std::string& device_id, std::optional<SysTime> before,
                                SysTime at, std::optional<SysTime> after) {
  if (before) {
    // A gap that spanned `at` is split in two by this arrival.
    {
      CG_Q(q, statements_, "DELETE FROM reporting_gaps WHERE device_id = ?1 AND since = ?2");
      CG_RETURN_IF_ERROR(q.Bind(device_id, *before).Run());
    }
    if (at - *before >= kMinRecordedGap) {
      CG_Q(q, statements_,
           "INSERT OR REPLACE INTO reporting_gaps (device_id, since, until) VALUES (?1, ?2, ?3)");
      CG_RETURN_IF_ERROR(q.Bind(device_id, *before, at).Run());
    }
  }
  if (after && *after - at >= kMinRecordedGap) {
    CG_Q(q, statements_,
         "INSERT OR REPLACE INTO reporting_gaps (device_id, since, until) VALUES (?1, ?2, ?3)");
    CG_RETURN_IF_ERROR(q.Bind(device_id, at, *after).Run());
  }
  return OkStatus();
}

Status HistoryWriter::OnReportStored(const protocol::Report& report, int64_t row_id,
                                     SysTime received_at) {
  // The arrivals around this one (ties: the earlier-stored ones come first, as for the device).
  std::optional<SysTime> before;
  std::optional<SysTime> after;
  {
    CG_Q(q, statements_,
         "SELECT received_at FROM reports WHERE device_id = ?1 AND received_at <= ?2 AND id <> ?3 "
         "ORDER BY received_at DESC, id DESC LIMIT 1");
    CG_ASSIGN_OR_RETURN(bool row, q.Bind(report.device_id, received_at, row_id).Step());
    if (row) {
      before = q.Time(0);
    }
  }
  {
    CG_Q(q, statements_,
         "SELECT received_at FROM reports WHERE device_id = ?1 AND received_at > ?2 "
         "ORDER BY received_at, id LIMIT 1");
    CG_ASSIGN_OR_RETURN(bool row, q.Bind(report.device_id, received_at).Step());
    if (row) {
      after = q.Time(0);
    }
  }
  CG_RETURN_IF_ERROR(RecordGap(report.device_id, before, received_at, after));
  CG_RETURN_IF_ERROR(RecordEnforcement(report, received_at));
  if (!after) {
    // The usual case: the newest arrival. One read of the open intervals, writes only on a change.
    return Apply(report.device_id, {row_id, report.report_id, received_at}, ObservationsOf(report));
  }
  // Stored after reports that arrived later (a test, a tool, a clock stepped back): the
  // intervals from this arrival on are rebuilt from the stored reports, this one included.
  {
    CG_Q(q, statements_, "DELETE FROM status_intervals WHERE device_id = ?1 AND since > ?2");
    CG_RETURN_IF_ERROR(q.Bind(report.device_id, received_at).Run());
  }
  {
    CG_Q(q, statements_,
         "UPDATE status_intervals SET until = NULL, end_seq = NULL WHERE device_id = ?1 AND "
         "until > ?2");
    CG_RETURN_IF_ERROR(q.Bind(report.device_id, received_at).Run());
  }
  CG_RETURN_IF_ERROR(
      Apply(report.device_id, {row_id, report.report_id, received_at}, ObservationsOf(report)));
  return Replay(report.device_id, received_at);
}

Status HistoryWriter::Replay(const std::string& device_id, SysTime after) {
  std::vector<std::pair<Arrival, std::string>> later;
  {
    CG_Q(q, statements_,
         "SELECT id, report_id, received_at, body FROM reports WHERE device_id = ?1 AND "
         "received_at > ?2 ORDER BY received_at, id");
    q.Bind(device_id, after);
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      later.push_back({{q.Int(0), q.Text(1), q.Time(2)}, q.Text(3)});
    }
  }
  for (const auto& [arrival, body] : later) {
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    auto parsed = protocol::ReportFromJson(json);
    if (!parsed.ok()) {
      // Stored reports were validated before; one that no longer parses is skipped, not fatal.
      continue;
    }
    CG_RETURN_IF_ERROR(Apply(device_id, arrival, ObservationsOf(*parsed)));
  }
  return OkStatus();
}

Status HistoryWriter::BackfillIfPending() {
  sqlite3* db = statements_.db();
  Tx tx(db);
  CG_RETURN_IF_ERROR(tx.Begin());
  {
    CG_Q(q, statements_, "SELECT count(*) FROM history_backfill");
    CG_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row || q.Int(0) == 0) {
      return OkStatus();
    }
  }
  CG_RETURN_IF_ERROR(Exec(db,
                          "DELETE FROM status_intervals; DELETE FROM reporting_gaps; "
                          "DELETE FROM enforcement_changes;"));
  std::vector<std::string> devices;
  {
    CG_Q(q, statements_, "SELECT DISTINCT device_id FROM reports ORDER BY device_id");
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      devices.push_back(q.Text(0));
    }
  }
  for (const auto& device_id : devices) {
    std::optional<SysTime> previous;
    CG_Q(q, statements_,
         "SELECT id, report_id, received_at, body FROM reports WHERE device_id = ?1 "
         "ORDER BY received_at, id");
    q.Bind(device_id);
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      const Arrival arrival{q.Int(0), q.Text(1), q.Time(2)};
      const auto json = nlohmann::json::parse(q.Text(3), nullptr, /*allow_exceptions=*/false);
      auto parsed = protocol::ReportFromJson(json);
      if (!parsed.ok()) {
        continue;
      }
      CG_RETURN_IF_ERROR(RecordGap(device_id, previous, arrival.received_at, std::nullopt));
      CG_RETURN_IF_ERROR(RecordEnforcement(*parsed, arrival.received_at));
      CG_RETURN_IF_ERROR(Apply(device_id, arrival, ObservationsOf(*parsed)));
      previous = arrival.received_at;
    }
  }
  CG_RETURN_IF_ERROR(Exec(db, "DELETE FROM history_backfill"));
  return tx.Commit();
}

Result<size_t> HistoryWriter::DeleteReportsBefore(SysTime cutoff, size_t batch) {
  Tx tx(statements_.db());
  CG_RETURN_IF_ERROR(tx.Begin());
  std::vector<int64_t> ids;
  {
    // A device's latest report is what it shows now: kept whatever its age.
    CG_Q(q, statements_,
         "SELECT r.id FROM reports r WHERE r.received_at < ?1 AND NOT EXISTS (SELECT 1 FROM "
         "devices d WHERE d.latest_report = r.id) ORDER BY r.received_at, r.id LIMIT ?2");
    q.Bind(cutoff, Limit(batch));
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      ids.push_back(q.Int(0));
    }
  }
  for (const int64_t id : ids) {
    {
      CG_Q(q, statements_, "DELETE FROM check_results WHERE report = ?1");
      CG_RETURN_IF_ERROR(q.Bind(id).Run());
    }
    CG_Q(q, statements_, "DELETE FROM reports WHERE id = ?1");
    CG_RETURN_IF_ERROR(q.Bind(id).Run());
  }
  CG_RETURN_IF_ERROR(tx.Commit());
  return ids.size();
}

Result<size_t> HistoryWriter::DeleteHistoryBefore(SysTime cutoff, size_t batch) {
  Tx tx(statements_.db());
  CG_RETURN_IF_ERROR(tx.Begin());
  size_t deleted = 0;
  // Open intervals (a device's current status, however old) are never deleted.
  for (const char* sql :
       {"DELETE FROM status_intervals WHERE id IN (SELECT id FROM status_intervals WHERE "
        "until IS NOT NULL AND until < ?1 ORDER BY until LIMIT ?2)",
        "DELETE FROM enforcement_changes WHERE id IN (SELECT id FROM enforcement_changes "
        "WHERE time < ?1 ORDER BY time LIMIT ?2)",
        "DELETE FROM reporting_gaps WHERE (device_id, since) IN (SELECT device_id, since FROM "
        "reporting_gaps WHERE until < ?1 ORDER BY until LIMIT ?2)"}) {
    if (deleted >= batch) {
      break;
    }
    CG_ASSIGN_OR_RETURN(sqlite3_stmt * raw, statements_.Get(sql));
    Q q(statements_.db(), raw);
    CG_RETURN_IF_ERROR(q.Bind(cutoff, Limit(batch - deleted)).Run());
    deleted += static_cast<size_t>(sqlite3_changes(statements_.db()));
  }
  CG_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Result<size_t> HistoryWriter::DeleteAuditBefore(SysTime cutoff, size_t batch) {
  Tx tx(statements_.db());
  CG_RETURN_IF_ERROR(tx.Begin());
  CG_Q(q, statements_,
       "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE time < ?1 "
       "ORDER BY id LIMIT ?2)");
  CG_RETURN_IF_ERROR(q.Bind(cutoff, Limit(batch)).Run());
  const auto deleted = static_cast<size_t>(sqlite3_changes(statements_.db()));
  CG_RETURN_IF_ERROR(tx.Commit());
  return deleted;
}

Status HistoryWriter::RecordGeneratedReport(const GeneratedReport& r) {
  CG_Q(q, statements_,
       "INSERT INTO generated_reports (id, kind, digest, parameters, generated_by, generated_at, "
       "content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  q.Bind(r.id, r.kind, r.digest, r.parameters, r.generated_by, r.generated_at, r.content);
  auto s = q.Run();
  if (!s.ok() && sqlite3_extended_errcode(statements_.db()) == SQLITE_CONSTRAINT_PRIMARYKEY) {
    return MakeError(ErrorCode::kAlreadyExists, "report " + r.id + " is already recorded");
  }
  return s;
}

// ---- reader ----

Result<std::unique_ptr<HistoryReader>> HistoryReader::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<HistoryReader> reader(new HistoryReader(raw));
  if (rc != SQLITE_OK) {
    return DbError(raw, "opening " + path + " for history queries");
  }
  sqlite3_busy_timeout(raw, 5000);
  return reader;
}

namespace {

template <typename T, typename Read>
Result<std::vector<T>> Rows(Q& q, Read read) {
  std::vector<T> out;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) {
      return out;
    }
    out.push_back(read(q));
  }
}

StatusInterval ReadInterval(const Q& q) {
  StatusInterval i;
  i.device_id = q.Text(0);
  i.check_id = q.Text(1);
  i.status = q.Text(2);
  i.severity = q.Text(3);
  i.since = q.Time(4);
  i.until = q.OptTime(5);
  i.report_id = q.Text(6);
  i.summary = q.Text(7);
  i.evidence = q.Text(8);
  return i;
}

}  // namespace

Result<std::vector<StatusInterval>> HistoryReader::StatusIntervals(const HistoryQuery& query) {
  std::lock_guard lock(mu_);
  const int64_t from = query.from ? ToUnixSeconds(*query.from) : kFarPast;
  const int64_t to = query.to ? ToUnixSeconds(*query.to) : kFarFuture;
  if (query.device_id) {
    {
      CG_Q(q, statements_, "SELECT 1 FROM devices WHERE device_id = ?1");
      CG_ASSIGN_OR_RETURN(bool row, q.Bind(*query.device_id).Step());
      if (!row) {
        return MakeError(ErrorCode::kNotFound, "unknown device " + *query.device_id);
      }
    }
    CG_Q(q, statements_,
         "SELECT device_id, check_id, status, severity, since, until, report_id, summary, "
         "evidence FROM status_intervals WHERE device_id = ?1 AND since < ?3 AND "
         "(until IS NULL OR until > ?2) ORDER BY check_id, since, start_seq");
    q.Bind(*query.device_id, from, to);
    return Rows<StatusInterval>(q, ReadInterval);
  }
  const std::string group = TrimGroup(query.group_prefix.value_or(""));
  CG_Q(q, statements_,
       "SELECT i.device_id, i.check_id, i.status, i.severity, i.since, i.until, i.report_id, "
       "i.summary, i.evidence FROM devices d JOIN status_intervals i ON i.device_id = "
       "d.device_id WHERE (?1 = '' OR d.group_name = ?1 OR substr(d.group_name, 1, "
       "length(?1) + 1) = ?1 || '/') AND i.since < ?3 AND (i.until IS NULL OR i.until > ?2) "
       "ORDER BY i.device_id, i.check_id, i.since, i.start_seq");
  q.Bind(group, from, to);
  return Rows<StatusInterval>(q, ReadInterval);
}

Result<std::vector<EnforcementChange>> HistoryReader::EnforcementChanges(
    const HistoryQuery& query) {
  std::lock_guard lock(mu_);
  CG_Q(q, statements_,
       "SELECT e.device_id, e.check_id, e.time, e.report_id, e.result, e.changes FROM devices d "
       "JOIN enforcement_changes e ON e.device_id = d.device_id WHERE (?1 = '' OR "
       "d.device_id = ?1) AND (?2 = '' OR d.group_name = ?2 OR substr(d.group_name, 1, "
       "length(?2) + 1) = ?2 || '/') AND e.time >= ?3 AND e.time < ?4 "
       "ORDER BY e.device_id, e.time, e.id");
  q.Bind(query.device_id.value_or(""), TrimGroup(query.group_prefix.value_or("")),
         query.from ? ToUnixSeconds(*query.from) : kFarPast,
         query.to ? ToUnixSeconds(*query.to) : kFarFuture);
  return Rows<EnforcementChange>(q, [](const Q& r) {
    return EnforcementChange{r.Text(0), r.Text(1), r.Time(2), r.Text(3), r.Text(4), r.Text(5)};
  });
}

Result<std::vector<ReportingGap>> HistoryReader::ReportingGaps(const HistoryQuery& query) {
  std::lock_guard lock(mu_);
  CG_Q(q, statements_,
       "SELECT g.device_id, g.since, g.until FROM devices d JOIN reporting_gaps g ON "
       "g.device_id = d.device_id WHERE (?1 = '' OR d.device_id = ?1) AND (?2 = '' OR "
       "d.group_name = ?2 OR substr(d.group_name, 1, length(?2) + 1) = ?2 || '/') AND "
       "g.since < ?4 AND g.until > ?3 ORDER BY g.device_id, g.since");
  q.Bind(query.device_id.value_or(""), TrimGroup(query.group_prefix.value_or("")),
         query.from ? ToUnixSeconds(*query.from) : kFarPast,
         query.to ? ToUnixSeconds(*query.to) : kFarFuture);
  return Rows<ReportingGap>(q, [](const Q& r) {
    return ReportingGap{r.Text(0), r.Time(1), r.Time(2)};
  });
}

Result<std::vector<InspectionRecord>> HistoryReader::InspectionRecords(const HistoryQuery& query) {
  std::lock_guard lock(mu_);
  // The answering report's status; once retention deleted it, the device's overall status
  // interval that covered its arrival tells the same.
  CG_Q(q, statements_,
       "SELECT t.id, t.kind, t.yara, t.target, t.created_by, t.created_at, t.expires_at, "
       "a.device_id, d.hostname, a.state, a.delivered_at, a.done_at, a.report_id, "
       "CASE WHEN a.report_id = '' THEN '' ELSE COALESCE("
       "  (SELECT r.status FROM reports r WHERE r.report_id = a.report_id), "
       "  (SELECT i.status FROM status_intervals i WHERE i.device_id = a.device_id AND "
       "   i.check_id = '' AND i.since <= a.done_at AND (i.until IS NULL OR i.until > a.done_at) "
       "   ORDER BY i.since DESC, i.start_seq DESC LIMIT 1), 'deleted') END "
       "FROM tasks t JOIN task_devices a ON a.task_id = t.id JOIN devices d ON d.device_id = "
       "a.device_id WHERE (?1 = '' OR d.group_name = ?1 OR substr(d.group_name, 1, "
       "length(?1) + 1) = ?1 || '/') AND t.created_at >= ?2 AND t.created_at < ?3 "
       "ORDER BY t.created_at, t.id, d.hostname, a.device_id");
  q.Bind(TrimGroup(query.group_prefix.value_or("")),
         query.from ? ToUnixSeconds(*query.from) : kFarPast,
         query.to ? ToUnixSeconds(*query.to) : kFarFuture);
  std::vector<InspectionRecord> out;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) {
      return out;
    }
    if (out.empty() || out.back().task.id != q.Text(0)) {
      InspectionRecord record;
      record.task.id = q.Text(0);
      record.task.kind = q.Text(1);
      record.task.yara = q.Int(2) != 0;
      record.task.target = q.Text(3);
      record.task.created_by = q.Text(4);
      record.task.created_at = q.Time(5);
      record.task.expires_at = q.Time(6);
      out.push_back(std::move(record));
    }
    TaskAssignment a;
    a.device_id = q.Text(7);
    a.hostname = q.Text(8);
    a.state = q.Text(9);
    a.delivered_at = q.OptTime(10);
    a.done_at = q.OptTime(11);
    a.report_id = q.Text(12);
    out.back().assignments.emplace_back(std::move(a), q.Text(13));
  }
}

Result<std::vector<GeneratedReport>> HistoryReader::FindGeneratedReports(std::string_view digest) {
  std::lock_guard lock(mu_);
  CG_Q(q, statements_,
       "SELECT id, kind, digest, parameters, generated_by, generated_at FROM generated_reports "
       "WHERE digest = ?1 ORDER BY generated_at DESC, id");
  q.Bind(digest);
  return Rows<GeneratedReport>(q, [](const Q& r) {
    GeneratedReport g;
    g.id = r.Text(0);
    g.kind = r.Text(1);
    g.digest = r.Text(2);
    g.parameters = r.Text(3);
    g.generated_by = r.Text(4);
    g.generated_at = r.Time(5);
    return g;
  });
}

Result<GeneratedReport> HistoryReader::GetGeneratedReport(std::string_view id) {
  std::lock_guard lock(mu_);
  CG_Q(q, statements_,
       "SELECT id, kind, digest, parameters, generated_by, generated_at, content "
       "FROM generated_reports WHERE id = ?1");
  q.Bind(id);
  CG_ASSIGN_OR_RETURN(auto rows, Rows<GeneratedReport>(q, [](const Q& r) {
                        GeneratedReport g;
                        g.id = r.Text(0);
                        g.kind = r.Text(1);
                        g.digest = r.Text(2);
                        g.parameters = r.Text(3);
                        g.generated_by = r.Text(4);
                        g.generated_at = r.Time(5);
                        g.content = r.Text(6);
                        return g;
                      }));
  if (rows.empty()) {
    return MakeError(ErrorCode::kNotFound, "unknown report");
  }
  return std::move(rows.front());
}

}  // namespace cg::soc::sqlite_history

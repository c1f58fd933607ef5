// PostgreSQL backend: reports (one and a group commit), policies, tasks, retention and generated
// reports (the status history kept at ingest and its queries: pg_history.cpp).
#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "soc/pg/pg_storage_internal.h"
#include "soc/sqlite_storage_query.h"  // JoinedChecks: the devices' failing_checks, alike

namespace cg::soc::pg {
namespace {

int64_t SqlLimit(size_t limit) {
  return static_cast<int64_t>(
      std::min<size_t>(limit, static_cast<size_t>(std::numeric_limits<int64_t>::max())));
}

constexpr const char* kReportColumns =
    "r.report_id, r.device_id, r.received_at, r.collected_at, r.status, r.clock_skew";

Result<StoredReport> ReadReport(const Rows& rows, int i, int c) {
  StoredReport r;
  r.report_id = rows.Text(i, c);
  r.device_id = rows.Text(i, c + 1);
  r.received_at = rows.Time(i, c + 2);
  r.collected_at = rows.Time(i, c + 3);
  CG_ASSIGN_OR_RETURN(r.status, StatusColumn(rows.Text(i, c + 4)));
  r.clock_skew = std::chrono::seconds(rows.Int(i, c + 5));
  return r;
}

constexpr const char* kTaskColumns =
    "t.id, t.kind, t.yara, t.target, t.created_by, t.created_at, t.expires_at";

Task ReadTask(const Rows& rows, int i) {
  Task t;
  t.id = rows.Text(i, 0);
  t.kind = rows.Text(i, 1);
  t.yara = rows.Bool(i, 2);
  t.target = rows.Text(i, 3);
  t.created_by = rows.Text(i, 4);
  t.created_at = rows.Time(i, 5);
  t.expires_at = rows.Time(i, 6);
  return t;
}

}  // namespace

Result<bool> PgStorage::StoreReport(const protocol::Report& report, std::string_view body_json,
                                    SysTime received_at, std::string_view policy_state) {
  return InTransaction([&](Connection& conn) -> Result<bool> {
    CG_RETURN_IF_ERROR(LockOutbox(conn));
    return StoreReportIn(conn, report, body_json, received_at, policy_state);
  });
}

// One transaction (one commit) for the batch, each report in its own savepoint so that a refused
// one leaves the others in. A deadlock or serialization failure runs the whole batch again.
std::vector<Result<bool>> PgStorage::StoreReports(std::span<const ReportToStore> reports) {
  std::vector<Result<bool>> results;
  auto fail_all = [&](const Error& e) {
    results.assign(reports.size(), Result<bool>(e));
    return results;
  };
  for (int attempt = 1;; ++attempt) {
    results.clear();
    results.reserve(reports.size());
    auto conn = pool_.Acquire();
    if (!conn.ok()) {
      return fail_all(conn.error());
    }
    Connection& c = **conn;
    auto tx = Transaction::Begin(c);
    if (!tx.ok()) {
      return fail_all(tx.error());
    }
    if (auto s = LockOutbox(c); !s.ok()) {
      if (Retryable(c) && attempt < kMaxAttempts) {
        continue;
      }
      return fail_all(s.error());
    }
    bool retry = false;
    for (const ReportToStore& item : reports) {
      if (auto s = c.Exec("SAVEPOINT report", "starting a savepoint"); !s.ok()) {
        return fail_all(s.error());
      }
      auto stored =
          StoreReportIn(c, *item.report, item.body_json, item.received_at, item.policy_state);
      if (!stored.ok() && Retryable(c) && attempt < kMaxAttempts) {
        retry = true;
        break;
      }
      if (!stored.ok()) {
        if (auto s = c.Exec("ROLLBACK TO SAVEPOINT report", "rolling back a savepoint"); !s.ok()) {
          return fail_all(s.error());
        }
      }
      if (auto s = c.Exec("RELEASE SAVEPOINT report", "releasing a savepoint"); !s.ok()) {
        return fail_all(s.error());
      }
      results.push_back(std::move(stored));
    }
    if (retry) {
      continue;  // the transaction rolls back as `tx` goes
    }
    if (auto s = tx->Commit(); !s.ok()) {
      if (Retryable(c) && attempt < kMaxAttempts) {
        continue;
      }
      return fail_all(s.error());
    }
    return results;
  }
}

Result<bool> PgStorage::StoreReportIn(Connection& conn, const protocol::Report& report,
                                      std::string_view body_json, SysTime received_at,
                                      std::string_view policy_state) {
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
  const std::string status(protocol::ToString(protocol::OverallStatus(report.checks)));
  auto already = [&]() -> Result<std::optional<bool>> {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT device_id FROM reports WHERE report_id = $1",
                                              report.report_id));
    if (rows.Count() == 0) {
      return std::optional<bool>();
    }
    if (rows.Text(0, 0) != report.device_id) {
      return MakeError(ErrorCode::kConflict,
                       "report " + report.report_id + " was stored for another device");
    }
    return std::optional<bool>(false);
  };
  {
    CG_ASSIGN_OR_RETURN(auto stored, already());
    if (stored) {
      return *stored;
    }
  }
  // The device row is locked before its latest report is read: reports of one device stored
  // by two nodes at once queue here, and the later one sees the earlier one's arrival.
  bool newest = true;
  {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT r.received_at FROM devices d LEFT JOIN "
                                              "reports r ON r.id = d.latest_report WHERE "
                                              "d.device_id = $1 FOR UPDATE OF d",
                                              report.device_id));
    if (rows.Count() == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + report.device_id);
    }
    newest = rows.IsNull(0, 0) || received_at >= rows.Time(0, 0);
  }
  // The events of the change, in its transaction (before the device row moves on).
  CG_RETURN_IF_ERROR(
      RecordReportEvents(conn, report, policy_state, received_at, newest, event_options()));
  const int64_t clock_skew = ToUnixSeconds(*collected) - ToUnixSeconds(received_at);
  int64_t row_id = 0;
  {
    // Another node may have stored this report id meanwhile: the unique key decides, and the
    // stored row says whether that is a retry (false) or another device's (kConflict).
    CG_ASSIGN_OR_RETURN(
        auto rows,
        conn.Query("INSERT INTO reports (report_id, device_id, received_at, collected_at, status, "
                   "body, clock_skew, policy_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                   "ON CONFLICT (report_id) DO NOTHING RETURNING id",
                   report.report_id, report.device_id, received_at, *collected, status, body_json,
                   clock_skew, policy_state));
    if (rows.Count() == 0) {
      CG_ASSIGN_OR_RETURN(auto stored, already());
      return stored.value_or(false);
    }
    row_id = rows.Int(0, 0);
  }
  for (const auto& check : report.checks) {
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO check_results (report, check_id, status, "
                   "severity) VALUES ($1, $2, $3, $4)",
                   row_id, check.id, std::string(protocol::ToString(check.status)),
                   std::string(protocol::ToString(check.severity))));
  }
  // Before the device row changes: the history reads the arrivals stored so far.
  CG_RETURN_IF_ERROR(RecordHistory(conn, report, row_id, received_at));
  // SQLite's two-argument max() is GREATEST here.
  CG_RETURN_IF_ERROR(
      conn.Query("UPDATE devices SET last_seen = GREATEST(COALESCE(last_seen, $2), "
                 "$2) WHERE device_id = $1",
                 report.device_id, received_at));
  if (newest) {
    CG_RETURN_IF_ERROR(conn.Query(
        "UPDATE devices SET status = $2, policy_version = $3, reported_hostname = $4, "
        "latest_report = $5, policy_hash = $6, clock_skew = $7, os_name = $8, os_version = $9, "
        "agent_version = $10, policy_state = $11, failing_checks = $12, error_checks = $13, "
        "verified_policy_version = CASE WHEN $11 IN ('expected', 'rollout') THEN $3 ELSE "
        "verified_policy_version END, "
        "verified_policy_hash = CASE WHEN $11 IN ('expected', 'rollout') THEN $6 ELSE "
        "verified_policy_hash END WHERE device_id = $1",
        report.device_id, status, report.policy_version, report.hostname, row_id,
        report.policy_hash, clock_skew, report.os.name, report.os.version, report.agent_version,
        policy_state, sqlite_query::JoinedChecks(report, protocol::CheckStatus::kFail),
        sqlite_query::JoinedChecks(report, protocol::CheckStatus::kError)));
  }
  for (const auto& task_id : report.task_ids) {
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE task_devices SET state = 'done', done_at = $3, "
                   "report_id = $4 WHERE task_id = $1 AND device_id = $2 AND "
                   "state <> 'done'",
                   task_id, report.device_id, received_at, report.report_id));
  }
  return true;
}

Result<std::optional<StoredReport>> PgStorage::LatestReport(std::string_view device_id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query(std::string("SELECT r.id, ") + kReportColumns +
                                      ", r.body FROM devices d LEFT JOIN reports r ON r.id = "
                                      "d.latest_report WHERE d.device_id = $1",
                                  device_id));
  if (rows.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
  }
  if (rows.IsNull(0, 0)) {
    return std::optional<StoredReport>();
  }
  CG_ASSIGN_OR_RETURN(auto report, ReadReport(rows, 0, 1));
  report.body = rows.Text(0, 7);
  return std::optional<StoredReport>(std::move(report));
}

Result<std::vector<StoredReport>> PgStorage::ReportHistory(std::string_view device_id,
                                                           size_t limit) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto exists,
                      conn->Query("SELECT 1 FROM devices WHERE device_id = $1", device_id));
  if (exists.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
  }
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kReportColumns +
                                                 " FROM reports r WHERE r.device_id = $1 ORDER "
                                                 "BY r.received_at DESC, r.id DESC LIMIT $2",
                                             device_id, SqlLimit(limit)));
  std::vector<StoredReport> out;
  for (int i = 0; i < rows.Count(); ++i) {
    CG_ASSIGN_OR_RETURN(auto r, ReadReport(rows, i, 0));
    out.push_back(std::move(r));
  }
  return out;
}

// Two nodes pushing for one target at once: the target is locked for the transaction (there
// may be no row yet to lock), so "newer than every stored version" and the insert are one step.
Result<bool> PgStorage::AddPolicy(const StoredPolicy& p) {
  return InTransaction([&](Connection& conn) -> Result<bool> {
    CG_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock(17003, hashtext($1))", p.target));
    CG_ASSIGN_OR_RETURN(auto same, conn.Query("SELECT hash FROM policy_layers WHERE target = $1 "
                                              "AND version = $2",
                                              p.target, p.version));
    if (same.Count() == 1) {
      if (same.Text(0, 0) == p.hash) {
        return false;
      }
      return MakeError(ErrorCode::kAlreadyExists, "policy version " + std::to_string(p.version) +
                                                      " of target '" + p.target +
                                                      "' is already stored with other content");
    }
    CG_ASSIGN_OR_RETURN(auto newest, conn.Query("SELECT max(version) FROM policy_layers WHERE "
                                                "target = $1",
                                                p.target));
    if (!newest.IsNull(0, 0) && newest.Int(0, 0) >= p.version) {
      return NotNewerPolicy(p, newest.Int(0, 0));
    }
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO policy_layers (target, version, hash, key_id, "
                   "name, scope, envelope, pushed_by, pushed_at) VALUES ($1, $2, "
                   "$3, $4, $5, $6, $7, $8, $9)",
                   p.target, p.version, p.hash, p.key_id, p.name, p.scope, p.envelope, p.pushed_by,
                   p.pushed_at));
    return true;
  });
}

Result<std::vector<StoredPolicy>> PgStorage::ListPolicies() {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT version, hash, key_id, name, scope, "
                                             "envelope, pushed_by, pushed_at, target FROM "
                                             "policy_layers ORDER BY id DESC"));
  std::vector<StoredPolicy> out;
  for (int i = 0; i < rows.Count(); ++i) {
    StoredPolicy p;
    p.target = rows.Text(i, 8);
    p.version = rows.Int(i, 0);
    p.hash = rows.Text(i, 1);
    p.key_id = rows.Text(i, 2);
    p.name = rows.Text(i, 3);
    p.scope = rows.Text(i, 4);
    p.envelope = rows.Text(i, 5);
    p.pushed_by = rows.Text(i, 6);
    p.pushed_at = rows.Time(i, 7);
    out.push_back(std::move(p));
  }
  return out;
}

Status PgStorage::RecordPolicyServed(std::string_view device_id, int64_t version,
                                     std::string_view hash) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("UPDATE devices SET served_policy_version = $2, "
                                             "served_policy_hash = $3 WHERE device_id = $1",
                                             device_id, version, hash));
  if (rows.Affected() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(device_id));
  }
  return OkStatus();
}

Status PgStorage::CreateTask(const Task& task, const std::vector<std::string>& device_ids) {
  return InTransaction([&](Connection& conn) -> Status {
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO tasks (id, kind, yara, target, created_by, "
                   "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                   task.id, task.kind, task.yara, task.target, task.created_by, task.created_at,
                   task.expires_at));
    for (const auto& device_id : device_ids) {
      CG_ASSIGN_OR_RETURN(auto exists,
                          conn.Query("SELECT 1 FROM devices WHERE device_id = $1", device_id));
      if (exists.Count() == 0) {
        return MakeError(ErrorCode::kNotFound, "unknown device " + device_id);
      }
      CG_RETURN_IF_ERROR(
          conn.Query("INSERT INTO task_devices (task_id, device_id) VALUES ($1, "
                     "$2)",
                     task.id, device_id));
    }
    return OkStatus();
  });
}

// One statement: the UPDATE takes the pending rows (row locks), so a task is handed out once
// even when the device's long-polls sit on two nodes.
Result<std::vector<Task>> PgStorage::TakeTasks(std::string_view device_id, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query(std::string("WITH taken AS (UPDATE task_devices SET state = "
                                              "'delivered', delivered_at = $2 WHERE device_id = $1 "
                                              "AND state = 'pending' RETURNING task_id) SELECT ") +
                                      kTaskColumns +
                                      " FROM tasks t JOIN taken ON taken.task_id = t.id WHERE "
                                      "t.expires_at > $2 ORDER BY t.created_at, t.id COLLATE \"C\"",
                                  device_id, now));
  std::vector<Task> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReadTask(rows, i));
  }
  return out;
}

Result<std::vector<Task>> PgStorage::ListTasks(size_t limit) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kTaskColumns +
                                                 " FROM tasks t ORDER BY t.created_at DESC, "
                                                 "t.id COLLATE \"C\" LIMIT $1",
                                             SqlLimit(limit)));
  std::vector<Task> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReadTask(rows, i));
  }
  return out;
}

Result<std::pair<Task, std::vector<TaskAssignment>>> PgStorage::GetTask(std::string_view id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  std::pair<Task, std::vector<TaskAssignment>> out;
  {
    CG_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query(std::string("SELECT ") + kTaskColumns + " FROM tasks t WHERE t.id = $1", id));
    if (rows.Count() == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown task " + std::string(id));
    }
    out.first = ReadTask(rows, 0);
  }
  // With the answering report's status and its failing checks (fail before error).
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT a.device_id, d.hostname, a.state, a.delivered_at, a.done_at, "
                  "a.report_id, r.status, (SELECT string_agg(c.check_id, ',' ORDER BY c.status "
                  "COLLATE \"C\" DESC, c.check_id COLLATE \"C\") FROM check_results c WHERE "
                  "c.report = r.id AND c.status IN ('fail', 'error')) FROM task_devices a JOIN "
                  "devices d ON d.device_id = a.device_id LEFT JOIN reports r ON a.report_id <> "
                  "'' AND r.report_id = a.report_id WHERE a.task_id = $1 ORDER BY d.hostname "
                  "COLLATE \"C\", a.device_id COLLATE \"C\"",
                  id));
  for (int i = 0; i < rows.Count(); ++i) {
    TaskAssignment a;
    a.device_id = rows.Text(i, 0);
    a.hostname = rows.Text(i, 1);
    a.state = rows.Text(i, 2);
    a.delivered_at = rows.OptionalTime(i, 3);
    a.done_at = rows.OptionalTime(i, 4);
    a.report_id = rows.Text(i, 5);
    if (!rows.IsNull(i, 6)) {
      CG_ASSIGN_OR_RETURN(a.report_status, StatusColumn(rows.Text(i, 6)));
    }
    const std::string failing = rows.Text(i, 7);
    for (size_t at = 0; at < failing.size();) {
      const size_t comma = std::min(failing.find(',', at), failing.size());
      a.failing_checks.push_back(failing.substr(at, comma - at));
      at = comma + 1;
    }
    out.second.push_back(std::move(a));
  }
  return out;
}

Result<ReportRecord> PgStorage::GetReport(std::string_view report_id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kReportColumns +
                                                 ", r.body, r.policy_state, d.hostname, "
                                                 "d.group_name FROM reports r JOIN devices d ON "
                                                 "d.device_id = r.device_id WHERE r.report_id = "
                                                 "$1",
                                             report_id));
  if (rows.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown report");
  }
  ReportRecord r;
  CG_ASSIGN_OR_RETURN(r.report, ReadReport(rows, 0, 0));
  r.report.body = rows.Text(0, 6);
  r.policy_state = rows.Text(0, 7);
  r.hostname = rows.Text(0, 8);
  r.group = rows.Text(0, 9);
  return r;
}

Result<size_t> PgStorage::DeleteReportsBefore(SysTime cutoff, size_t batch) {
  return InTransaction([&](Connection& conn) -> Result<size_t> {
    // A device's latest report is what it shows now: kept whatever its age. SKIP LOCKED: two
    // nodes' retention runs take different batches.
    CG_ASSIGN_OR_RETURN(auto ids, conn.Query("SELECT r.id FROM reports r WHERE r.received_at < "
                                             "$1 AND NOT EXISTS (SELECT 1 FROM devices d WHERE "
                                             "d.latest_report = r.id) ORDER BY r.received_at, "
                                             "r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
                                             cutoff, SqlLimit(batch)));
    if (ids.Count() == 0) {
      return size_t{0};
    }
    // Two statements for the batch (an array of the ids) instead of two round trips a report.
    std::string array = "{";
    for (int i = 0; i < ids.Count(); ++i) {
      array += (i == 0 ? "" : ",") + std::to_string(ids.Int(i, 0));
    }
    array += "}";
    CG_RETURN_IF_ERROR(
        conn.Query("DELETE FROM check_results WHERE report = ANY($1::bigint[])", array));
    CG_ASSIGN_OR_RETURN(auto gone,
                        conn.Query("DELETE FROM reports WHERE id = ANY($1::bigint[])", array));
    return static_cast<size_t>(gone.Affected());
  });
}

Result<size_t> PgStorage::DeleteHistoryBefore(SysTime cutoff, size_t batch) {
  return InTransaction([&](Connection& conn) -> Result<size_t> {
    size_t deleted = 0;
    // Open intervals (a device's current status, however old) are never deleted.
    for (const char* sql :
         {"DELETE FROM status_intervals WHERE id IN (SELECT id FROM status_intervals WHERE "
          "until IS NOT NULL AND until < $1 ORDER BY until LIMIT $2)",
          "DELETE FROM enforcement_changes WHERE id IN (SELECT id FROM enforcement_changes "
          "WHERE time < $1 ORDER BY time LIMIT $2)",
          "DELETE FROM reporting_gaps WHERE (device_id, since) IN (SELECT device_id, since FROM "
          "reporting_gaps WHERE until < $1 ORDER BY until LIMIT $2)"}) {
      if (deleted >= batch) {
        break;
      }
      CG_ASSIGN_OR_RETURN(auto rows, conn.Query(sql, cutoff, SqlLimit(batch - deleted)));
      deleted += static_cast<size_t>(rows.Affected());
    }
    return deleted;
  });
}

Result<size_t> PgStorage::DeleteAuditBefore(SysTime cutoff, size_t batch) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("DELETE FROM audit_log WHERE id IN (SELECT id FROM "
                                             "audit_log WHERE time < $1 ORDER BY id LIMIT $2)",
                                             cutoff, SqlLimit(batch)));
  return static_cast<size_t>(rows.Affected());
}

Status PgStorage::RecordGeneratedReport(const GeneratedReport& r) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  auto inserted = conn->Query(
      "INSERT INTO generated_reports (id, kind, digest, parameters, "
      "generated_by, generated_at, content) VALUES ($1, $2, $3, $4, $5, "
      "$6, $7)",
      r.id, r.kind, r.digest, r.parameters, r.generated_by, r.generated_at, r.content);
  if (!inserted.ok() && inserted.error().code == ErrorCode::kAlreadyExists) {
    return MakeError(ErrorCode::kAlreadyExists, "report " + r.id + " is already recorded");
  }
  CG_RETURN_IF_ERROR(inserted);
  return OkStatus();
}

Result<std::vector<GeneratedReport>> PgStorage::FindGeneratedReports(std::string_view digest) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, kind, digest, parameters, generated_by, "
                                             "generated_at FROM generated_reports WHERE digest = "
                                             "$1 ORDER BY generated_at DESC, id COLLATE \"C\"",
                                             digest));
  std::vector<GeneratedReport> out;
  for (int i = 0; i < rows.Count(); ++i) {
    GeneratedReport g;
    g.id = rows.Text(i, 0);
    g.kind = rows.Text(i, 1);
    g.digest = rows.Text(i, 2);
    g.parameters = rows.Text(i, 3);
    g.generated_by = rows.Text(i, 4);
    g.generated_at = rows.Time(i, 5);
    out.push_back(std::move(g));
  }
  return out;
}

Result<GeneratedReport> PgStorage::GetGeneratedReport(std::string_view id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, kind, digest, parameters, generated_by, "
                                             "generated_at, content FROM generated_reports WHERE "
                                             "id = $1",
                                             id));
  if (rows.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown report");
  }
  GeneratedReport g;
  g.id = rows.Text(0, 0);
  g.kind = rows.Text(0, 1);
  g.digest = rows.Text(0, 2);
  g.parameters = rows.Text(0, 3);
  g.generated_by = rows.Text(0, 4);
  g.generated_at = rows.Time(0, 5);
  g.content = rows.Text(0, 6);
  return g;
}

}  // namespace cg::soc::pg

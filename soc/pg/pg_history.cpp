// PostgreSQL backend: the status history (migration 7's tables), kept at ingest and read by the
// device history and inspection reports. The same rules as soc/sqlite_history.cpp, in
// PostgreSQL's dialect:
// - it runs inside StoreReport's transaction, after the device row is locked (FOR UPDATE): one
//   device's history is written by one transaction at a time, whichever node stores the report;
// - INSERT OR IGNORE is ON CONFLICT DO NOTHING, INSERT OR REPLACE is ON CONFLICT DO UPDATE;
// - there is no backfill: a PostgreSQL database is created at the current schema, so every
//   report it holds went through ingest.
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "soc/history.h"
#include "soc/pg/pg_storage_internal.h"

namespace cg::soc::pg {
namespace {

constexpr int64_t kFarPast = std::numeric_limits<int64_t>::min() / 2;
constexpr int64_t kFarFuture = std::numeric_limits<int64_t>::max() / 2;

struct Arrival {
  int64_t row_id;
  std::string report_id;
  SysTime received_at;
};

// Group matching as ListDevices does it: the group and every group below it.
std::string TrimGroup(std::string group) {
  while (!group.empty() && group.back() == '/') {
    group.pop_back();
  }
  return group;
}

int64_t FromOrPast(const HistoryQuery& q) { return q.from ? ToUnixSeconds(*q.from) : kFarPast; }
int64_t ToOrFuture(const HistoryQuery& q) { return q.to ? ToUnixSeconds(*q.to) : kFarFuture; }

// `$n` names the trimmed group prefix ("" matches every group).
std::string GroupMatch(const char* param) {
  const std::string p = param;
  return "(" + p + " = '' OR d.group_name = " + p + " OR substr(d.group_name, 1, length(" + p +
         ") + 1) = " + p + " || '/')";
}

Status Apply(Connection& conn, const std::string& device_id, const Arrival& arrival,
             const std::vector<Observation>& observations) {
  std::map<std::string, std::string> open_status;
  std::map<std::string, int64_t> open_id;
  CG_ASSIGN_OR_RETURN(auto open, conn.Query("SELECT id, check_id, status FROM status_intervals "
                                            "WHERE device_id = $1 AND until IS NULL",
                                            device_id));
  for (int i = 0; i < open.Count(); ++i) {
    open_status[open.Text(i, 1)] = open.Text(i, 2);
    open_id[open.Text(i, 1)] = open.Int(i, 0);
  }
  const Transition t = ComputeTransition(open_status, observations);
  for (const auto& check_id : t.close) {
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE status_intervals SET until = $2, end_seq = $3 WHERE id = $1",
                   open_id[check_id], arrival.received_at, arrival.row_id));
  }
  for (const auto& o : t.open) {
    CG_RETURN_IF_ERROR(conn.Query(
        "INSERT INTO status_intervals (device_id, check_id, status, severity, since, start_seq, "
        "report_id, summary, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        device_id, o.check_id, o.status, o.severity, arrival.received_at, arrival.row_id,
        arrival.report_id, o.summary, o.evidence));
  }
  return OkStatus();
}

Status RecordEnforcement(Connection& conn, const protocol::Report& report, SysTime received_at) {
  for (const auto& c : EnforcementOf(report, received_at)) {
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO enforcement_changes (device_id, check_id, time, report_id, "
                   "result, changes) VALUES ($1, $2, $3, $4, $5, $6) "
                   "ON CONFLICT (report_id, check_id) DO NOTHING",
                   c.device_id, c.check_id, c.time, c.report_id, c.result, c.changes));
  }
  return OkStatus();
}

Status PutGap(Connection& conn, const std::string& device_id, SysTime since, SysTime until) {
  CG_RETURN_IF_ERROR(
      conn.Query("INSERT INTO reporting_gaps (device_id, since, until) VALUES ($1, $2, $3) "
                 "ON CONFLICT (device_id, since) DO UPDATE SET until = EXCLUDED.until",
                 device_id, since, until));
  return OkStatus();
}

Status RecordGap(Connection& conn, const std::string& device_id, std::optional<SysTime> before,
                 SysTime at, std::optional<SysTime> after) {
  if (before) {
    // A gap that spanned `at` is split in two by this arrival.
    CG_RETURN_IF_ERROR(conn.Query("DELETE FROM reporting_gaps WHERE device_id = $1 AND since = $2",
                                  device_id, *before));
    if (at - *before >= kMinRecordedGap) {
      CG_RETURN_IF_ERROR(PutGap(conn, device_id, *before, at));
    }
  }
  if (after && *after - at >= kMinRecordedGap) {
    CG_RETURN_IF_ERROR(PutGap(conn, device_id, at, *after));
  }
  return OkStatus();
}

// Re-applies every stored report of the device with received_at after `after`.
Status Replay(Connection& conn, const std::string& device_id, SysTime after) {
  CG_ASSIGN_OR_RETURN(auto later, conn.Query("SELECT id, report_id, received_at, body FROM "
                                             "reports WHERE device_id = $1 AND received_at > $2 "
                                             "ORDER BY received_at, id",
                                             device_id, after));
  for (int i = 0; i < later.Count(); ++i) {
    const auto json = nlohmann::json::parse(later.Text(i, 3), nullptr, /*allow_exceptions=*/false);
    auto parsed = protocol::ReportFromJson(json);
    if (!parsed.ok()) {
      // Stored reports were validated before; one that no longer parses is skipped, not fatal.
      continue;
    }
    CG_RETURN_IF_ERROR(Apply(conn, device_id, {later.Int(i, 0), later.Text(i, 1), later.Time(i, 2)},
                             ObservationsOf(*parsed)));
  }
  return OkStatus();
}

StatusInterval ReadInterval(const Rows& r, int i) {
  StatusInterval s;
  s.device_id = r.Text(i, 0);
  s.check_id = r.Text(i, 1);
  s.status = r.Text(i, 2);
  s.severity = r.Text(i, 3);
  s.since = r.Time(i, 4);
  s.until = r.OptionalTime(i, 5);
  s.report_id = r.Text(i, 6);
  s.summary = r.Text(i, 7);
  s.evidence = r.Text(i, 8);
  return s;
}

}  // namespace

Status RecordHistory(Connection& conn, const protocol::Report& report, int64_t row_id,
                     SysTime received_at) {
  // The arrivals around this one (ties: the earlier-stored ones come first, as for the device).
  std::optional<SysTime> before;
  std::optional<SysTime> after;
  {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT received_at FROM reports WHERE device_id = "
                                              "$1 AND received_at <= $2 AND id <> $3 ORDER BY "
                                              "received_at DESC, id DESC LIMIT 1",
                                              report.device_id, received_at, row_id));
    if (rows.Count() > 0) {
      before = rows.Time(0, 0);
    }
  }
  {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT received_at FROM reports WHERE device_id = "
                                              "$1 AND received_at > $2 ORDER BY received_at, id "
                                              "LIMIT 1",
                                              report.device_id, received_at));
    if (rows.Count() > 0) {
      after = rows.Time(0, 0);
    }
  }
  CG_RETURN_IF_ERROR(RecordGap(conn, report.device_id, before, received_at, after));
  CG_RETURN_IF_ERROR(RecordEnforcement(conn, report, received_at));
  const Arrival arrival{row_id, report.report_id, received_at};
  if (!after) {
    // The usual case: the newest arrival. One read of the open intervals, writes only on a change.
    return Apply(conn, report.device_id, arrival, ObservationsOf(report));
  }
  // Stored after reports that arrived later: the intervals from this arrival on are rebuilt from
  // the stored reports, this one included.
  CG_RETURN_IF_ERROR(conn.Query("DELETE FROM status_intervals WHERE device_id = $1 AND since > $2",
                                report.device_id, received_at));
  CG_RETURN_IF_ERROR(
      conn.Query("UPDATE status_intervals SET until = NULL, end_seq = NULL WHERE "
                 "device_id = $1 AND until > $2",
                 report.device_id, received_at));
  CG_RETURN_IF_ERROR(Apply(conn, report.device_id, arrival, ObservationsOf(report)));
  return Replay(conn, report.device_id, received_at);
}

Result<std::vector<StatusInterval>> PgStorage::StatusIntervals(const HistoryQuery& query) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  std::vector<StatusInterval> out;
  if (query.device_id) {
    // The device's existence and its intervals from one snapshot.
    CG_ASSIGN_OR_RETURN(auto tx,
                        Transaction::Begin(*conn, Transaction::Isolation::kRepeatableRead));
    CG_ASSIGN_OR_RETURN(
        auto known, conn->Query("SELECT 1 FROM devices WHERE device_id = $1", *query.device_id));
    if (known.Count() == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown device " + *query.device_id);
    }
    CG_ASSIGN_OR_RETURN(
        auto rows,
        conn->Query("SELECT device_id, check_id, status, severity, since, until, report_id, "
                    "summary, evidence FROM status_intervals WHERE device_id = $1 AND since < $3 "
                    "AND (until IS NULL OR until > $2) ORDER BY check_id COLLATE \"C\", since, "
                    "start_seq",
                    *query.device_id, FromOrPast(query), ToOrFuture(query)));
    for (int i = 0; i < rows.Count(); ++i) {
      out.push_back(ReadInterval(rows, i));
    }
    CG_RETURN_IF_ERROR(tx.Commit());
    return out;
  }
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT i.device_id, i.check_id, i.status, i.severity, i.since, i.until, "
                  "i.report_id, i.summary, i.evidence FROM devices d JOIN status_intervals i ON "
                  "i.device_id = d.device_id WHERE " +
                      GroupMatch("$1") +
                      " AND i.since < $3 AND (i.until IS NULL OR i.until > $2) ORDER BY "
                      "i.device_id COLLATE \"C\", i.check_id COLLATE \"C\", i.since, i.start_seq",
                  TrimGroup(query.group_prefix.value_or("")), FromOrPast(query),
                  ToOrFuture(query)));
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReadInterval(rows, i));
  }
  return out;
}

Result<std::vector<EnforcementChange>> PgStorage::EnforcementChanges(const HistoryQuery& query) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT e.device_id, e.check_id, e.time, e.report_id, e.result, e.changes "
                  "FROM devices d JOIN enforcement_changes e ON e.device_id = d.device_id WHERE "
                  "($1 = '' OR d.device_id = $1) AND " +
                      GroupMatch("$2") +
                      " AND e.time >= $3 AND e.time < $4 ORDER BY e.device_id COLLATE \"C\", "
                      "e.time, e.id",
                  query.device_id.value_or(""), TrimGroup(query.group_prefix.value_or("")),
                  FromOrPast(query), ToOrFuture(query)));
  std::vector<EnforcementChange> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(EnforcementChange{rows.Text(i, 0), rows.Text(i, 1), rows.Time(i, 2),
                                    rows.Text(i, 3), rows.Text(i, 4), rows.Text(i, 5)});
  }
  return out;
}

Result<std::vector<ReportingGap>> PgStorage::ReportingGaps(const HistoryQuery& query) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT g.device_id, g.since, g.until FROM devices d JOIN "
                  "reporting_gaps g ON g.device_id = d.device_id WHERE ($1 = '' OR "
                  "d.device_id = $1) AND " +
                      GroupMatch("$2") +
                      " AND g.since < $4 AND g.until > $3 ORDER BY g.device_id "
                      "COLLATE \"C\", g.since",
                  query.device_id.value_or(""), TrimGroup(query.group_prefix.value_or("")),
                  FromOrPast(query), ToOrFuture(query)));
  std::vector<ReportingGap> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReportingGap{rows.Text(i, 0), rows.Time(i, 1), rows.Time(i, 2)});
  }
  return out;
}

Result<std::vector<InspectionRecord>> PgStorage::InspectionRecords(const HistoryQuery& query) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // The answering report's status; once retention deleted it, the device's overall status
  // interval that covered its arrival tells the same.
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query(
          "SELECT t.id, t.kind, t.yara, t.target, t.created_by, t.created_at, t.expires_at, "
          "a.device_id, d.hostname, a.state, a.delivered_at, a.done_at, a.report_id, "
          "CASE WHEN a.report_id = '' THEN '' ELSE COALESCE("
          "  (SELECT r.status FROM reports r WHERE r.report_id = a.report_id), "
          "  (SELECT i.status FROM status_intervals i WHERE i.device_id = a.device_id AND "
          "   i.check_id = '' AND i.since <= a.done_at AND (i.until IS NULL OR i.until > "
          "   a.done_at) ORDER BY i.since DESC, i.start_seq DESC LIMIT 1), 'deleted') END "
          "FROM tasks t JOIN task_devices a ON a.task_id = t.id JOIN devices d ON d.device_id = "
          "a.device_id WHERE " +
              GroupMatch("$1") +
              " AND t.created_at >= $2 AND t.created_at < $3 ORDER BY t.created_at, t.id COLLATE "
              "\"C\", d.hostname COLLATE \"C\", a.device_id COLLATE \"C\"",
          TrimGroup(query.group_prefix.value_or("")), FromOrPast(query), ToOrFuture(query)));
  std::vector<InspectionRecord> out;
  for (int i = 0; i < rows.Count(); ++i) {
    if (out.empty() || out.back().task.id != rows.Text(i, 0)) {
      InspectionRecord record;
      record.task.id = rows.Text(i, 0);
      record.task.kind = rows.Text(i, 1);
      record.task.yara = rows.Int(i, 2) != 0;
      record.task.target = rows.Text(i, 3);
      record.task.created_by = rows.Text(i, 4);
      record.task.created_at = rows.Time(i, 5);
      record.task.expires_at = rows.Time(i, 6);
      out.push_back(std::move(record));
    }
    TaskAssignment a;
    a.device_id = rows.Text(i, 7);
    a.hostname = rows.Text(i, 8);
    a.state = rows.Text(i, 9);
    a.delivered_at = rows.OptionalTime(i, 10);
    a.done_at = rows.OptionalTime(i, 11);
    a.report_id = rows.Text(i, 12);
    out.back().assignments.emplace_back(std::move(a), rows.Text(i, 13));
  }
  return out;
}

}  // namespace cg::soc::pg

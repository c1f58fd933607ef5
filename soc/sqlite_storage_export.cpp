// The export outbox in SQLite: events appended in the transaction of their change, read in
// commit order by each sink from its own cursor, pruned once every sink has them.
#include "soc/sqlite_storage_export.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

namespace cg::soc::sqlite_export {

// AUTOINCREMENT: a pruned sequence number is never handed out again, so a cursor never skips
// an event. Writers are serialised (one SQLite writer), so sequence order is commit order.
const char* const kMigrationSql = R"sql(
CREATE TABLE export_outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id   TEXT NOT NULL UNIQUE,
  time       INTEGER NOT NULL,
  action     TEXT NOT NULL,
  device_id  TEXT NOT NULL,
  event      TEXT NOT NULL
);
CREATE TABLE export_cursors (
  sink           TEXT PRIMARY KEY,
  delivered_seq  INTEGER NOT NULL DEFAULT 0,
  delivered_at   INTEGER
);
ALTER TABLE devices ADD COLUMN stale_event_at INTEGER;
)sql";

namespace {

using nlohmann::json;

Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kDatabase, std::string(what) + ": " + sqlite3_errmsg(db));
}

struct Finalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A statement prepared for one use (the outbox is off the hot path but for one insert per event).
class Query {
 public:
  static Result<Query> Prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return DbError(db, "preparing an outbox statement");
    }
    return Query(db, raw);
  }
  Query& Text(int i, std::string_view v) {
    Check(sqlite3_bind_text64(stmt_.get(), i, v.data() == nullptr ? "" : v.data(), v.size(),
                              SQLITE_TRANSIENT, SQLITE_UTF8));
    return *this;
  }
  Query& Int(int i, int64_t v) {
    Check(sqlite3_bind_int64(stmt_.get(), i, v));
    return *this;
  }
  Result<bool> Step() {
    if (bind_rc_ != SQLITE_OK) {
      return DbError(db_, "binding an outbox statement");
    }
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) {
      return true;
    }
    if (rc == SQLITE_DONE) {
      return false;
    }
    return DbError(db_, "outbox statement");
  }
  Status Run() {
    CG_ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return OkStatus();
  }
  bool Null(int c) const { return sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL; }
  int64_t ColInt(int c) const { return sqlite3_column_int64(stmt_.get(), c); }
  std::string ColText(int c) const {
    const auto* t = sqlite3_column_text(stmt_.get(), c);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), c)));
  }

 private:
  Query(sqlite3* db, sqlite3_stmt* s) : db_(db), stmt_(s) {}
  void Check(int rc) {
    if (bind_rc_ == SQLITE_OK) {
      bind_rc_ = rc;
    }
  }
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
};

Status Append(sqlite3* db, const ExportEvent& e) {
  CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                             "INSERT INTO export_outbox (event_id, time, action, "
                                             "device_id, event) VALUES (?1, ?2, ?3, ?4, ?5)"));
  return q.Text(1, e.id)
      .Int(2, ToUnixSeconds(e.time))
      .Text(3, e.action)
      .Text(4, e.device_id)
      .Text(5, ToJson(e).dump(-1, ' ', false, json::error_handler_t::replace))
      .Run();
}

}  // namespace

Status RecordReportEvents(sqlite3* db, const protocol::Report& report,
                          std::string_view policy_state, SysTime received_at, bool newest,
                          const EventOptions& options) {
  {
    CG_ASSIGN_OR_RETURN(
        auto q, Query::Prepare(db,
                               "UPDATE devices SET stale_event_at = NULL WHERE device_id = ?1 "
                               "AND stale_event_at IS NOT NULL"));
    CG_RETURN_IF_ERROR(q.Text(1, report.device_id).Run());
  }
  if (!newest) {
    return OkStatus();  // an older report arriving late changes nothing the device shows
  }
  DeviceBefore before;
  int64_t latest_report = 0;
  {
    CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                               "SELECT hostname, group_name, status, policy_state, "
                                               "clock_skew, latest_report FROM devices "
                                               "WHERE device_id = ?1"));
    CG_ASSIGN_OR_RETURN(bool row, q.Text(1, report.device_id).Step());
    if (!row) {
      return OkStatus();  // the caller reports the unknown device
    }
    before.device_id = report.device_id;
    before.hostname = q.ColText(0);
    before.group = q.ColText(1);
    auto status = protocol::ParseDeviceStatus(q.ColText(2));
    before.status = status.ok() ? *status : protocol::DeviceStatus::kUnknown;
    before.policy_state = q.ColText(3);
    before.clock_skew = std::chrono::seconds(q.ColInt(4));
    latest_report = q.Null(5) ? 0 : q.ColInt(5);
  }
  if (latest_report != 0) {
    CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                               "SELECT check_id, status FROM check_results "
                                               "WHERE report = ?1"));
    q.Int(1, latest_report);
    bool yara_failed = false;
    while (true) {
      CG_ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) {
        break;
      }
      auto status = protocol::ParseCheckStatus(q.ColText(1));
      before.checks.emplace_back(q.ColText(0),
                                 status.ok() ? *status : protocol::CheckStatus::kError);
      yara_failed = yara_failed || (before.checks.back().first == "yara" &&
                                    before.checks.back().second == protocol::CheckStatus::kFail);
    }
    // The previous matches are in the stored body; read only when both reports match.
    if (yara_failed && !YaraMatchKeys(report).empty()) {
      CG_ASSIGN_OR_RETURN(auto b, Query::Prepare(db, "SELECT body FROM reports WHERE id = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, b.Int(1, latest_report).Step());
      if (row) {
        const json body = json::parse(b.ColText(0), nullptr, /*allow_exceptions=*/false);
        if (body.is_object() && body.contains("checks") && body["checks"].is_array()) {
          for (const auto& check : body["checks"]) {
            if (check.is_object() && check.value("id", "") == "yara" && check.contains("facts") &&
                check["facts"].is_object()) {
              before.yara_match_keys = YaraMatchKeys(check["facts"]);
            }
          }
        }
      }
    }
  }
  for (const ExportEvent& e :
       DeriveReportEvents(before, report, policy_state, received_at, options)) {
    CG_RETURN_IF_ERROR(Append(db, e));
  }
  return OkStatus();
}

Status RecordRevokedEvent(sqlite3* db, std::string_view device_id, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                             "SELECT hostname, group_name FROM devices "
                                             "WHERE device_id = ?1 AND revoked = 0"));
  CG_ASSIGN_OR_RETURN(bool row, q.Text(1, device_id).Step());
  if (!row) {
    return OkStatus();  // unknown (the caller says so) or revoked already
  }
  return Append(db, RevokedEvent(device_id, q.ColText(0), q.ColText(1), now));
}

Result<std::vector<OutboxEntry>> ReadOutbox(sqlite3* db, std::string_view sink, size_t limit) {
  CG_ASSIGN_OR_RETURN(
      auto q, Query::Prepare(db,
                             "SELECT seq, event FROM export_outbox WHERE seq > COALESCE("
                             "(SELECT delivered_seq FROM export_cursors WHERE sink = ?1), 0) "
                             "ORDER BY seq LIMIT ?2"));
  q.Text(1, sink).Int(2, static_cast<int64_t>(std::min<size_t>(limit, 1 << 20)));
  std::vector<OutboxEntry> out;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) {
      return out;
    }
    const json j = json::parse(q.ColText(1), nullptr, /*allow_exceptions=*/false);
    auto event = ExportEventFromJson(j);
    if (!event.ok()) {
      return MakeError(ErrorCode::kDatabase, "corrupt outbox event " + std::to_string(q.ColInt(0)) +
                                                 ": " + event.error().message);
    }
    out.push_back(OutboxEntry{q.ColInt(0), std::move(event).value()});
  }
}

Status MarkExported(sqlite3* db, std::string_view sink, int64_t seq, SysTime now) {
  CG_ASSIGN_OR_RETURN(
      auto q, Query::Prepare(db,
                             "INSERT INTO export_cursors (sink, delivered_seq, delivered_at) "
                             "VALUES (?1, ?2, ?3) ON CONFLICT (sink) DO UPDATE SET "
                             "delivered_seq = max(delivered_seq, excluded.delivered_seq), "
                             "delivered_at = excluded.delivered_at"));
  return q.Text(1, sink).Int(2, seq).Int(3, ToUnixSeconds(now)).Run();
}

Result<std::vector<ExportSinkState>> ExportStatus(sqlite3* db,
                                                  const std::vector<std::string>& sinks) {
  std::vector<ExportSinkState> out;
  for (const auto& sink : sinks) {
    ExportSinkState s;
    s.sink = sink;
    {
      CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                                 "SELECT delivered_seq, delivered_at FROM "
                                                 "export_cursors WHERE sink = ?1"));
      CG_ASSIGN_OR_RETURN(bool row, q.Text(1, sink).Step());
      if (row) {
        s.delivered_seq = q.ColInt(0);
        if (!q.Null(1)) {
          s.delivered_at = FromUnixSeconds(q.ColInt(1));
        }
      }
    }
    CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                               "SELECT count(*), min(time) FROM export_outbox "
                                               "WHERE seq > ?1"));
    CG_ASSIGN_OR_RETURN(bool row, q.Int(1, s.delivered_seq).Step());
    if (row) {
      s.pending = q.ColInt(0);
      if (!q.Null(1)) {
        s.oldest_pending = FromUnixSeconds(q.ColInt(1));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<int64_t> PruneOutbox(sqlite3* db, const std::vector<std::string>& sinks) {
  if (sinks.empty()) {
    return int64_t{0};
  }
  int64_t upto = std::numeric_limits<int64_t>::max();
  for (const auto& sink : sinks) {
    CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                               "SELECT COALESCE((SELECT delivered_seq FROM "
                                               "export_cursors WHERE sink = ?1), 0)"));
    CG_ASSIGN_OR_RETURN(bool row, q.Text(1, sink).Step());
    upto = std::min(upto, row ? q.ColInt(0) : 0);
  }
  CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db, "DELETE FROM export_outbox WHERE seq <= ?1"));
  CG_RETURN_IF_ERROR(q.Int(1, upto).Run());
  return static_cast<int64_t>(sqlite3_changes(db));
}

Result<int64_t> TrimOutbox(sqlite3* db, SysTime before, size_t batch) {
  // Oldest first by sequence (events are appended in time order), so the scan stops after
  // `batch` matches instead of reading the whole outbox.
  CG_ASSIGN_OR_RETURN(auto q, Query::Prepare(db,
                                             "DELETE FROM export_outbox WHERE seq IN (SELECT seq "
                                             "FROM export_outbox WHERE time < ?1 ORDER BY seq "
                                             "LIMIT ?2)"));
  CG_RETURN_IF_ERROR(q.Int(1, ToUnixSeconds(before))
                         .Int(2, static_cast<int64_t>(std::max<size_t>(batch, 1)))
                         .Run());
  return static_cast<int64_t>(sqlite3_changes(db));
}

Result<int64_t> RecordStaleDevices(sqlite3* db, std::span<const StaleDevice> devices, SysTime now) {
  int64_t recorded = 0;
  for (const StaleDevice& d : devices) {
    CG_ASSIGN_OR_RETURN(
        auto q, Query::Prepare(db,
                               "UPDATE devices SET stale_event_at = ?2 WHERE device_id = ?1 AND "
                               "stale_event_at IS NULL AND revoked = 0 AND "
                               "COALESCE(last_seen, enrolled_at) = ?3"));
    CG_RETURN_IF_ERROR(q.Text(1, d.device_id)
                           .Int(2, ToUnixSeconds(now))
                           .Int(3, ToUnixSeconds(d.silent_since))
                           .Run());
    if (sqlite3_changes(db) > 0) {
      CG_RETURN_IF_ERROR(Append(db, d.event));
      ++recorded;
    }
  }
  return recorded;
}

}  // namespace cg::soc::sqlite_export

// PostgreSQL backend: the export outbox (migration 9), the statements of
// soc/sqlite_storage_export.cpp in PostgreSQL's dialect.
//
// An outbox sink reads events in seq order and keeps only a cursor, so an event must never
// commit with a lower seq than one already read. PostgreSQL hands out identity values at insert
// time, not at commit, so two transactions appending at once could commit out of seq order. The
// writers that append events therefore take one transaction-level advisory lock first
// (LockOutbox, before any row lock, so it cannot deadlock with them): event-producing
// transactions commit one at a time, in seq order, on every node. Group commit keeps that to
// one lock per batch.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "soc/pg/pg_storage_internal.h"

namespace cg::soc::pg {
namespace {

using nlohmann::json;

constexpr int64_t kOutboxLockKey = 0x4347534f;  // "CGSO"

Status Append(Connection& conn, const ExportEvent& e) {
  CG_RETURN_IF_ERROR(
      conn.Query("INSERT INTO export_outbox (event_id, time, action, device_id, "
                 "event) VALUES ($1, $2, $3, $4, $5)",
                 e.id, e.time, e.action, e.device_id,
                 ToJson(e).dump(-1, ' ', false, json::error_handler_t::replace)));
  return OkStatus();
}

}  // namespace

Status LockOutbox(Connection& conn) {
  CG_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1)", kOutboxLockKey));
  return OkStatus();
}

Status RecordReportEvents(Connection& conn, const protocol::Report& report,
                          std::string_view policy_state, SysTime received_at, bool newest,
                          const EventOptions& options) {
  CG_RETURN_IF_ERROR(
      conn.Query("UPDATE devices SET stale_event_at = NULL WHERE device_id = $1 "
                 "AND stale_event_at IS NOT NULL",
                 report.device_id));
  if (!newest) {
    return OkStatus();  // an older report arriving late changes nothing the device shows
  }
  DeviceBefore before;
  int64_t latest_report = 0;
  {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT hostname, group_name, status, "
                                              "policy_state, clock_skew, latest_report FROM "
                                              "devices WHERE device_id = $1",
                                              report.device_id));
    if (rows.Count() == 0) {
      return OkStatus();  // the caller reports the unknown device
    }
    before.device_id = report.device_id;
    before.hostname = rows.Text(0, 0);
    before.group = rows.Text(0, 1);
    auto status = protocol::ParseDeviceStatus(rows.Text(0, 2));
    before.status = status.ok() ? *status : protocol::DeviceStatus::kUnknown;
    before.policy_state = rows.Text(0, 3);
    before.clock_skew = std::chrono::seconds(rows.Int(0, 4));
    latest_report = rows.IsNull(0, 5) ? 0 : rows.Int(0, 5);
  }
  if (latest_report != 0) {
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT check_id, status FROM check_results WHERE "
                                              "report = $1",
                                              latest_report));
    bool yara_failed = false;
    for (int i = 0; i < rows.Count(); ++i) {
      auto status = protocol::ParseCheckStatus(rows.Text(i, 1));
      before.checks.emplace_back(rows.Text(i, 0),
                                 status.ok() ? *status : protocol::CheckStatus::kError);
      yara_failed = yara_failed || (before.checks.back().first == "yara" &&
                                    before.checks.back().second == protocol::CheckStatus::kFail);
    }
    if (yara_failed && !YaraMatchKeys(report).empty()) {
      CG_ASSIGN_OR_RETURN(auto body,
                          conn.Query("SELECT body FROM reports WHERE id = $1", latest_report));
      if (body.Count() == 1) {
        const json j = json::parse(body.Text(0, 0), nullptr, /*allow_exceptions=*/false);
        if (j.is_object() && j.contains("checks") && j["checks"].is_array()) {
          for (const auto& check : j["checks"]) {
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
    CG_RETURN_IF_ERROR(Append(conn, e));
  }
  return OkStatus();
}

Status RecordRevokedEvent(Connection& conn, std::string_view device_id, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT hostname, group_name FROM devices WHERE "
                                            "device_id = $1 AND revoked = 0",
                                            device_id));
  if (rows.Count() == 0) {
    return OkStatus();  // unknown (the caller says so) or revoked already
  }
  return Append(conn, RevokedEvent(device_id, rows.Text(0, 0), rows.Text(0, 1), now));
}

void PgStorage::SetEventOptions(const EventOptions& options) {
  std::lock_guard lock(event_mu_);
  event_options_ = options;
}

EventOptions PgStorage::event_options() {
  std::lock_guard lock(event_mu_);
  return event_options_;
}

Result<std::vector<OutboxEntry>> PgStorage::ReadOutbox(std::string_view sink, size_t limit) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query("SELECT seq, event FROM export_outbox WHERE seq > "
                                  "COALESCE((SELECT delivered_seq FROM export_cursors "
                                  "WHERE sink = $1), 0) ORDER BY seq LIMIT $2",
                                  sink, static_cast<int64_t>(std::min<size_t>(limit, 1 << 20))));
  std::vector<OutboxEntry> out;
  for (int i = 0; i < rows.Count(); ++i) {
    const json j = json::parse(rows.Text(i, 1), nullptr, /*allow_exceptions=*/false);
    auto event = ExportEventFromJson(j);
    if (!event.ok()) {
      return MakeError(
          ErrorCode::kDatabase,
          "corrupt outbox event " + std::to_string(rows.Int(i, 0)) + ": " + event.error().message);
    }
    out.push_back(OutboxEntry{rows.Int(i, 0), std::move(event).value()});
  }
  return out;
}

Status PgStorage::MarkExported(std::string_view sink, int64_t seq, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("INSERT INTO export_cursors (sink, delivered_seq, delivered_at) "
                  "VALUES ($1, $2, $3) ON CONFLICT (sink) DO UPDATE SET "
                  "delivered_seq = GREATEST(export_cursors.delivered_seq, "
                  "excluded.delivered_seq), delivered_at = excluded.delivered_at",
                  sink, seq, now));
  return OkStatus();
}

Result<std::vector<ExportSinkState>> PgStorage::ExportStatus(
    const std::vector<std::string>& sinks) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  std::vector<ExportSinkState> out;
  for (const auto& sink : sinks) {
    ExportSinkState s;
    s.sink = sink;
    CG_ASSIGN_OR_RETURN(auto cursor, conn->Query("SELECT delivered_seq, delivered_at FROM "
                                                 "export_cursors WHERE sink = $1",
                                                 sink));
    if (cursor.Count() == 1) {
      s.delivered_seq = cursor.Int(0, 0);
      s.delivered_at = cursor.OptionalTime(0, 1);
    }
    CG_ASSIGN_OR_RETURN(auto pending, conn->Query("SELECT count(*), min(time) FROM export_outbox "
                                                  "WHERE seq > $1",
                                                  s.delivered_seq));
    if (pending.Count() == 1) {
      s.pending = pending.Int(0, 0);
      s.oldest_pending = pending.OptionalTime(0, 1);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<int64_t> PgStorage::PruneOutbox(const std::vector<std::string>& sinks) {
  if (sinks.empty()) {
    return int64_t{0};
  }
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  int64_t upto = std::numeric_limits<int64_t>::max();
  for (const auto& sink : sinks) {
    CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT COALESCE((SELECT delivered_seq FROM "
                                               "export_cursors WHERE sink = $1), 0)",
                                               sink));
    upto = std::min(upto, rows.Count() == 1 ? rows.Int(0, 0) : 0);
  }
  CG_ASSIGN_OR_RETURN(auto deleted, conn->Query("DELETE FROM export_outbox WHERE seq <= $1", upto));
  return deleted.Affected();
}

Result<int64_t> PgStorage::TrimOutbox(SysTime before, size_t batch) {
  // Oldest first by sequence (events are appended in time order), as SQLite does.
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto deleted,
                      conn->Query("DELETE FROM export_outbox WHERE seq IN (SELECT seq FROM "
                                  "export_outbox WHERE time < $1 ORDER BY seq LIMIT $2)",
                                  before, static_cast<int64_t>(std::max<size_t>(batch, 1))));
  return deleted.Affected();
}

Result<int64_t> PgStorage::RecordStaleDevices(std::span<const StaleDevice> devices, SysTime now) {
  return InTransaction([&](Connection& conn) -> Result<int64_t> {
    CG_RETURN_IF_ERROR(LockOutbox(conn));
    int64_t recorded = 0;
    for (const StaleDevice& d : devices) {
      CG_ASSIGN_OR_RETURN(auto rows,
                          conn.Query("UPDATE devices SET stale_event_at = $2 WHERE device_id = "
                                     "$1 AND stale_event_at IS NULL AND revoked = 0 AND "
                                     "COALESCE(last_seen, enrolled_at) = $3",
                                     d.device_id, now, d.silent_since));
      if (rows.Affected() > 0) {
        CG_RETURN_IF_ERROR(Append(conn, d.event));
        ++recorded;
      }
    }
    return recorded;
  });
}

}  // namespace cg::soc::pg

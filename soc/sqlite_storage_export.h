// The SQLite side of the export outbox (migration 9), shared with soc/sqlite_storage.cpp only.
// Every function runs on the writer connection with the storage's mutex held; the ones that
// record events run inside the caller's transaction, so an event commits with its change.
#pragma once

#include <sqlite3.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "soc/storage.h"

namespace cg::soc::sqlite_export {

// Migration 9: the outbox, the sinks' cursors, and the devices' recorded silence.
extern const char* const kMigrationSql;

// Before the device row changes: derives the report's events from the device's previous state
// (when the report becomes its latest) and appends them; a report also ends a recorded silence.
Status RecordReportEvents(sqlite3* db, const protocol::Report& report,
                          std::string_view policy_state, SysTime received_at, bool newest,
                          const EventOptions& options);
// Before the device is marked revoked: one event, unless it already was.
Status RecordRevokedEvent(sqlite3* db, std::string_view device_id, SysTime now);

Result<std::vector<OutboxEntry>> ReadOutbox(sqlite3* db, std::string_view sink, size_t limit);
Status MarkExported(sqlite3* db, std::string_view sink, int64_t seq, SysTime now);
Result<std::vector<ExportSinkState>> ExportStatus(sqlite3* db,
                                                  const std::vector<std::string>& sinks);
Result<int64_t> PruneOutbox(sqlite3* db, const std::vector<std::string>& sinks);
Result<int64_t> TrimOutbox(sqlite3* db, SysTime before, size_t batch);
Result<int64_t> RecordStaleDevices(sqlite3* db, std::span<const StaleDevice> devices, SysTime now);

}  // namespace cg::soc::sqlite_export

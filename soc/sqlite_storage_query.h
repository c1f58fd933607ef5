// Internal to the SQLite backend: the fleet queries (devices page, fleet summary, a report by
// id) of sqlite_storage_query.cpp, called by SqliteStorage with its connection and lock held,
// and what the two files share about the devices table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "protocol/report.h"
#include "soc/storage.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cg::soc::sqlite_query {

// Column list of ReadDeviceColumns, for "SELECT <this> FROM devices d".
#define CG_DEVICE_COLUMNS                                                                      \
  "d.device_id, d.hostname, d.machine_id, d.group_name, d.cert_serial, d.cert_not_after, "     \
  "d.enrolled_at, d.last_seen, d.status, d.policy_version, d.revoked, d.policy_hash, "         \
  "d.reenroll_allowed, d.pending_cert_serial, d.pending_cert_not_after, d.reported_hostname, " \
  "d.clock_skew, d.policy_state, d.verified_policy_version, d.verified_policy_hash, "          \
  "d.served_policy_version, d.served_policy_hash"
inline constexpr int kDeviceColumnCount = 22;

// A device from a row whose first columns are CG_DEVICE_COLUMNS (sqlite_storage.cpp).
Result<Device> ReadDeviceColumns(sqlite3_stmt* stmt);

// Schema migration 8: what the devices query filters, sorts and searches on, kept on the device
// row at ingest (the folded host name, the latest report's OS and agent version) with indexes.
extern const char* const kMigration8;

// Schema migration 11: each device's failing and error checks on its row (kept at ingest, like
// its status), so that the summary and the list read no check results; indexes for the posture
// filter and order, OS, agent and policy version, and silence (stale); and the operator tokens'
// role check admitting the scrape-only role "metrics".
extern const char* const kMigration11;
// The `failing_checks` / `error_checks` value of a device row: the latest report's check ids
// with that status, sorted, joined by ','.
std::string JoinedChecks(const protocol::Report& report, protocol::CheckStatus status);

// SQL functions the migrations use: cg_fold(text), FoldForSearch (soc/text_fold.h).
Status RegisterFunctions(sqlite3* db);

Result<DevicePage> QueryDevices(sqlite3* db, const DeviceQuery& query);
Result<std::vector<GroupSummary>> SummarizeFleet(sqlite3* db, const FleetSummaryQuery& query);
Result<ReportRecord> GetReport(sqlite3* db, std::string_view report_id);

}  // namespace cg::soc::sqlite_query

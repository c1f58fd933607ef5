// The SQLite side of the status history, retention and generated-report records (schema
// migration 7). Internal to the SQLite backend: sqlite_storage.cpp calls it with its own
// connection and lock held, and opens a HistoryReader for the long read-only queries.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "protocol/report.h"
#include "soc/history.h"
#include "soc/storage.h"

namespace cg::soc::sqlite_history {

// Schema migration 7 (status_intervals, enforcement_changes, reporting_gaps, generated_reports,
// retention indexes, the audit log's one-year floor); BackfillIfPending fills the history from
// the stored reports afterwards.
extern const char* const kMigration7;

// Prepared statements of one connection, each prepared on first use.
class Statements {
 public:
  explicit Statements(sqlite3* db) : db_(db) {}
  ~Statements();
  Statements(const Statements&) = delete;
  Statements& operator=(const Statements&) = delete;
  // Reset and unbound, ready to bind; kDatabase when the SQL does not prepare.
  Result<sqlite3_stmt*> Get(const char* sql);
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// The writer side, used with the backend's write lock held.
class HistoryWriter {
 public:
  explicit HistoryWriter(sqlite3* db) : statements_(db) {}

  // Inside StoreReport's transaction, after the report's rows are inserted (row id `row_id`)
  // and before the device row is updated: updates the device's intervals, gaps and enforcement
  // changes. A report arriving in the middle of the device's timeline (an earlier received_at
  // than a stored one) re-applies the reports after it, so the result never depends on the
  // order in which reports were stored.
  Status OnReportStored(const protocol::Report& report, int64_t row_id, SysTime received_at);
  // Fills the history from the stored reports once after migration 7 (a marker row says it is
  // pending; it is removed in the same transaction as the filled history).
  Status BackfillIfPending();

  Result<size_t> DeleteReportsBefore(SysTime cutoff, size_t batch);
  Result<size_t> DeleteHistoryBefore(SysTime cutoff, size_t batch);
  Result<size_t> DeleteAuditBefore(SysTime cutoff, size_t batch);
  Status RecordGeneratedReport(const GeneratedReport& report);

 private:
  struct Arrival {
    int64_t row_id;
    std::string report_id;
    SysTime received_at;
  };
  Status Apply(const std::string& device_id, const Arrival& arrival,
               const std::vector<Observation>& observations);
  Status RecordEnforcement(const protocol::Report& report, SysTime received_at);
  Status RecordGap(const std::string& device_id, std::optional<SysTime> before, SysTime at,
                   std::optional<SysTime> after);
  // Re-applies every stored report of the device with received_at after `after`.
  Status Replay(const std::string& device_id, SysTime after);

  Statements statements_;
};

// Read-only queries on a connection of their own, so that a long report does not hold up
// ingest or the agents' handshakes.
class HistoryReader {
 public:
  static Result<std::unique_ptr<HistoryReader>> Open(const std::string& path);

  Result<std::vector<StatusInterval>> StatusIntervals(const HistoryQuery& query);
  Result<std::vector<EnforcementChange>> EnforcementChanges(const HistoryQuery& query);
  Result<std::vector<ReportingGap>> ReportingGaps(const HistoryQuery& query);
  Result<std::vector<InspectionRecord>> InspectionRecords(const HistoryQuery& query);
  Result<std::vector<GeneratedReport>> FindGeneratedReports(std::string_view digest);
  Result<GeneratedReport> GetGeneratedReport(std::string_view id);

 private:
  struct DbCloser {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  explicit HistoryReader(sqlite3* db) : db_(db), statements_(db) {}
  std::unique_ptr<sqlite3, DbCloser> db_;
  std::mutex mu_;
  Statements statements_;  // declared after db_: finalised first
};

}  // namespace cg::soc::sqlite_history

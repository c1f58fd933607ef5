// PgStorage's declaration, shared by its files: pg_storage.cpp (tokens, devices, certificates,
// conflicts, audit, opening), pg_storage_reports.cpp (reports, policies, tasks, retention).
//
// How SQLite's single-writer sequences are made safe with several writers (several nodes):
// - a read-then-write on one row (token consumption, conflict resolution) locks the row with
//   SELECT ... FOR UPDATE, or is one conditional UPDATE whose affected-row count decides;
// - a report locks its device row (FOR UPDATE) before it reads which report is the latest, so
//   two nodes storing reports of one device queue on that row;
// - unique keys decide the rest (ON CONFLICT DO NOTHING and a re-read: report ids, policy
//   versions), and a unique violation (23505) is kAlreadyExists as on SQLite;
// - each write transaction is run again, up to pg::kMaxAttempts times, when PostgreSQL ends it
//   with a serialization failure (40001) or a deadlock (40P01).
#pragma once

#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "soc/pg/pg.h"
#include "soc/storage.h"

namespace cg::soc::pg {

class PgStorage final : public Storage {
 public:
  explicit PgStorage(std::string uri);
  Status Initialise(bool create);

  Status CreateOperatorToken(const OperatorToken& token) override;
  Result<OperatorToken> FindOperatorTokenByHash(std::string_view token_hash) override;
  Status CreateEnrollmentToken(const EnrollmentToken& token) override;
  Result<EnrollmentToken> FindEnrollmentTokenByHash(std::string_view token_hash) override;
  Result<EnrollmentToken> ConsumeEnrollmentToken(std::string_view token_hash, SysTime now) override;
  Status AddDevice(const Device& device) override;
  Status AddEnrolledDevice(const Device& device) override;  // pg_storage_cluster.cpp
  Result<Device> GetDevice(std::string_view device_id) override;
  Result<std::vector<Device>> ListDevices(const DeviceFilter& filter) override;
  Status RevokeDevice(std::string_view device_id, SysTime now) override;
  Result<bool> StoreReport(const protocol::Report& report, std::string_view body_json,
                           SysTime received_at, std::string_view policy_state) override;
  std::vector<Result<bool>> StoreReports(std::span<const ReportToStore> reports) override;
  Result<std::optional<StoredReport>> LatestReport(std::string_view device_id) override;
  Result<std::vector<StoredReport>> ReportHistory(std::string_view device_id,
                                                  size_t limit) override;
  Result<bool> AddPolicy(const StoredPolicy& policy) override;
  Result<std::vector<StoredPolicy>> ListPolicies() override;
  Status RecordPolicyServed(std::string_view device_id, int64_t version,
                            std::string_view hash) override;
  Status CreateTask(const Task& task, const std::vector<std::string>& device_ids) override;
  Result<std::vector<Task>> TakeTasks(std::string_view device_id, SysTime now) override;
  Result<std::vector<Task>> ListTasks(size_t limit) override;
  Result<std::pair<Task, std::vector<TaskAssignment>>> GetTask(std::string_view id) override;
  Result<std::vector<OperatorToken>> ListOperatorTokens() override;
  Status RevokeOperatorToken(std::string_view id) override;
  Status TouchOperatorToken(std::string_view id, SysTime now) override;
  Result<std::vector<EnrollmentToken>> ListEnrollmentTokens() override;
  Status RevokeEnrollmentToken(std::string_view id) override;
  Result<std::vector<Device>> FindDevicesByMachine(std::string_view machine_id,
                                                   std::string_view hostname) override;
  Status ReplaceDeviceCertificate(std::string_view device_id, std::string_view expected_serial,
                                  std::string_view new_serial, SysTime new_not_after,
                                  std::string_view group, bool reenroll, SysTime now) override;
  Status OfferRenewedCertificate(std::string_view device_id, std::string_view current_serial,
                                 std::string_view new_serial, SysTime new_not_after,
                                 SysTime now) override;
  Status AllowReenroll(std::string_view device_id, SysTime now) override;
  Status ResolveEnrollmentConflict(int64_t id, std::string_view resolved_by, SysTime now) override;
  Status AddEnrollmentConflict(const EnrollmentConflict& conflict) override;
  Result<std::vector<EnrollmentConflict>> ListEnrollmentConflicts(bool include_resolved) override;
  Result<std::vector<RevokedCertificate>> ListRevokedCertificates(SysTime now) override;
  Result<int64_t> NextCrlNumber(SysTime now) override;  // pg_storage_cluster.cpp

  void SetEventOptions(const EventOptions& options) override;
  Result<std::vector<OutboxEntry>> ReadOutbox(std::string_view sink, size_t limit) override;
  Status MarkExported(std::string_view sink, int64_t seq, SysTime now) override;
  Result<std::vector<ExportSinkState>> ExportStatus(const std::vector<std::string>& sinks) override;
  Result<int64_t> PruneOutbox(const std::vector<std::string>& sinks) override;
  Result<int64_t> TrimOutbox(SysTime before, size_t batch) override;
  Result<int64_t> RecordStaleDevices(std::span<const StaleDevice> devices, SysTime now) override;
  Result<std::vector<StatusInterval>> StatusIntervals(const HistoryQuery& query) override;
  Result<std::vector<EnforcementChange>> EnforcementChanges(const HistoryQuery& query) override;
  Result<std::vector<ReportingGap>> ReportingGaps(const HistoryQuery& query) override;
  Result<std::vector<InspectionRecord>> InspectionRecords(const HistoryQuery& query) override;
  Result<size_t> DeleteReportsBefore(SysTime cutoff, size_t batch) override;
  Result<size_t> DeleteHistoryBefore(SysTime cutoff, size_t batch) override;
  Result<size_t> DeleteAuditBefore(SysTime cutoff, size_t batch) override;
  Status RecordGeneratedReport(const GeneratedReport& report) override;
  Result<std::vector<GeneratedReport>> FindGeneratedReports(std::string_view digest) override;
  Result<GeneratedReport> GetGeneratedReport(std::string_view id) override;
  Result<DevicePage> QueryDevices(const DeviceQuery& query) override;
  Result<std::vector<GroupSummary>> SummarizeFleet(const FleetSummaryQuery& query) override;
  Result<ReportRecord> GetReport(std::string_view report_id) override;
  Result<std::vector<std::string>> ListDeviceGroups() override;
  Status AppendAudit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> ListAudit(size_t limit) override;
  Status SetGroupDisplayName(const GroupDisplayName& name) override;
  Result<bool> ClearGroupDisplayName(std::string_view group) override;
  Result<std::vector<GroupDisplayName>> ListGroupDisplayNames() override;

 private:
  // Runs `work(conn)` in a transaction on a pooled connection and commits; runs it again on a
  // serialization failure or deadlock. `work` returns a Result (or Status).
  template <typename Work>
  auto InTransaction(Work&& work) -> decltype(work(std::declval<Connection&>()));

  Result<bool> StoreReportIn(Connection& conn, const protocol::Report& report,
                             std::string_view body_json, SysTime received_at,
                             std::string_view policy_state);

  EventOptions event_options();

  Pool pool_;
  std::string where_;  // the redacted URI, for messages
  std::mutex event_mu_;
  EventOptions event_options_;  // guarded by event_mu_
};

template <typename Work>
auto PgStorage::InTransaction(Work&& work) -> decltype(work(std::declval<Connection&>())) {
  return RunTransaction(pool_, std::forward<Work>(work));
}

// The export outbox's writers (pg_storage_export.cpp). LockOutbox comes first in every
// transaction that appends events, before any row lock.
Status LockOutbox(Connection& conn);
Status RecordReportEvents(Connection& conn, const protocol::Report& report,
                          std::string_view policy_state, SysTime received_at, bool newest,
                          const EventOptions& options);
Status RecordRevokedEvent(Connection& conn, std::string_view device_id, SysTime now);

// The status history of a stored report (pg_history.cpp), in StoreReport's transaction with the
// device row locked, after the report's rows are inserted (row id `row_id`).
Status RecordHistory(Connection& conn, const protocol::Report& report, int64_t row_id,
                     SysTime received_at);

// Reading a device row of CG_DEVICE_COLUMNS (soc/sqlite_storage_query.h) at `first`.
Result<Device> ReadDevice(const Rows& rows, int row, int first = 0);
Result<protocol::DeviceStatus> StatusColumn(const std::string& text);

}  // namespace cg::soc::pg

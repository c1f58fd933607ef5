// Test helper: a Storage that forwards every call to a real backend. Test doubles derive from it
// and override only what they change (a failing audit log, a gated group commit), so a new
// Storage method is forwarded in one place.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "soc/storage.h"

namespace cg::testing {

class ForwardingStorage : public soc::Storage {
 public:
  explicit ForwardingStorage(soc::Storage& real) : real_(real) {}

  Status CreateOperatorToken(const soc::OperatorToken& t) override {
    return real_.CreateOperatorToken(t);
  }
  Result<soc::OperatorToken> FindOperatorTokenByHash(std::string_view h) override {
    return real_.FindOperatorTokenByHash(h);
  }
  Status CreateEnrollmentToken(const soc::EnrollmentToken& t) override {
    return real_.CreateEnrollmentToken(t);
  }
  Result<soc::EnrollmentToken> FindEnrollmentTokenByHash(std::string_view h) override {
    return real_.FindEnrollmentTokenByHash(h);
  }
  Result<soc::EnrollmentToken> ConsumeEnrollmentToken(std::string_view h, SysTime now) override {
    return real_.ConsumeEnrollmentToken(h, now);
  }
  Status AddDevice(const soc::Device& d) override { return real_.AddDevice(d); }
  Status AddEnrolledDevice(const soc::Device& d) override { return real_.AddEnrolledDevice(d); }
  Result<int64_t> NextCrlNumber(SysTime now) override { return real_.NextCrlNumber(now); }
  Result<soc::Device> GetDevice(std::string_view id) override { return real_.GetDevice(id); }
  Result<std::vector<soc::Device>> ListDevices(const soc::DeviceFilter& f) override {
    return real_.ListDevices(f);
  }
  Status RevokeDevice(std::string_view id, SysTime now) override {
    return real_.RevokeDevice(id, now);
  }
  Result<bool> StoreReport(const protocol::Report& r, std::string_view body, SysTime received_at,
                           std::string_view policy_state) override {
    return real_.StoreReport(r, body, received_at, policy_state);
  }
  std::vector<Result<bool>> StoreReports(std::span<const soc::ReportToStore> reports) override {
    return real_.StoreReports(reports);
  }
  Result<std::optional<soc::StoredReport>> LatestReport(std::string_view id) override {
    return real_.LatestReport(id);
  }
  Result<std::vector<soc::StoredReport>> ReportHistory(std::string_view id, size_t limit) override {
    return real_.ReportHistory(id, limit);
  }
  Result<bool> AddPolicy(const soc::StoredPolicy& p) override { return real_.AddPolicy(p); }
  Result<std::vector<soc::StoredPolicy>> ListPolicies() override { return real_.ListPolicies(); }
  Status RecordPolicyServed(std::string_view id, int64_t version, std::string_view hash) override {
    return real_.RecordPolicyServed(id, version, hash);
  }
  Status CreateTask(const soc::Task& t, const std::vector<std::string>& ids) override {
    return real_.CreateTask(t, ids);
  }
  Result<std::vector<soc::Task>> TakeTasks(std::string_view id, SysTime now) override {
    return real_.TakeTasks(id, now);
  }
  Result<std::vector<soc::Task>> ListTasks(size_t limit) override { return real_.ListTasks(limit); }
  Result<std::pair<soc::Task, std::vector<soc::TaskAssignment>>> GetTask(
      std::string_view id) override {
    return real_.GetTask(id);
  }
  Result<std::vector<soc::OperatorToken>> ListOperatorTokens() override {
    return real_.ListOperatorTokens();
  }
  Status RevokeOperatorToken(std::string_view id) override { return real_.RevokeOperatorToken(id); }
  Status TouchOperatorToken(std::string_view id, SysTime now) override {
    return real_.TouchOperatorToken(id, now);
  }
  Result<std::vector<soc::EnrollmentToken>> ListEnrollmentTokens() override {
    return real_.ListEnrollmentTokens();
  }
  Status RevokeEnrollmentToken(std::string_view id) override {
    return real_.RevokeEnrollmentToken(id);
  }
  Result<std::vector<soc::Device>> FindDevicesByMachine(std::string_view machine_id,
                                                        std::string_view hostname) override {
    return real_.FindDevicesByMachine(machine_id, hostname);
  }
  Status ReplaceDeviceCertificate(std::string_view device_id, std::string_view expected_serial,
                                  std::string_view new_serial, SysTime new_not_after,
                                  std::string_view group, bool reenroll, SysTime now) override {
    return real_.ReplaceDeviceCertificate(device_id, expected_serial, new_serial, new_not_after,
                                          group, reenroll, now);
  }
  Status OfferRenewedCertificate(std::string_view device_id, std::string_view current_serial,
                                 std::string_view new_serial, SysTime new_not_after,
                                 SysTime now) override {
    return real_.OfferRenewedCertificate(device_id, current_serial, new_serial, new_not_after, now);
  }
  Status AllowReenroll(std::string_view device_id, SysTime now) override {
    return real_.AllowReenroll(device_id, now);
  }
  Status ResolveEnrollmentConflict(int64_t id, std::string_view by, SysTime now) override {
    return real_.ResolveEnrollmentConflict(id, by, now);
  }
  Status AddEnrollmentConflict(const soc::EnrollmentConflict& c) override {
    return real_.AddEnrollmentConflict(c);
  }
  Result<std::vector<soc::EnrollmentConflict>> ListEnrollmentConflicts(
      bool include_resolved) override {
    return real_.ListEnrollmentConflicts(include_resolved);
  }
  Result<std::vector<soc::RevokedCertificate>> ListRevokedCertificates(SysTime now) override {
    return real_.ListRevokedCertificates(now);
  }
  void SetEventOptions(const soc::EventOptions& o) override { real_.SetEventOptions(o); }
  Result<std::vector<soc::OutboxEntry>> ReadOutbox(std::string_view sink, size_t limit) override {
    return real_.ReadOutbox(sink, limit);
  }
  Status MarkExported(std::string_view sink, int64_t seq, SysTime now) override {
    return real_.MarkExported(sink, seq, now);
  }
  Result<std::vector<soc::ExportSinkState>> ExportStatus(
      const std::vector<std::string>& sinks) override {
    return real_.ExportStatus(sinks);
  }
  Result<int64_t> PruneOutbox(const std::vector<std::string>& sinks) override {
    return real_.PruneOutbox(sinks);
  }
  Result<int64_t> TrimOutbox(SysTime before, size_t batch) override {
    return real_.TrimOutbox(before, batch);
  }
  Result<int64_t> RecordStaleDevices(std::span<const soc::StaleDevice> devices,
                                     SysTime now) override {
    return real_.RecordStaleDevices(devices, now);
  }
  Result<std::vector<soc::StatusInterval>> StatusIntervals(const soc::HistoryQuery& q) override {
    return real_.StatusIntervals(q);
  }
  Result<std::vector<soc::EnforcementChange>> EnforcementChanges(
      const soc::HistoryQuery& q) override {
    return real_.EnforcementChanges(q);
  }
  Result<std::vector<soc::ReportingGap>> ReportingGaps(const soc::HistoryQuery& q) override {
    return real_.ReportingGaps(q);
  }
  Result<std::vector<soc::InspectionRecord>> InspectionRecords(
      const soc::HistoryQuery& q) override {
    return real_.InspectionRecords(q);
  }
  Result<size_t> DeleteReportsBefore(SysTime cutoff, size_t batch) override {
    return real_.DeleteReportsBefore(cutoff, batch);
  }
  Result<size_t> DeleteHistoryBefore(SysTime cutoff, size_t batch) override {
    return real_.DeleteHistoryBefore(cutoff, batch);
  }
  Result<size_t> DeleteAuditBefore(SysTime cutoff, size_t batch) override {
    return real_.DeleteAuditBefore(cutoff, batch);
  }
  Status RecordGeneratedReport(const soc::GeneratedReport& r) override {
    return real_.RecordGeneratedReport(r);
  }
  Result<std::vector<soc::GeneratedReport>> FindGeneratedReports(std::string_view d) override {
    return real_.FindGeneratedReports(d);
  }
  Result<soc::GeneratedReport> GetGeneratedReport(std::string_view id) override {
    return real_.GetGeneratedReport(id);
  }
  Result<soc::DevicePage> QueryDevices(const soc::DeviceQuery& q) override {
    return real_.QueryDevices(q);
  }
  Result<std::vector<soc::GroupSummary>> SummarizeFleet(const soc::FleetSummaryQuery& q) override {
    return real_.SummarizeFleet(q);
  }
  Result<soc::ReportRecord> GetReport(std::string_view id) override { return real_.GetReport(id); }
  Result<std::vector<std::string>> ListDeviceGroups() override { return real_.ListDeviceGroups(); }
  Status SetGroupDisplayName(const soc::GroupDisplayName& name) override {
    return real_.SetGroupDisplayName(name);
  }
  Result<bool> ClearGroupDisplayName(std::string_view group) override {
    return real_.ClearGroupDisplayName(group);
  }
  Result<std::vector<soc::GroupDisplayName>> ListGroupDisplayNames() override {
    return real_.ListGroupDisplayNames();
  }
  Status AppendAudit(const soc::AuditEntry& e) override { return real_.AppendAudit(e); }
  Result<std::vector<soc::AuditEntry>> ListAudit(size_t limit) override {
    return real_.ListAudit(limit);
  }

 protected:
  soc::Storage& real_;
};

}  // namespace cg::testing

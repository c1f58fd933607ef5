// Test helper: a Storage that forwards every call to a real backend, except that group commits
// (StoreReports) wait at a gate the test opens, and their batch sizes are recorded. Lets a test
// hold the ingest writer inside a commit deterministically, without timing.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "soc/storage.h"

namespace cg::testing {

class GatedStorage : public soc::Storage {
 public:
  explicit GatedStorage(soc::Storage& real) : real_(real) {}

  // Closed: StoreReports waits (after announcing that it entered) until Open().
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  // Blocks until `n` calls to StoreReports have begun.
  void WaitForCommits(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<size_t> BatchSizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }

  std::vector<Result<bool>> StoreReports(std::span<const soc::ReportToStore> reports) override {
    {
      std::unique_lock lock(mu_);
      ++entered_;
      batch_sizes_.push_back(reports.size());
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return real_.StoreReports(reports);
  }

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
  Result<soc::Device> GetDevice(std::string_view id) override { return real_.GetDevice(id); }
  Result<std::vector<soc::Device>> ListDevices(const soc::DeviceFilter& f) override {
    return real_.ListDevices(f);
  }
  Status RevokeDevice(std::string_view id) override { return real_.RevokeDevice(id); }
  Result<bool> StoreReport(const protocol::Report& r, std::string_view body,
                           SysTime received_at) override {
    return real_.StoreReport(r, body, received_at);
  }
  Result<std::optional<soc::StoredReport>> LatestReport(std::string_view id) override {
    return real_.LatestReport(id);
  }
  Result<std::vector<soc::StoredReport>> ReportHistory(std::string_view id, size_t limit) override {
    return real_.ReportHistory(id, limit);
  }
  Status AppendAudit(const soc::AuditEntry& e) override { return real_.AppendAudit(e); }
  Result<std::vector<soc::AuditEntry>> ListAudit(size_t limit) override {
    return real_.ListAudit(limit);
  }

 private:
  soc::Storage& real_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  size_t entered_ = 0;
  std::vector<size_t> batch_sizes_;
};

}  // namespace cg::testing

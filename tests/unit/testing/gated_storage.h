// Test helper: a Storage that forwards every call to a real backend, except that group commits
// (StoreReports) wait at a gate the test opens, and their batch sizes are recorded. Lets a test
// hold the ingest writer inside a commit deterministically, without timing.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "soc/storage.h"
#include "tests/unit/testing/forwarding_storage.h"

namespace cg::testing {

class GatedStorage : public ForwardingStorage {
 public:
  explicit GatedStorage(soc::Storage& real) : ForwardingStorage(real) {}

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

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  size_t entered_ = 0;
  std::vector<size_t> batch_sizes_;
};

}  // namespace cg::testing

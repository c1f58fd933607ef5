// The ingest writer thread: takes the whole queue (up to max_batch) at once and group-commits it.
#include "soc/ingest_writer.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "soc/metrics.h"

namespace cg::soc {

IngestWriter::IngestWriter(Storage& storage, Options options)
    : storage_(storage), options_(options) {
  if (options_.max_batch == 0) {
    options_.max_batch = 1;
  }
  thread_ = std::thread([this] { Loop(); });
}

IngestWriter::~IngestWriter() { Stop(); }

bool IngestWriter::TrySubmit(std::vector<IngestItem> items) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() + items.size() > options_.max_queue) {
      return false;
    }
    for (auto& item : items) {
      queue_.push_back(std::move(item));
    }
  }
  cv_.notify_one();
  return true;
}

void IngestWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

bool IngestWriter::Running() const {
  std::lock_guard lock(mu_);
  return !stopping_ && thread_.joinable();
}

size_t IngestWriter::QueueDepth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

bool IngestWriter::Busy() const {
  std::lock_guard lock(mu_);
  return writing_ || !queue_.empty();
}

void IngestWriter::Loop() {
  for (;;) {
    std::vector<IngestItem> batch;
    {
      std::unique_lock lock(mu_);
      writing_ = false;
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and everything queued has been stored
      }
      const size_t n = std::min(queue_.size(), options_.max_batch);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_ = true;
    }
    std::vector<ReportToStore> rows;
    rows.reserve(batch.size());
    for (const auto& item : batch) {
      rows.push_back(
          ReportToStore{&item.report, item.body_json, item.received_at, item.policy_state});
    }
    std::vector<Result<bool>> results = storage_.StoreReports(rows);
    if (results.size() != batch.size()) {
      results.assign(batch.size(), Result<bool>(MakeError(ErrorCode::kInternal,
                                                          "storage answered for the wrong "
                                                          "number of reports")));
    }
    spdlog::debug("ingest: committed a batch of {} report(s)", batch.size());
    const auto committed = std::chrono::steady_clock::now();
    for (const auto& item : batch) {
      Metrics().ingest_latency.Observe(committed - item.arrived);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!batch[i].done) {
        continue;
      }
      // A callback that throws is a bug; the others of the batch must still be answered.
      try {
        batch[i].done(std::move(results[i]));
      } catch (const std::exception& e) {
        spdlog::error("ingest: report callback threw: {}", e.what());
      }
    }
  }
}

}  // namespace cg::soc

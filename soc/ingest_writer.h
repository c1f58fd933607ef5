// Group commit for report ingest: a bounded queue between the network threads and one writer
// thread that stores whatever has queued up in one transaction (Storage::StoreReports), so the
// SOC pays one durable commit per batch instead of one per report. Each report's callback runs
// after its batch committed (commit before acknowledge). A full queue refuses at once: the
// caller answers 503 with Retry-After instead of buffering without limit.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"
#include "soc/storage.h"

namespace cg::soc {

struct IngestItem {
  protocol::Report report;
  std::string body_json;
  SysTime received_at;
  // Called once, on the writer thread, with StoreReport's result for this report.
  std::function<void(Result<bool>)> done;
  // The SOC's verdict on the report's policy (ReportToStore::policy_state).
  std::string policy_state = {};
  // When the request arrived, for the ingest latency histogram (soc/metrics.h).
  std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();
};

class IngestWriter {
 public:
  struct Options {
    size_t max_queue = 4096;  // reports waiting for the writer
    size_t max_batch = 512;   // reports per transaction
  };

  // `storage` must outlive the writer. Starts the writer thread.
  IngestWriter(Storage& storage, Options options);
  ~IngestWriter();  // Stop()
  IngestWriter(const IngestWriter&) = delete;
  IngestWriter& operator=(const IngestWriter&) = delete;

  // Queues every item, or none when they do not all fit (or the writer is stopping): false,
  // and no callback will run. A request's reports are thus committed together or refused.
  bool TrySubmit(std::vector<IngestItem> items);

  // Stores what is queued, then ends the writer thread. Idempotent.
  void Stop();

  size_t QueueDepth() const;
  // Reports are queued or being stored: retention gives way (soc/retention.h).
  bool Busy() const;
  // The writer thread takes reports (false once Stop() was called): /readyz.
  bool Running() const;
  const Options& options() const { return options_; }

 private:
  void Loop();

  Storage& storage_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IngestItem> queue_;
  bool stopping_ = false;
  bool writing_ = false;  // a batch taken from the queue is being stored
  std::thread thread_;
};

}  // namespace cg::soc

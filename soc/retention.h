// Retention: raw reports are deleted after `reports` (default 90 days), status history and the
// audit log after years. Deletion runs in small batches (one short transaction each, with a
// pause between them), so that ingest waits for one batch at most, and gives way to ingest: no
// batch starts while the ingest writer has work, unless retention has waited long enough to
// keep its share of the writer near busy_duty_percent (or max_yield). A device's latest report is
// never deleted, nor an audit entry younger than a year (the schema refuses it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/storage.h"

namespace cg::soc {

struct RetentionOptions {
  std::chrono::seconds reports{90LL * 86400};
  std::chrono::seconds history{5LL * 365 * 86400};
  std::chrono::seconds audit{5LL * 365 * 86400};
  size_t batch = 100;                   // rows per transaction
  std::chrono::milliseconds pause{20};  // between two batches, at least
  // The share of the time one pass may hold the database's write lock: after a batch that took
  // T, the runner waits at least T * (100 - duty) / duty, so ingest keeps the rest.
  int duty_percent = 10;
  // While the ingest writer is busy (SetIngestBusy), the next batch waits for it to be idle,
  // re-checking every `pause`, after the wait that duty_percent asks, for at most
  // T * (100 - busy_duty) / busy_duty (T: the previous batch's time), and never longer than
  // max_yield: under ingest that never stops, retention takes about busy_duty_percent of the
  // writer and still deletes a batch every max_yield + 10 T at least, so a backlog cannot grow
  // forever (docs/performance.md: the progress measured under load).
  int busy_duty_percent = 1;
  std::chrono::milliseconds max_yield{5000};
  std::chrono::seconds interval{3600};  // between two passes
};
// The shortest retention the SOC accepts for each kind.
inline constexpr std::chrono::seconds kMinReportRetention{86400};
inline constexpr std::chrono::seconds kMinHistoryRetention{365LL * 86400};
inline constexpr std::chrono::seconds kMinAuditRetention{366LL * 86400};

// kInvalidArgument when a retention is shorter than its minimum or the batch is 0.
Status ValidateRetention(const RetentionOptions& options);

class RetentionRunner {
 public:
  struct Counts {
    size_t reports = 0;
    size_t history = 0;
    size_t audit = 0;
    size_t batches = 0;
    // The time spent in batches (the database's writer held), and waiting for ingest.
    std::chrono::microseconds held{0};
    std::chrono::microseconds yielded{0};
  };
  // `storage` must outlive the runner; `now` is the only clock it reads.
  RetentionRunner(Storage& storage, std::function<SysTime()> now, RetentionOptions options);
  ~RetentionRunner();  // Stop()
  RetentionRunner(const RetentionRunner&) = delete;
  RetentionRunner& operator=(const RetentionRunner&) = delete;

  // Says whether ingest has work now (IngestWriter::Busy); without it, the runner only paces
  // itself by duty_percent. Call before Start.
  void SetIngestBusy(std::function<bool()> busy) { ingest_busy_ = std::move(busy); }

  // One pass, on the calling thread: batches until nothing is left to delete (or Stop).
  Result<Counts> RunOnce();
  // A pass now and then every options.interval, on a thread of its own, until Stop.
  void Start();
  void Stop();

 private:
  // Waits `d` unless stopped meanwhile; false when stopped.
  bool Sleep(std::chrono::milliseconds d);
  // Before a batch: waits while ingest is busy, at most the limit above (`took`: the previous
  // batch's time, 0 before the first); false when stopped.
  bool YieldToIngest(Counts& counts, std::chrono::steady_clock::duration took);

  Storage& storage_;
  std::function<SysTime()> now_;
  RetentionOptions options_;
  std::function<bool()> ingest_busy_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cg::soc

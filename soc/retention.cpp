// The retention pass: reports, then history, then audit, each in batches with pauses between.
#include "soc/retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cg::soc {

Status ValidateRetention(const RetentionOptions& o) {
  auto days = [](std::chrono::seconds s) { return std::to_string(s.count() / 86400) + "d"; };
  if (o.reports < kMinReportRetention) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "reports are kept at least " + days(kMinReportRetention));
  }
  if (o.history < kMinHistoryRetention) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "status history is kept at least " + days(kMinHistoryRetention));
  }
  if (o.audit < kMinAuditRetention) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the audit log is kept at least " + days(kMinAuditRetention));
  }
  if (o.batch == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "the retention batch must be at least 1 row");
  }
  return OkStatus();
}

RetentionRunner::RetentionRunner(Storage& storage, std::function<SysTime()> now,
                                 RetentionOptions options)
    : storage_(storage), now_(std::move(now)), options_(options) {
  if (options_.batch == 0) {
    options_.batch = 1;
  }
}

RetentionRunner::~RetentionRunner() { Stop(); }

bool RetentionRunner::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

bool RetentionRunner::YieldToIngest(Counts& counts, std::chrono::steady_clock::duration took) {
  if (!ingest_busy_) {
    return true;
  }
  const auto started = std::chrono::steady_clock::now();
  const auto step = std::max(options_.pause, std::chrono::milliseconds(1));
  const int busy_duty = std::clamp(options_.busy_duty_percent, 1, 100);
  // `took` includes the wait for the writer (a group commit of ingest can hold it for a few
  // hundred ms), so it can be many times the batch's own cost: max_yield bounds the wait, and
  // with it how slowly a pass may progress under ingest that never stops.
  const std::chrono::steady_clock::duration limit =
      took == std::chrono::steady_clock::duration::zero()
          ? std::chrono::steady_clock::duration(options_.max_yield)
          : std::min<std::chrono::steady_clock::duration>(options_.max_yield,
                                                          took * (100 - busy_duty) / busy_duty);
  bool running = true;
  while (running && ingest_busy_() && std::chrono::steady_clock::now() - started < limit) {
    running = Sleep(step);
  }
  counts.yielded += std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  return running;
}

Result<RetentionRunner::Counts> RetentionRunner::RunOnce() {
  Counts counts;
  const SysTime now = now_();
  struct Kind {
    std::function<Result<size_t>(SysTime, size_t)> remove;
    SysTime cutoff;
    size_t* count;
  };
  const Kind kinds[] = {
      {[&](SysTime c, size_t n) { return storage_.DeleteReportsBefore(c, n); },
       now - options_.reports, &counts.reports},
      {[&](SysTime c, size_t n) { return storage_.DeleteHistoryBefore(c, n); },
       now - options_.history, &counts.history},
      {[&](SysTime c, size_t n) { return storage_.DeleteAuditBefore(c, n); }, now - options_.audit,
       &counts.audit},
  };
  std::chrono::steady_clock::duration last_took{0};
  for (const Kind& kind : kinds) {
    while (true) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) {
          return counts;
        }
      }
      if (!YieldToIngest(counts, last_took)) {
        return counts;
      }
      const auto started = std::chrono::steady_clock::now();
      CG_ASSIGN_OR_RETURN(size_t deleted, kind.remove(kind.cutoff, options_.batch));
      const auto elapsed = std::chrono::steady_clock::now() - started;
      last_took = elapsed;
      const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
      ++counts.batches;
      counts.held += std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
      *kind.count += deleted;
      if (deleted < options_.batch) {
        break;
      }
      // Let the ingest writer in between two batches, for most of the time.
      const int duty = std::clamp(options_.duty_percent, 1, 100);
      if (!Sleep(std::max(options_.pause, took * (100 - duty) / duty))) {
        return counts;
      }
    }
  }
  return counts;
}

void RetentionRunner::Start() {
  thread_ = std::thread([this] {
    do {
      auto counts = RunOnce();
      if (!counts.ok()) {
        spdlog::error("retention pass failed (retried at the next pass): {}",
                      counts.error().ToString());
      } else if (counts->reports + counts->history + counts->audit > 0) {
        spdlog::info(
            "retention: deleted {} reports, {} history rows, {} audit entries in {} "
            "batches ({} ms holding the database's writer, {} ms giving way to ingest)",
            counts->reports, counts->history, counts->audit, counts->batches,
            counts->held.count() / 1000, counts->yielded.count() / 1000);
      }
    } while (Sleep(std::chrono::duration_cast<std::chrono::milliseconds>(options_.interval)));
  });
}

void RetentionRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace cg::soc

// Delivery of the spool to the SOC: one persistent mTLS connection, reports in batches
// (POST /v1/reports/batch, docs/protocol.md), exponential backoff with full jitter between
// attempts, Retry-After and 429/503 honoured, and after a failure the first reconnection spread
// at random over a window so that agents do not all come back at the same second.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "agent/spool.h"
#include "common/result.h"
#include "protocol/http.h"

namespace cg::agent {

struct SenderOptions {
  size_t max_batch_reports = 50;
  size_t max_batch_bytes = 900u << 10;  // under the SOC's 1 MiB request limit
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{60'000};
  int max_attempts = 5;  // per Deliver(); what is left stays spooled for the next one
  // After a failed delivery, the next one first waits a random time in [0, window).
  std::chrono::milliseconds reconnect_window{30'000};
};

// What the sender needs from a connection (protocol::HttpsClient in production).
class Transport {
 public:
  virtual ~Transport() = default;
  virtual Result<protocol::HttpResponse> Post(const std::string& target,
                                              const std::string& body) = 0;
  virtual void Close() = 0;
  // True when the connection was made with credentials that have since been replaced (a
  // renewed certificate): the sender opens a new one instead of using it.
  virtual bool Stale() const { return false; }
};

using Connector = std::function<Result<std::unique_ptr<Transport>>()>;
using Sleeper = std::function<void(std::chrono::milliseconds)>;

struct DeliveryResult {
  int committed = 0;
  int rejected = 0;  // refused for good by the SOC, moved to rejected/
  int corrupt = 0;   // damaged entries moved aside
};

class Sender {
 public:
  Sender(Spool& spool, Connector connect, SenderOptions options, Sleeper sleep, uint64_t seed);

  // Sends what is spooled, oldest first. Ok when the spool was emptied; otherwise the last
  // error, with what was not committed still spooled (and counted in the result's fields up to
  // then through the error message).
  Result<DeliveryResult> Deliver();

  // Consecutive failed deliveries (0 after a success).
  int failures() const { return failures_; }

 private:
  // The delay before attempt `attempt` (1-based): Retry-After when the SOC gave one (capped),
  // else full jitter over initial * 2^(attempt-1), capped.
  std::chrono::milliseconds Backoff(int attempt, std::optional<std::chrono::seconds> retry_after);
  Result<Transport*> Connection();

  Spool& spool_;
  Connector connect_;
  SenderOptions options_;
  Sleeper sleep_;
  std::mt19937_64 rng_;
  std::unique_ptr<Transport> transport_;
  int failures_ = 0;
};

// Retry-After as delay-seconds (RFC 9110); an HTTP date or garbage gives nullopt.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

}  // namespace cg::agent

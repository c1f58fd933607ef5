// The agent's report delivery as the service loop calls it: spool a collected report
// (agent/spool.h) and send the spool (agent/sender.h) over one persistent connection that
// outlives a cycle. Also what `cg-agent status` shows about the spool.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "agent/sender.h"
#include "agent/spool.h"
#include "agent/state.h"
#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::agent {

struct DeliveryOptions {
  uint64_t spool_max_bytes = Spool::kDefaultMaxBytes;  // policy may set it later
  std::chrono::seconds timeout{30};
  SenderOptions sender;
  // How back-off waits are slept; empty: a plain sleep. The service loop passes its own wait,
  // which a stop request (platform/os/stop_source.h) ends at once.
  Sleeper sleep;
};

// What SpoolReport and SendSpool use when no options are given: set once at start-up from the
// agent's configuration (cg-agent run), before the first cycle.
void SetDefaultDeliveryOptions(const DeliveryOptions& options);
const DeliveryOptions& DefaultDeliveryOptions();

// Writes the report to the spool (it may gain spool events first). Spool entries of older agent
// versions (<report_id>.json) are taken over first, oldest first.
Status SpoolReport(const StateDir& state, protocol::Report& report, SysTime now,
                   const DeliveryOptions& options = DefaultDeliveryOptions());

// Sends the spool; the connection and the backoff state are kept for the next call in this
// process. Returns the number of reports the SOC committed.
Result<int> SendSpool(const StateDir& state, const Enrollment& enrollment,
                      const DeliveryOptions& options = DefaultDeliveryOptions());

// {"spool_reports", "spool_bytes", "spool_dropped_posture",
//  "spool_dropped_security", "spool_corrupt", "spool_rejected"} without changing anything.
Result<nlohmann::json> SpoolStatus(const StateDir& state,
                                   const DeliveryOptions& options = DefaultDeliveryOptions());

}  // namespace cg::agent

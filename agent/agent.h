// cg-agent's operations: enroll, collect a report, deliver the spool, and the service loop.
// main.cpp only parses the command line and calls these.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "agent/config.h"
#include "agent/state.h"
#include "collectors/check.h"
#include "common/result.h"
#include "platform/platform.h"
#include "policy/policy.h"
#include "protocol/report.h"

namespace cg::agent {

struct EnrollOptions {
  std::string server;  // host:port of the agent listener
  std::string token;
  std::string ca_file;          // the SOC CA to pin
  std::string policy_key_file;  // optional: public key trusted for signed policy
  std::string state_dir = DefaultStateDir();
  std::chrono::seconds timeout{30};
  // Replaces the OS's machine id (cloned images sharing /etc/machine-id, test rigs enrolling
  // several agents on one host): the SOC recognises a re-enrolling machine by it.
  std::string machine_id;
  // A 429 (too many enrollments from this address) is retried after the SOC's Retry-After,
  // up to max_attempts attempts in all, each wait capped at max_retry_wait; other refusals
  // and transport errors are not retried. `sleep` is how the waits are slept (tests).
  int max_attempts = 5;
  std::chrono::seconds max_retry_wait{300};
  std::function<void(std::chrono::seconds)> sleep;
};

// Makes the device key here (0600, never sent), sends a CSR with the token over
// server-authenticated TLS pinned to ca_file, and stores the certificate it gets back. A
// refusal of the SOC keeps its HTTP status in the Error's code: kUnauthenticated (401),
// kPermissionDenied (403), kConflict (409), kUnavailable (429 after the retries, 5xx).
Result<Enrollment> Enroll(const EnrollOptions& options, platform::Platform& platform);

// Runs the checks and wraps them in a report for this device.
Result<protocol::Report> CollectReport(const collectors::CheckRegistry& registry,
                                       platform::Platform& platform, const policy::Policy& policy,
                                       const std::string& device_id);

struct RunOptions {
  std::string state_dir = DefaultStateDir();
  bool once = false;
  std::chrono::seconds interval{15 * 60};
  // Set on the command line: then it wins over the signed policy's reporting.interval_seconds
  // (which otherwise wins over the configuration file).
  bool interval_explicit = false;
  double jitter = 0.10;  // ± fraction of the interval
  // Honoured only in a build with CG_TEST_HOOKS (the test suite's): an unsigned policy file
  // that turns the SOC's policy distribution off, and a shift of the agent's clock.
  std::string policy_file;
  std::chrono::seconds clock_offset{0};
  // The service's configuration (`run --config FILE`): while the device is not enrolled, the
  // token file it names (enroll_token.h) is used at start and, after a failure that may pass
  // (SOC unreachable, rate-limited), again with back-off (EnrollRetryDelay) until it works,
  // the SOC refuses it for good, or a stop; the service keeps running meanwhile.
  std::optional<AgentConfig> config;
  std::string config_file;
};

// One cycle: collect, spool, deliver. With once=false repeats on schedule until the OS asks
// the process to stop (platform/os/stop_source.h); a device that is not enrolled yet (or whose
// identity cannot be read) waits and tries again, using options.config's token file, rather
// than exiting. Returns the process exit code (0: the last cycle's report was committed; 2:
// --once without an identity). `platform` is the live machine's; its clock is shifted by
// options.clock_offset.
int Run(const RunOptions& options, platform::Platform& platform);

}  // namespace cg::agent

// agent.json: the service's settings (command-line flags override them), and where the agent
// keeps its files when not told: /etc/counterguard and /var/lib/counterguard on Linux,
// %ProgramData%\CounterGuard on Windows (platform/os/paths.h).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace cg::agent {

std::string DefaultConfigFile();
std::string DefaultEnrollTokenFile();
std::string DefaultStateDir();

struct AgentConfig {
  std::optional<std::string> state_dir;
  std::optional<int64_t> interval_seconds;
  std::optional<std::string> log_format;
  std::optional<std::string> log_level;
  // Delivery (agent/delivery.h): the spool's bound in bytes, and the window over which the
  // first reconnection after a failed delivery is spread.
  std::optional<int64_t> spool_max_bytes;
  std::optional<int64_t> reconnect_window_seconds;
  // Attempts per delivery before the rest waits for the next cycle.
  std::optional<int64_t> delivery_attempts;
  // Enrollment through a token file (agent/enroll_token.h): the SOC's agent listener
  // (HOST:PORT), the CA to pin, the public key trusted for signed policy, the group the
  // device is expected to land in (the token decides it; a different answer is reported), and
  // where the token file is dropped (default: enroll.token beside the configuration file).
  std::optional<std::string> server;
  std::optional<std::string> ca_file;
  std::optional<std::string> policy_key_file;
  std::optional<std::string> group;
  std::optional<std::string> enroll_token_file;
};

// Unknown keys and wrong types are errors naming the key (a typo must not be ignored).
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace cg::agent

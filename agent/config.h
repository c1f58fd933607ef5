// /etc/counterguard/agent.json: the service's settings (command-line flags override them).
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace cg::agent {

inline constexpr const char* kDefaultConfigFile = "/etc/counterguard/agent.json";

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
};

// Unknown keys and wrong types are errors naming the key (a typo must not be ignored).
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace cg::agent

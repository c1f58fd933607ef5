// Where the agent keeps its configuration and its state when not told otherwise: the OS's
// convention, so it lives in platform/os (Linux: /etc/counterguard and /var/lib/counterguard;
// Windows: %ProgramData%\CounterGuard, resolved through the known-folder API).
#pragma once

#include <string>

namespace cg::os {

struct AgentPaths {
  std::string config_file;   // agent.json
  std::string enroll_token;  // the token file an installer drops beside the configuration
  std::string state_dir;     // identity, spool, journals; created root/SYSTEM-only
};

AgentPaths DefaultAgentPaths();

}  // namespace cg::os

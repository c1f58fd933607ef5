#include "platform/os/paths.h"

namespace cg::os {

AgentPaths DefaultAgentPaths() {
  return AgentPaths{"/etc/counterguard/agent.json", "/etc/counterguard/enroll.token",
                    "/var/lib/counterguard"};
}

}  // namespace cg::os

// platform/windows/os/paths.cpp: the agent's default locations on Windows.
#include "platform/os/paths.h"

#include <gtest/gtest.h>

namespace cg::os {
namespace {

TEST(DefaultAgentPaths, ProgramDataCounterGuard) {
  const AgentPaths p = DefaultAgentPaths();
  // FOLDERID_ProgramData: "C:\ProgramData" on a default installation (and in a Wine prefix).
  EXPECT_EQ(p.state_dir, "C:\\ProgramData\\CounterGuard");
  EXPECT_EQ(p.config_file, p.state_dir + "\\agent.json");
  EXPECT_EQ(p.enroll_token, p.state_dir + "\\enroll.token");
}

}  // namespace
}  // namespace cg::os

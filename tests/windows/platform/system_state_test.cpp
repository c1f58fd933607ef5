// platform/windows/system_state.cpp and command_runner.cpp against the real APIs: the process
// snapshot, the service control manager, CreateProcessW with quoting and captured output.
#include "platform/windows/system_state.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <algorithm>

#include "platform/windows/command_runner.h"

namespace cg::platform::windows {
namespace {

TEST(ToolhelpProcessTable, ListsThisProcess) {
  auto list = ToolhelpProcessTable().List();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  const auto self = static_cast<int64_t>(GetCurrentProcessId());
  const auto it =
      std::find_if(list->begin(), list->end(), [&](const ProcessInfo& p) { return p.pid == self; });
  ASSERT_NE(it, list->end());
  EXPECT_NE(it->name.find("system_state_test"), std::string::npos) << it->name;
  EXPECT_NE(it->exe.find("system_state_test"), std::string::npos) << it->exe;
}

TEST(ScmServiceManager, MissingServiceIsNotFound) {
  ScmServiceManager scm;
  auto state = scm.State("CounterGuardNoSuchService");
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_EQ(*state, ServiceState::kNotFound);
  auto enabled = scm.Enabled("CounterGuardNoSuchService");
  ASSERT_TRUE(enabled.ok());
  EXPECT_FALSE(*enabled);
}

TEST(ScmServiceManager, ReadsAnInstalledService) {
  // RpcSs exists on every Windows and in every Wine prefix, set to start automatically.
  ScmServiceManager scm;
  auto state = scm.State("RpcSs");
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_NE(*state, ServiceState::kNotFound);
  auto enabled = scm.Enabled("RpcSs");
  ASSERT_TRUE(enabled.ok()) << enabled.error().ToString();
  EXPECT_TRUE(*enabled);
}

TEST(QuoteArgument, FollowsTheCRuntimeRules) {
  EXPECT_EQ(QuoteArgument(L"plain"), L"plain");
  EXPECT_EQ(QuoteArgument(L""), L"\"\"");
  EXPECT_EQ(QuoteArgument(L"two words"), L"\"two words\"");
  EXPECT_EQ(QuoteArgument(L"say \"hi\""), L"\"say \\\"hi\\\"\"");
  EXPECT_EQ(QuoteArgument(L"C:\\dir\\"), L"C:\\dir\\");
  EXPECT_EQ(QuoteArgument(L"C:\\my dir\\"), L"\"C:\\my dir\\\\\"");
}

TEST(WindowsCommandRunner, RunsASystemProgramWithoutAShell) {
  WindowsCommandRunner runner;
  const std::string hostname = runner.Which("hostname");
  ASSERT_FALSE(hostname.empty());
  EXPECT_TRUE(runner.Which("no-such-program-cg").empty());
  auto r = runner.Run({"hostname"}, std::chrono::seconds(30));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->out.empty());
  auto missing = runner.Run({"no-such-program-cg"}, std::chrono::seconds(5));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(WindowsCommandRunner, OutputIsBounded) {
  WindowsCommandRunner runner;
  auto r = runner.Run({"hostname"}, std::chrono::seconds(30), 2);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), 2u);
}

}  // namespace
}  // namespace cg::platform::windows

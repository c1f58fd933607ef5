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
  wchar_t self_path[MAX_PATH];
  const DWORD n = GetModuleFileNameW(nullptr, self_path, MAX_PATH);
  ASSERT_GT(n, 0u);
  const std::wstring path(self_path, n);
  const std::wstring file = path.substr(path.find_last_of(L"\\/") + 1);
  EXPECT_EQ(it->name, std::string(file.begin(), file.end()));  // ASCII test binary name
  EXPECT_EQ(it->exe, std::string(path.begin(), path.end()));
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

// A service installed for the test (never started): its start type decides Enabled.
TEST(ScmServiceManager, ReadsAnInstalledService) {
  SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE);
  ASSERT_NE(scm, nullptr) << GetLastError();
  const std::wstring name = L"CgStateTest" + std::to_wstring(GetCurrentProcessId());
  SC_HANDLE svc = CreateServiceW(scm, name.c_str(), name.c_str(), SERVICE_ALL_ACCESS,
                                 SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                 SERVICE_ERROR_IGNORE, L"C:\\windows\\system32\\hostname.exe",
                                 nullptr, nullptr, nullptr, nullptr, nullptr);
  ASSERT_NE(svc, nullptr) << GetLastError();
  const std::string utf8(name.begin(), name.end());
  ScmServiceManager manager;
  auto state = manager.State(utf8);
  ASSERT_TRUE(state.ok()) << state.error().ToString();
  EXPECT_EQ(*state, ServiceState::kStopped);
  auto enabled = manager.Enabled(utf8);
  ASSERT_TRUE(enabled.ok()) << enabled.error().ToString();
  EXPECT_TRUE(*enabled);
  ASSERT_TRUE(ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_DEMAND_START, SERVICE_NO_CHANGE,
                                   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr));
  enabled = manager.Enabled(utf8);
  ASSERT_TRUE(enabled.ok());
  EXPECT_FALSE(*enabled);
  DeleteService(svc);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
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

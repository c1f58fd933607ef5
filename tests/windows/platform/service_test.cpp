// RunAsService under the real service control manager (Wine's services.exe under Wine):
// create, start with an argument, stop, and the body sees the stop and exits cleanly.
#include "platform/windows/service.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace cg::platform::windows {
namespace {

namespace fs = std::filesystem;

struct ScCloser {
  void operator()(SC_HANDLE h) const { CloseServiceHandle(h); }
};
using ScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScCloser>;

// Polls until the service reaches `want` (a bound on attempts, not a timing assertion).
SERVICE_STATUS_PROCESS WaitForState(SC_HANDLE service, DWORD want) {
  SERVICE_STATUS_PROCESS status{};
  for (int attempt = 0; attempt < 600; ++attempt) {
    DWORD needed = 0;
    EXPECT_TRUE(QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO,
                                     reinterpret_cast<BYTE*>(&status), sizeof status, &needed));
    if (status.dwCurrentState == want) {
      break;
    }
    Sleep(100);
  }
  return status;
}

bool RunningUnderWine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

TEST(ServiceTest, OutsideTheScmIsAnError) {
  if (RunningUnderWine()) {
    // Wine 8's StartServiceCtrlDispatcherW returns TRUE outside the SCM and then faults in
    // one of its own threads (docs/windows.md); RunAsService still reports the error, but the
    // fault can end the test process at any moment.
    GTEST_SKIP() << "Wine's dispatcher faults outside the SCM";
  }
  bool ran = false;
  const Status status = RunAsService("CounterGuardNotStarted", [&](std::stop_token, const auto&) {
    ran = true;
    return 0;
  });
  ASSERT_FALSE(status.ok());
  EXPECT_FALSE(ran);
  EXPECT_NE(status.error().message.find("(Win32 error 1063)"), std::string::npos)
      << status.error().message;  // ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
}

TEST(ServiceTest, ScmStartsAndStopsTheService) {
  wchar_t self[MAX_PATH] = {};
  ASSERT_GT(GetModuleFileNameW(nullptr, self, MAX_PATH), 0u);
  const fs::path exe = fs::path(self).parent_path() / L"cg_win_service_fixture.exe";
  ASSERT_TRUE(fs::exists(exe)) << exe.string();
  const std::wstring name = L"CounterGuardTest-" + std::to_wstring(GetCurrentProcessId());
  const std::wstring command = L"\"" + exe.wstring() + L"\" " + name;
  const fs::path marker =
      fs::temp_directory_path() / (L"cg-service-" + std::to_wstring(GetCurrentProcessId()));
  fs::remove(marker);

  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS));
  ASSERT_TRUE(scm) << GetLastError();
  ScHandle service(CreateServiceW(scm.get(), name.c_str(), name.c_str(), SERVICE_ALL_ACCESS,
                                  SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START,
                                  SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                                  nullptr, nullptr));
  ASSERT_TRUE(service) << GetLastError();

  const std::wstring marker_arg = marker.wstring();
  const wchar_t* args[] = {marker_arg.c_str()};
  EXPECT_TRUE(StartServiceW(service.get(), 1, args)) << GetLastError();
  EXPECT_EQ(WaitForState(service.get(), SERVICE_RUNNING).dwCurrentState,
            static_cast<DWORD>(SERVICE_RUNNING));

  SERVICE_STATUS stop{};
  EXPECT_TRUE(ControlService(service.get(), SERVICE_CONTROL_STOP, &stop)) << GetLastError();
  const SERVICE_STATUS_PROCESS stopped = WaitForState(service.get(), SERVICE_STOPPED);
  EXPECT_EQ(stopped.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED));
  EXPECT_EQ(stopped.dwWin32ExitCode, static_cast<DWORD>(NO_ERROR));

  std::stringstream text;
  text << std::ifstream(marker).rdbuf();
  // The body saw the stop request and finished its work, and the process's StopSource (what
  // the agent listens to) got the same SCM stop.
  EXPECT_EQ(text.str(), "stopped; stop source: service stop");

  EXPECT_TRUE(DeleteService(service.get())) << GetLastError();
  fs::remove(marker);
}

// A stop that takes longer than one checkpoint interval: the service keeps telling the SCM it
// is stopping (STOP_PENDING, a rising checkpoint, the wait hint), then stops cleanly.
TEST(ServiceTest, SlowStopReportsProgressUntilStopped) {
  wchar_t self[MAX_PATH] = {};
  ASSERT_GT(GetModuleFileNameW(nullptr, self, MAX_PATH), 0u);
  const fs::path exe = fs::path(self).parent_path() / L"cg_win_service_fixture.exe";
  const std::wstring name = L"CounterGuardSlow-" + std::to_wstring(GetCurrentProcessId());
  const std::wstring command = L"\"" + exe.wstring() + L"\" " + name;
  const fs::path base =
      fs::temp_directory_path() / (L"cg-slow-" + std::to_wstring(GetCurrentProcessId()));
  const fs::path marker = base.wstring() + L".done";
  const fs::path release = base.wstring() + L".release";
  fs::remove(marker);
  fs::remove(release);

  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS));
  ASSERT_TRUE(scm) << GetLastError();
  ScHandle service(CreateServiceW(scm.get(), name.c_str(), name.c_str(), SERVICE_ALL_ACCESS,
                                  SERVICE_WIN32_OWN_PROCESS, SERVICE_DEMAND_START,
                                  SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                                  nullptr, nullptr));
  ASSERT_TRUE(service) << GetLastError();
  const std::wstring marker_arg = marker.wstring();
  const std::wstring release_arg = release.wstring();
  const wchar_t* args[] = {marker_arg.c_str(), release_arg.c_str()};
  EXPECT_TRUE(StartServiceW(service.get(), 2, args)) << GetLastError();
  EXPECT_EQ(WaitForState(service.get(), SERVICE_RUNNING).dwCurrentState,
            static_cast<DWORD>(SERVICE_RUNNING));

  SERVICE_STATUS stop{};
  EXPECT_TRUE(ControlService(service.get(), SERVICE_CONTROL_STOP, &stop)) << GetLastError();
  EXPECT_EQ(stop.dwCurrentState, static_cast<DWORD>(SERVICE_STOP_PENDING));
  // Watch the checkpoint rise twice while the body is held (bounded polling, no timing
  // assertion: only the order of what the SCM reports is checked).
  std::vector<DWORD> checkpoints;
  for (int attempt = 0; attempt < 300 && checkpoints.size() < 3; ++attempt) {
    SERVICE_STATUS_PROCESS status{};
    DWORD needed = 0;
    ASSERT_TRUE(QueryServiceStatusEx(service.get(), SC_STATUS_PROCESS_INFO,
                                     reinterpret_cast<BYTE*>(&status), sizeof status, &needed));
    ASSERT_EQ(status.dwCurrentState, static_cast<DWORD>(SERVICE_STOP_PENDING));
    EXPECT_EQ(status.dwWaitHint, static_cast<DWORD>(kStopWaitHint.count()));
    if (checkpoints.empty() || status.dwCheckPoint != checkpoints.back()) {
      checkpoints.push_back(status.dwCheckPoint);
    }
    Sleep(100);
  }
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_LT(checkpoints[0], checkpoints[1]);
  EXPECT_LT(checkpoints[1], checkpoints[2]);

  std::ofstream(release) << "go";
  const SERVICE_STATUS_PROCESS stopped = WaitForState(service.get(), SERVICE_STOPPED);
  EXPECT_EQ(stopped.dwCurrentState, static_cast<DWORD>(SERVICE_STOPPED));
  EXPECT_EQ(stopped.dwWin32ExitCode, static_cast<DWORD>(NO_ERROR));
  EXPECT_TRUE(fs::exists(marker));
  EXPECT_TRUE(DeleteService(service.get())) << GetLastError();
  fs::remove(marker);
  fs::remove(release);
}

}  // namespace
}  // namespace cg::platform::windows

#include "platform/windows/system_state.h"

// clang-format off
#include <windows.h>
#include <tlhelp32.h>
// clang-format on

#include <memory>
#include <vector>

#include "platform/windows/handle.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

struct ScHandleCloser {
  void operator()(SC_HANDLE h) const { CloseServiceHandle(h); }
};
using UniqueScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScHandleCloser>;

std::string Narrow(std::wstring_view wide) {
  auto utf8 = WideToUtf8(wide);
  return utf8.ok() ? std::move(utf8).value() : std::string("?");
}

// Opens one service for `access`; kNotFound when it is not installed.
Result<UniqueScHandle> OpenService(std::string_view unit, DWORD access) {
  CG_ASSIGN_OR_RETURN(std::wstring name, Utf8ToWide(unit));
  UniqueScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!scm) {
    return LastWin32Error("OpenSCManagerW");
  }
  UniqueScHandle service(OpenServiceW(scm.get(), name.c_str(), access));
  if (!service) {
    return LastWin32Error("OpenServiceW(" + std::string(unit) + ")");
  }
  return service;
}

}  // namespace

Result<std::vector<ProcessInfo>> ToolhelpProcessTable::List() const {
  UniqueHandle snap(CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0));
  if (!Valid(snap)) {
    return LastWin32Error("CreateToolhelp32Snapshot");
  }
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  if (!Process32FirstW(snap.get(), &entry)) {
    return LastWin32Error("Process32FirstW");
  }
  std::vector<ProcessInfo> out;
  do {
    ProcessInfo p;
    p.pid = entry.th32ProcessID;
    p.name = Narrow(entry.szExeFile);
    UniqueHandle process(
        OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, entry.th32ProcessID));
    if (Valid(process)) {
      std::wstring path(32768, L'\0');
      DWORD size = static_cast<DWORD>(path.size());
      if (QueryFullProcessImageNameW(process.get(), 0, path.data(), &size)) {
        path.resize(size);
        p.exe = Narrow(path);
      }
    }
    out.push_back(std::move(p));
  } while (Process32NextW(snap.get(), &entry));
  const DWORD err = GetLastError();
  if (err != ERROR_NO_MORE_FILES) {
    return Win32Error("Process32NextW", err);
  }
  return out;
}

Result<ServiceState> ScmServiceManager::State(std::string_view unit) const {
  auto service = OpenService(unit, SERVICE_QUERY_STATUS);
  if (!service.ok()) {
    if (service.error().code == ErrorCode::kNotFound) {
      return ServiceState::kNotFound;
    }
    return service.error();
  }
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service->get(), SC_STATUS_PROCESS_INFO,
                            reinterpret_cast<BYTE*>(&status), sizeof status, &needed)) {
    return LastWin32Error("QueryServiceStatusEx(" + std::string(unit) + ")");
  }
  switch (status.dwCurrentState) {
    case SERVICE_RUNNING:
    case SERVICE_START_PENDING:
    case SERVICE_CONTINUE_PENDING:
      return ServiceState::kRunning;
    case SERVICE_STOPPED:
      return status.dwWin32ExitCode != NO_ERROR &&
                     status.dwWin32ExitCode != ERROR_SERVICE_NEVER_STARTED
                 ? ServiceState::kFailed
                 : ServiceState::kStopped;
    case SERVICE_STOP_PENDING:
    case SERVICE_PAUSED:
    case SERVICE_PAUSE_PENDING:
      return ServiceState::kStopped;
    default:
      return ServiceState::kUnknown;
  }
}

Result<bool> ScmServiceManager::Enabled(std::string_view unit) const {
  auto service = OpenService(unit, SERVICE_QUERY_CONFIG);
  if (!service.ok()) {
    if (service.error().code == ErrorCode::kNotFound) {
      return false;
    }
    return service.error();
  }
  DWORD needed = 0;
  QueryServiceConfigW(service->get(), nullptr, 0, &needed);
  if (needed == 0) {
    return LastWin32Error("QueryServiceConfigW(" + std::string(unit) + ")");
  }
  std::vector<BYTE> buf(needed);
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buf.data());
  if (!QueryServiceConfigW(service->get(), config, needed, &needed)) {
    return LastWin32Error("QueryServiceConfigW(" + std::string(unit) + ")");
  }
  return config->dwStartType == SERVICE_AUTO_START || config->dwStartType == SERVICE_BOOT_START ||
         config->dwStartType == SERVICE_SYSTEM_START;
}

}  // namespace cg::platform::windows

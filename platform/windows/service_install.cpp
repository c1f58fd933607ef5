// The SCM's configuration API (CreateServiceW, ChangeServiceConfig(2)W, QueryServiceConfig(2)W,
// ControlService, DeleteService) for the agent's own service.
#include "platform/windows/service_install.h"

#include <windows.h>

#include <memory>
#include <thread>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

struct ScCloser {
  void operator()(SC_HANDLE h) const { CloseServiceHandle(h); }
};
using ScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScCloser>;

constexpr std::chrono::milliseconds kPoll{200};

Result<ScHandle> OpenScm(DWORD access) {
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, access));
  if (!scm) {
    return LastWin32Error("OpenSCManagerW (run as an administrator)");
  }
  return scm;
}

// The service, or nullptr when it is not installed.
Result<ScHandle> OpenServiceOrNull(SC_HANDLE scm, std::string_view name, DWORD access) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(name));
  ScHandle service(OpenServiceW(scm, wide.c_str(), access));
  if (!service) {
    const DWORD err = GetLastError();
    if (err == ERROR_SERVICE_DOES_NOT_EXIST) {
      return ScHandle();
    }
    return Win32Error("OpenServiceW " + std::string(name), err);
  }
  return service;
}

Result<SERVICE_STATUS_PROCESS> QueryStatus(SC_HANDLE service) {
  SERVICE_STATUS_PROCESS status{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<BYTE*>(&status),
                            sizeof status, &needed)) {
    return LastWin32Error("QueryServiceStatusEx");
  }
  return status;
}

// Polls until the service is in `want` or `timeout` has passed; the last status either way.
Result<SERVICE_STATUS_PROCESS> WaitForState(SC_HANDLE service, DWORD want,
                                            std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    CG_ASSIGN_OR_RETURN(SERVICE_STATUS_PROCESS status, QueryStatus(service));
    if (status.dwCurrentState == want || std::chrono::steady_clock::now() >= deadline) {
      return status;
    }
    // A service that starts and stops at once never shows SERVICE_RUNNING.
    if (want == SERVICE_RUNNING && status.dwCurrentState == SERVICE_STOPPED) {
      return status;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

// A setting the SCM does not implement (ERROR_INVALID_LEVEL) is added to `unsupported`.
Status ChangeConfig2(SC_HANDLE service, DWORD level, void* info, const char* what,
                     std::vector<std::string>& unsupported) {
  if (!ChangeServiceConfig2W(service, level, info)) {
    const DWORD err = GetLastError();
    if (err == ERROR_INVALID_LEVEL) {
      unsupported.emplace_back(what);
      return OkStatus();
    }
    return Win32Error(std::string("ChangeServiceConfig2W(") + what + ")", err);
  }
  return OkStatus();
}

// QueryServiceConfig2W into a buffer of the size it asks for; nullopt when the SCM does not
// implement the level (ERROR_INVALID_LEVEL).
Result<std::optional<std::vector<BYTE>>> QueryOptionalConfig2(SC_HANDLE service, DWORD level,
                                                              const char* what) {
  std::vector<BYTE> buffer(512);
  for (int attempt = 0; attempt < 4; ++attempt) {
    DWORD needed = 0;
    if (QueryServiceConfig2W(service, level, buffer.data(), static_cast<DWORD>(buffer.size()),
                             &needed)) {
      return std::optional<std::vector<BYTE>>(std::move(buffer));
    }
    const DWORD err = GetLastError();
    if (err == ERROR_INVALID_LEVEL) {
      return std::optional<std::vector<BYTE>>();
    }
    if (err != ERROR_INSUFFICIENT_BUFFER) {
      return Win32Error(std::string("QueryServiceConfig2W(") + what + ")", err);
    }
    buffer.resize(needed);
  }
  return MakeError(ErrorCode::kIo,
                   std::string("QueryServiceConfig2W(") + what + "): keeps growing");
}

std::string ToUtf8OrEmpty(const wchar_t* text) {
  if (text == nullptr) {
    return {};
  }
  return WideToUtf8(text).value_or(std::string());
}

}  // namespace

bool InstalledService::Stopped() const { return state == SERVICE_STOPPED; }

Result<std::vector<std::string>> ConfigureService(const ServiceSpec& spec) {
  std::vector<std::string> unsupported;
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT));
  // SERVICE_START: the SCM refuses restart actions on a handle that could not start it.
  CG_ASSIGN_OR_RETURN(ScHandle service, OpenServiceOrNull(scm.get(), spec.name,
                                                          SERVICE_CHANGE_CONFIG | SERVICE_START));
  if (!service) {
    return MakeError(ErrorCode::kNotFound, "service " + spec.name + " is not installed");
  }
  CG_ASSIGN_OR_RETURN(std::wstring description, Utf8ToWide(spec.description));
  SERVICE_DESCRIPTIONW desc{description.data()};
  CG_RETURN_IF_ERROR(
      ChangeConfig2(service.get(), SERVICE_CONFIG_DESCRIPTION, &desc, "description", unsupported));

  SERVICE_DELAYED_AUTO_START_INFO delayed{spec.delayed_auto_start ? TRUE : FALSE};
  CG_RETURN_IF_ERROR(ChangeConfig2(service.get(), SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed,
                                   "delayed auto-start", unsupported));

  std::vector<SC_ACTION> actions;
  for (std::chrono::seconds delay : spec.restart_delays) {
    actions.push_back(SC_ACTION{
        SC_ACTION_RESTART,
        static_cast<DWORD>(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count())});
  }
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = static_cast<DWORD>(spec.failure_reset.count());
  failure.cActions = static_cast<DWORD>(actions.size());
  failure.lpsaActions = actions.empty() ? nullptr : actions.data();
  CG_RETURN_IF_ERROR(ChangeConfig2(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure,
                                   "failure actions", unsupported));

  // Without the flag only a crash counts as a failure; the agent that exits with an error
  // (its state dir unusable, say) must be restarted too.
  SERVICE_FAILURE_ACTIONS_FLAG flag{actions.empty() ? FALSE : TRUE};
  CG_RETURN_IF_ERROR(ChangeConfig2(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag,
                                   "failure actions flag", unsupported));
  return unsupported;
}

Result<std::vector<std::string>> InstallService(const ServiceSpec& spec) {
  CG_ASSIGN_OR_RETURN(std::wstring name, Utf8ToWide(spec.name));
  CG_ASSIGN_OR_RETURN(std::wstring display, Utf8ToWide(spec.display_name));
  CG_ASSIGN_OR_RETURN(std::wstring command, Utf8ToWide(spec.command_line));
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT | SC_MANAGER_CREATE_SERVICE));
  // nullptr account: LocalSystem (the agent reads every user's hive and the SAM).
  ScHandle service(CreateServiceW(
      scm.get(), name.c_str(), display.c_str(), SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG,
      SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, command.c_str(), nullptr,
      nullptr, nullptr, nullptr, nullptr));
  if (!service) {
    const DWORD err = GetLastError();
    if (err == ERROR_SERVICE_MARKED_FOR_DELETE) {
      return Win32Error("service " + spec.name +
                            " is still being deleted (close services.msc and any open handle to "
                            "it, or restart Windows)",
                        err);
    }
    if (err != ERROR_SERVICE_EXISTS) {
      return Win32Error("CreateServiceW " + spec.name, err);
    }
    // Installed already (an upgrade): the same settings, without stopping it.
    CG_ASSIGN_OR_RETURN(service, OpenServiceOrNull(scm.get(), spec.name, SERVICE_CHANGE_CONFIG));
    if (!service ||
        !ChangeServiceConfigW(service.get(), SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                              SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                              nullptr, nullptr, display.c_str())) {
      return LastWin32Error("ChangeServiceConfigW " + spec.name);
    }
  }
  service.reset();
  return ConfigureService(spec);
}

Status StartInstalledService(std::string_view name, std::chrono::milliseconds timeout) {
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT));
  CG_ASSIGN_OR_RETURN(ScHandle service,
                      OpenServiceOrNull(scm.get(), name, SERVICE_START | SERVICE_QUERY_STATUS));
  if (!service) {
    return MakeError(ErrorCode::kNotFound, "service " + std::string(name) + " is not installed");
  }
  if (!StartServiceW(service.get(), 0, nullptr)) {
    const DWORD err = GetLastError();
    if (err != ERROR_SERVICE_ALREADY_RUNNING) {
      return Win32Error("StartServiceW " + std::string(name), err);
    }
  }
  CG_ASSIGN_OR_RETURN(SERVICE_STATUS_PROCESS status,
                      WaitForState(service.get(), SERVICE_RUNNING, timeout));
  if (status.dwCurrentState == SERVICE_RUNNING) {
    return OkStatus();
  }
  if (status.dwCurrentState == SERVICE_STOPPED) {
    const DWORD code = status.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR
                           ? status.dwServiceSpecificExitCode
                           : status.dwWin32ExitCode;
    return MakeError(ErrorCode::kUnavailable, "service " + std::string(name) +
                                                  " stopped right after starting (exit code " +
                                                  std::to_string(code) + "; see its log)");
  }
  return MakeError(ErrorCode::kTimeout, "service " + std::string(name) + " did not start within " +
                                            std::to_string(timeout.count()) + " ms");
}

Status StopInstalledService(std::string_view name, std::chrono::milliseconds timeout) {
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT));
  CG_ASSIGN_OR_RETURN(ScHandle service,
                      OpenServiceOrNull(scm.get(), name, SERVICE_STOP | SERVICE_QUERY_STATUS));
  if (!service) {
    return MakeError(ErrorCode::kNotFound, "service " + std::string(name) + " is not installed");
  }
  SERVICE_STATUS ignored{};
  if (!ControlService(service.get(), SERVICE_CONTROL_STOP, &ignored)) {
    const DWORD err = GetLastError();
    if (err != ERROR_SERVICE_NOT_ACTIVE) {
      return Win32Error("ControlService(stop) " + std::string(name), err);
    }
  }
  CG_ASSIGN_OR_RETURN(SERVICE_STATUS_PROCESS status,
                      WaitForState(service.get(), SERVICE_STOPPED, timeout));
  if (status.dwCurrentState != SERVICE_STOPPED) {
    return MakeError(ErrorCode::kTimeout, "service " + std::string(name) + " did not stop within " +
                                              std::to_string(timeout.count()) + " ms");
  }
  return OkStatus();
}

Status UninstallService(std::string_view name, std::chrono::milliseconds timeout) {
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT));
  CG_ASSIGN_OR_RETURN(ScHandle service,
                      OpenServiceOrNull(scm.get(), name, SERVICE_QUERY_STATUS | DELETE));
  if (!service) {
    return OkStatus();  // not installed
  }
  service.reset();
  const Status stopped = StopInstalledService(name, timeout);
  CG_ASSIGN_OR_RETURN(service, OpenServiceOrNull(scm.get(), name, DELETE));
  if (!service) {
    return OkStatus();
  }
  if (!DeleteService(service.get())) {
    const DWORD err = GetLastError();
    if (err != ERROR_SERVICE_MARKED_FOR_DELETE) {
      return Win32Error("DeleteService " + std::string(name), err);
    }
  }
  if (!stopped.ok()) {
    // Deleted once it stops; say so rather than pretend it is gone.
    return stopped.error().Wrap("service " + std::string(name) +
                                " is marked for deletion but still running");
  }
  return OkStatus();
}

Result<std::optional<InstalledService>> QueryInstalledService(std::string_view name) {
  CG_ASSIGN_OR_RETURN(ScHandle scm, OpenScm(SC_MANAGER_CONNECT));
  CG_ASSIGN_OR_RETURN(
      ScHandle service,
      OpenServiceOrNull(scm.get(), name, SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS));
  if (!service) {
    return std::optional<InstalledService>();
  }
  InstalledService out;
  std::vector<BYTE> buffer(1024);
  for (int attempt = 0;; ++attempt) {
    DWORD needed = 0;
    if (QueryServiceConfigW(service.get(), reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data()),
                            static_cast<DWORD>(buffer.size()), &needed)) {
      break;
    }
    const DWORD err = GetLastError();
    if (err != ERROR_INSUFFICIENT_BUFFER || attempt == 3) {
      return Win32Error("QueryServiceConfigW " + std::string(name), err);
    }
    buffer.resize(needed);
  }
  const auto* config = reinterpret_cast<const QUERY_SERVICE_CONFIGW*>(buffer.data());
  out.command_line = ToUtf8OrEmpty(config->lpBinaryPathName);
  out.display_name = ToUtf8OrEmpty(config->lpDisplayName);
  out.account = ToUtf8OrEmpty(config->lpServiceStartName);
  out.start_type = config->dwStartType;

  CG_ASSIGN_OR_RETURN(
      auto desc, QueryOptionalConfig2(service.get(), SERVICE_CONFIG_DESCRIPTION, "description"));
  if (desc) {
    out.description =
        ToUtf8OrEmpty(reinterpret_cast<SERVICE_DESCRIPTIONW*>(desc->data())->lpDescription);
  }
  CG_ASSIGN_OR_RETURN(auto delayed,
                      QueryOptionalConfig2(service.get(), SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
                                           "delayed auto-start"));
  if (delayed) {
    out.delayed_auto_start =
        reinterpret_cast<SERVICE_DELAYED_AUTO_START_INFO*>(delayed->data())->fDelayedAutostart !=
        FALSE;
  }
  CG_ASSIGN_OR_RETURN(
      auto failure,
      QueryOptionalConfig2(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS, "failure actions"));
  if (failure) {
    const auto* actions = reinterpret_cast<SERVICE_FAILURE_ACTIONSW*>(failure->data());
    out.failure_reset = std::chrono::seconds(actions->dwResetPeriod);
    out.restart_delays.emplace();
    for (DWORD i = 0; i < actions->cActions; ++i) {
      if (actions->lpsaActions[i].Type == SC_ACTION_RESTART) {
        out.restart_delays->push_back(std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::milliseconds(actions->lpsaActions[i].Delay)));
      }
    }
  }
  CG_ASSIGN_OR_RETURN(auto flag,
                      QueryOptionalConfig2(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS_FLAG,
                                           "failure actions flag"));
  if (flag) {
    out.failure_actions_on_non_crash = reinterpret_cast<SERVICE_FAILURE_ACTIONS_FLAG*>(flag->data())
                                           ->fFailureActionsOnNonCrashFailures != FALSE;
  }
  CG_ASSIGN_OR_RETURN(SERVICE_STATUS_PROCESS status, QueryStatus(service.get()));
  out.state = status.dwCurrentState;
  return std::optional<InstalledService>(std::move(out));
}

}  // namespace cg::platform::windows

// StartServiceCtrlDispatcherW with one service. The SCM's callbacks carry no user pointer to
// ServiceMain, so the one running service's state is file-level, shared with ServiceMain
// (which keeps it alive while it runs) and cleared when the dispatcher returns.
#include "platform/windows/service.h"

#include <windows.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "platform/windows/os/stop_request.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

namespace {

struct ServiceState {
  std::wstring name;
  ServiceBody body;
  std::stop_source stop;
  SERVICE_STATUS_HANDLE handle = nullptr;
  std::mutex mutex;  // SetServiceStatus calls come from the handler and the service thread
  DWORD checkpoint = 0;
  std::atomic<bool> main_ran{false};
};

std::mutex g_service_mutex;
std::shared_ptr<ServiceState> g_service;

void Report(ServiceState& s, DWORD state, DWORD exit_code = NO_ERROR, DWORD specific = 0,
            DWORD wait_hint = 0) {
  std::lock_guard lock(s.mutex);
  SERVICE_STATUS status{};
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  status.dwWin32ExitCode = exit_code;
  status.dwServiceSpecificExitCode = specific;
  const bool pending = state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING;
  status.dwCheckPoint = pending ? ++s.checkpoint : 0;
  status.dwWaitHint = wait_hint;
  SetServiceStatus(s.handle, &status);
}

DWORD WINAPI Handler(DWORD control, DWORD, void*, void* context) {
  auto& s = *static_cast<ServiceState*>(context);
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      Report(s, SERVICE_STOP_PENDING, NO_ERROR, 0, static_cast<DWORD>(kStopWaitHint.count()));
      s.stop.request_stop();
      // The same stop request a Ctrl+C or SIGTERM makes (platform/os/stop_source.h).
      os::windows::RequestStop(control == SERVICE_CONTROL_STOP ? "service stop"
                                                               : "service shutdown");
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI ServiceMain(DWORD argc, wchar_t** argv) {
  std::shared_ptr<ServiceState> state;
  {
    std::lock_guard lock(g_service_mutex);
    state = g_service;
  }
  if (!state) {
    return;  // called after RunAsService gave up (Wine outside the SCM does this)
  }
  ServiceState& s = *state;
  s.main_ran = true;
  s.handle = RegisterServiceCtrlHandlerExW(s.name.c_str(), Handler, &s);
  if (s.handle == nullptr) {
    return;  // the dispatcher returns; RunAsService reports nothing more can be done
  }
  Report(s, SERVICE_START_PENDING, NO_ERROR, 0, 5000);
  std::vector<std::string> args;
  for (DWORD i = 0; i < argc; ++i) {
    Result<std::string> arg = WideToUtf8(argv[i]);
    if (!arg.ok()) {
      Report(s, SERVICE_STOPPED, ERROR_INVALID_PARAMETER);
      return;
    }
    args.push_back(std::move(*arg));
  }
  Report(s, SERVICE_RUNNING);
  // Progress while the body finishes after a stop: a new STOP_PENDING checkpoint every
  // kStopCheckpointInterval, so that the SCM does not give up on a stop that is under way.
  std::mutex pacer_mutex;
  std::condition_variable_any pacer_cv;
  bool body_done = false;
  std::thread pacer([&] {
    std::unique_lock lock(pacer_mutex);
    if (pacer_cv.wait(lock, s.stop.get_token(), [&] { return body_done; })) {
      return;  // the body ended by itself
    }
    const auto give_up = std::chrono::steady_clock::now() + kMaxStopTime;
    while (!pacer_cv.wait_for(lock, kStopCheckpointInterval, [&] { return body_done; }) &&
           std::chrono::steady_clock::now() < give_up) {
      Report(s, SERVICE_STOP_PENDING, NO_ERROR, 0, static_cast<DWORD>(kStopWaitHint.count()));
    }
  });
  const int code = s.body(s.stop.get_token(), args);
  {
    std::lock_guard lock(pacer_mutex);
    body_done = true;
  }
  pacer_cv.notify_all();
  pacer.join();
  if (code == 0) {
    Report(s, SERVICE_STOPPED);
  } else {
    Report(s, SERVICE_STOPPED, ERROR_SERVICE_SPECIFIC_ERROR, static_cast<DWORD>(code));
  }
}

}  // namespace

Status RunAsService(std::string_view name, ServiceBody body) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(name));
  auto state = std::make_shared<ServiceState>();
  state->name = wide;
  state->body = std::move(body);
  {
    std::lock_guard lock(g_service_mutex);
    g_service = state;
  }
  SERVICE_TABLE_ENTRYW table[] = {{state->name.data(), ServiceMain}, {nullptr, nullptr}};
  const BOOL ok = StartServiceCtrlDispatcherW(table);
  const DWORD err = GetLastError();
  {
    std::lock_guard lock(g_service_mutex);
    g_service.reset();
  }
  if (!ok) {
    return Win32Error("StartServiceCtrlDispatcherW", err);
  }
  if (!state->main_ran) {
    // Windows fails the call with 1063 when the process was not started by the SCM; Wine 8
    // returns success without running the service. Same condition, same error.
    return Win32Error("StartServiceCtrlDispatcherW returned without starting the service",
                      ERROR_FAILED_SERVICE_CONTROLLER_CONNECT);
  }
  return OkStatus();
}

}  // namespace cg::platform::windows

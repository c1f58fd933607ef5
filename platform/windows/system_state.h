// Processes (a Toolhelp32 snapshot) and services (the service control manager) on Windows.
#pragma once

#include "platform/platform.h"

namespace cg::platform::windows {

// name = the executable's file name ("MsMpEng.exe"), exe = its full path when the process
// may be queried (QueryFullProcessImageNameW with PROCESS_QUERY_LIMITED_INFORMATION; protected
// processes such as the antimalware service refuse it even to SYSTEM). cmdline stays empty:
// Windows keeps it in the process's own memory.
class ToolhelpProcessTable final : public ProcessTable {
 public:
  Result<std::vector<ProcessInfo>> List() const override;
};

// `unit` is the service's key name ("WinDefend"). kNotFound for a service that is not
// installed; the SCM's other errors (access denied) are errors.
class ScmServiceManager final : public ServiceManager {
 public:
  // SERVICE_RUNNING (and the pending states on the way up) -> kRunning; SERVICE_STOPPED with
  // a non-zero exit code -> kFailed, else kStopped (QueryServiceStatusEx).
  Result<ServiceState> State(std::string_view unit) const override;
  // Start type automatic (delayed too) or boot/system, and not disabled (QueryServiceConfigW).
  Result<bool> Enabled(std::string_view unit) const override;
};

}  // namespace cg::platform::windows

// The agent as a service it registers itself: `cg-agent service install|uninstall` and
// `cg-agent run --service`. On Windows these talk to the service control manager (the MSI
// runs `service install`); on Linux the package's systemd unit does that job and these
// commands say so. OS-specific halves: agent/windows/, agent/linux/.
#pragma once

#include <functional>
#include <string>

#include "common/result.h"
#include "platform/platform.h"

namespace cg::agent {

struct ServiceInstallOptions {
  std::string config_file;  // empty: DefaultServiceConfigFile()
  std::string server;       // HOST:PORT or https://HOST:PORT; empty: keep agent.json's
  std::string group;        // empty: keep agent.json's
  std::string token_file;   // empty: none; else staged beside agent.json and used at once
  bool start = true;        // start the service (the MSI starts it itself)
};

// Whether this OS runs the agent through these commands (Windows); else an error saying what
// does (Linux: the systemd unit).
Status ServiceCommandsSupported();

// agent.json where the OS keeps it (Windows: %ProgramData%\CounterGuard\agent.json).
Result<std::string> DefaultServiceConfigFile();

// Creates the state, log and configuration directories (administrators and SYSTEM only),
// writes agent.json (service_setup.h), registers the event source and the service with its
// recovery actions, enrolls with the token file if one is given (a failure that may pass
// leaves the token for the service's own attempts), and starts the service. Exit code.
int RunServiceInstall(const ServiceInstallOptions& options,
                      const std::function<Result<platform::Platform>()>& make_platform);

// Stops and deletes the service and its event source; the configuration, identity and spool
// stay (as `apt-get remove` keeps them). Exit code.
int RunServiceUninstall();

// Adds the service's log sinks to the default logger (Windows: the Application event log
// and a rotated file in the logs folder beside agent.json).
Status AddServiceLogging(const std::string& config_file);

// Runs `body` as the OS's service and returns the process's exit code: on Windows under the
// SCM, whose stop reaches the agent through platform/os/stop_source.h.
int RunAsService(const std::function<int()>& body);

}  // namespace cg::agent

// Registering the agent as a Windows service and taking it away again, through the SCM's API
// (what `cg-agent service install|uninstall` and the MSI's custom actions run). The service is
// LocalSystem, its own process, started automatically (delayed, so that it does not compete
// with the clerk's logon), restarted by the SCM when it fails, and described.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::platform::windows {

struct ServiceSpec {
  std::string name;          // the key name, e.g. "CounterGuardAgent"
  std::string display_name;  // shown by services.msc
  std::string description;
  std::string command_line;  // quoted executable and arguments, e.g. "\"C:\\...\\cg-agent.exe\"
                             // service run"
  bool delayed_auto_start = true;
  // Recovery: after the n-th failure within `failure_reset` the SCM restarts the service after
  // restart_delays[n] (the last delay repeats). A failure is a crash and also a stop with a
  // non-zero exit code (FAILURE_ACTIONS_FLAG), so an agent that gives up is started again.
  std::vector<std::chrono::seconds> restart_delays{
      std::chrono::seconds(10), std::chrono::seconds(60), std::chrono::seconds(300)};
  std::chrono::seconds failure_reset{std::chrono::hours(24)};
};

// The service's registration as the SCM reports it. nullopt: this SCM cannot report the
// setting (Wine 8 answers ERROR_INVALID_LEVEL for every QueryServiceConfig2W level but the
// description and the preshutdown timeout).
struct InstalledService {
  std::string command_line;
  std::string display_name;
  std::string description;
  uint32_t start_type = 0;  // SERVICE_AUTO_START, ...
  std::string account;      // "LocalSystem"
  std::optional<bool> delayed_auto_start;
  std::optional<std::vector<std::chrono::seconds>> restart_delays;  // empty: no restart action
  std::optional<std::chrono::seconds> failure_reset;
  std::optional<bool> failure_actions_on_non_crash;
  uint32_t state = 0;  // SERVICE_STOPPED, SERVICE_RUNNING, ...
  bool Stopped() const;
};

// Creates the service, or brings an existing one (an upgrade, an earlier install) to `spec`
// without stopping it. Then applies the description, delayed start and recovery actions and
// returns what ConfigureService returns.
Result<std::vector<std::string>> InstallService(const ServiceSpec& spec);

// Description, delayed automatic start and recovery actions of an existing service (what the
// MSI's ServiceInstall table cannot say; InstallService calls it). Returns the settings this
// SCM does not implement (ERROR_INVALID_LEVEL: none on Windows 10/11; under Wine 8 the
// delayed start and the failure-actions flag), for the caller to report; any other refusal
// is an error.
Result<std::vector<std::string>> ConfigureService(const ServiceSpec& spec);

// Stops the service (waiting up to `timeout` for it to stop) and deletes it. Not installed is
// success: uninstalling twice is not an error.
Status UninstallService(std::string_view name, std::chrono::milliseconds timeout);

// Starts the service and waits until it runs (or stops again: an error with its exit code).
Status StartInstalledService(std::string_view name, std::chrono::milliseconds timeout);

// Asks the service to stop and waits until it has (already stopped is success).
Status StopInstalledService(std::string_view name, std::chrono::milliseconds timeout);

// nullopt when no such service is installed.
Result<std::optional<InstalledService>> QueryInstalledService(std::string_view name);

}  // namespace cg::platform::windows

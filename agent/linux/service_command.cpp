// agent/service_command.h on Linux: the Debian package's systemd unit registers, starts and
// logs the service (docs/operations.md); these commands point there.
#include "agent/service_command.h"

#include <cstdio>

namespace cg::agent {
namespace {

int NotHere(const char* what) {
  std::fprintf(stderr,
               "cg-agent: %s is for Windows; on Linux the counterguard-agent package installs "
               "cg-agent.service (systemctl enable --now cg-agent)\n",
               what);
  return 2;
}

}  // namespace

Status ServiceCommandsSupported() {
  return MakeError(ErrorCode::kInvalidArgument,
                   "`cg-agent service` and `run --service` are for Windows' service control "
                   "manager; on Linux the counterguard-agent package installs cg-agent.service "
                   "(systemctl enable --now cg-agent), whose cg-agent run logs to the journal");
}

Result<std::string> DefaultServiceConfigFile() {
  return std::string("/etc/counterguard/agent.json");
}

int RunServiceInstall(const ServiceInstallOptions&,
                      const std::function<Result<platform::Platform>()>&) {
  return NotHere("`cg-agent service install`");
}

int RunServiceUninstall() { return NotHere("`cg-agent service uninstall`"); }

Status AddServiceLogging(const std::string&) {
  return MakeError(ErrorCode::kInvalidArgument,
                   "--service is for Windows' service control manager; under systemd, "
                   "cg-agent run logs to the journal");
}

int RunAsService(const std::function<int()>&) { return NotHere("`cg-agent run --service`"); }

}  // namespace cg::agent

// agent/service_command.h on Windows: the service "CounterGuardAgent" (LocalSystem, delayed
// automatic start, restarted on failure) running `cg-agent.exe run --service --config
// %ProgramData%\CounterGuard\agent.json`; its files under %ProgramData%\CounterGuard:
//   agent.json, soc-ca.pem and policy.pub (the MSI's), enroll.token (until used),
//   the state (device key, certificate, spool; platform/os/paths.h), logs\ (rotated log)
// all for SYSTEM and Administrators only.
#include "agent/service_command.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "agent/config.h"
#include "agent/enroll_token.h"
#include "agent/service_setup.h"
#include "agent/state.h"
#include "platform/os/files.h"
#include "platform/os/paths.h"
#include "platform/windows/event_log.h"
#include "platform/windows/known_paths.h"
#include "platform/windows/service.h"
#include "platform/windows/service_install.h"

namespace cg::agent {
namespace {

namespace win = platform::windows;

constexpr const char* kServiceName = "CounterGuardAgent";
constexpr const char* kDisplayName = "CounterGuard Agent";
constexpr const char* kDescription =
    "Checks and enforces this PC's security posture (antivirus, malware scan, licences, screen "
    "lock, password age) and reports it to the province's SOC.";
constexpr std::chrono::seconds kServiceWait{60};

int Fail(const Error& e) {
  std::fprintf(stderr, "cg-agent: %s\n", e.ToString().c_str());
  return 2;
}

std::string Parent(const std::string& path) {
  const size_t sep = path.find_last_of("/\\");
  return sep == std::string::npos ? std::string(".") : path.substr(0, sep);
}

}  // namespace

Status ServiceCommandsSupported() { return OkStatus(); }

Result<std::string> DefaultServiceConfigFile() { return os::DefaultAgentPaths().config_file; }

int RunServiceInstall(const ServiceInstallOptions& options,
                      const std::function<Result<platform::Platform>()>& make_platform) {
  std::string config_file = options.config_file;
  if (config_file.empty()) {
    auto found = DefaultServiceConfigFile();
    if (!found.ok()) {
      return Fail(found.error());
    }
    config_file = *found;
  }
  const std::string data_dir = Parent(config_file);
  // The whole tree is SYSTEM + Administrators only (inherited by what is created in it).
  if (auto s = EnsureDirectory(data_dir, 0700); !s.ok()) {
    return Fail(s.error());
  }
  ServiceConfigUpdate update;
  if (!options.server.empty()) {
    update.server = options.server;
  }
  if (!options.group.empty()) {
    update.group = options.group;
  }
  // The state beside agent.json, as the agent's default (%ProgramData%\CounterGuard).
  update.state_dir = data_dir;
  // The MSI's copy of the SOC's CA is soc-ca.pem: ca.pem in the state is the pinned copy
  // enrollment writes.
  if (FileExists(data_dir + "\\soc-ca.pem")) {
    update.ca_file = data_dir + "\\soc-ca.pem";
  }
  if (FileExists(data_dir + "\\policy.pub")) {
    update.policy_key_file = data_dir + "\\policy.pub";
  }
  if (auto s = UpdateServiceConfig(config_file, update); !s.ok()) {
    return Fail(s.error());
  }
  auto config = LoadAgentConfig(config_file);
  if (!config.ok()) {
    return Fail(config.error());
  }
  const std::string state_dir = config->state_dir.value_or(data_dir);
  if (auto s = StateDir(state_dir).Prepare(); !s.ok()) {
    return Fail(s.error());
  }
  const std::string token_path = TokenFilePath(*config, config_file);
  if (!options.token_file.empty()) {
    auto staged = StageEnrollToken(options.token_file, token_path, state_dir);
    if (!staged.ok()) {
      return Fail(staged.error().Wrap("--token-file"));
    }
    if (!*staged) {
      std::cout << "this device is enrolled already: the token file was not used\n";
    }
  }

  auto exe = win::CurrentExecutablePath();
  if (!exe.ok()) {
    return Fail(exe.error());
  }
  if (auto s = win::InstallEventSource(win::kEventSource, *exe); !s.ok()) {
    return Fail(s.error());
  }
  win::ServiceSpec spec;
  spec.name = kServiceName;
  spec.display_name = kDisplayName;
  spec.description = kDescription;
  spec.command_line = "\"" + *exe + "\" run --service --config \"" + config_file + "\"";
  auto unsupported = win::InstallService(spec);
  if (!unsupported.ok()) {
    return Fail(unsupported.error());
  }
  for (const std::string& setting : *unsupported) {
    std::cerr << "cg-agent: warning: this service control manager does not implement the "
                 "service's "
              << setting << " (set it by hand with sc.exe)\n";
  }
  std::cout << "service " << kServiceName << " installed: " << spec.command_line << "\n";

  // Enroll now, as the service would at its start: the administrator sees the outcome.
  if (FileExists(token_path)) {
    auto platform = make_platform();
    if (!platform.ok()) {
      return Fail(platform.error());
    }
    if (auto s = EnrollFromTokenFile(*config, config_file, state_dir, *platform); !s.ok()) {
      std::cout << "enrollment did not succeed: " << s.error().ToString() << "\n"
                << (FileExists(token_path)
                        ? "the token waits in " + token_path + "; the service tries again\n"
                        : std::string("install again with a new token file\n"));
    }
  }
  if (auto enrolled = StateDir(state_dir).LoadEnrollment(); enrolled.ok() && *enrolled) {
    std::cout << "enrolled: device " << (*enrolled)->device_id << " in group " << (*enrolled)->group
              << "\n";
  }

  if (options.start) {
    // A reinstall picks up the new configuration: stop what runs, then start.
    auto current = win::QueryInstalledService(kServiceName);
    if (current.ok() && *current && !(*current)->Stopped()) {
      if (auto s = win::StopInstalledService(kServiceName, kServiceWait); !s.ok()) {
        return Fail(s.error());
      }
    }
    if (auto s = win::StartInstalledService(kServiceName, kServiceWait); !s.ok()) {
      return Fail(s.error());
    }
    std::cout << "service " << kServiceName << " started\n";
  }
  return 0;
}

int RunServiceUninstall() {
  if (auto s = win::UninstallService(kServiceName, kServiceWait); !s.ok()) {
    return Fail(s.error());
  }
  if (auto s = win::RemoveEventSource(win::kEventSource); !s.ok()) {
    return Fail(s.error());
  }
  std::cout << "service " << kServiceName
            << " removed; configuration, identity and spool are kept in %ProgramData%\\"
               "CounterGuard\n";
  return 0;
}

int RunAsService(const std::function<int()>& body) {
  int code = 0;
  const Status status =
      win::RunAsService(kServiceName, [&](std::stop_token, const std::vector<std::string>&) {
        // The stop reaches the agent's loop through its os::StopSource.
        code = body();
        return code;
      });
  if (!status.ok()) {
    spdlog::error(
        "{} (run --service is what the service control manager starts; run the "
        "agent in a console with `cg-agent run`)",
        status.error().ToString());
    return 2;
  }
  return code;
}

}  // namespace cg::agent

// What `cg-agent service install` (and the MSI that runs it) does to the configuration, OS by
// OS the same: agent.json gets the SOC, the group and the installed CA and policy key, and an
// administrator's other settings survive (an upgrade, a reinstall); a token file given at
// install is put where the service looks for it.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"

namespace cg::agent {

struct ServiceConfigUpdate {
  std::optional<std::string> server;  // "HOST:PORT" or "https://HOST:PORT[/]"
  std::optional<std::string> group;
  // Set only when missing from agent.json (an admin's choice wins).
  std::optional<std::string> state_dir;
  std::optional<std::string> ca_file;
  std::optional<std::string> policy_key_file;
};

// "https://soc:8443/" and "soc:8443" -> "soc:8443". Anything else with a scheme, a path, no
// port or an empty host is an error naming the value.
Result<std::string> NormalizeServerAddress(const std::string& server);

// Creates agent.json or updates it in place: server and group are replaced when given, the
// other fields only filled in when absent; every other key is kept as it was. A damaged
// agent.json is an error and is left untouched. The result is checked with LoadAgentConfig
// before it replaces the file.
Status UpdateServiceConfig(const std::string& config_file, const ServiceConfigUpdate& update);

// Copies the token in `token_file` (ReadTokenFile's rules) to `destination` (0600) for the
// service to enroll with at its start. Returns false, copying nothing, when the device is
// enrolled already (state_dir has an enrollment).
Result<bool> StageEnrollToken(const std::string& token_file, const std::string& destination,
                              const std::string& state_dir);

}  // namespace cg::agent

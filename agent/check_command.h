// `cg-agent check`: the checks run locally, printed as a table or the stable JSON document.
#pragma once

#include <string>
#include <vector>

#include "agent/config.h"
#include "platform/platform.h"

namespace cg::agent {

struct CheckCommandOptions {
  bool json = false;
  std::vector<std::string> only;
  std::string root = "/";
  std::string policy_file;
  bool enforce = false;
  bool dry_run = false;
  std::string state_dir = DefaultStateDir();  // where applied changes are journaled
};

// Exit code: 0 every check passed (or is not applicable), 1 any failed, 2 any check could not
// decide or the command itself failed. `platform` reads the machine under options.root.
int RunCheckCommand(const CheckCommandOptions& options, platform::Platform& platform);

}  // namespace cg::agent

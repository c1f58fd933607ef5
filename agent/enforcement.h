// The enforcement journal: every applied remediation is kept (with its undo operations) in
// the state dir, so an admin can take it back with `cg-agent enforce --undo`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "platform/platform.h"
#include "protocol/report.h"

namespace cg::agent {

// Writes one record per result whose remediation was applied (dry runs and failures are not
// journaled: nothing changed), and logs each change. `root` is the machine root the checks ran
// against, so that undo acts on the same tree.
Status RecordEnforcement(const std::string& state_dir, const std::string& root,
                         const std::vector<protocol::CheckResult>& results, SysTime now);

struct UndoOptions {
  std::string state_dir;
  bool all = false;      // every record, newest first; otherwise the newest only
  bool dry_run = false;  // print what would be restored
};

// The platform of a machine root other than the live machine's (a record made by
// `cg-agent check --root DIR`); main wires platform::CreateNativePlatform.
using PlatformForRoot = std::function<Result<platform::Platform>(const std::string& root)>;

// Exit code: 0 undone (or nothing to undo), 2 error. Records made on the live machine (root
// "/") are undone through `machine`; others through a platform for their root.
int RunUndoCommand(const UndoOptions& options, platform::Platform& machine,
                   const PlatformForRoot& platform_for_root);

}  // namespace cg::agent

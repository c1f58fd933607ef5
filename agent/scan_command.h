// `cg-agent scan`: an on-demand YARA scan of the given paths with the given rule files, printed
// as a table or as the stable JSON document (docs/yara.md). Given no limits it scans every
// regular file whatever its size and does not follow symlinks: the files `yara -r -N` scans.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cg::agent {

struct ScanCommandOptions {
  // Rule files as `yara` takes them: "FILE" (namespace "default") or "NAMESPACE:FILE".
  std::vector<std::string> rules;
  // Files or directories (a directory is scanned recursively).
  std::vector<std::string> paths;
  // Worker threads; 0: one per hardware thread.
  int threads = 0;
  bool json = false;
  // Per-file timeout in seconds; 0: none, like `yara` (whose default is 1,000,000 s).
  int timeout_seconds = 0;
};

// Exit code: 1 when anything matched; otherwise 2 when the rules do not compile (the message
// names file:line), the command cannot run, or a file could not be judged; otherwise 0.
int RunScanCommand(const ScanCommandOptions& options);
int RunScanCommand(const ScanCommandOptions& options, std::ostream& out, std::ostream& err);

}  // namespace cg::agent

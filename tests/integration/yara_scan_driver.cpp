// `yara_scan_driver scan --rules FILE... --path PATH... [--threads N] [--json] [--timeout S]`:
// the scan command's engine entry point (agent/scan_command) behind the same flags as
// `cg-agent scan`, for the differential test and the benchmark while they run without the
// agent binary.
#include <CLI/CLI.hpp>

#include "agent/scan_command.h"

int main(int argc, char** argv) {
  CLI::App app{"RunScanCommand driver"};
  app.require_subcommand(1);
  cg::agent::ScanCommandOptions o;
  auto* scan = app.add_subcommand("scan", "scan paths with YARA rules");
  scan->add_option("--rules", o.rules, "rules file ([NAMESPACE:]FILE)")->required();
  scan->add_option("--path", o.paths, "file or directory")->required();
  scan->add_option("--threads", o.threads, "worker threads (0: hardware threads)");
  scan->add_option("--timeout", o.timeout_seconds, "per-file timeout in seconds (0: none)");
  scan->add_flag("--json", o.json, "print the JSON document");
  CLI11_PARSE(app, argc, argv);
  return cg::agent::RunScanCommand(o);
}

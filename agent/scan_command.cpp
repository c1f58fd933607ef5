// `cg-agent scan`: rule files compiled as `yara` compiles them (includes resolved next to the
// including file), the engine run without limits, results as a table or the stable JSON.
#include "agent/scan_command.h"

#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "collectors/yara_engine.h"
#include "platform/scan_io.h"

namespace cg::agent {
namespace {

std::string HumanBytes(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(bytes) / (1u << 30));
  } else if (bytes >= (1u << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " B", bytes);
  }
  return buf;
}

void PrintTable(const collectors::ScanSummary& s, std::ostream& out) {
  if (!s.matches.empty()) {
    out << "RULE                             NAMESPACE        SIZE         PATH\n";
    for (const auto& m : s.matches) {
      char line[128];
      std::snprintf(line, sizeof(line), "%-32s %-16s %-12" PRIu64 " ", m.rule.c_str(), m.ns.c_str(),
                    m.size);
      out << line << platform::EscapePath(m.path) << "\n";
      out << "    sha256 " << (m.sha256.empty() ? "(file changed while scanned)" : m.sha256)
          << "\n";
      for (const auto& ms : m.strings) {
        char at[64];
        std::snprintf(at, sizeof(at), "0x%" PRIx64, ms.offset);
        out << "    " << ms.identifier << " at " << at << ": " << ms.data_hex
            << (ms.length * 2 > ms.data_hex.size() ? "..." : "") << "\n";
      }
      if (m.strings_truncated) {
        out << "    (more strings matched)\n";
      }
    }
  }
  for (const auto& k : s.files_skipped) {
    out << "skipped: " << platform::EscapePath(k.path) << " (" << k.reason << ")\n";
  }
  for (const auto& e : s.errors) {
    out << "error: " << platform::EscapePath(e.path) << ": " << e.message << "\n";
  }
  char tail[256];
  std::snprintf(tail, sizeof(tail),
                "%" PRIu64 " files scanned (%s) in %.1f s, CPU %.1f s; %" PRIu64
                " skipped; %" PRIu64 " errors; %" PRIu64 " matches\n",
                s.files_scanned, HumanBytes(s.bytes_scanned).c_str(),
                static_cast<double>(s.duration.count()) / 1000.0,
                static_cast<double>(s.cpu.count()) / 1000.0, s.files_skipped_total, s.errors_total,
                s.matches_total);
  out << tail;
}

}  // namespace

int RunScanCommand(const ScanCommandOptions& options) {
  return RunScanCommand(options, std::cout, std::cerr);
}

int RunScanCommand(const ScanCommandOptions& options, std::ostream& out, std::ostream& err) {
  if (options.rules.empty() || options.paths.empty()) {
    err << "cg-agent scan: --rules and --path are required\n";
    return 2;
  }
  if (options.threads < 0 || options.timeout_seconds < 0) {
    err << "cg-agent scan: --threads and the timeout must not be negative\n";
    return 2;
  }
  std::vector<collectors::RuleSource> sources;
  for (const auto& spec : options.rules) {
    auto source = collectors::ReadRuleFile(spec);
    if (!source.ok()) {
      err << "cg-agent scan: " << source.error().message << "\n";
      return 2;
    }
    sources.push_back(std::move(source).value());
  }
  collectors::CompileReport report;
  auto rules = collectors::CompileRules(sources, collectors::CompileOptions{"", true}, &report);
  for (const auto& w : report.warnings) {
    err << "warning: " << w.ToString() << "\n";
  }
  if (!rules.ok()) {
    for (const auto& e : report.errors) {
      err << "error: " << e.ToString() << "\n";
    }
    // Each compiler error is on its own line above; otherwise the reason is the error itself.
    err << "cg-agent scan: "
        << (report.errors.empty()
                ? rules.error().message
                : std::to_string(report.errors.size()) + " error(s): the rules do not compile")
        << "\n";
    return 2;
  }

  collectors::ScanOptions scan;
  scan.walk.roots = options.paths;
  // No limits: every regular file below the paths, whatever its size, symlinks not followed,
  // every file system (the same files as `yara -r -N`; /proc, /sys and /dev stay out).
  scan.walk.one_filesystem = false;
  scan.walk.follow_symlinks = false;
  scan.walk.max_file_size = 0;
  scan.threads = options.threads;
  scan.file_timeout = std::chrono::seconds(options.timeout_seconds);
  scan.cpu_budget_percent = 0;
  scan.max_listed = 100000;
  scan.max_matches = 1000000;
  auto summary = collectors::ScanFiles(**rules, scan);
  if (!summary.ok()) {
    err << "cg-agent scan: " << summary.error().ToString() << "\n";
    return 2;
  }
  if (options.json) {
    out << collectors::ToJson(*summary).dump(2) << "\n";
  } else {
    PrintTable(*summary, out);
  }
  if (summary->matches_total > 0) {
    return 1;
  }
  return summary->errors_total > 0 ? 2 : 0;
}

}  // namespace cg::agent

// Benchmark driver for tests/bench/yara_bench.sh: runs the YARA engine as `cg-agent scan` does
// (or as a scheduled scan does, with --cache/--cpu-budget/--low-priority), writes the
// (rule, path) pairs it found to --hits for comparison with `yara`, and prints one JSON line
// with the scan's own figures and the process's CPU time and peak RSS (getrusage).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "collectors/yara_cache.h"
#include "collectors/yara_engine.h"
#include "platform/scan_io.h"

int main(int argc, char** argv) {
  CLI::App app{"YARA engine benchmark driver"};
  std::string rules_file;
  std::vector<std::string> paths;
  int threads = 0;
  std::string cache_file;
  std::string compiled_dir;
  int budget = 0;
  bool low_priority = false;
  std::string hits_file;
  int64_t map_above = -1;
  app.add_option("--rules", rules_file, "rules file")->required();
  app.add_option("--path", paths, "file or directory")->required();
  app.add_option("--threads", threads, "worker threads (0: hardware threads)");
  app.add_option("--cache", cache_file, "incremental cache (SQLite file)");
  app.add_option("--compiled", compiled_dir, "compiled rules cache directory");
  app.add_option("--cpu-budget", budget, "percent of one core (0: unlimited)");
  app.add_flag("--low-priority", low_priority, "nice 19 and idle I/O class");
  app.add_option("--hits", hits_file, "write \"rule path\" lines here");
  app.add_option(
      "--map-above", map_above,
      "map files larger than this many bytes, read smaller ones (default: the engine's)");
  CLI11_PARSE(app, argc, argv);

  auto source = cg::collectors::ReadRuleFile(rules_file);
  if (!source.ok()) {
    std::cerr << source.error().ToString() << "\n";
    return 2;
  }
  auto rules =
      cg::collectors::CompileRules({*source}, cg::collectors::CompileOptions{compiled_dir, false});
  if (!rules.ok()) {
    std::cerr << rules.error().ToString() << "\n";
    return 2;
  }
  std::unique_ptr<cg::collectors::YaraCache> cache;
  cg::collectors::ScanOptions o;
  if (!cache_file.empty()) {
    auto c = cg::collectors::YaraCache::Open(cache_file);
    if (!c.ok()) {
      std::cerr << c.error().ToString() << "\n";
      return 2;
    }
    cache = std::move(c).value();
    o.cache = cache.get();
  }
  o.walk.roots = paths;
  o.walk.one_filesystem = false;
  o.threads = threads;
  o.file_timeout = std::chrono::seconds(0);
  o.cpu_budget_percent = budget;
  o.low_priority = low_priority;
  o.max_matches = 1000000;
  if (map_above >= 0) {
    o.large_file_threshold = static_cast<uint64_t>(map_above);
  }
  auto s = cg::collectors::ScanFiles(**rules, o);
  if (!s.ok()) {
    std::cerr << s.error().ToString() << "\n";
    return 2;
  }
  if (!hits_file.empty()) {
    std::vector<std::string> lines;
    for (const auto& m : s->matches) {
      lines.push_back(m.rule + " " + cg::platform::EscapePath(m.path));
    }
    std::sort(lines.begin(), lines.end());
    std::ofstream out(hits_file);
    for (const auto& l : lines) {
      out << l << "\n";
    }
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const auto ms = [](const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  };
  std::cout << nlohmann::json{{"files_scanned", s->files_scanned},
                              {"bytes_scanned", s->bytes_scanned},
                              {"files_unchanged", s->files_unchanged},
                              {"bytes_unchanged", s->bytes_unchanged},
                              {"matches_total", s->matches_total},
                              {"errors_total", s->errors_total},
                              {"duration_ms", s->duration.count()},
                              {"scan_cpu_ms", s->cpu.count()},
                              {"process_cpu_ms", ms(ru.ru_utime) + ms(ru.ru_stime)},
                              {"max_rss_kb", ru.ru_maxrss}}
                   .dump()
            << "\n";
  return 0;
}

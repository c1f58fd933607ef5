// The YARA engine: compiles rule sources (keeping compiled rule sets on disk by the hash of
// their sources) and scans file trees with a pool of workers that share the compiled rules,
// one YR_SCANNER each, fed by a separate walker thread. The `yara` check's scheduled scan and
// `cg-agent scan` both run on it. libyara stays inside yara_engine.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/result.h"
#include "platform/scan_io.h"

struct YR_RULES;  // libyara's compiled rules (yara/types.h)

namespace cg::collectors {

class YaraCache;  // collectors/yara_cache.h

// One unit of rule text: a {namespace, source} entry of the policy or a rules file.
struct RuleSource {
  std::string ns = "default";
  std::string name;  // what messages call it: the file path, or "rules[0]" for the policy's
  std::string text;
};

// Lower-case hex SHA-256 over the namespaces and texts, in order (names do not count): what
// identifies a rule set in the compiled-rules cache, the incremental cache and the scan state.
std::string RulesHash(const std::vector<RuleSource>& sources);

// Reads a rules file named as `yara` names them: "FILE" (namespace "default") or
// "NAMESPACE:FILE" when no file is called that.
Result<RuleSource> ReadRuleFile(const std::string& spec);

struct CompileMessage {
  std::string file;  // RuleSource::name, or the included file the message is about
  int line = 0;
  std::string rule;  // empty outside a rule
  std::string message;

  // `rules.yar:3: rule "x": syntax error, unexpected ...`
  std::string ToString() const;
};

struct CompileReport {
  std::vector<CompileMessage> errors;
  std::vector<CompileMessage> warnings;       // every warning, the slow ones included
  std::vector<CompileMessage> slow_warnings;  // libyara's "slow down scanning" warnings
  bool from_cache = false;                    // loaded compiled; messages as first compiled
};

nlohmann::json ToJson(const CompileReport& report);

struct CompileOptions {
  // Directory for compiled rule sets (<hash>.yarc with its report <hash>.json); empty: none.
  std::string cache_dir;
  // `include` directives: allowed for rule files on disk (resolved next to the including
  // file, as `yara` does), refused for rules that came with the policy. Rule sets with
  // includes are never cached: the hash does not cover the included files.
  bool allow_includes = false;
};

// Keeps libyara initialised (yr_initialize/yr_finalize) while any holder lives.
class YaraLibrary;

// A compiled rule set, immutable and shared by every worker of every scan that uses it.
class YaraRules {
 public:
  struct RulesDeleter {
    void operator()(YR_RULES* rules) const;
  };

  YaraRules(std::shared_ptr<YaraLibrary> library, std::unique_ptr<YR_RULES, RulesDeleter> rules,
            std::string hash, size_t rule_count, CompileReport report);
  ~YaraRules();
  YaraRules(const YaraRules&) = delete;
  YaraRules& operator=(const YaraRules&) = delete;

  YR_RULES* get() const { return rules_.get(); }
  const std::string& hash() const { return hash_; }
  size_t rule_count() const { return rule_count_; }
  const CompileReport& report() const { return report_; }

 private:
  std::shared_ptr<YaraLibrary> library_;  // declared first: outlives the rules
  std::unique_ptr<YR_RULES, RulesDeleter> rules_;
  std::string hash_;
  size_t rule_count_ = 0;
  CompileReport report_;
};

// Compiles `sources` (or loads them compiled from options.cache_dir). On failure the error
// names the first problems as file:line and `report`, when given, has all of them; warnings
// never fail a compilation.
Result<std::shared_ptr<const YaraRules>> CompileRules(const std::vector<RuleSource>& sources,
                                                      const CompileOptions& options,
                                                      CompileReport* report = nullptr);

// A rule set compiled earlier and kept in `cache_dir` under its hash (the rules in force when
// the policy's new rules do not compile). kNotFound when it is not there or does not load.
Result<std::shared_ptr<const YaraRules>> LoadCachedRules(const std::string& cache_dir,
                                                         const std::string& hash);

// The rules in force. Update() replaces them only when the new sources compile: bad rules from
// the SOC never leave a device without the rules it had.
class RuleSet {
 public:
  Status Update(const std::vector<RuleSource>& sources, const CompileOptions& options,
                CompileReport* report = nullptr);
  // Null until the first successful Update().
  std::shared_ptr<const YaraRules> current() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const YaraRules> current_;
};

struct MatchedString {
  std::string identifier;  // "$a"
  uint64_t offset = 0;
  uint32_t length = 0;   // matched length
  std::string data_hex;  // the first bytes of the match (at most ScanOptions::max_string_bytes)
};

struct ScanMatch {
  std::string rule;
  std::string ns;
  std::vector<std::string> tags;
  nlohmann::json meta = nlohmann::json::object();
  std::string path;  // raw bytes as on disk; platform::EscapePath() for display
  uint64_t size = 0;
  std::string sha256;  // of the bytes scanned; empty if the file changed before it was hashed
  std::vector<MatchedString> strings;
  bool strings_truncated = false;
};

struct SkippedFile {
  std::string path;  // raw
  std::string reason;
};

struct ScanIssue {
  std::string path;  // raw
  std::string message;
};

struct ScanSummary {
  std::string rules_hash;
  uint64_t files_scanned = 0;
  uint64_t bytes_scanned = 0;
  // Unchanged since a clean scan with the same rules (incremental cache): not read again.
  uint64_t files_unchanged = 0;
  uint64_t bytes_unchanged = 0;
  // Skips by reason (platform::ToString(SkipReason)); symlinks, files outside the include
  // globs and skipped extensions are counted here only, every other skip is also listed.
  std::map<std::string, uint64_t> skipped_counts;
  uint64_t files_skipped_total = 0;  // listed kinds, including those beyond the list's bound
  std::vector<SkippedFile> files_skipped;
  uint64_t errors_total = 0;
  std::vector<ScanIssue> errors;
  uint64_t timed_out = 0;
  uint64_t matches_total = 0;
  std::vector<ScanMatch> matches;
  std::chrono::milliseconds duration{0};
  std::chrono::milliseconds cpu{0};     // CPU time of the scan's own threads
  std::chrono::milliseconds paused{0};  // waiting on battery (summed over threads)
  bool cancelled = false;
};

// The stable JSON document of `cg-agent scan --json` (paths escaped, see docs/yara.md).
nlohmann::json ToJson(const ScanSummary& summary);

struct ScanOptions {
  platform::WalkOptions walk;
  // Worker threads; 0: one per hardware thread. At most 32 (libyara's limit per rule set).
  int threads = 0;
  // Per-file libyara timeout; 0: none. A timed-out file is an error in the summary.
  std::chrono::seconds file_timeout{10};
  // Percent of one core the whole scan may average (walker and workers); 0: unlimited.
  int cpu_budget_percent = 0;
  // nice 19 and the idle I/O class for the scan's threads.
  bool low_priority = false;
  bool pause_on_battery = false;
  // How power is read; default platform::ReadPowerState(). Asked at most every battery_poll.
  std::function<bool()> on_battery;
  std::chrono::milliseconds battery_poll{30000};
  // Files up to large_file_threshold bytes are read into a per-worker buffer in read_chunk
  // pieces; larger ones are mapped. Either way libyara sees the whole file at once, so
  // `filesize`, offsets and strings anywhere behave exactly as with `yara`. Reading saves the
  // set-up and tear-down of a mapping per small file; above ~1 MiB copying the bytes costs more
  // than faulting the mapping in (docs/performance.md), and the buffer stays small.
  size_t read_chunk = 1u << 20;
  uint64_t large_file_threshold = 1u << 20;
  // Bounds on what a result holds.
  size_t max_strings_per_match = 8;
  size_t max_string_bytes = 32;
  size_t max_matches_per_file = 64;
  size_t max_matches = 10000;
  size_t max_listed = 1000;  // entries of files_skipped and of errors
  size_t queue_capacity = 1024;
  // Incremental cache; null: every file is read.
  YaraCache* cache = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

// Scans options.walk with `rules`. Fails only when the scan cannot start (bad options, no
// scanner); what happens to single files is in the summary.
Result<ScanSummary> ScanFiles(const YaraRules& rules, const ScanOptions& options);

}  // namespace cg::collectors

// libyara behind the engine's interface: compiler and compiled-rules cache, the worker pool
// (one YR_SCANNER per worker over shared YR_RULES), the walker feeding a bounded queue, the
// CPU budget and the battery pause (see yara_engine.h).
#include "collectors/yara_engine.h"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <yara.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <tuple>

#include "collectors/yara_cache.h"
#include "common/ids.h"
#include "platform/os/files.h"

namespace cg::collectors {

// ---- library lifetime ----------------------------------------------------------------------

namespace {

std::mutex& LibraryMutex() {
  static std::mutex mu;
  return mu;
}

std::string YaraErrorText(int rc) {
  switch (rc) {
    case ERROR_INSUFFICIENT_MEMORY:
      return "not enough memory";
    case ERROR_COULD_NOT_OPEN_FILE:
      return "could not open file";
    case ERROR_COULD_NOT_MAP_FILE:
      return "could not map file";
    case ERROR_INVALID_FILE:
      return "invalid compiled rules file";
    case ERROR_CORRUPT_FILE:
      return "corrupt compiled rules file";
    case ERROR_UNSUPPORTED_FILE_VERSION:
      return "compiled rules from another libyara version";
    case ERROR_SCAN_TIMEOUT:
      return "scan timed out";
    case ERROR_TOO_MANY_SCAN_THREADS:
      return "too many scan threads";
    case ERROR_EXEC_STACK_OVERFLOW:
      return "stack overflow while evaluating a condition";
    case ERROR_TOO_MANY_MATCHES:
      return "too many matches";
    case ERROR_WRITING_FILE:
      return "could not write file";
    default:
      return "libyara error " + std::to_string(rc);
  }
}

}  // namespace

class YaraLibrary {
 public:
  static Result<std::shared_ptr<YaraLibrary>> Acquire() {
    std::lock_guard lock(LibraryMutex());
    if (auto existing = Instance().lock()) {
      return existing;
    }
    // libyara counts initialisations itself, so an instance that is being destroyed on another
    // thread (its yr_finalize not yet run) and this new one stay balanced.
    const int rc = yr_initialize();
    if (rc != ERROR_SUCCESS) {
      return MakeError(ErrorCode::kInternal, "yr_initialize: " + YaraErrorText(rc));
    }
    std::shared_ptr<YaraLibrary> library(new YaraLibrary());
    Instance() = library;
    return library;
  }

  ~YaraLibrary() {
    std::lock_guard lock(LibraryMutex());
    yr_finalize();
  }

  YaraLibrary(const YaraLibrary&) = delete;
  YaraLibrary& operator=(const YaraLibrary&) = delete;

 private:
  YaraLibrary() = default;
  static std::weak_ptr<YaraLibrary>& Instance() {
    static std::weak_ptr<YaraLibrary> instance;
    return instance;
  }
};

void YaraRules::RulesDeleter::operator()(YR_RULES* rules) const { yr_rules_destroy(rules); }

YaraRules::YaraRules(std::shared_ptr<YaraLibrary> library,
                     std::unique_ptr<YR_RULES, RulesDeleter> rules, std::string hash,
                     size_t rule_count, CompileReport report)
    : library_(std::move(library)),
      rules_(std::move(rules)),
      hash_(std::move(hash)),
      rule_count_(rule_count),
      report_(std::move(report)) {}

YaraRules::~YaraRules() = default;

// ---- rule sources and compile reports ------------------------------------------------------

namespace {

using nlohmann::json;

struct CompilerDeleter {
  void operator()(YR_COMPILER* c) const { yr_compiler_destroy(c); }
};
using CompilerPtr = std::unique_ptr<YR_COMPILER, CompilerDeleter>;

struct ScannerDeleter {
  void operator()(YR_SCANNER* s) const { yr_scanner_destroy(s); }
};
using ScannerPtr = std::unique_ptr<YR_SCANNER, ScannerDeleter>;

struct DigestDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// Compiled rule sets kept in the cache directory; older ones are removed.
constexpr size_t kCompiledCacheKeep = 8;

// Free text (meta values, messages) as valid, printable UTF-8 for JSON: escaped like paths,
// except that backslashes stay single (only paths need them doubled to be unambiguous). A
// backslash byte is never part of a multi-byte UTF-8 sequence, so splitting there is safe.
std::string CleanText(std::string_view text) {
  std::string out;
  size_t start = 0;
  for (;;) {
    const size_t bs = text.find('\\', start);
    out += platform::EscapePath(text.substr(start, bs == std::string_view::npos ? bs : bs - start));
    if (bs == std::string_view::npos) {
      return out;
    }
    out.push_back('\\');
    start = bs + 1;
  }
}

bool IsSlowWarning(std::string_view message) {
  return message.find("slow down scanning") != std::string_view::npos ||
         message.find("consider using") != std::string_view::npos;
}

// What the compiler callbacks see: rule texts are handed to libyara as strings, so the name
// of the source being compiled (what messages call it, what its includes are resolved next
// to) comes from here.
struct CompileContext {
  CompileReport* report = nullptr;
  std::string current;  // the name of the source being compiled
};

void OnCompilerMessage(int level, const char* file_name, int line, const YR_RULE* rule,
                       const char* message, void* user_data) {
  auto* context = static_cast<CompileContext*>(user_data);
  CompileReport* report = context->report;
  CompileMessage m;
  m.file = file_name != nullptr ? file_name : context->current;
  m.line = line;
  m.rule = rule != nullptr ? rule->identifier : "";
  m.message = message != nullptr ? message : "";
  if (level == YARA_ERROR_LEVEL_ERROR) {
    report->errors.push_back(std::move(m));
    return;
  }
  if (IsSlowWarning(m.message)) {
    report->slow_warnings.push_back(m);
  }
  report->warnings.push_back(std::move(m));
}

// `include "x"` of a rule file on disk: x is read next to the including file, as `yara` does.
const char* OnInclude(const char* include_name, const char* calling_rule_filename,
                      const char* /*calling_rule_namespace*/, void* user_data) {
  const auto* context = static_cast<const CompileContext*>(user_data);
  const std::filesystem::path including(calling_rule_filename != nullptr ? calling_rule_filename
                                                                         : context->current);
  const std::filesystem::path path = including.parent_path() / include_name;
  auto text = ReadFileToString(path.string());
  if (!text.ok()) {
    return nullptr;  // libyara reports "can't open include file"
  }
  char* copy = static_cast<char*>(std::malloc(text->size() + 1));
  if (copy != nullptr) {
    std::memcpy(copy, text->c_str(), text->size() + 1);
  }
  return copy;
}

void FreeInclude(const char* included, void* /*user_data*/) {
  std::free(const_cast<char*>(included));
}

json MessagesToJson(const std::vector<CompileMessage>& messages) {
  json out = json::array();
  for (const auto& m : messages) {
    out.push_back({{"file", platform::EscapePath(m.file)},
                   {"line", m.line},
                   {"rule", m.rule},
                   {"message", CleanText(m.message)}});
  }
  return out;
}

std::vector<CompileMessage> MessagesFromJson(const json& j) {
  std::vector<CompileMessage> out;
  if (!j.is_array()) {
    return out;
  }
  for (const auto& m : j) {
    if (!m.is_object()) {
      continue;
    }
    CompileMessage cm;
    cm.file = m.value("file", "");
    cm.line = m.value("line", 0);
    cm.rule = m.value("rule", "");
    cm.message = m.value("message", "");
    out.push_back(std::move(cm));
  }
  return out;
}

Error CompileFailure(const CompileReport& report) {
  std::string msg = "YARA rules do not compile: ";
  constexpr size_t kShown = 3;
  for (size_t i = 0; i < report.errors.size() && i < kShown; ++i) {
    msg += (i == 0 ? "" : "; ") + report.errors[i].ToString();
  }
  if (report.errors.size() > kShown) {
    msg += " (and " + std::to_string(report.errors.size() - kShown) + " more)";
  }
  return MakeError(ErrorCode::kParse, std::move(msg));
}

size_t CountRules(YR_RULES* rules) {
  size_t n = 0;
  const YR_RULE* rule = nullptr;
  yr_rules_foreach(rules, rule) { ++n; }
  return n;
}

// YR_STREAM over an in-memory buffer: compiled rules are hashed before libyara parses them.
struct MemoryStream {
  std::string data;
  size_t pos = 0;
};

size_t StreamRead(void* ptr, size_t size, size_t count, void* user_data) {
  auto* s = static_cast<MemoryStream*>(user_data);
  if (size == 0) {
    return 0;
  }
  const size_t avail = (s->data.size() - s->pos) / size;
  const size_t n = std::min(count, avail);
  std::memcpy(ptr, s->data.data() + s->pos, n * size);
  s->pos += n * size;
  return n;
}

size_t StreamWrite(const void* ptr, size_t size, size_t count, void* user_data) {
  auto* s = static_cast<MemoryStream*>(user_data);
  s->data.append(static_cast<const char*>(ptr), size * count);
  return count;
}

std::string CompiledPath(const std::string& dir, const std::string& hash) {
  return dir + "/" + hash + ".yarc";
}

std::string ReportPath(const std::string& dir, const std::string& hash) {
  return dir + "/" + hash + ".json";
}

// A compiled rule set from the cache, or nothing (absent, damaged, other libyara version: the
// caller compiles again and overwrites it).
std::shared_ptr<const YaraRules> LoadCompiled(const std::shared_ptr<YaraLibrary>& library,
                                              const std::string& dir, const std::string& hash) {
  const std::string report_path = ReportPath(dir, hash);
  if (!FileExists(report_path)) {
    return nullptr;
  }
  auto sidecar_text = ReadFileToString(report_path);
  auto compiled = ReadFileToString(CompiledPath(dir, hash), 256u << 20);
  if (!sidecar_text.ok() || !compiled.ok()) {
    return nullptr;
  }
  const json sidecar = json::parse(*sidecar_text, nullptr, /*allow_exceptions=*/false);
  if (!sidecar.is_object() || sidecar.value("yarc_sha256", "") != Sha256Hex(*compiled)) {
    spdlog::warn("yara: compiled rules cache entry {} is damaged; compiling again", hash);
    return nullptr;
  }
  MemoryStream stream{std::move(compiled).value(), 0};
  YR_STREAM ys{};
  ys.user_data = &stream;
  ys.read = StreamRead;
  YR_RULES* raw = nullptr;
  const int rc = yr_rules_load_stream(&ys, &raw);
  if (rc != ERROR_SUCCESS) {
    spdlog::warn("yara: compiled rules cache entry {}: {}; compiling again", hash,
                 YaraErrorText(rc));
    return nullptr;
  }
  std::unique_ptr<YR_RULES, YaraRules::RulesDeleter> rules(raw);
  const json r = sidecar.value("report", json::object());
  CompileReport report;
  report.warnings = MessagesFromJson(r.value("warnings", json::array()));
  report.slow_warnings = MessagesFromJson(r.value("slow_warnings", json::array()));
  report.from_cache = true;
  const size_t count = CountRules(rules.get());
  return std::make_shared<const YaraRules>(library, std::move(rules), hash, count,
                                           std::move(report));
}

void PruneCompiledCache(const std::string& dir, const std::string& keep_hash) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> entries;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".yarc" && e.path().stem() != keep_hash) {
      entries.emplace_back(e.last_write_time(ec), e.path());
    }
  }
  if (entries.size() < kCompiledCacheKeep) {
    return;
  }
  std::sort(entries.begin(), entries.end());
  for (size_t i = 0; i + kCompiledCacheKeep - 1 < entries.size(); ++i) {
    fs::path p = entries[i].second;
    fs::remove(p, ec);
    p.replace_extension(".json");
    fs::remove(p, ec);
  }
}

Status SaveCompiled(YR_RULES* rules, const std::string& dir, const std::string& hash,
                    const CompileReport& report) {
  CG_RETURN_IF_ERROR(EnsureDirectory(dir, 0700));
  MemoryStream stream;
  YR_STREAM ys{};
  ys.user_data = &stream;
  ys.write = StreamWrite;
  const int rc = yr_rules_save_stream(rules, &ys);
  if (rc != ERROR_SUCCESS) {
    return MakeError(ErrorCode::kInternal, "yr_rules_save_stream: " + YaraErrorText(rc));
  }
  // The compiled file first, its sidecar (with the file's hash) last: a crash in between
  // leaves an entry that does not load, never a wrong one.
  CG_RETURN_IF_ERROR(WriteFileAtomic(CompiledPath(dir, hash), stream.data, 0600));
  const json sidecar = {
      {"yarc_sha256", Sha256Hex(stream.data)}, {"libyara", YR_VERSION}, {"report", ToJson(report)}};
  CG_RETURN_IF_ERROR(WriteFileAtomic(ReportPath(dir, hash), sidecar.dump(), 0600));
  PruneCompiledCache(dir, hash);
  return OkStatus();
}

}  // namespace

std::string RulesHash(const std::vector<RuleSource>& sources) {
  // Length-prefixed so that no two different lists serialise the same.
  std::string buf = "cg-yara-rules/1\n";
  for (const auto& s : sources) {
    buf += std::to_string(s.ns.size()) + ":" + s.ns + std::to_string(s.text.size()) + ":" + s.text;
  }
  return Sha256Hex(buf);
}

Result<RuleSource> ReadRuleFile(const std::string& spec) {
  RuleSource source;
  std::string path = spec;
  const size_t colon = spec.find(':');
  if (!FileExists(spec) && colon != std::string::npos && colon > 0 && spec.find('/') > colon) {
    source.ns = spec.substr(0, colon);
    path = spec.substr(colon + 1);
  }
  auto text = ReadFileToString(path, 64u << 20);
  if (!text.ok()) {
    return text.error().Wrap("rules file " + path);
  }
  source.name = path;
  source.text = std::move(text).value();
  return source;
}

std::string CompileMessage::ToString() const {
  std::string out = file.empty() ? std::string("<rules>") : file;
  out += ":" + std::to_string(line) + ": ";
  if (!rule.empty()) {
    out += "rule \"" + rule + "\": ";
  }
  return out + message;
}

nlohmann::json ToJson(const CompileReport& report) {
  return json{{"errors", MessagesToJson(report.errors)},
              {"warnings", MessagesToJson(report.warnings)},
              {"slow_warnings", MessagesToJson(report.slow_warnings)},
              {"from_cache", report.from_cache}};
}

Result<std::shared_ptr<const YaraRules>> CompileRules(const std::vector<RuleSource>& sources,
                                                      const CompileOptions& options,
                                                      CompileReport* report_out) {
  CompileReport local;
  CompileReport& report = report_out != nullptr ? *report_out : local;
  report = CompileReport{};
  if (sources.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no YARA rules given");
  }
  CG_ASSIGN_OR_RETURN(auto library, YaraLibrary::Acquire());
  const std::string hash = RulesHash(sources);
  const bool use_cache = !options.cache_dir.empty() && !options.allow_includes;
  if (use_cache) {
    if (auto cached = LoadCompiled(library, options.cache_dir, hash)) {
      report = cached->report();
      return cached;
    }
  }

  YR_COMPILER* raw_compiler = nullptr;
  int rc = yr_compiler_create(&raw_compiler);
  if (rc != ERROR_SUCCESS) {
    return MakeError(ErrorCode::kInternal, "yr_compiler_create: " + YaraErrorText(rc));
  }
  CompilerPtr compiler(raw_compiler);
  CompileContext context{&report, {}};
  yr_compiler_set_callback(compiler.get(), OnCompilerMessage, &context);
  if (options.allow_includes) {
    yr_compiler_set_include_callback(compiler.get(), OnInclude, FreeInclude, &context);
  } else {
    // A null include callback makes libyara refuse `include` ("includes are disabled").
    yr_compiler_set_include_callback(compiler.get(), nullptr, nullptr, nullptr);
  }
  for (size_t i = 0; i < sources.size(); ++i) {
    const RuleSource& s = sources[i];
    context.current = s.name.empty() ? "rules[" + std::to_string(i) + "]" : s.name;
    const std::string ns = s.ns.empty() ? "default" : s.ns;
    // libyara takes a string up to its first NUL: a text with a NUL in it would compile only
    // in part while its hash covers all of it. Rule files are text; refuse it.
    if (const size_t nul = s.text.find('\0'); nul != std::string::npos) {
      report.errors.push_back(
          {context.current,
           static_cast<int>(std::count(s.text.begin(), s.text.begin() + nul, '\n')) + 1, "",
           "NUL byte in the rules (not a text file)"});
      break;
    }
    if (yr_compiler_add_string(compiler.get(), s.text.c_str(), ns.c_str()) > 0) {
      // libyara's compiler cannot take more input after an error.
      break;
    }
  }
  if (!report.errors.empty()) {
    return CompileFailure(report);
  }
  YR_RULES* raw_rules = nullptr;
  rc = yr_compiler_get_rules(compiler.get(), &raw_rules);
  if (rc != ERROR_SUCCESS) {
    return MakeError(ErrorCode::kInternal, "yr_compiler_get_rules: " + YaraErrorText(rc));
  }
  std::unique_ptr<YR_RULES, YaraRules::RulesDeleter> rules(raw_rules);
  if (use_cache) {
    if (auto saved = SaveCompiled(rules.get(), options.cache_dir, hash, report); !saved.ok()) {
      // The rules work; only the next start will compile them again.
      spdlog::warn("yara: cannot cache compiled rules: {}", saved.error().ToString());
    }
  }
  const size_t count = CountRules(rules.get());
  return std::make_shared<const YaraRules>(std::move(library), std::move(rules), hash, count,
                                           report);
}

Result<std::shared_ptr<const YaraRules>> LoadCachedRules(const std::string& cache_dir,
                                                         const std::string& hash) {
  CG_ASSIGN_OR_RETURN(auto library, YaraLibrary::Acquire());
  if (auto rules = LoadCompiled(library, cache_dir, hash)) {
    return rules;
  }
  return MakeError(ErrorCode::kNotFound, "no usable compiled rules " + hash + " in " + cache_dir);
}

Status RuleSet::Update(const std::vector<RuleSource>& sources, const CompileOptions& options,
                       CompileReport* report) {
  CG_ASSIGN_OR_RETURN(auto rules, CompileRules(sources, options, report));
  std::lock_guard lock(mu_);
  current_ = std::move(rules);
  return OkStatus();
}

std::shared_ptr<const YaraRules> RuleSet::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

// ---- scanning --------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
using platform::FileStamp;
using platform::SkipReason;

struct WorkItem {
  std::string path;
  FileStamp stamp;
};

// The walker's bounded hand-off to the workers: walking runs ahead of matching by at most
// `capacity` files, and neither waits on the other while there is room and work. Workers take
// the largest queued file first, so a big file met late in the walk does not leave one worker
// scanning it alone after the others ran out of work.
class WorkQueue {
 public:
  explicit WorkQueue(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

  // Blocks while full (until half drained); false once aborted.
  bool Push(WorkItem item) {
    std::unique_lock lock(mu_);
    if (items_.size() >= capacity_) {
      not_full_.wait(lock, [&] { return aborted_ || items_.size() <= capacity_ / 2; });
    }
    if (aborted_) {
      return false;
    }
    items_.push_back(std::move(item));
    std::push_heap(items_.begin(), items_.end(), SmallerFile);
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty; nothing once closed and drained, or aborted.
  std::optional<WorkItem> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return aborted_ || closed_ || !items_.empty(); });
    if (aborted_ || items_.empty()) {
      return std::nullopt;
    }
    std::pop_heap(items_.begin(), items_.end(), SmallerFile);
    WorkItem item = std::move(items_.back());
    items_.pop_back();
    // The walker, when it waits, waits for a full queue to drain to half: one wake-up per
    // capacity/2 files rather than one per file.
    if (items_.size() <= capacity_ / 2) {
      not_full_.notify_one();
    }
    return item;
  }

  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

  void Abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    items_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  static bool SmallerFile(const WorkItem& a, const WorkItem& b) {
    return a.stamp.size < b.stamp.size;
  }

  std::mutex mu_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::vector<WorkItem> items_;  // a max-heap by file size
  size_t capacity_;
  bool closed_ = false;
  bool aborted_ = false;
};

// Keeps the scan's CPU time at or under `percent` of one core over the wall time since the
// scan started: each thread reports the CPU time it used (thread CPU clock) and sleeps while
// the scan as a whole is ahead of its budget. Work comes in whole files, so the average holds
// at every file boundary, including after the last one.
class CpuGovernor {
 public:
  CpuGovernor(int percent, Clock::time_point start) : percent_(percent), start_(start) {}

  bool enabled() const { return percent_ > 0; }

  void Charge(std::chrono::nanoseconds used) {
    used_ns_.fetch_add(used.count(), std::memory_order_relaxed);
  }

  void Pace(const std::function<bool()>& stopped) const {
    if (!enabled()) {
      return;
    }
    for (;;) {
      const int64_t used = used_ns_.load(std::memory_order_relaxed);
      const auto earned = std::chrono::nanoseconds(used * 100 / percent_);
      const auto elapsed = Clock::now() - start_;
      if (elapsed >= earned || stopped()) {
        return;
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(earned - elapsed, std::chrono::milliseconds(250)));
    }
  }

 private:
  int percent_;
  Clock::time_point start_;
  std::atomic<int64_t> used_ns_{0};
};

// Holds workers while the machine runs on battery (policy pause_on_battery). The power state
// is read at most once per poll interval, whichever worker asks.
class BatteryGate {
 public:
  BatteryGate(bool enabled, std::function<bool()> probe, std::chrono::milliseconds poll)
      : enabled_(enabled), probe_(std::move(probe)), poll_(poll) {}

  std::chrono::nanoseconds Wait(const std::function<bool()>& stopped) {
    if (!enabled_) {
      return std::chrono::nanoseconds(0);
    }
    const auto start = Clock::now();
    while (OnBattery() && !stopped()) {
      std::this_thread::sleep_for(
          std::min<std::chrono::milliseconds>(poll_, std::chrono::milliseconds(250)));
    }
    return Clock::now() - start;
  }

 private:
  bool OnBattery() {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (!checked_ || now - last_ >= poll_) {
      state_ = probe_();
      last_ = now;
      checked_ = true;
    }
    return state_;
  }

  bool enabled_;
  std::function<bool()> probe_;
  std::chrono::milliseconds poll_;
  std::mutex mu_;
  bool checked_ = false;
  bool state_ = false;
  Clock::time_point last_;
};

bool IsCountedOnly(SkipReason reason) {
  return reason == SkipReason::kSymlink || reason == SkipReason::kNotIncluded ||
         reason == SkipReason::kExtension;
}

// What one thread saw; merged when the threads are done, so the hot path takes no lock.
struct Tally {
  size_t max_listed = 0;
  size_t max_matches = 0;
  uint64_t files_scanned = 0;
  uint64_t bytes_scanned = 0;
  uint64_t files_unchanged = 0;
  uint64_t bytes_unchanged = 0;
  uint64_t files_skipped_total = 0;
  uint64_t errors_total = 0;
  uint64_t timed_out = 0;
  uint64_t matches_total = 0;
  std::map<std::string, uint64_t> skipped_counts;
  std::vector<SkippedFile> skipped;
  std::vector<ScanIssue> errors;
  std::vector<ScanMatch> matches;
  std::chrono::nanoseconds cpu{0};
  std::chrono::nanoseconds paused{0};

  void Skip(const std::string& path, SkipReason reason, std::string_view detail) {
    const std::string key(platform::ToString(reason));
    ++skipped_counts[key];
    if (IsCountedOnly(reason)) {
      return;
    }
    ++files_skipped_total;
    if (skipped.size() < max_listed) {
      skipped.push_back({path, detail.empty() ? key : key + " (" + std::string(detail) + ")"});
    }
  }

  void Fail(const std::string& path, std::string message) {
    ++errors_total;
    if (errors.size() < max_listed) {
      errors.push_back({path, std::move(message)});
    }
  }

  void Match(ScanMatch m) {
    ++matches_total;
    if (matches.size() < max_matches) {
      matches.push_back(std::move(m));
    }
  }

  void MergeInto(ScanSummary& s) && {
    s.files_scanned += files_scanned;
    s.bytes_scanned += bytes_scanned;
    s.files_unchanged += files_unchanged;
    s.bytes_unchanged += bytes_unchanged;
    s.files_skipped_total += files_skipped_total;
    s.errors_total += errors_total;
    s.timed_out += timed_out;
    s.matches_total += matches_total;
    for (const auto& [k, v] : skipped_counts) {
      s.skipped_counts[k] += v;
    }
    for (auto& x : skipped) {
      if (s.files_skipped.size() < max_listed) {
        s.files_skipped.push_back(std::move(x));
      }
    }
    for (auto& x : errors) {
      if (s.errors.size() < max_listed) {
        s.errors.push_back(std::move(x));
      }
    }
    for (auto& x : matches) {
      if (s.matches.size() < max_matches) {
        s.matches.push_back(std::move(x));
      }
    }
    s.cpu += std::chrono::duration_cast<std::chrono::milliseconds>(cpu);
    s.paused += std::chrono::duration_cast<std::chrono::milliseconds>(paused);
  }
};

// One file's matches, filled by the scanner callback.
struct FileScan {
  const ScanOptions* options = nullptr;
  std::vector<ScanMatch> matches;
  size_t unlisted_rules = 0;
  std::vector<std::string> warnings;

  void Reset() {
    matches.clear();
    unlisted_rules = 0;
    warnings.clear();
  }
};

ScanMatch DescribeMatch(YR_SCAN_CONTEXT* context, const YR_RULE* rule, const ScanOptions& o) {
  ScanMatch m;
  m.rule = rule->identifier;
  m.ns = rule->ns->name;
  const char* tag = nullptr;
  yr_rule_tags_foreach(rule, tag) { m.tags.emplace_back(tag); }
  const YR_META* meta = nullptr;
  yr_rule_metas_foreach(rule, meta) {
    switch (meta->type) {
      case META_TYPE_INTEGER:
        m.meta[meta->identifier] = meta->integer;
        break;
      case META_TYPE_BOOLEAN:
        m.meta[meta->identifier] = meta->integer != 0;
        break;
      default:
        m.meta[meta->identifier] = CleanText(meta->string != nullptr ? meta->string : "");
        break;
    }
  }
  const YR_STRING* string = nullptr;
  yr_rule_strings_foreach(rule, string) {
    // yr_string_matches_foreach, with each record copied out first: libyara 4.2 packs YR_MATCH
    // records between match data in its notebook, so they are not always 8-byte aligned.
    const YR_MATCH* next = context->matches[string->idx].head;
    while (next != nullptr) {
      YR_MATCH match;
      std::memcpy(&match, next, sizeof(match));
      next = match.next;
      if (match.is_private) {
        continue;
      }
      if (m.strings.size() >= o.max_strings_per_match) {
        m.strings_truncated = true;
        break;
      }
      MatchedString ms;
      ms.identifier = string->identifier;
      ms.offset = static_cast<uint64_t>(match.base + match.offset);
      ms.length = static_cast<uint32_t>(match.match_length);
      const size_t shown =
          std::min(static_cast<size_t>(std::max(match.data_length, 0)), o.max_string_bytes);
      ms.data_hex = HexEncode(std::string_view(reinterpret_cast<const char*>(match.data), shown));
      m.strings.push_back(std::move(ms));
    }
  }
  return m;
}

int ScanCallback(YR_SCAN_CONTEXT* context, int message, void* message_data, void* user_data) {
  auto* scan = static_cast<FileScan*>(user_data);
  if (message == CALLBACK_MSG_RULE_MATCHING) {
    const auto* rule = static_cast<const YR_RULE*>(message_data);
    if (scan->matches.size() < scan->options->max_matches_per_file) {
      scan->matches.push_back(DescribeMatch(context, rule, *scan->options));
    } else {
      ++scan->unlisted_rules;
    }
  } else if (message == CALLBACK_MSG_TOO_MANY_MATCHES) {
    const auto* string = static_cast<const YR_STRING*>(message_data);
    const YR_RULE* rule = &context->rules->rules_table[string->rule_idx];
    scan->warnings.push_back(std::string("too many matches for ") + string->identifier +
                             " in rule \"" + rule->identifier +
                             "\"; results for this rule may be incomplete");
  }
  return CALLBACK_CONTINUE;
}

// SHA-256 of the first `size` bytes through pread(), for mapped files: reading the mapping
// ourselves would fault (SIGBUS) if the file shrank after libyara was done with it.
Result<std::string> HashByRead(const platform::ScanFile& file, uint64_t size,
                               platform::ScanBuffer& buffer, size_t chunk) {
  std::unique_ptr<EVP_MD_CTX, DigestDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return MakeError(ErrorCode::kCrypto, "SHA-256 init failed");
  }
  uint8_t* buf = buffer.Reserve(chunk);
  uint64_t off = 0;
  while (off < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk, size - off));
    CG_ASSIGN_OR_RETURN(const size_t got, file.ReadAt(off, buf, want));
    if (got == 0) {
      return MakeError(ErrorCode::kIo, "file shrank while being hashed");
    }
    EVP_DigestUpdate(ctx.get(), buf, got);
    off += got;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

struct ScanRun {
  const YaraRules& rules;
  const ScanOptions& o;
  WorkQueue queue;
  CpuGovernor governor;
  BatteryGate battery;
  YaraCache* cache;
  std::atomic<bool> stop{false};
  std::function<bool()> stopped;

  ScanRun(const YaraRules& r, const ScanOptions& opts, Clock::time_point start)
      : rules(r),
        o(opts),
        queue(opts.queue_capacity),
        governor(opts.cpu_budget_percent, start),
        battery(opts.pause_on_battery,
                opts.on_battery ? opts.on_battery : std::function<bool()>([] {
                  auto s = platform::ReadPowerState();
                  return s.ok() && s->on_battery;
                }),
                opts.battery_poll),
        cache(opts.cache) {
    stopped = [this] {
      if (o.cancel != nullptr && o.cancel->load(std::memory_order_relaxed)) {
        stop.store(true, std::memory_order_relaxed);
      }
      return stop.load(std::memory_order_relaxed);
    };
  }
};

class FeedingVisitor final : public platform::WalkVisitor {
 public:
  FeedingVisitor(ScanRun& run, Tally& tally) : run_(run), tally_(tally) {
    cpu_mark_ = platform::ThreadCpuTime();
  }

  bool OnFile(std::string path, const FileStamp& stamp) override {
    if (run_.cache != nullptr && run_.cache->IsKnownClean(stamp)) {
      ++tally_.files_unchanged;
      tally_.bytes_unchanged += stamp.size;
      return !run_.stopped();
    }
    return run_.queue.Push(WorkItem{std::move(path), stamp});
  }

  void OnSkip(const std::string& path, SkipReason reason, std::string_view detail) override {
    tally_.Skip(path, reason, detail);
  }

  void OnError(const std::string& path, const Error& error) override {
    tally_.Fail(path, error.message);
  }

  bool KeepGoing() override {
    if (run_.governor.enabled()) {
      const auto now = platform::ThreadCpuTime();
      run_.governor.Charge(now - cpu_mark_);
      cpu_mark_ = now;
      run_.governor.Pace(run_.stopped);
    }
    return !run_.stopped();
  }

 private:
  ScanRun& run_;
  Tally& tally_;
  std::chrono::nanoseconds cpu_mark_;
};

class Worker {
 public:
  Worker(ScanRun& run, ScannerPtr scanner, Tally& tally)
      : run_(run), o_(run.o), scanner_(std::move(scanner)), tally_(tally) {
    scan_.options = &o_;
    yr_scanner_set_callback(scanner_.get(), ScanCallback, &scan_);
    yr_scanner_set_timeout(scanner_.get(), static_cast<int>(o_.file_timeout.count()));
    yr_scanner_set_flags(scanner_.get(), SCAN_FLAGS_REPORT_RULES_MATCHING);
  }

  void Run() {
    const auto cpu_start = platform::ThreadCpuTime();
    auto cpu_mark = cpu_start;
    if (o_.low_priority) {
      if (auto st = platform::LowerThreadPriority(); !st.ok()) {
        tally_.Fail("", "cannot lower scan priority: " + st.error().message);
      }
    }
    while (auto item = run_.queue.Pop()) {
      if (run_.stopped()) {
        break;
      }
      tally_.paused += run_.battery.Wait(run_.stopped);
      if (run_.stopped()) {
        break;
      }
      ScanOne(*item);
      if (run_.governor.enabled()) {
        const auto now = platform::ThreadCpuTime();
        run_.governor.Charge(now - cpu_mark);
        cpu_mark = now;
        run_.governor.Pace(run_.stopped);
      }
    }
    tally_.cpu += platform::ThreadCpuTime() - cpu_start;
  }

 private:
  void ScanOne(const WorkItem& item) {
    auto opened = platform::ScanFile::Open(item.path, o_.walk.follow_symlinks);
    if (!opened.ok()) {
      const Error& e = opened.error();
      if (e.code == ErrorCode::kNotFound) {
        tally_.Skip(item.path, SkipReason::kVanished, "");
      } else if (e.code == ErrorCode::kInvalidArgument) {
        tally_.Skip(item.path, SkipReason::kSpecialFile, e.message);
      } else {
        tally_.Fail(item.path, e.message);
      }
      return;
    }
    platform::ScanFile& file = *opened;
    const FileStamp stamp = file.stamp();
    const bool mapped = stamp.size > o_.large_file_threshold;
    platform::MappedFile mapping;
    const uint8_t* data = nullptr;
    size_t size = 0;
    bool changed = false;
    if (mapped) {
      auto m = file.Map();
      if (!m.ok()) {
        tally_.Fail(item.path, m.error().message);
        return;
      }
      mapping = std::move(m).value();
      data = mapping.data();
      size = mapping.size();
    } else {
      auto r = file.ReadAll(buffer_, o_.read_chunk);
      if (!r.ok()) {
        tally_.Fail(item.path, r.error().message);
        return;
      }
      data = buffer_.data();
      size = r->bytes;
      changed = r->changed;
    }

    scan_.Reset();
    const int rc = yr_scanner_scan_mem(scanner_.get(), data, size);
    ++tally_.files_scanned;
    tally_.bytes_scanned += size;
    if (rc == ERROR_SCAN_TIMEOUT) {
      ++tally_.timed_out;
      tally_.Fail(item.path, "scan timed out after " + std::to_string(o_.file_timeout.count()) +
                                 " s; file not judged");
      return;
    }
    if (rc == ERROR_COULD_NOT_MAP_FILE && mapped) {
      // libyara caught SIGBUS: the file shrank under the mapping.
      tally_.Fail(item.path, "file shrank while being scanned; file not judged");
      return;
    }
    if (rc != ERROR_SUCCESS) {
      tally_.Fail(item.path, YaraErrorText(rc) + "; file not judged");
      return;
    }
    for (auto& w : scan_.warnings) {
      tally_.Fail(item.path, std::move(w));
    }
    if (mapped) {
      auto now = file.Restat();
      changed = !now.ok() || !(*now == stamp);
    }
    std::string sha;
    if (!scan_.matches.empty()) {
      if (mapped) {
        auto h = HashByRead(file, size, buffer_, o_.read_chunk);
        auto after = file.Restat();
        if (h.ok() && after.ok() && *after == stamp) {
          sha = std::move(h).value();
        } else {
          changed = true;
        }
      } else {
        sha = Sha256Hex(std::string_view(reinterpret_cast<const char*>(data), size));
      }
    }
    if (changed) {
      tally_.Fail(item.path, "changed while being scanned; the result covers the " +
                                 std::to_string(size) + " bytes read");
    }
    if (scan_.unlisted_rules > 0) {
      tally_.Fail(item.path, std::to_string(scan_.unlisted_rules) +
                                 " more matching rules not listed (max_matches_per_file)");
    }
    for (auto& m : scan_.matches) {
      m.path = item.path;
      m.size = size;
      m.sha256 = sha;
      tally_.Match(std::move(m));
    }
    if (run_.cache != nullptr && !changed && scan_.warnings.empty()) {
      run_.cache->Record(stamp, scan_.matches.empty() && scan_.unlisted_rules == 0);
    }
  }

  ScanRun& run_;
  const ScanOptions& o_;
  ScannerPtr scanner_;
  Tally& tally_;
  FileScan scan_;
  platform::ScanBuffer buffer_;
};

int ResolveThreads(int requested) {
  int n = requested;
  if (n <= 0) {
    n = static_cast<int>(std::thread::hardware_concurrency());
  }
  return std::clamp(n, 1, YR_MAX_THREADS);
}

}  // namespace

Result<ScanSummary> ScanFiles(const YaraRules& rules, const ScanOptions& options) {
  if (options.walk.roots.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no paths to scan");
  }
  if (options.cpu_budget_percent < 0 || options.cpu_budget_percent > 100) {
    return MakeError(ErrorCode::kInvalidArgument, "cpu budget must be 0-100 percent");
  }
  if (options.read_chunk == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "read chunk must be positive");
  }
  const int threads = ResolveThreads(options.threads);
  // Scanners are made before any thread starts, so a failure leaves nothing running.
  std::vector<ScannerPtr> scanners;
  for (int i = 0; i < threads; ++i) {
    YR_SCANNER* raw = nullptr;
    const int rc = yr_scanner_create(rules.get(), &raw);
    if (rc != ERROR_SUCCESS) {
      return MakeError(ErrorCode::kInternal, "yr_scanner_create: " + YaraErrorText(rc));
    }
    scanners.emplace_back(raw);
  }

  ScanSummary summary;
  summary.rules_hash = rules.hash();
  Tally proto;
  proto.max_listed = options.max_listed;
  proto.max_matches = options.max_matches;
  Tally walker_tally = proto;
  std::vector<Tally> worker_tallies(static_cast<size_t>(threads), proto);

  const auto start = Clock::now();
  ScanRun run(rules, options, start);
  if (run.cache != nullptr) {
    if (auto st = run.cache->Begin(rules.hash()); !st.ok()) {
      // Without the cache every file is read: slower, never less safe.
      walker_tally.Fail("", "incremental cache unavailable: " + st.error().message);
      run.cache = nullptr;
    }
  }
  {
    // Workers are declared before the threads that run them, so they outlive those threads.
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::jthread> pool;
    pool.reserve(static_cast<size_t>(threads) + 1);
    for (int i = 0; i < threads; ++i) {
      workers.push_back(std::make_unique<Worker>(run, std::move(scanners[static_cast<size_t>(i)]),
                                                 worker_tallies[static_cast<size_t>(i)]));
    }
    for (auto& w : workers) {
      pool.emplace_back([&w] { w->Run(); });
    }
    pool.emplace_back([&] {
      const auto cpu_start = platform::ThreadCpuTime();
      if (options.low_priority) {
        if (auto st = platform::LowerThreadPriority(); !st.ok()) {
          walker_tally.Fail("", "cannot lower scan priority: " + st.error().message);
        }
      }
      FeedingVisitor visitor(run, walker_tally);
      if (auto st = platform::WalkFiles(options.walk, visitor); !st.ok()) {
        walker_tally.Fail("", st.error().message);
      }
      if (run.stopped()) {
        run.queue.Abort();
      } else {
        run.queue.Close();
      }
      walker_tally.cpu += platform::ThreadCpuTime() - cpu_start;
    });
    // std::jthread joins on destruction: every thread is done when this block ends.
  }
  summary.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  summary.cancelled = run.stop.load();

  std::move(walker_tally).MergeInto(summary);
  for (auto& t : worker_tallies) {
    std::move(t).MergeInto(summary);
  }
  if (run.cache != nullptr && !summary.cancelled) {
    if (auto st = run.cache->Commit(); !st.ok()) {
      ++summary.errors_total;
      summary.errors.push_back({"", "incremental cache not saved: " + st.error().message});
    }
  }
  std::sort(summary.matches.begin(), summary.matches.end(),
            [](const ScanMatch& a, const ScanMatch& b) {
              return std::tie(a.path, a.ns, a.rule) < std::tie(b.path, b.ns, b.rule);
            });
  std::sort(summary.files_skipped.begin(), summary.files_skipped.end(),
            [](const SkippedFile& a, const SkippedFile& b) { return a.path < b.path; });
  std::sort(summary.errors.begin(), summary.errors.end(),
            [](const ScanIssue& a, const ScanIssue& b) { return a.path < b.path; });
  return summary;
}

nlohmann::json ToJson(const ScanSummary& s) {
  json matches = json::array();
  for (const auto& m : s.matches) {
    json strings = json::array();
    for (const auto& ms : m.strings) {
      strings.push_back({{"identifier", ms.identifier},
                         {"offset", ms.offset},
                         {"length", ms.length},
                         {"data", ms.data_hex}});
    }
    matches.push_back({{"rule", m.rule},
                       {"namespace", m.ns},
                       {"tags", m.tags},
                       {"meta", m.meta},
                       {"path", platform::EscapePath(m.path)},
                       {"size", m.size},
                       {"sha256", m.sha256},
                       {"strings", std::move(strings)},
                       {"strings_truncated", m.strings_truncated}});
  }
  json skipped = json::array();
  for (const auto& k : s.files_skipped) {
    skipped.push_back({{"path", platform::EscapePath(k.path)}, {"reason", k.reason}});
  }
  json errors = json::array();
  for (const auto& e : s.errors) {
    errors.push_back({{"path", platform::EscapePath(e.path)}, {"message", CleanText(e.message)}});
  }
  return json{{"rules_hash", s.rules_hash},
              {"matches", std::move(matches)},
              {"matches_total", s.matches_total},
              {"files_scanned", s.files_scanned},
              {"bytes_scanned", s.bytes_scanned},
              {"files_unchanged", s.files_unchanged},
              {"bytes_unchanged", s.bytes_unchanged},
              {"files_skipped", std::move(skipped)},
              {"files_skipped_total", s.files_skipped_total},
              {"skipped_counts", s.skipped_counts},
              {"errors", std::move(errors)},
              {"errors_total", s.errors_total},
              {"timed_out", s.timed_out},
              {"duration_ms", s.duration.count()},
              {"cpu_ms", s.cpu.count()},
              {"paused_ms", s.paused.count()},
              {"cancelled", s.cancelled}};
}

}  // namespace cg::collectors

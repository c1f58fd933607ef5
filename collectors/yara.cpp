// The `yara` check: its policy section, the scheduled scan and its stored outcome, the
// judgement of that outcome, and the scan schedule (see yara.h and docs/yara.md).
#include "collectors/yara.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "collectors/yara_cache.h"
#include "platform/os/files.h"
#include "platform/path.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;
using protocol::Severity;

constexpr int kStateFormat = 1;
// What the check's facts and the stored state list (reports are bounded, protocol/report.h).
constexpr size_t kFactMatches = 20;
constexpr size_t kStateListed = 200;
// A rule's severity when its meta has none.
constexpr Severity kDefaultRuleSeverity = Severity::kHigh;

Error Invalid(const std::string& key, const std::string& msg) {
  return MakeError(ErrorCode::kInvalidArgument, "policy checks.yara." + key + ": " + msg);
}

const json& Param(const policy::CheckPolicy& p, const char* key) {
  static const json kNull;
  auto it = p.params.find(key);
  return it == p.params.end() ? kNull : *it;
}

Result<std::vector<std::string>> StringList(const policy::CheckPolicy& p, const char* key) {
  const json& v = Param(p, key);
  std::vector<std::string> out;
  if (v.is_null()) {
    return out;
  }
  if (!v.is_array()) {
    return Invalid(key, "must be an array of strings");
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get_ref<const std::string&>().empty()) {
      return Invalid(std::string(key) + "[" + std::to_string(i) + "]",
                     "must be a non-empty string");
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

Result<int64_t> IntParam(const policy::CheckPolicy& p, const char* key, int64_t lo, int64_t hi) {
  const json& v = Param(p, key);
  if (!v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi) {
    return Invalid(
        key, "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v.get<int64_t>();
}

Result<bool> BoolParam(const policy::CheckPolicy& p, const char* key) {
  const json& v = Param(p, key);
  if (!v.is_boolean()) {
    return Invalid(key, "must be true or false");
  }
  return v.get<bool>();
}

Result<int> ParseClock(std::string_view hhmm) {
  int h = 0;
  int m = 0;
  char tail = 0;
  const std::string s(hhmm);
  if (s.size() != 5 || std::sscanf(s.c_str(), "%2d:%2d%c", &h, &m, &tail) != 2 || h < 0 || h > 23 ||
      m < 0 || m > 59) {
    return MakeError(ErrorCode::kInvalidArgument, "bad time");
  }
  return h * 60 + m;
}

Result<std::pair<int, int>> ParseWindow(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    auto start = ParseClock(text.substr(0, dash));
    auto end = ParseClock(text.substr(dash + 1));
    if (start.ok() && end.ok() && *start != *end) {
      return std::make_pair(*start, *end);
    }
  }
  return Invalid("schedule_window", "must be \"HH:MM-HH:MM\" (local time, may cross midnight)");
}

Severity RuleSeverity(const json& meta) {
  if (meta.is_object()) {
    auto it = meta.find("severity");
    if (it != meta.end() && it->is_string()) {
      std::string s = it->get<std::string>();
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (auto sev = protocol::ParseSeverity(s); sev.ok()) {
        return *sev;
      }
    }
  }
  return kDefaultRuleSeverity;
}

// "C:\Users" or "C:/Users": a Windows path, taken as it is (the Windows walker refuses POSIX
// paths, a Linux one refuses these).
bool IsDrivePath(std::string_view p) {
  return p.size() >= 3 && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
         p[1] == ':' && (p[2] == '\\' || p[2] == '/');
}

// "~" and "~/sub" become every user's home (root and the interactive UID range of the account
// database); then nested and duplicate paths are folded so nothing is walked twice. One policy
// serves Linux and Windows machines: the other system's paths are left out with a note.
std::vector<std::string> ExpandPaths(const std::vector<std::string>& paths,
                                     platform::Platform& platform,
                                     std::vector<std::string>& notes) {
  std::vector<std::string> homes;
  bool homes_read = false;
  std::vector<std::string> out;
  auto host = platform.host->Identity();
  const bool windows = host.ok() && host->os_id == "windows";
  for (const auto& p : paths) {
    if (IsDrivePath(p) != windows) {
      notes.push_back(p + ": a " + (windows ? "Linux" : "Windows") + " path, not scanned here");
      continue;
    }
    if (windows) {
      out.push_back(p);
      continue;
    }
    if (p != "~" && p.rfind("~/", 0) != 0) {
      out.push_back(platform::NormalizeMachinePath(p));
      continue;
    }
    if (!homes_read) {
      homes_read = true;
      auto db = platform.accounts ? platform.accounts->Read()
                                  : Result<platform::AccountDatabase>(
                                        MakeError(ErrorCode::kUnavailable, "no account database"));
      if (db.ok()) {
        for (const auto& a : db->accounts) {
          const bool user = a.uid == 0 || (static_cast<int64_t>(a.uid) >= db->defaults.uid_min &&
                                           static_cast<int64_t>(a.uid) <= db->defaults.uid_max);
          if (user && a.home.size() > 1 && a.home.front() == '/') {
            homes.push_back(a.home);
          }
        }
      } else {
        // Without the account list the usual places still get scanned.
        notes.push_back("cannot list users' homes (" + db.error().message +
                        "); scanning /root and /home instead");
        homes = {"/root", "/home"};
      }
    }
    for (const auto& h : homes) {
      out.push_back(platform::NormalizeMachinePath(p == "~" ? h : h + p.substr(1)));
    }
  }
  std::sort(out.begin(), out.end());
  std::vector<std::string> folded;
  for (const auto& p : out) {
    const bool covered = std::any_of(folded.begin(), folded.end(), [&](const std::string& q) {
      return p == q || q == "/" ||
             (p.size() > q.size() && p.compare(0, q.size(), q) == 0 && p[q.size()] == '/');
    });
    if (!covered) {
      folded.push_back(p);
    }
  }
  return folded;
}

std::string Dump(const json& j) {
  // Every string put in state is escaped already; `replace` guards against a slip.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status WriteState(const YaraStatePaths& paths, const json& state) {
  return WriteFileAtomic(paths.last_scan, Dump(state), 0600);
}

std::string Plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

YaraStatePaths::YaraStatePaths(const std::string& state_dir)
    : dir(state_dir + "/yara"),
      last_scan(dir + "/last_scan.json"),
      file_cache(dir + "/files.sqlite"),
      compiled(dir + "/compiled") {}

Result<YaraPolicy> ParseYaraPolicy(const policy::CheckPolicy& p) {
  YaraPolicy y;
  const json& rules = Param(p, "rules");
  if (!rules.is_null() && !rules.is_array()) {
    return Invalid("rules", "must be an array of {namespace, source}");
  }
  for (size_t i = 0; rules.is_array() && i < rules.size(); ++i) {
    const std::string key = "rules[" + std::to_string(i) + "]";
    const json& r = rules[i];
    if (!r.is_object()) {
      return Invalid(key, "must be an object {namespace, source}");
    }
    RuleSource s;
    s.name = key;
    for (auto it = r.begin(); it != r.end(); ++it) {
      if (it.key() == "namespace") {
        if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
          return Invalid(key + ".namespace", "must be a non-empty string");
        }
        s.ns = it->get<std::string>();
      } else if (it.key() == "source") {
        if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
          return Invalid(key + ".source", "must be a non-empty string (YARA rule text)");
        }
        s.text = it->get<std::string>();
      } else {
        return Invalid(key + "." + it.key(), "unknown key");
      }
    }
    if (s.text.empty()) {
      return Invalid(key + ".source", "missing");
    }
    y.rules.push_back(std::move(s));
  }
  CG_ASSIGN_OR_RETURN(y.paths, StringList(p, "paths"));
  for (size_t i = 0; i < y.paths.size(); ++i) {
    const std::string& path = y.paths[i];
    if (path.front() != '/' && !IsDrivePath(path) && path != "~" && path.rfind("~/", 0) != 0) {
      return Invalid("paths[" + std::to_string(i) + "]",
                     "must be absolute (\"/home\", \"C:\\Users\"), \"~\" or \"~/...\"");
    }
  }
  if (y.paths.empty()) {
    return Invalid("paths", "must name at least one path");
  }
  CG_ASSIGN_OR_RETURN(y.include, StringList(p, "include"));
  CG_ASSIGN_OR_RETURN(y.exclude, StringList(p, "exclude"));
  CG_ASSIGN_OR_RETURN(y.skip_extensions, StringList(p, "skip_extensions"));
  CG_ASSIGN_OR_RETURN(const int64_t max_size, IntParam(p, "max_file_size", 0, int64_t{1} << 50));
  y.max_file_size = static_cast<uint64_t>(max_size);
  CG_ASSIGN_OR_RETURN(y.follow_symlinks, BoolParam(p, "follow_symlinks"));
  CG_ASSIGN_OR_RETURN(y.one_filesystem, BoolParam(p, "one_filesystem"));
  CG_ASSIGN_OR_RETURN(y.pause_on_battery, BoolParam(p, "pause_on_battery"));
  CG_ASSIGN_OR_RETURN(const int64_t threads, IntParam(p, "threads", 0, 32));
  y.threads = static_cast<int>(threads);
  CG_ASSIGN_OR_RETURN(const int64_t budget, IntParam(p, "cpu_budget_percent", 0, 100));
  y.cpu_budget_percent = static_cast<int>(budget);
  CG_ASSIGN_OR_RETURN(const int64_t timeout, IntParam(p, "file_timeout_seconds", 0, 3600));
  y.file_timeout = std::chrono::seconds(timeout);
  const json& threshold = Param(p, "severity_threshold");
  if (!threshold.is_string()) {
    return Invalid("severity_threshold", "must be a severity");
  }
  auto sev = protocol::ParseSeverity(threshold.get<std::string>());
  if (!sev.ok()) {
    return Invalid("severity_threshold", sev.error().message);
  }
  y.severity_threshold = *sev;
  const json& window = Param(p, "schedule_window");
  if (!window.is_string()) {
    return Invalid("schedule_window", "must be a string \"HH:MM-HH:MM\"");
  }
  CG_ASSIGN_OR_RETURN(const auto w, ParseWindow(window.get<std::string>()));
  y.window_start_minute = w.first;
  y.window_end_minute = w.second;
  return y;
}

Result<ScanSummary> RunScheduledScan(platform::Platform& platform,
                                     const policy::CheckPolicy& policy,
                                     const std::string& state_dir,
                                     const std::atomic<bool>* cancel) {
  CG_ASSIGN_OR_RETURN(YaraPolicy y, ParseYaraPolicy(policy));
  if (y.rules.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no YARA rules in policy");
  }
  if (!platform.fs || !platform.clock) {
    return MakeError(ErrorCode::kInternal, "platform without file system or clock");
  }
  const YaraStatePaths paths(state_dir);
  CG_RETURN_IF_ERROR(EnsureDirectory(paths.dir, 0700));
  const SysTime started = platform.clock->Now();
  const std::string policy_hash = RulesHash(y.rules);

  // The rules in force before this scan: what a previous scan used.
  std::string previous_hash;
  if (auto text = ReadFileToString(paths.last_scan); text.ok()) {
    const json prev = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (prev.is_object() && prev.value("rules_hash", json()).is_string()) {
      previous_hash = prev["rules_hash"].get<std::string>();
    }
  }

  json state = {{"format", kStateFormat},
                {"started_at", FormatRfc3339(started)},
                {"policy_rules_hash", policy_hash}};
  json notes = json::array();
  CompileReport report;
  auto compiled = CompileRules(y.rules, CompileOptions{paths.compiled, false}, &report);
  state["compile"] = ToJson(report);
  std::shared_ptr<const YaraRules> rules;
  if (compiled.ok()) {
    rules = std::move(compiled).value();
  } else {
    state["compile_error"] = platform::EscapePath(compiled.error().message);
    if (!previous_hash.empty() && previous_hash != policy_hash) {
      if (auto old = LoadCachedRules(paths.compiled, previous_hash); old.ok()) {
        rules = std::move(old).value();
        notes.push_back("the policy's rules do not compile; scanned with the rules in force (" +
                        previous_hash + ")");
      }
    }
    if (!rules) {
      state["rules_hash"] = "";
      state["finished_at"] = FormatRfc3339(platform.clock->Now());
      state["scan"] = nullptr;
      state["notes"] = notes;
      CG_RETURN_IF_ERROR(WriteState(paths, state));
      return compiled.error();
    }
  }

  std::vector<std::string> note_text;
  ScanOptions o;
  for (const auto& p : ExpandPaths(y.paths, platform, note_text)) {
    o.walk.roots.push_back(platform.fs->HostPath(p));
  }
  o.walk.machine_root = platform.fs->root();
  o.walk.follow_symlinks = y.follow_symlinks;
  o.walk.one_filesystem = y.one_filesystem;
  o.walk.include = y.include;
  o.walk.exclude = y.exclude;
  o.walk.skip_extensions = y.skip_extensions;
  o.walk.max_file_size = y.max_file_size;
  // The budget is of one core: more workers than the budget's cores only add memory.
  o.threads = y.threads > 0
                  ? y.threads
                  : (y.cpu_budget_percent > 0 ? std::max(1, (y.cpu_budget_percent + 99) / 100) : 0);
  o.cpu_budget_percent = y.cpu_budget_percent;
  o.file_timeout = y.file_timeout;
  o.low_priority = true;
  o.pause_on_battery = y.pause_on_battery;
  o.max_listed = kStateListed;
  o.cancel = cancel;
  auto cache = YaraCache::Open(paths.file_cache);
  if (cache.ok()) {
    o.cache = cache->get();
    if ((*cache)->recovered()) {
      note_text.push_back((*cache)->recovery_note());
    }
  } else {
    note_text.push_back("incremental cache unavailable, every file read: " + cache.error().message);
  }
  for (auto& n : note_text) {
    notes.push_back(platform::EscapePath(n));
  }
  auto summary = ScanFiles(*rules, o);
  state["finished_at"] = FormatRfc3339(platform.clock->Now());
  state["rules_hash"] = rules->hash();
  state["rules_count"] = rules->rule_count();
  state["notes"] = notes;
  if (!summary.ok()) {
    state["scan"] = nullptr;
    state["scan_error"] = platform::EscapePath(summary.error().message);
    CG_RETURN_IF_ERROR(WriteState(paths, state));
    return summary.error();
  }
  state["scan"] = ToJson(*summary);
  CG_RETURN_IF_ERROR(WriteState(paths, state));
  return summary;
}

CheckResult YaraCheck::Evaluate(const CheckContext& ctx) const {
  CheckResult r = MakeResult(kId, ctx.policy);
  auto parsed = ParseYaraPolicy(ctx.policy);
  if (!parsed.ok()) {
    r.summary = parsed.error().message;
    return r;
  }
  const YaraPolicy& y = *parsed;
  if (y.rules.empty()) {
    r.status = CheckStatus::kNotApplicable;
    r.summary = "no YARA rules in policy";
    return r;
  }
  const std::string policy_hash = RulesHash(y.rules);
  r.facts["policy_rules_hash"] = policy_hash;
  const YaraStatePaths paths(state_dir_);
  auto text = ReadFileToString(paths.last_scan);
  if (!text.ok()) {
    r.summary = text.error().code == ErrorCode::kNotFound
                    ? "no YARA scan has run yet (the agent scans daily within the policy's "
                      "schedule_window)"
                    : "cannot read the last YARA scan: " + text.error().message;
    return r;
  }
  const json state = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!state.is_object() || state.value("format", 0) != kStateFormat) {
    r.summary = "the last YARA scan's record is unreadable (" + paths.last_scan + ")";
    return r;
  }
  const json compile = state.value("compile", json::object());
  const json scan = state.value("scan", json());
  const std::string used_hash = state.value("rules_hash", "");
  r.facts["rules_hash"] = used_hash;
  r.facts["last_scan"] = state.value("finished_at", "");
  r.facts["slow_rule_warnings"] = compile.value("slow_warnings", json::array());
  if (!state.value("notes", json::array()).empty()) {
    r.facts["notes"] = state["notes"];
  }
  // Why the last scan cannot vouch for the policy's rules (empty: it can). When the policy's
  // rules do not compile the scan ran with the rules still in force, so what it found is
  // reported (a match is a fail) with the compile error; a scan made with rules the policy has
  // since replaced proves nothing either way until the next scan.
  std::string not_current;
  if (state.value("policy_rules_hash", "") == policy_hash &&
      !compile.value("errors", json::array()).empty()) {
    r.facts["compile_errors"] = compile["errors"];
    not_current = "the policy's YARA rules do not compile: " +
                  state.value("compile_error", std::string("see compile_errors"));
  } else if (used_hash != policy_hash || !scan.is_object()) {
    r.summary = used_hash.empty() || !scan.is_object()
                    ? "the last YARA scan did not run"
                    : "the last YARA scan used other rules than the policy's (the next "
                      "scheduled scan uses the current ones)";
    return r;
  }
  if (!scan.is_object()) {
    r.summary = not_current;
    return r;
  }

  for (const char* k : {"files_scanned", "files_unchanged", "bytes_scanned", "files_skipped_total",
                        "errors_total", "timed_out", "duration_ms", "cpu_ms", "matches_total"}) {
    r.facts[k] = scan.value(k, json(0));
  }
  json at_or_above = json::array();
  uint64_t below = 0;
  uint64_t above_total = 0;
  for (const auto& m : scan.value("matches", json::array())) {
    const Severity sev = RuleSeverity(m.value("meta", json::object()));
    if (sev < y.severity_threshold) {
      ++below;
      continue;
    }
    ++above_total;
    if (at_or_above.size() < kFactMatches) {
      at_or_above.push_back({{"rule", m.value("rule", "")},
                             {"namespace", m.value("namespace", "")},
                             {"severity", std::string(protocol::ToString(sev))},
                             {"path", m.value("path", "")},
                             {"sha256", m.value("sha256", "")},
                             {"size", m.value("size", json(0))},
                             {"strings", m.value("strings", json::array())}});
    }
  }
  r.facts["matches"] = at_or_above;
  r.facts["matches_below_threshold"] = below;
  r.expected = {{"matches_at_or_above", std::string(protocol::ToString(y.severity_threshold))},
                {"count", 0}};
  r.observed = {{"count", above_total}};

  const auto finished = ParseRfc3339(state.value("finished_at", ""));
  const SysTime now = ctx.platform.clock ? ctx.platform.clock->Now() : SysTime{};
  const auto age = finished.ok() ? std::chrono::duration_cast<std::chrono::hours>(now - *finished)
                                 : std::chrono::hours::max();
  if (finished.ok()) {
    r.facts["age_hours"] = age.count();
  }
  if (above_total > 0) {
    r.status = CheckStatus::kFail;
    const auto& first = at_or_above.front();
    r.summary = "YARA: " + Plural(above_total, "file match", "file matches") + " at or above " +
                std::string(protocol::ToString(y.severity_threshold)) + ": rule " +
                first["rule"].get<std::string>() + " in " + first["path"].get<std::string>() +
                (above_total > 1 ? " (and " + std::to_string(above_total - 1) + " more)" : "") +
                (not_current.empty() ? "" : "; " + not_current);
    return r;
  }
  if (!not_current.empty()) {
    r.summary = not_current;
    return r;
  }
  if (!finished.ok() || age > kMaxScanAge) {
    r.summary =
        "the last YARA scan is older than " + std::to_string(kMaxScanAge.count()) + " hours";
    return r;
  }
  if (scan.value("cancelled", false)) {
    r.summary = "the last YARA scan was interrupted before it finished";
    return r;
  }
  r.status = CheckStatus::kPass;
  r.summary =
      "YARA: no match at or above " + std::string(protocol::ToString(y.severity_threshold)) +
      " in " +
      Plural(scan.value("files_scanned", uint64_t{0}) + scan.value("files_unchanged", uint64_t{0}),
             "file", "files") +
      (below > 0 ? " (" + Plural(below, "lower-severity match", "lower-severity matches") + ")"
                 : "");
  return r;
}

Result<SysTime> NextScheduledScan(const policy::CheckPolicy& policy,
                                  std::optional<SysTime> last_scan, SysTime now,
                                  std::chrono::minutes utc_offset, double random01) {
  using std::chrono::days;
  using std::chrono::duration_cast;
  using std::chrono::hours;
  using std::chrono::minutes;
  CG_ASSIGN_OR_RETURN(const YaraPolicy y, ParseYaraPolicy(policy));
  if (!(random01 >= 0.0) || random01 >= 1.0) {
    random01 = 0.0;
  }
  auto scale = [&](SysTime::duration d) { return duration_cast<SysTime::duration>(d * random01); };
  if (!last_scan || now - *last_scan > hours(36)) {
    return now + scale(minutes(10));
  }
  const SysTime earliest = std::max(now, *last_scan + hours(20));
  const int start = y.window_start_minute;
  const int length = y.window_end_minute > start ? y.window_end_minute - start
                                                 : y.window_end_minute + 24 * 60 - start;
  // Local midnight of the day before `earliest`: a window that opened yesterday evening and
  // crosses midnight may still be open.
  auto day = std::chrono::floor<days>(earliest + utc_offset) - days(1);
  for (int i = 0; i < 4; ++i, day += days(1)) {
    const SysTime window_start = SysTime(
        duration_cast<SysTime::duration>(day.time_since_epoch() - utc_offset + minutes(start)));
    const SysTime window_end = window_start + minutes(length);
    if (window_end <= earliest) {
      continue;
    }
    const SysTime from = std::max(window_start, earliest);
    return from + scale(window_end - from);
  }
  return MakeError(ErrorCode::kInternal, "no schedule window found");
}

}  // namespace cg::collectors

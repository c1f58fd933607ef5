// antivirus: finds every known engine, judges each (running, real-time, signature age), and
// passes when at least one engine is fully working.
#include "collectors/antivirus.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <span>

#include "collectors/packages.h"
#include "common/text.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kClamdConfs[] = {"/etc/clamav/clamd.conf", "/etc/clamd.d/scan.conf",
                                            "/etc/clamd.conf", "/usr/local/etc/clamd.conf"};
constexpr std::string_view kFreshclamConfs[] = {"/etc/clamav/freshclam.conf", "/etc/freshclam.conf",
                                                "/usr/local/etc/freshclam.conf"};
constexpr std::string_view kDefaultClamdSocket = "/var/run/clamav/clamd.ctl";
constexpr std::string_view kDefaultDatabaseDir = "/var/lib/clamav";
constexpr std::string_view kClamPackages[] = {"clamav-daemon", "clamd", "clamav-server", "clamav",
                                              "clamav-base"};
constexpr std::string_view kClamdPackages[] = {"clamav-daemon", "clamd", "clamav-server"};
constexpr std::string_view kClamdUnits[] = {"clamav-daemon.service", "clamd@scan.service",
                                            "clamd.service"};
constexpr std::string_view kClamDatabases[] = {"daily", "main", "bytecode"};
constexpr auto kSocketTimeout = std::chrono::seconds(3);
constexpr auto kCommandTimeout = std::chrono::seconds(20);
// A database built slightly "in the future" is clock skew between the builder and this machine;
// more than this means the machine's clock is wrong and no age can be trusted.
constexpr auto kClockSkewTolerance = std::chrono::hours(1);

// Engines other than ClamAV, recognised by what they install and run. Process names are the
// kernel's comm (at most 15 characters); executable prefixes catch helpers with generic names.
struct EngineSpec {
  std::string_view id;
  std::string_view name;
  std::vector<std::string_view> packages;
  std::vector<std::string_view> units;
  std::vector<std::string_view> processes;
  std::vector<std::string_view> exe_prefixes;
  std::vector<std::string_view> install_paths;
  // A process that only runs while on-access (real-time) scanning is on.
  std::vector<std::string_view> realtime_processes;
};

const std::vector<EngineSpec>& OtherEngines() {
  static const std::vector<EngineSpec> engines = {
      {"eset",
       "ESET Endpoint/Server Security",
       {"eea", "efs", "esets"},
       {"eea.service", "efs.service", "esets.service"},
       {"esets_daemon"},
       {"/opt/eset/"},
       {"/opt/eset/eea", "/opt/eset/efs", "/opt/eset/esets"},
       {"oaeventd"}},
      {"kaspersky",
       "Kaspersky Endpoint Security for Linux",
       {"kesl", "kesl-astra"},
       {"kesl.service", "kesl-supervisor.service"},
       {"kesl", "wdserver"},
       {"/opt/kaspersky/kesl/"},
       {"/opt/kaspersky/kesl"},
       {}},
      {"sophos",
       "Sophos Protection for Linux",
       {},  // installed by Sophos' own installer, not as a package
       {"sophos-spl.service", "sav-protect.service"},
       {"sophos_watchdog", "savd"},
       {"/opt/sophos-spl/", "/opt/sophos-av/"},
       {"/opt/sophos-spl", "/opt/sophos-av"},
       {"soapd"}},
      {"bitdefender",
       "Bitdefender GravityZone (BEST for Linux)",
       {"bitdefender-security-tools"},
       {"bdsec.service"},
       {"bdsecd"},
       {"/opt/bitdefender-security-tools/"},
       {"/opt/bitdefender-security-tools"},
       {}},
      {"trendmicro",
       "Trend Micro Deep Security / Server & Workload Protection",
       {"ds-agent"},
       {"ds_agent.service"},
       {"ds_agent", "ds_am"},
       {"/opt/ds_agent/"},
       {"/opt/ds_agent"},
       {}},
      {"mdatp",
       "Microsoft Defender for Endpoint",
       {"mdatp"},
       {"mdatp.service"},
       {"wdavdaemon"},
       {"/opt/microsoft/mdatp/"},
       {"/opt/microsoft/mdatp"},
       {}},
  };
  return engines;
}

Error ParseError(std::string message) { return MakeError(ErrorCode::kParse, std::move(message)); }

bool ParseInt64(std::string_view s, int64_t& out) {
  s = Trim(s);
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) {
      s += sep;
    }
    s += p;
  }
  return s;
}

std::optional<std::string> ConfValue(const std::vector<std::pair<std::string, std::string>>& conf,
                                     std::string_view key) {
  std::optional<std::string> value;
  for (const auto& [k, v] : conf) {
    if (k == key) {
      value = v;  // the last occurrence wins, as in clamd's own parser
    }
  }
  return value;
}

bool ConfHas(const std::vector<std::pair<std::string, std::string>>& conf, std::string_view key) {
  return std::any_of(conf.begin(), conf.end(), [&](const auto& kv) { return kv.first == key; });
}

// What one engine looks like on this machine.
struct EngineReport {
  std::string id;
  std::string name;
  std::vector<std::string> evidence;
  std::string version;
  std::optional<bool> running;
  std::optional<bool> realtime;
  std::optional<SysTime> signature_time;
  std::optional<int64_t> age_hours;
  std::vector<std::string> fails;
  std::vector<std::string> unknowns;
  json details = json::object();

  CheckStatus Status() const {
    if (!fails.empty()) {
      return CheckStatus::kFail;
    }
    return unknowns.empty() ? CheckStatus::kPass : CheckStatus::kError;
  }
};

json OptionalJson(const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); }

// The machine state every engine probe shares, read once.
class Machine {
 public:
  Machine(platform::Platform& p, SysTime now) : p_(p), now_(now) {
    auto inv = ReadInstalledPackages(p);
    if (inv.ok()) {
      inventory_ = std::move(inv).value();
    } else {
      inventory_error_ = inv.error().ToString();
    }
    auto procs = p.processes->List();
    if (procs.ok()) {
      processes_ = std::move(procs).value();
    } else {
      process_error_ = procs.error().ToString();
    }
  }

  platform::Platform& platform() const { return p_; }
  SysTime now() const { return now_; }
  bool have_packages() const { return inventory_.has_value(); }
  bool have_processes() const { return processes_.has_value(); }
  const std::string& inventory_error() const { return inventory_error_; }
  const std::string& process_error() const { return process_error_; }

  const InstalledPackage* Package(std::string_view name) const {
    if (!inventory_) {
      return nullptr;
    }
    for (const auto& pkg : inventory_->packages) {
      if (pkg.name == name) {
        return &pkg;
      }
    }
    return nullptr;
  }

  // Names of matching processes; nullopt when the process table could not be read.
  std::optional<std::vector<std::string>> Processes(
      const std::vector<std::string_view>& names,
      const std::vector<std::string_view>& exe_prefixes) const {
    if (!processes_) {
      return std::nullopt;
    }
    std::vector<std::string> found;
    for (const auto& proc : *processes_) {
      const bool by_name = std::find(names.begin(), names.end(), proc.name) != names.end();
      const bool by_exe = !proc.exe.empty() && std::any_of(exe_prefixes.begin(), exe_prefixes.end(),
                                                           [&](std::string_view pre) {
                                                             return proc.exe.starts_with(pre);
                                                           });
      if ((by_name || by_exe) && std::find(found.begin(), found.end(), proc.name) == found.end()) {
        found.push_back(proc.name);
      }
    }
    return found;
  }

  // True only when the service manager says the unit runs; an unreadable state proves
  // nothing either way.
  bool UnitRunning(std::string_view unit) const {
    auto s = p_.services->State(unit);
    return s.ok() && *s == platform::ServiceState::kRunning;
  }

 private:
  platform::Platform& p_;
  SysTime now_;
  std::optional<PackageInventory> inventory_;
  std::string inventory_error_;
  std::optional<std::vector<platform::ProcessInfo>> processes_;
  std::string process_error_;
};

std::string_view ServiceStateName(platform::ServiceState s) {
  switch (s) {
    case platform::ServiceState::kRunning:
      return "running";
    case platform::ServiceState::kStopped:
      return "stopped";
    case platform::ServiceState::kFailed:
      return "failed";
    case platform::ServiceState::kNotFound:
      return "not_found";
    case platform::ServiceState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// The first `size` bytes of a file: a signature database is 60-250 MB of which only the
// header matters.
Result<std::string> ReadHeader(const platform::FileSystem& fs, const std::string& path,
                               size_t size) {
  CG_ASSIGN_OR_RETURN(const auto info, fs.Stat(path));
  if (info.type != platform::FileType::kSymlink && info.type != platform::FileType::kRegular) {
    return MakeError(ErrorCode::kInvalidArgument, path + ": not a regular file");
  }
  return fs.ReadFileRange(path, 0, size);
}

void AgeJudgement(EngineReport& e, const SysTime now, int64_t max_age_hours) {
  if (!e.signature_time) {
    return;
  }
  const auto age = now - *e.signature_time;
  if (age < -kClockSkewTolerance) {
    e.unknowns.push_back("signature build time " + FormatRfc3339(*e.signature_time) +
                         " is in the future: the machine clock is wrong");
    return;
  }
  e.age_hours = std::max<int64_t>(0, std::chrono::floor<std::chrono::hours>(age).count());
  if (*e.age_hours > max_age_hours) {
    e.fails.push_back("signatures are " + std::to_string(*e.age_hours) + " h old (limit " +
                      std::to_string(max_age_hours) + " h)");
  }
}

struct ClamConf {
  std::string path;
  std::vector<std::pair<std::string, std::string>> entries;
};

// First existing file of `paths`; nullopt when none exists. Read errors go to `unknowns`.
std::optional<ClamConf> FindConf(const platform::FileSystem& fs,
                                 std::span<const std::string_view> paths,
                                 std::vector<std::string>& unknowns) {
  for (const auto path : paths) {
    auto text = fs.ReadFile(path, 1u << 20);
    if (text.ok()) {
      return ClamConf{std::string(path), ParseClamConf(*text)};
    }
    if (text.error().code != ErrorCode::kNotFound) {
      unknowns.push_back("cannot read " + std::string(path) + ": " + text.error().message);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// One ClamAV database (daily, main or bytecode): the newer of its .cvd and .cld.
json ReadDatabase(const platform::FileSystem& fs, const std::string& dir, std::string_view name,
                  std::optional<CvdHeader>& newest, std::string& problem) {
  json out = json::object();
  bool any_file = false;
  for (const std::string_view ext : {".cvd", ".cld"}) {
    const std::string path = dir + "/" + std::string(name) + std::string(ext);
    auto data = ReadHeader(fs, path, kCvdHeaderSize);
    if (!data.ok()) {
      if (data.error().code != ErrorCode::kNotFound) {
        problem = "cannot read " + path + ": " + data.error().message;
      }
      continue;
    }
    any_file = true;
    auto header = ParseCvdHeader(*data);
    if (!header.ok()) {
      problem = path + ": " + header.error().message;
      continue;
    }
    if (!newest || header->version > newest->version) {
      newest = *header;
      out = {{"file", path},
             {"version", header->version},
             {"signatures", header->signatures},
             {"build_time", FormatRfc3339(header->build_time)}};
    }
  }
  if (!any_file && problem.empty()) {
    problem = "no " + std::string(name) + ".cvd or " + std::string(name) + ".cld in " + dir;
  }
  if (!problem.empty()) {
    out["problem"] = problem;
  }
  return out;
}

std::optional<EngineReport> ProbeClamav(const Machine& m) {
  auto& p = m.platform();
  EngineReport e;
  e.id = "clamav";
  e.name = "ClamAV";
  for (const auto pkg : kClamPackages) {
    if (const auto* found = m.Package(pkg)) {
      e.evidence.push_back(found->source + " package " + found->name);
      if (e.version.empty()) {
        e.version = found->version;
      }
    }
  }
  bool daemon_installed = std::any_of(std::begin(kClamdPackages), std::end(kClamdPackages),
                                      [&](std::string_view n) { return m.Package(n) != nullptr; });
  for (const char* bin : {"clamd", "clamscan", "clamdscan"}) {
    const std::string path = p.commands->Which(bin);
    if (!path.empty()) {
      e.evidence.push_back("binary " + path);
      daemon_installed = daemon_installed || std::string_view(bin) == "clamd";
    }
  }
  const auto clamd_procs = m.Processes({"clamd"}, {});
  if (clamd_procs && !clamd_procs->empty()) {
    e.evidence.push_back("process clamd");
    daemon_installed = true;
  }
  if (e.evidence.empty()) {
    return std::nullopt;
  }

  // clamd: configuration and the PING/PONG exchange on its local socket.
  const auto clamd_conf = FindConf(*p.fs, kClamdConfs, e.unknowns);
  json clamd = json::object();
  clamd["installed"] = daemon_installed;
  if (clamd_conf) {
    clamd["config"] = clamd_conf->path;
    if (ConfHas(clamd_conf->entries, "Example")) {
      e.fails.push_back(clamd_conf->path + " still has the 'Example' line: clamd refuses to start");
    }
  }
  if (!daemon_installed) {
    e.running = false;
    e.fails.push_back(
        "clamd is not installed: clamscan alone scans on demand, nothing is resident");
  } else {
    const auto local_socket =
        clamd_conf ? ConfValue(clamd_conf->entries, "LocalSocket") : std::nullopt;
    const bool tcp_only = clamd_conf && !local_socket && ConfHas(clamd_conf->entries, "TCPSocket");
    if (tcp_only) {
      // No local socket to ask: fall back to the process table and the service manager.
      clamd["ping"] = "not attempted: clamd listens on TCP only";
      bool unit_running = false;
      for (const auto unit : kClamdUnits) {
        unit_running = unit_running || m.UnitRunning(unit);
      }
      if (unit_running || (clamd_procs && !clamd_procs->empty())) {
        e.running = true;
      } else if (clamd_procs) {
        e.running = false;
        e.fails.push_back("clamd is not running (no clamd process, no running unit)");
      } else {
        e.unknowns.push_back("clamd listens on TCP only and the process table is unreadable: " +
                             m.process_error());
      }
    } else {
      const std::string socket = local_socket ? *local_socket : std::string(kDefaultClamdSocket);
      clamd["socket"] = socket;
      auto reply = p.sockets->Exchange(socket, std::string_view("zPING\0", 6), kSocketTimeout, 64);
      if (reply.ok()) {
        const std::string answer(Trim(std::string_view(*reply).substr(0, reply->find('\0'))));
        if (answer == "PONG") {
          e.running = true;
          clamd["ping"] = "PONG";
          auto version =
              p.sockets->Exchange(socket, std::string_view("zVERSION\0", 9), kSocketTimeout, 256);
          if (version.ok()) {
            clamd["version"] = std::string(Trim(version->substr(0, version->find('\0'))));
          }
        } else {
          e.running = false;
          clamd["ping"] = answer.substr(0, 64);
          e.fails.push_back("clamd on " + socket + " answered '" + answer.substr(0, 64) +
                            "' instead of PONG");
        }
      } else {
        const auto code = reply.error().code;
        clamd["ping"] = reply.error().ToString();
        if (code == ErrorCode::kNotFound || code == ErrorCode::kUnavailable ||
            code == ErrorCode::kNetwork || code == ErrorCode::kTimeout || code == ErrorCode::kIo) {
          e.running = false;
          e.fails.push_back("clamd is not answering on " + socket + " (" + reply.error().message +
                            ")");
        } else {
          e.unknowns.push_back("cannot ask clamd on " + socket + ": " + reply.error().ToString());
        }
      }
    }
  }
  e.details["clamd"] = clamd;

  // Real-time: clamonacc with OnAccess paths configured in clamd.conf.
  const bool onaccess_configured =
      clamd_conf && (ConfHas(clamd_conf->entries, "OnAccessIncludePath") ||
                     ConfHas(clamd_conf->entries, "OnAccessMountPath"));
  const auto onacc = m.Processes({"clamonacc"}, {});
  if (!onaccess_configured) {
    e.realtime = false;
  } else if (onacc) {
    e.realtime = !onacc->empty();
  }
  e.details["onaccess_configured"] = onaccess_configured;

  // freshclam: configured, and where it keeps the databases.
  const auto fresh_conf = FindConf(*p.fs, kFreshclamConfs, e.unknowns);
  json freshclam = json::object();
  std::string db_dir;
  if (!fresh_conf) {
    freshclam["configured"] = false;
    e.fails.push_back(
        "freshclam is not configured (no freshclam.conf): signatures are never "
        "updated");
  } else {
    freshclam["config"] = fresh_conf->path;
    const bool example = ConfHas(fresh_conf->entries, "Example");
    freshclam["configured"] = !example;
    if (example) {
      e.fails.push_back(fresh_conf->path +
                        " still has the 'Example' line: freshclam refuses to update");
    }
    db_dir = ConfValue(fresh_conf->entries, "DatabaseDirectory").value_or("");
  }
  const std::string clamd_db_dir =
      clamd_conf ? ConfValue(clamd_conf->entries, "DatabaseDirectory").value_or("") : "";
  if (db_dir.empty()) {
    db_dir = clamd_db_dir.empty() ? std::string(kDefaultDatabaseDir) : clamd_db_dir;
  }
  if (!clamd_db_dir.empty() && fresh_conf && clamd_db_dir != db_dir) {
    e.fails.push_back("clamd loads databases from " + clamd_db_dir + " but freshclam updates " +
                      db_dir);
  }
  const auto fresh_procs = m.Processes({"freshclam"}, {});
  // Informational: freshclam may as well run from cron.
  if ((fresh_procs && !fresh_procs->empty()) || m.UnitRunning("clamav-freshclam.service")) {
    freshclam["daemon_running"] = true;
  } else {
    freshclam["daemon_running"] = fresh_procs ? json(false) : json(nullptr);
  }
  freshclam["database_directory"] = db_dir;
  e.details["freshclam"] = freshclam;

  // Database age: judged by daily (updated several times a day); main and bytecode reported.
  json databases = json::object();
  for (const auto name : kClamDatabases) {
    std::optional<CvdHeader> newest;
    std::string problem;
    databases[std::string(name)] = ReadDatabase(*p.fs, db_dir, name, newest, problem);
    if (name == "daily") {
      if (newest) {
        e.signature_time = newest->build_time;
      } else {
        e.unknowns.push_back("cannot determine the signature age: " + problem);
      }
    }
  }
  e.details["databases"] = databases;
  return e;
}

// Microsoft Defender's own health report: `mdatp health --field NAME` prints one value.
void ProbeMdatpHealth(const Machine& m, EngineReport& e) {
  auto& p = m.platform();
  const std::string bin = p.commands->Which("mdatp");
  if (bin.empty()) {
    return;
  }
  if (p.fs->root() != "/") {
    // Commands always run on the host: under --root, mdatp would describe the host.
    e.details["mdatp_health"] = "not read under --root";
    return;
  }
  auto field = [&](const char* name) -> std::optional<std::string> {
    auto run = p.commands->Run({bin, "health", "--field", name}, kCommandTimeout, 4096);
    if (!run.ok() || run->exit_code != 0 || run->timed_out) {
      return std::nullopt;
    }
    std::string_view v = Trim(run->out);
    // Values may carry a "[managed]" marker after the value.
    v = v.substr(0, v.find_first_of(" \t\n"));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
    }
    return std::string(v);
  };
  json health = json::object();
  if (auto v = field("app_version")) {
    e.version = *v;
  }
  if (auto v = field("healthy")) {
    health["healthy"] = *v == "true";
    if (*v != "true") {
      e.fails.push_back("mdatp reports itself unhealthy");
    }
  }
  if (auto v = field("real_time_protection_enabled")) {
    e.realtime = *v == "true";
  }
  if (auto v = field("definitions_updated_minutes_ago")) {
    int64_t minutes = 0;
    if (ParseInt64(*v, minutes) && minutes >= 0) {
      e.signature_time = m.now() - std::chrono::minutes(minutes);
    }
  }
  if (auto v = field("definitions_version")) {
    health["definitions_version"] = *v;
  }
  e.details["mdatp_health"] = health;
}

std::optional<EngineReport> ProbeEngine(const Machine& m, const EngineSpec& spec) {
  auto& p = m.platform();
  EngineReport e;
  e.id = std::string(spec.id);
  e.name = std::string(spec.name);
  for (const auto pkg : spec.packages) {
    if (const auto* found = m.Package(pkg)) {
      e.evidence.push_back(found->source + " package " + found->name);
      if (e.version.empty()) {
        e.version = found->version;
      }
    }
  }
  for (const auto path : spec.install_paths) {
    if (p.fs->Exists(path)) {
      e.evidence.push_back("directory " + std::string(path));
    }
  }
  const auto procs = m.Processes(spec.processes, spec.exe_prefixes);
  if (procs && !procs->empty()) {
    e.evidence.push_back("process " + Join(*procs, ", "));
  }
  // Units are asked about only once an engine is seen: on a live machine each question is a
  // systemctl run, and an engine's unit never comes without its package, directory or daemon.
  if (e.evidence.empty()) {
    return std::nullopt;
  }
  json units = json::object();
  bool unit_running = false;
  for (const auto unit : spec.units) {
    auto state = p.services->State(unit);
    if (state.ok() && *state != platform::ServiceState::kNotFound) {
      e.evidence.push_back("unit " + std::string(unit));
      units[std::string(unit)] = std::string(ServiceStateName(*state));
      unit_running = unit_running || *state == platform::ServiceState::kRunning;
    }
  }
  e.details["units"] = units;
  if (unit_running || (procs && !procs->empty())) {
    e.running = true;
  } else if (procs) {
    e.running = false;
    e.fails.push_back("installed but not running (no process, no running unit)");
  } else {
    e.unknowns.push_back("the process table is unreadable: " + m.process_error());
  }
  if (!spec.realtime_processes.empty()) {
    const auto rt = m.Processes(spec.realtime_processes, {});
    if (rt && !rt->empty()) {
      e.realtime = true;
    }
  }
  if (spec.id == "mdatp") {
    ProbeMdatpHealth(m, e);
  }
  return e;
}

json EngineJson(const EngineReport& e) {
  json j = {
      {"engine", e.id},
      {"name", e.name},
      {"status", std::string(protocol::ToString(e.Status()))},
      {"evidence", e.evidence},
      {"version", e.version.empty() ? json(nullptr) : json(e.version)},
      {"running", OptionalJson(e.running)},
      {"realtime", OptionalJson(e.realtime)},
      {"signature_time", e.signature_time ? json(FormatRfc3339(*e.signature_time)) : json(nullptr)},
      {"age_hours", e.age_hours ? json(*e.age_hours) : json(nullptr)}};
  if (!e.fails.empty()) {
    j["problems"] = e.fails;
  }
  if (!e.unknowns.empty()) {
    j["undecided"] = e.unknowns;
  }
  for (auto it = e.details.begin(); it != e.details.end(); ++it) {
    j[it.key()] = it.value();
  }
  return j;
}

std::string EngineLine(const EngineReport& e) {
  std::string line = e.name + (e.version.empty() ? "" : " " + e.version);
  if (e.Status() == CheckStatus::kPass) {
    line += " running";
    if (e.age_hours) {
      line += ", signatures " + std::to_string(*e.age_hours) + " h old";
    }
    if (e.realtime) {
      line += *e.realtime ? ", real-time on" : ", real-time off";
    }
    return line;
  }
  const auto& reasons = e.fails.empty() ? e.unknowns : e.fails;
  return line + ": " + Join(reasons, "; ");
}

}  // namespace

Result<SysTime> ParseCvdTime(std::string_view text) {
  // "23 Nov 2026 09-26 +0000": sigtool's "%d %b %Y %H-%M %z", always with English months.
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto bad = [&] {
    return ParseError("bad database build time '" + std::string(text.substr(0, 40)) + "'");
  };
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < text.size()) {
    const size_t j = text.find(' ', i);
    const size_t end = j == std::string_view::npos ? text.size() : j;
    if (end > i) {
      parts.push_back(text.substr(i, end - i));
    }
    i = end + 1;
  }
  if (parts.size() != 5 || parts[1].size() != 3 || parts[2].size() != 4 || parts[3].size() != 5 ||
      (parts[3][2] != '-' && parts[3][2] != ':') || parts[4].size() != 5 ||
      (parts[4][0] != '+' && parts[4][0] != '-')) {
    return bad();
  }
  const auto month_it = std::find(std::begin(kMonths), std::end(kMonths), parts[1]);
  int64_t day = 0;
  int64_t year = 0;
  int64_t hour = 0;
  int64_t minute = 0;
  int64_t off_h = 0;
  int64_t off_m = 0;
  if (month_it == std::end(kMonths) || !ParseInt64(parts[0], day) || !ParseInt64(parts[2], year) ||
      !ParseInt64(parts[3].substr(0, 2), hour) || !ParseInt64(parts[3].substr(3, 2), minute) ||
      !ParseInt64(parts[4].substr(1, 2), off_h) || !ParseInt64(parts[4].substr(3, 2), off_m) ||
      hour > 23 || minute > 59 || off_h > 23 || off_m > 59 || hour < 0 || minute < 0 || off_h < 0 ||
      off_m < 0) {
    return bad();
  }
  using namespace std::chrono;
  const year_month_day ymd{
      std::chrono::year{static_cast<int>(year)},
      month{static_cast<unsigned>(month_it - std::begin(kMonths) + 1)},
      std::chrono::day{static_cast<unsigned>(std::clamp<int64_t>(day, 0, 255))}};
  if (!ymd.ok() || year < 1970) {
    return bad();
  }
  const auto offset = hours(off_h) + minutes(off_m);
  const auto local = sys_days(ymd) + hours(hour) + minutes(minute);
  return SysTime(parts[4][0] == '+' ? local - offset : local + offset);
}

Result<CvdHeader> ParseCvdHeader(std::string_view data) {
  constexpr std::string_view kMagic = "ClamAV-VDB:";
  if (data.size() < kCvdHeaderSize) {
    return ParseError("truncated database header (" + std::to_string(data.size()) + " of " +
                      std::to_string(kCvdHeaderSize) + " bytes)");
  }
  std::string_view header = data.substr(0, kCvdHeaderSize);
  if (!header.starts_with(kMagic)) {
    return ParseError("not a ClamAV database (no ClamAV-VDB header)");
  }
  // The header is space-padded to 512 bytes; some writers pad with NULs.
  const auto last = header.find_last_not_of(std::string_view(" \0", 2));
  header = header.substr(0, last + 1);
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t colon = header.find(':', start);
    fields.push_back(header.substr(start, colon - start));
    if (colon == std::string_view::npos) {
      break;
    }
    start = colon + 1;
  }
  if (fields.size() < 8) {
    return ParseError("database header has " + std::to_string(fields.size()) +
                      " fields, expected at least 8");
  }
  CvdHeader h;
  h.build_time_text = std::string(fields[1]);
  if (!ParseInt64(fields[2], h.version) || h.version <= 0) {
    return ParseError("database header has a bad version '" + std::string(fields[2].substr(0, 20)) +
                      "'");
  }
  if (!ParseInt64(fields[3], h.signatures) || h.signatures < 0) {
    return ParseError("database header has a bad signature count '" +
                      std::string(fields[3].substr(0, 20)) + "'");
  }
  auto t = ParseCvdTime(fields[1]);
  if (t.ok()) {
    h.build_time = *t;
    return h;
  }
  // Newer databases also carry the build time in Unix seconds as the ninth field.
  int64_t stime = 0;
  if (fields.size() >= 9 && ParseInt64(fields[8], stime) && stime > 0) {
    h.build_time = FromUnixSeconds(stime);
    return h;
  }
  return t.error();
}

std::vector<std::pair<std::string, std::string>> ParseClamConf(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = Trim(text.substr(start, end - start));
    start = end + 1;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const size_t sep = line.find_first_of(" \t");
    if (sep == std::string_view::npos) {
      out.emplace_back(std::string(line), std::string());
    } else {
      std::string value(Trim(line.substr(sep + 1)));
      // clamd accepts quoted values; the quotes are not part of the path.
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out.emplace_back(std::string(line.substr(0, sep)), std::move(value));
    }
  }
  return out;
}

CheckResult AntivirusCheck::Evaluate(const CheckContext& ctx) const {
  if (auto r = NoWindowsSource(id(), ctx.policy, ctx.platform,
                               "Windows Security Center, WMI SecurityCenter2 or Defender")) {
    return *r;
  }
  CheckResult r = MakeResult(id(), ctx.policy);
  const int64_t max_age = ctx.policy.Int("max_signature_age_hours");
  const bool require_realtime = ctx.policy.Bool("require_realtime");
  const bool accept_unknown_age = ctx.policy.Bool("accept_unknown_signature_age");
  const Machine m(ctx.platform, ctx.platform.clock->Now());

  std::vector<EngineReport> engines;
  if (auto clam = ProbeClamav(m)) {
    engines.push_back(std::move(*clam));
  }
  for (const auto& spec : OtherEngines()) {
    if (auto e = ProbeEngine(m, spec)) {
      engines.push_back(std::move(*e));
    }
  }
  for (auto& e : engines) {
    AgeJudgement(e, m.now(), max_age);
    // ClamAV's unreadable database is already an undecided reason of its own.
    if (!e.signature_time && e.id != "clamav" && !accept_unknown_age) {
      e.unknowns.push_back(
          "CounterGuard cannot read this engine's signature age (policy "
          "accept_unknown_signature_age is false)");
    }
    if (require_realtime) {
      if (e.realtime == false) {
        e.fails.push_back("real-time scanning is off");
      } else if (!e.realtime) {
        e.unknowns.push_back("the real-time scanning state cannot be read");
      }
    }
  }

  json sources = json::object();
  sources["packages"] = m.have_packages() ? json("read") : json(m.inventory_error());
  sources["processes"] = m.have_processes() ? json("read") : json(m.process_error());
  r.facts["sources"] = sources;
  r.expected = {{"engine_running", true},
                {"max_signature_age_hours", max_age},
                {"realtime", require_realtime ? json(true) : json("not required")}};

  if (engines.empty()) {
    r.facts["engine"] = "none";
    r.facts["running"] = false;
    r.facts["engines"] = json::array();
    r.observed = {{"engine", "none"}, {"running", false}};
    if (!m.have_packages() && !m.have_processes()) {
      r.status = CheckStatus::kError;
      r.summary = "cannot look for antivirus engines: packages: " + m.inventory_error() +
                  "; processes: " + m.process_error();
      return r;
    }
    std::vector<std::string> names = {"ClamAV"};
    for (const auto& spec : OtherEngines()) {
      names.emplace_back(spec.name);
    }
    r.status = CheckStatus::kFail;
    r.summary = "no antivirus engine found (looked for " + Join(names, ", ") + ")";
    return r;
  }

  // One fully working engine is enough; a broken second engine does not undo it.
  const auto pass = std::find_if(engines.begin(), engines.end(),
                                 [](const auto& e) { return e.Status() == CheckStatus::kPass; });
  const auto undecided = std::find_if(engines.begin(), engines.end(), [](const auto& e) {
    return e.Status() == CheckStatus::kError;
  });
  const EngineReport& primary =
      pass != engines.end() ? *pass : (undecided != engines.end() ? *undecided : engines.front());
  r.status = pass != engines.end()        ? CheckStatus::kPass
             : undecided != engines.end() ? CheckStatus::kError
                                          : CheckStatus::kFail;

  json all = json::array();
  std::vector<std::string> lines;
  for (const auto& e : engines) {
    all.push_back(EngineJson(e));
    lines.push_back(EngineLine(e));
  }
  r.facts["engine"] = primary.id;
  r.facts["version"] = primary.version.empty() ? json(nullptr) : json(primary.version);
  r.facts["running"] = OptionalJson(primary.running);
  r.facts["realtime"] = OptionalJson(primary.realtime);
  r.facts["signature_time"] =
      primary.signature_time ? json(FormatRfc3339(*primary.signature_time)) : json(nullptr);
  r.facts["age_hours"] = primary.age_hours ? json(*primary.age_hours) : json(nullptr);
  r.facts["engines"] = all;
  r.observed = {{"engine", primary.id},
                {"running", OptionalJson(primary.running)},
                {"age_hours", r.facts["age_hours"]},
                {"realtime", OptionalJson(primary.realtime)}};
  r.summary = r.status == CheckStatus::kPass ? EngineLine(primary) : Join(lines, "; ");
  return r;
}

}  // namespace cg::collectors

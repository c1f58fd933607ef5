// The synthetic fleet of fleet_generator.h: devices, then day by day one report per device,
// group-committed through Storage::StoreReports.
#include "tests/bench/fleet_generator.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <utility>

#include "platform/os/files.h"
#include "policy/policy.h"
#include "protocol/report.h"
#include "soc/sqlite_storage.h"
#include "soc/sqlite_storage_query.h"

namespace cg::bench {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;
using protocol::Report;

struct District {
  const char* slug;
  const char* name;  // as people write it, with diacritics
};
constexpr std::array<District, 9> kDistricts = {{{"bac-ha", "Bắc Hà"},
                                                 {"bao-thang", "Bảo Thắng"},
                                                 {"bao-yen", "Bảo Yên"},
                                                 {"bat-xat", "Bát Xát"},
                                                 {"muong-khuong", "Mường Khương"},
                                                 {"sa-pa", "Sa Pa"},
                                                 {"si-ma-cai", "Si Ma Cai"},
                                                 {"van-ban", "Văn Bàn"},
                                                 {"lao-cai", "Lào Cai"}}};

struct Os {
  const char* name;
  const char* version;
};
constexpr std::array<Os, 3> kOses = {{{"Windows 10 Pro", "10.0.19045"},
                                      {"Windows 11 Pro", "10.0.22631"},
                                      {"Debian GNU/Linux", "12"}}};

// How likely each check is to start failing, relative to FleetSpec::fail_per_10000: signatures
// go out of date and passwords age far more often than a licence lapses or YARA matches.
double FailWeight(std::string_view check) {
  if (check == "antivirus") {
    return 2.0;
  }
  if (check == "password_age") {
    return 1.5;
  }
  if (check == "screen_lock") {
    return 1.0;
  }
  if (check == "office_license") {
    return 0.5;
  }
  if (check == "yara") {
    return 0.1;
  }
  return 0.2;  // os_license
}

// A UUID-shaped id (version 4 layout) from the generator, so that a seed makes the same fleet.
std::string DeterministicUuid(std::mt19937_64& rng) {
  const uint64_t a = rng();
  const uint64_t b = rng();
  char text[37];
  std::snprintf(text, sizeof(text), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

struct SimDevice {
  std::string id;
  std::string hostname;
  int os = 0;
  bool old_agent = false;  // upgraded to the current agent on `upgrade_day`
  int upgrade_day = 0;
  int policy_lag = 0;         // days after the roll-out day before it reports the new policy
  int last_day = -1;          // the last day it reports (-1: never)
  std::vector<int> fail_for;  // per check: days the check stays failing (0: passing)
};

CheckResult MakeCheck(const std::string& id, CheckStatus status) {
  CheckResult c;
  c.id = id;
  c.status = status;
  c.severity =
      id == "yara" || id == "antivirus" ? protocol::Severity::kHigh : protocol::Severity::kMedium;
  const bool ok = status == CheckStatus::kPass;
  if (status == CheckStatus::kError) {
    c.summary = "could not decide: the source did not answer";
    c.facts = {{"error", "timeout"}};
    return c;
  }
  if (id == "antivirus") {
    c.summary = ok ? "Microsoft Defender on, signatures 1 day old"
                   : "Microsoft Defender signatures 9 days old";
    c.expected = {{"real_time", true}, {"max_signature_age_days", 3}};
    c.observed = {{"real_time", true}, {"signature_age_days", ok ? 1 : 9}};
  } else if (id == "yara") {
    c.summary = ok ? "no rule matched" : "1 file matched rule Webshell_Generic";
    c.expected = {{"matches", 0}};
    c.observed = {{"matches", ok ? 0 : 1}};
  } else if (id == "password_age") {
    c.summary = ok ? "every interactive account changed its password within 90 days"
                   : "account 'motcua' has not changed its password for 97 days";
    c.expected = {{"max_age_days", 90}};
    c.observed = {{"oldest_days", ok ? 41 : 97}};
  } else if (id == "screen_lock") {
    c.summary = ok ? "screen locks after 300 s" : "screen lock disabled";
    c.expected = {{"timeout_seconds_max", 600}};
    c.observed = {{"enabled", ok}, {"timeout_seconds", ok ? 300 : 0}};
  } else {
    c.summary = ok ? "licensed" : "not activated";
    c.expected = {{"licensed", true}};
    c.observed = {{"licensed", ok}};
  }
  c.facts = {{"source", "generated"}};
  return c;
}

// The groups of FleetGroups with the district each belongs to, sorted by group name.
std::vector<std::pair<std::string, size_t>> GroupsWithDistricts(int count) {
  std::vector<std::pair<std::string, size_t>> groups;
  for (int i = 0; i < count; ++i) {
    const size_t district = static_cast<size_t>(i) % kDistricts.size();
    char name[64];
    std::snprintf(name, sizeof(name), "laocai/%s/xa-%02d", kDistricts[district].slug,
                  i / static_cast<int>(kDistricts.size()) + 1);
    groups.emplace_back(name, district);
  }
  std::sort(groups.begin(), groups.end());
  return groups;
}

}  // namespace

std::vector<std::string> FleetGroups(int count) {
  std::vector<std::string> names;
  for (auto& [name, district] : GroupsWithDistricts(count)) {
    names.push_back(std::move(name));
  }
  return names;
}

namespace {

// Stores one batch of generated reports (with their JSON bodies).
using BatchWriter = std::function<Status(const std::vector<Report>& reports,
                                         const std::vector<std::string>& bodies)>;

// The received time of a generated report: 2 s after it was collected.
int64_t ReceivedAt(const Report& r) { return ToUnixSeconds(*ParseRfc3339(r.collected_at)) + 2; }

Result<FleetStats> Simulate(soc::Storage& storage, const FleetSpec& spec,
                            const std::function<void(int64_t)>& progress,
                            const BatchWriter& write) {
  if (spec.devices < 1 || spec.groups < 1 || spec.days < 1 || spec.batch < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "fleet: devices, groups, days and batch >= 1");
  }
  const auto started = std::chrono::steady_clock::now();
  std::mt19937_64 rng(spec.seed);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  const std::vector<std::string>& check_ids = policy::KnownCheckIds();

  FleetStats stats;
  const auto groups = GroupsWithDistricts(spec.groups);
  stats.groups = FleetGroups(spec.groups);
  constexpr int64_t kDay = 86400;
  const int64_t day0 = ToUnixSeconds(spec.end) - int64_t{spec.days} * kDay;

  std::vector<SimDevice> fleet(static_cast<size_t>(spec.devices));
  const int never = spec.devices * spec.never_reported_permille / 1000;
  const int gone = spec.devices * spec.gone_stale_permille / 1000;
  for (int i = 0; i < spec.devices; ++i) {
    SimDevice& d = fleet[static_cast<size_t>(i)];
    d.id = DeterministicUuid(rng);
    const size_t g = static_cast<size_t>(i) % stats.groups.size();
    const District& district = kDistricts[groups[g].second];
    const int counter = i / static_cast<int>(stats.groups.size()) + 1;
    char host[96];
    switch (i % 10) {
      case 0:  // Vietnamese names with diacritics, as some communes name their PCs
      case 1:
      case 2:
        std::snprintf(host, sizeof(host), "%s Quầy %02d-%zu", district.name, counter, g);
        break;
      case 3:
        std::snprintf(host, sizeof(host), "Điểm tiếp nhận %s %02d-%zu", district.name, counter, g);
        break;
      default: {
        std::string upper = district.slug;
        upper.erase(std::remove(upper.begin(), upper.end(), '-'), upper.end());
        std::transform(upper.begin(), upper.end(), upper.begin(),
                       [](char c) { return static_cast<char>(c - 'a' + 'A'); });
        std::snprintf(host, sizeof(host), "%s-X%02zu-PC%03d", upper.c_str(), g, counter);
      }
    }
    d.hostname = host;
    d.os = pick(10) < 6 ? 0 : pick(4) < 3 ? 1 : 2;
    d.old_agent = chance(0.15);
    d.upgrade_day = spec.days / 2 + pick(std::max(1, spec.days / 2));
    d.policy_lag = pick(4);
    d.last_day = spec.days - 1;
    d.fail_for.assign(check_ids.size(), 0);

    soc::Device record;
    record.device_id = d.id;
    record.hostname = d.hostname;
    record.machine_id = "machine-" + d.id.substr(0, 8);
    record.group = stats.groups[g];
    record.cert_serial = d.id.substr(0, 8) + d.id.substr(24);
    record.enrolled_at = FromUnixSeconds(day0 - kDay + pick(8 * 3600));
    record.cert_not_after = FromUnixSeconds(day0 + int64_t{spec.days + 30} * kDay);
    CG_RETURN_IF_ERROR(storage.AddDevice(record));
    stats.device_ids.push_back(d.id);
  }
  // The last devices never report and the ones before them stop some day of the last month,
  // spread over every group by the round-robin above.
  for (int i = 0; i < never && i < spec.devices; ++i) {
    fleet[static_cast<size_t>(spec.devices - 1 - i)].last_day = -1;
  }
  for (int i = never; i < never + gone && i < spec.devices; ++i) {
    const int window = std::min(30, spec.days);
    fleet[static_cast<size_t>(spec.devices - 1 - i)].last_day =
        std::max(0, spec.days - window + pick(std::max(1, window - 4)));
  }
  stats.devices = spec.devices;

  const int rollout_day = spec.days * 2 / 3;
  std::vector<Report> reports;
  std::vector<std::string> bodies;
  auto flush = [&]() -> Status {
    CG_RETURN_IF_ERROR(write(reports, bodies));
    stats.reports += static_cast<int64_t>(reports.size());
    reports.clear();
    bodies.clear();
    if (progress) {
      progress(stats.reports);
    }
    return OkStatus();
  };
  reports.reserve(spec.batch);
  bodies.reserve(spec.batch);

  for (int day = 0; day < spec.days; ++day) {
    for (SimDevice& d : fleet) {
      if (day > d.last_day) {
        continue;
      }
      Report r;
      r.report_id = DeterministicUuid(rng);
      r.device_id = d.id;
      r.hostname = d.hostname;
      r.os = {kOses[static_cast<size_t>(d.os)].name, kOses[static_cast<size_t>(d.os)].version,
              d.os == 2 ? "6.1.0-18-amd64" : "", "x86_64"};
      r.agent_version = d.old_agent && day < d.upgrade_day ? "1.3.0" : "1.4.2";
      // Counters open at 07:30 local (00:30 UTC); each PC reports some time in the morning.
      const int64_t collected = day0 + int64_t{day} * kDay + 1800 + pick(5 * 3600);
      r.collected_at = FormatRfc3339(FromUnixSeconds(collected));
      r.policy_version = day >= rollout_day + d.policy_lag ? 4 : 3;
      r.policy_hash = r.policy_version == 4 ? std::string(64, 'b') : std::string(64, 'a');
      for (size_t c = 0; c < check_ids.size(); ++c) {
        CheckStatus status = CheckStatus::kPass;
        if (d.fail_for[c] > 0) {
          status = CheckStatus::kFail;
          if (chance(spec.fix_percent / 100.0)) {
            d.fail_for[c] = 0;
          }
        } else if (chance(spec.fail_per_10000 / 10000.0 * FailWeight(check_ids[c]))) {
          d.fail_for[c] = 1;
          status = CheckStatus::kFail;
        } else if (chance(spec.error_per_10000 / 10000.0)) {
          status = CheckStatus::kError;
        }
        r.checks.push_back(MakeCheck(check_ids[c], status));
      }
      if (day == d.last_day) {
        const std::string status(protocol::ToString(protocol::OverallStatus(r.checks)));
        ++stats.status_at_end[status];
        for (const auto& c : r.checks) {
          if (c.status == CheckStatus::kFail) {
            ++stats.failing_at_end[c.id];
          }
        }
        if (collected + 2 < ToUnixSeconds(spec.end) - 3 * kDay) {
          ++stats.stale_at_end;
        }
      }
      bodies.push_back(protocol::ToJson(r).dump());
      reports.push_back(std::move(r));
      if (reports.size() >= spec.batch) {
        CG_RETURN_IF_ERROR(flush());
      }
    }
  }
  if (!reports.empty()) {
    CG_RETURN_IF_ERROR(flush());
  }
  for (const SimDevice& d : fleet) {
    if (d.last_day < 0) {
      ++stats.never_reported;
      ++stats.status_at_end["unknown"];
    }
  }
  stats.seconds = std::chrono::steady_clock::now() - started;
  return stats;
}

}  // namespace

Result<FleetStats> GenerateFleet(soc::Storage& storage, const FleetSpec& spec,
                                 const std::function<void(int64_t)>& progress) {
  std::vector<soc::ReportToStore> batch;
  return Simulate(
      storage, spec, progress,
      [&](const std::vector<Report>& reports, const std::vector<std::string>& bodies) {
        batch.clear();
        for (size_t i = 0; i < reports.size(); ++i) {
          batch.push_back({&reports[i], bodies[i], FromUnixSeconds(ReceivedAt(reports[i])), {}});
        }
        for (const auto& r : storage.StoreReports(batch)) {
          if (!r.ok()) {
            return Status(r.error());
          }
        }
        return OkStatus();
      });
}

namespace {

// A raw SQLite connection of GenerateFleetDirect: no fsync, a large page cache, statements
// finalized with it.
class RawDb {
 public:
  ~RawDb() {
    for (sqlite3_stmt* s : statements_) {
      sqlite3_finalize(s);
    }
    sqlite3_close(db_);
  }
  Status Open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      return Fail("opening " + path);
    }
    return Exec("PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA foreign_keys = ON");
  }
  Status Exec(const char* sql) {
    return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK ? OkStatus() : Fail(sql);
  }
  Result<sqlite3_stmt*> Prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      return Fail(sql);
    }
    statements_.push_back(s);
    return s;
  }
  // Binds text (SQLITE_TRANSIENT), integers; steps once; resets.
  Status Run(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? OkStatus() : Fail(sqlite3_sql(s));
  }
  static void Text(sqlite3_stmt* s, int i, std::string_view v) {
    sqlite3_bind_text64(s, i, v.data() == nullptr ? "" : v.data(), v.size(), SQLITE_TRANSIENT,
                        SQLITE_UTF8);
  }
  static void Int(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
  int64_t LastRowId() const { return sqlite3_last_insert_rowid(db_); }

 private:
  Error Fail(const std::string& what) const {
    return MakeError(ErrorCode::kDatabase, "fleet: " + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

// What the device row shows after its newest report (the columns ingest's UPDATE writes).
struct Latest {
  int64_t row = 0;
  int64_t received = 0;
  int64_t skew = 0;
  std::string status, hostname, policy_hash, os_name, os_version, agent_version, failing, errors;
  int64_t policy_version = 0;
};

}  // namespace

Result<FleetStats> GenerateFleetDirect(const std::string& db_path, const FleetSpec& spec,
                                       const std::function<void(int64_t)>& progress) {
  if (FileExists(db_path)) {
    return MakeError(ErrorCode::kAlreadyExists, db_path + " exists");
  }
  const auto started = std::chrono::steady_clock::now();
  CG_ASSIGN_OR_RETURN(auto storage, soc::OpenSqliteStorage(db_path, /*create=*/true));
  RawDb raw;
  CG_RETURN_IF_ERROR(raw.Open(db_path));
  CG_ASSIGN_OR_RETURN(sqlite3_stmt * insert_report,
                      raw.Prepare("INSERT INTO reports (report_id, device_id, received_at, "
                                  "collected_at, status, body, clock_skew, policy_state) "
                                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '')"));
  CG_ASSIGN_OR_RETURN(sqlite3_stmt * insert_check,
                      raw.Prepare("INSERT INTO check_results (report, check_id, status, "
                                  "severity) VALUES (?1, ?2, ?3, ?4)"));
  std::map<std::string, Latest> latest;
  bool begun = false;
  // The devices are enrolled through `storage` before the first batch; the reports go in one
  // transaction of this connection.
  CG_ASSIGN_OR_RETURN(FleetStats stats,
                      Simulate(*storage, spec, progress,
                               [&](const std::vector<Report>& reports,
                                   const std::vector<std::string>& bodies) -> Status {
                                 if (!begun) {
                                   CG_RETURN_IF_ERROR(raw.Exec("BEGIN IMMEDIATE"));
                                   begun = true;
                                 }
                                 for (size_t i = 0; i < reports.size(); ++i) {
                                   const Report& r = reports[i];
                                   const int64_t received = ReceivedAt(r);
                                   const int64_t collected = received - 2;
                                   const std::string_view status =
                                       protocol::ToString(protocol::OverallStatus(r.checks));
                                   RawDb::Text(insert_report, 1, r.report_id);
                                   RawDb::Text(insert_report, 2, r.device_id);
                                   RawDb::Int(insert_report, 3, received);
                                   RawDb::Int(insert_report, 4, collected);
                                   RawDb::Text(insert_report, 5, status);
                                   RawDb::Text(insert_report, 6, bodies[i]);
                                   RawDb::Int(insert_report, 7, collected - received);
                                   CG_RETURN_IF_ERROR(raw.Run(insert_report));
                                   const int64_t row = raw.LastRowId();
                                   for (const auto& c : r.checks) {
                                     RawDb::Int(insert_check, 1, row);
                                     RawDb::Text(insert_check, 2, c.id);
                                     RawDb::Text(insert_check, 3, protocol::ToString(c.status));
                                     RawDb::Text(insert_check, 4, protocol::ToString(c.severity));
                                     CG_RETURN_IF_ERROR(raw.Run(insert_check));
                                   }
                                   Latest& l = latest[r.device_id];
                                   if (received >= l.received) {
                                     l = {row,
                                          received,
                                          collected - received,
                                          std::string(status),
                                          r.hostname,
                                          r.policy_hash,
                                          r.os.name,
                                          r.os.version,
                                          r.agent_version,
                                          soc::sqlite_query::JoinedChecks(r, CheckStatus::kFail),
                                          soc::sqlite_query::JoinedChecks(r, CheckStatus::kError),
                                          r.policy_version};
                                   }
                                 }
                                 return OkStatus();
                               }));
  if (!begun) {
    CG_RETURN_IF_ERROR(raw.Exec("BEGIN IMMEDIATE"));
  }
  CG_ASSIGN_OR_RETURN(
      sqlite3_stmt * update,
      raw.Prepare("UPDATE devices SET last_seen = ?2, status = ?3, policy_version = ?4, "
                  "reported_hostname = ?5, latest_report = ?6, policy_hash = ?7, clock_skew = ?8, "
                  "os_name = ?9, os_version = ?10, agent_version = ?11, failing_checks = ?12, "
                  "error_checks = ?13, policy_state = '' WHERE device_id = ?1"));
  for (const auto& [id, l] : latest) {
    RawDb::Text(update, 1, id);
    RawDb::Int(update, 2, l.received);
    RawDb::Text(update, 3, l.status);
    RawDb::Int(update, 4, l.policy_version);
    RawDb::Text(update, 5, l.hostname);
    RawDb::Int(update, 6, l.row);
    RawDb::Text(update, 7, l.policy_hash);
    RawDb::Int(update, 8, l.skew);
    RawDb::Text(update, 9, l.os_name);
    RawDb::Text(update, 10, l.os_version);
    RawDb::Text(update, 11, l.agent_version);
    RawDb::Text(update, 12, l.failing);
    RawDb::Text(update, 13, l.errors);
    CG_RETURN_IF_ERROR(raw.Run(update));
  }
  // The status history, reporting gaps and enforcement changes: rebuilt from the stored reports
  // by the backend's own backfill when the database is next opened, the same rows ingest writes
  // (SqliteHistoryTest.BackfillFromStoredReportsMatchesIngest).
  CG_RETURN_IF_ERROR(raw.Exec("INSERT INTO history_backfill (pending) VALUES (1); COMMIT"));
  storage.reset();
  CG_ASSIGN_OR_RETURN(storage, soc::OpenSqliteStorage(db_path, /*create=*/false));
  stats.seconds = std::chrono::steady_clock::now() - started;
  return stats;
}

}  // namespace cg::bench
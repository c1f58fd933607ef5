// The synthetic fleet of fleet_generator.h: devices, then day by day one report per device,
// group-committed through Storage::StoreReports.
#include "tests/bench/fleet_generator.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <utility>

#include "policy/policy.h"
#include "protocol/report.h"

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

Result<FleetStats> GenerateFleet(soc::Storage& storage, const FleetSpec& spec,
                                 const std::function<void(int64_t)>& progress) {
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
  std::vector<soc::ReportToStore> batch;
  auto flush = [&]() -> Status {
    batch.clear();
    for (size_t i = 0; i < reports.size(); ++i) {
      const int64_t received = ToUnixSeconds(*ParseRfc3339(reports[i].collected_at)) + 2;
      batch.push_back({&reports[i], bodies[i], FromUnixSeconds(received), {}});
    }
    const auto results = storage.StoreReports(batch);
    for (const auto& r : results) {
      if (!r.ok()) {
        return r.error();
      }
    }
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

}  // namespace cg::bench

// Status history, inspection report and retention benchmark (issue 15):
//   1. a district of N devices (default 1,000) with D days of reports (default 180, one a day
//      each, fleet_generator.h) stored through the real ingest path (StoreReports), so that the
//      status history is filled as real traffic fills it;
//   2. a device's history through the operator route (GET /api/v1/devices/{id}/history, every
//      day of the fleet): p50/p95/max over sampled devices, against the 50 ms goal;
//   3. the inspection report of the district over the whole period (6 months), HTML and CSV,
//      against the 10 s goal;
//   4. ingest rate of new reports (group commits of 64) without retention, with retention
//      deleting the reports older than 90 days (500 rows per transaction) on its own thread,
//      then without again: the ratio with/without, measured in the same run.
// history_bench [--devices N] [--days D] [--dir DIR]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "protocol/api_paths.h"
#include "protocol/pki.h"
#include "soc/retention.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/fleet_generator.h"

namespace {

using Clock = std::chrono::steady_clock;
using cg::bench::Must;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

cg::protocol::HttpResponse Get(cg::soc::SocService& service, const std::string& token,
                               const std::string& target) {
  cg::protocol::HttpRequest r;
  r.method = "GET";
  r.target = target;
  r.headers.emplace_back("Authorization", "Bearer " + token);
  r.peer_address = "127.0.0.1:1";
  cg::protocol::HttpResponse answer;
  service.HandleOperator(std::move(r),
                         [&](cg::protocol::HttpResponse a) { answer = std::move(a); });
  return answer;
}

// Reports/s of `seconds` of group commits of `batch` new reports (a new day for each device in
// turn), received at `at`.
double IngestRate(cg::soc::Storage& storage, const std::vector<std::string>& devices,
                  cg::SysTime at, double seconds, size_t& next) {
  const auto start = Clock::now();
  size_t stored = 0;
  std::vector<cg::protocol::Report> reports(64);
  std::vector<std::string> bodies(64);
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    std::vector<cg::soc::ReportToStore> batch;
    for (size_t i = 0; i < reports.size(); ++i, ++next) {
      auto& r = reports[i];
      r = {};
      r.report_id = cg::NewUuid();
      r.device_id = devices[next % devices.size()];
      r.hostname = "bench";
      r.collected_at = cg::FormatRfc3339(at);
      for (const char* id :
           {"antivirus", "yara", "os_license", "office_license", "screen_lock", "password_age"}) {
        r.checks.emplace_back();
        r.checks.back().id = id;
        r.checks.back().status =
            next % 97 == 0 ? cg::protocol::CheckStatus::kFail : cg::protocol::CheckStatus::kPass;
        r.checks.back().summary = "bench";
      }
      bodies[i] = cg::protocol::ToJson(r).dump();
      batch.push_back({&r, bodies[i], at});
    }
    for (const auto& result : storage.StoreReports(batch)) {
      Must(result, "storing a report");
    }
    stored += batch.size();
  }
  return static_cast<double>(stored) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"history_bench: status history, inspection report and retention"};
  cg::bench::FleetSpec spec;
  spec.devices = 1000;
  spec.groups = 1;
  spec.days = 180;
  std::string dir;
  double ingest_seconds = 10;
  app.add_option("--devices", spec.devices, "devices of the district")
      ->check(CLI::Range(10, 100000));
  app.add_option("--days", spec.days, "days of reports")->check(CLI::Range(100, 1000));
  app.add_option("--dir", dir, "work directory (default: a new one under /tmp)");
  app.add_option("--ingest-seconds", ingest_seconds, "length of each ingest phase");
  CLI11_PARSE(app, argc, argv);
  if (dir.empty()) {
    dir = std::filesystem::temp_directory_path() / ("cg-history-bench-" + cg::NewUuid());
  }
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/soc.db";
  auto storage = Must(cg::soc::OpenSqliteStorage(db, /*create=*/true), "open " + db);

  std::printf("generating %d devices x %d days in %s ...\n", spec.devices, spec.days, db.c_str());
  const auto stats = Must(cg::bench::GenerateFleet(*storage, spec), "fleet");
  std::printf("fleet: %lld reports in %.1f s (%.0f reports/s, history kept at ingest)\n",
              static_cast<long long>(stats.reports), stats.seconds.count(),
              static_cast<double>(stats.reports) / stats.seconds.count());
  // The district: the group's parent ("laocai/<district>").
  std::string district = stats.groups.front();
  district = district.substr(0, district.rfind('/'));

  auto ca = Must(cg::protocol::CertificateAuthority::Create("bench CA",
                                                            std::chrono::hours(24 * 365), spec.end),
                 "CA");
  cg::soc::SocConfig config;
  config.soc_name = "soc.bench";
  const cg::SysTime now = spec.end;
  cg::soc::SocService service(
      *storage, ca, [now] { return now; }, config);
  const std::string token =
      Must(service.CreateOperatorToken("bench", "analyst", std::nullopt), "operator token");

  // 2. Device history over every day of the fleet.
  std::vector<double> times;
  size_t intervals = 0;
  for (size_t i = 0; i < stats.device_ids.size();
       i += std::max<size_t>(1, stats.device_ids.size() / 200)) {
    const auto start = Clock::now();
    auto r =
        Get(service, token,
            cg::protocol::api::PathWithId(cg::protocol::api::kDeviceHistory, stats.device_ids[i]));
    times.push_back(Ms(Clock::now() - start));
    if (r.status != 200) {
      cg::bench::Die("history answered " + std::to_string(r.status) + ": " + r.body);
    }
    intervals += static_cast<size_t>(std::count(r.body.begin(), r.body.end(), '{'));
  }
  std::sort(times.begin(), times.end());
  const double p95 = times[times.size() * 95 / 100];
  std::printf(
      "device history (%zu devices, %d days, ~%zu JSON objects each): p50 %.2f ms, "
      "p95 %.2f ms, max %.2f ms -> p95 is %.3f of the 50 ms goal\n",
      times.size(), spec.days, intervals / times.size(), times[times.size() / 2], p95, times.back(),
      p95 / 50.0);

  // 3. The inspection report of the district over the last 6 months.
  const auto to_day = cg::FormatRfc3339(now - std::chrono::hours(24)).substr(0, 10);
  const auto from_day =
      cg::FormatRfc3339(now - std::chrono::hours(24 * (spec.days - 1))).substr(0, 10);
  for (const char* format : {"html", "csv"}) {
    const auto start = Clock::now();
    auto r = Get(service, token,
                 std::string(cg::protocol::api::kInspectionReport) + "?group=" + district +
                     "&from=" + from_day + "&to=" + to_day + "&format=" + format);
    const double ms = Ms(Clock::now() - start);
    if (r.status != 200) {
      cg::bench::Die("report answered " + std::to_string(r.status) + ": " + r.body);
    }
    std::printf(
        "inspection report %s of %s (%d devices, %s to %s): %.0f ms, %zu bytes -> %.3f "
        "of the 10 s goal\n",
        format, district.c_str(), spec.devices, from_day.c_str(), to_day.c_str(), ms, r.body.size(),
        ms / 10000.0);
  }

  // 4. Ingest without, with, and again without retention deleting the old reports.
  size_t next = 0;
  const cg::SysTime at = now + std::chrono::hours(1);
  const double before = IngestRate(*storage, stats.device_ids, at, ingest_seconds, next);
  cg::soc::RetentionOptions options;  // 90 days, 500 rows per transaction
  options.pause = std::chrono::milliseconds(20);
  cg::soc::RetentionRunner retention(
      *storage, [at] { return at; }, options);
  std::atomic<bool> done{false};
  cg::soc::RetentionRunner::Counts counts;
  std::thread deleter([&] {
    counts = Must(retention.RunOnce(), "retention");
    done = true;
  });
  const auto with_start = Clock::now();
  const double with = IngestRate(*storage, stats.device_ids, at, ingest_seconds, next);
  const bool finished_during = done.load();
  retention.Stop();
  deleter.join();
  const double after = IngestRate(*storage, stats.device_ids, at, ingest_seconds, next);
  std::printf(
      "ingest (group commits of 64): %.0f reports/s without retention, %.0f with "
      "retention deleting (%zu reports in %zu batches%s), %.0f without again -> ratio "
      "with/without %.3f (without/without %.3f)\n",
      before, with, counts.reports, counts.batches,
      finished_during ? ", finished during the phase" : ", still deleting at the end", after,
      with / ((before + after) / 2), after / before);
  (void)with_start;
  std::filesystem::remove_all(dir);
  return 0;
}

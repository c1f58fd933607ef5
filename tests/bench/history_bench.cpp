// Status history, inspection report and retention benchmark (issue 15):
//   1. a district of N devices (default 1,000) with D days of reports (default 180, one a day
//      each, fleet_generator.h) stored through the real ingest path (StoreReports), so that the
//      status history is filled as real traffic fills it;
//   2. a device's history through the operator route (GET /api/v1/devices/{id}/history, every
//      day of the fleet): p50/p95/max over sampled devices, against the 50 ms goal;
//   3. the inspection report of the district over the whole period (6 months), HTML and CSV,
//      against the 10 s goal;
//   4. the ingest rate of new reports (saturating the SOC's IngestWriter) without retention,
//      while a retention pass (the SOC's defaults: 90 days, 100 rows a batch, 10 % duty, giving
//      way to busy ingest) deletes the backlog of reports older than 90 days, and without
//      again: the ratio with/without, and how fast the backlog shrinks under that load;
//   5. the rest of the backlog alone, without pauses: the raw deletion rate;
//   6. the steady state: the clock moves on until a pass deletes one day of a 10,000-device
//      fleet; ingest without / while that pass runs / without, and how long it held the
//      database's writer (its share of the hour until the next pass).
// history_bench [--devices N] [--days D] [--dir DIR] [--ingest-seconds S] [--batch N]
//               [--duty P] [--no-yield] [--steady-devices N]
#include <sqlite3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "protocol/api_paths.h"
#include "protocol/pki.h"
#include "soc/ingest_writer.h"
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

// Saturating ingest through the SOC's own group-commit writer (IngestWriter: up to 512 reports
// a transaction): requests of 64 new reports (a new day for each device in turn), received at
// `at`, with up to 1,024 reports queued, until `stop(elapsed seconds)` says so. Reports/s.
double Ingest(cg::soc::IngestWriter& writer, const std::vector<std::string>& devices,
              cg::SysTime at, const std::function<bool(double)>& stop, size_t& next) {
  std::atomic<size_t> committed{0};
  size_t submitted = 0;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  while (!stop(elapsed())) {
    if (submitted - committed.load() >= 1024) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    std::vector<cg::soc::IngestItem> items(64);
    for (auto& item : items) {
      auto& r = item.report;
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
      ++next;
      item.body_json = cg::protocol::ToJson(r).dump();
      item.received_at = at;
      item.done = [&committed](cg::Result<bool> stored) {
        Must(stored, "storing a report");
        ++committed;
      };
    }
    if (writer.TrySubmit(std::move(items))) {
      submitted += 64;
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (committed.load() < submitted) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return static_cast<double>(submitted) / elapsed();
}

std::function<bool(double)> For(double seconds) {
  return [seconds](double elapsed) { return elapsed >= seconds; };
}

// A retention pass on a thread of its own, `at` its clock, giving way to `writer`.
class Pass {
 public:
  Pass(cg::soc::Storage& storage, cg::SysTime at, const cg::soc::RetentionOptions& options,
       cg::soc::IngestWriter* writer)
      : runner_(
            storage, [at] { return at; }, options) {
    if (writer != nullptr) {
      runner_.SetIngestBusy([writer] { return writer->Busy(); });
    }
    thread_ = std::thread([this] {
      counts_ = Must(runner_.RunOnce(), "retention");
      seconds_ = std::chrono::duration<double>(Clock::now() - start_).count();
      done_ = true;
    });
  }
  ~Pass() { Stop(); }
  bool done() const { return done_.load(); }
  // Stops the pass where it is (a batch in progress finishes) and returns what it did.
  const cg::soc::RetentionRunner::Counts& Stop() {
    runner_.Stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    return counts_;
  }
  double seconds() const { return seconds_; }

 private:
  cg::soc::RetentionRunner runner_;
  const Clock::time_point start_ = Clock::now();
  cg::soc::RetentionRunner::Counts counts_;
  double seconds_ = 0;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

double HeldMs(const cg::soc::RetentionRunner::Counts& c) { return c.held.count() / 1000.0; }

// Reports received before `cutoff`, on a read-only connection of the bench's own (the
// runner's counts are known only at the end of its pass).
int64_t OldReports(const std::string& path, cg::SysTime cutoff) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  sqlite3_stmt* stmt = nullptr;
  if (rc != SQLITE_OK ||
      sqlite3_prepare_v2(
          raw,
          "SELECT count(*) FROM reports WHERE received_at < ?1 AND id NOT IN (SELECT "
          "latest_report FROM devices WHERE latest_report IS NOT NULL)",
          -1, &stmt, nullptr) != SQLITE_OK) {
    cg::bench::Die(std::string("counting reports: ") + sqlite3_errmsg(raw));
  }
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_bind_int64(stmt, 1, cg::ToUnixSeconds(cutoff));
  const int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  if (n < 0) {
    cg::bench::Die(std::string("counting reports: ") + sqlite3_errmsg(raw));
  }
  return n;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
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
  cg::soc::RetentionOptions options;  // the SOC's defaults: 90 days, 100 rows a batch, 10 %
  int steady = 10000;
  bool yield = true;
  app.add_option("--steady-devices", steady,
                 "fleet whose day of reports the steady-state pass deletes")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--batch", options.batch, "retention rows per transaction")
      ->check(CLI::Range(1, 100000));
  app.add_option("--duty", options.duty_percent, "retention duty, percent")
      ->check(CLI::Range(1, 100));
  app.add_flag("!--no-yield", yield, "retention does not give way to a busy ingest writer");
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

  // 4. Ingest without retention, while a pass deletes the backlog (every report older than 90
  //    days: the first pass after an upgrade, or after retention was shortened), without again.
  cg::soc::IngestWriter writer(*storage, {});
  size_t next = 0;
  cg::SysTime at = now + std::chrono::hours(1);
  std::printf("load average %s\n", LoadAverage().c_str());
  const double before = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
  cg::soc::RetentionRunner::Counts backlog;
  double with = 0;
  {
    Pass pass(*storage, at, options, yield ? &writer : nullptr);
    with = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
    const bool finished = pass.done();
    backlog = pass.Stop();
    std::printf(
        "backlog pass under saturating ingest: %zu reports in %zu batches in %.1f s (%.0f "
        "reports/s%s), writer held %.0f ms (%.1f %% of the phase), %.0f ms giving way to ingest\n",
        backlog.reports, backlog.batches, ingest_seconds, backlog.reports / ingest_seconds,
        finished ? ", finished" : ", still deleting at the end", HeldMs(backlog),
        HeldMs(backlog) / ingest_seconds / 10, backlog.yielded.count() / 1000.0);
  }
  const double after = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
  std::printf(
      "ingest, backlog: %.0f reports/s without retention, %.0f with the backlog pass, %.0f "
      "without again -> ratio with/without %.3f (without/without %.3f); load average %s\n",
      before, with, after, with / ((before + after) / 2), after / before, LoadAverage().c_str());

  // 5. The rest of the backlog, with nothing else running and no pause: the raw deletion rate.
  {
    cg::soc::RetentionOptions flat = options;
    flat.duty_percent = 100;
    flat.pause = std::chrono::milliseconds(0);
    const auto started = Clock::now();
    cg::soc::RetentionRunner runner(
        *storage, [at] { return at; }, flat);
    const auto rest = Must(runner.RunOnce(), "retention");
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf(
        "rest of the backlog alone, no pause: %zu reports in %zu batches in %.1f s (%.0f "
        "reports/s, %.1f ms a batch)\n",
        rest.reports, rest.batches, seconds, rest.reports / seconds,
        HeldMs(rest) / std::max<size_t>(1, rest.batches));
  }

  // 6. The steady state: every later pass deletes the reports that aged past 90 days since the
  //    one before. A whole day of a `steady`-device fleet (all its reports of that day at
  //    once, as when every counter PC reports as the office opens) is the most one hourly pass
  //    meets: the clock moves on by steady/devices days.
  const int days_on = std::max(1, (steady + spec.devices - 1) / spec.devices);
  at += std::chrono::hours(24 * days_on);
  const double before2 = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
  double with2 = 0;
  double pass_seconds = 0;
  int64_t during = 0;  // reports the pass deleted during the ingest phase
  cg::soc::RetentionRunner::Counts day;
  {
    // Under saturating ingest for one phase (the pass then takes about 1 % of the writer, so it
    // would take ~100 times its writer time to finish under it), then alone to its end.
    Pass pass(*storage, at, options, yield ? &writer : nullptr);
    with2 = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
    const int64_t left_after_phase = OldReports(db, at - options.reports);
    while (!pass.done()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    day = pass.Stop();
    pass_seconds = pass.seconds();
    during = static_cast<int64_t>(day.reports) - left_after_phase;
  }
  const double after2 = Ingest(writer, stats.device_ids, at, For(ingest_seconds), next);
  std::printf(
      "steady-state pass (%d days on: %zu reports, %zu batches): %.1f s, %lld reports deleted "
      "during the ingest phase; writer held %.0f ms in total (%.3f %% of an hour, %.1f ms a "
      "batch), %.0f ms giving way\n",
      days_on, day.reports, day.batches, pass_seconds, static_cast<long long>(during), HeldMs(day),
      HeldMs(day) / 36000, HeldMs(day) / std::max<size_t>(1, day.batches),
      day.yielded.count() / 1000.0);
  std::printf(
      "ingest, steady state: %.0f reports/s without retention, %.0f while the pass ran, %.0f "
      "without again -> ratio with/without %.3f (without/without %.3f); load average %s\n",
      before2, with2, after2, with2 / ((before2 + after2) / 2), after2 / before2,
      LoadAverage().c_str());
  writer.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}

// fleet_gen: makes a synthetic fleet (fleet_generator.h) in a new SOC database and says how long
// it took, so that a bench or a manual test can start from a realistic database.
//   fleet_gen --db /tmp/fleet/soc.db [--devices 10000] [--groups 60] [--days 90] [--seed 1]
//             [--ingest]
#include <CLI/CLI.hpp>
#include <cstdio>

#include "platform/os/files.h"
#include "soc/sqlite_storage.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/fleet_generator.h"

int main(int argc, char** argv) {
  cg::bench::ProgramName() = "fleet_gen";
  cg::bench::FleetSpec spec;
  std::string db;
  CLI::App app{"fleet_gen: a synthetic SOC fleet for benchmarks"};
  app.add_option("--db", db, "SQLite database to create (must not exist)")->required();
  app.add_option("--devices", spec.devices, "devices")->check(CLI::Range(1, 1000000));
  app.add_option("--groups", spec.groups, "groups")->check(CLI::Range(1, 10000));
  app.add_option("--days", spec.days, "days of reports, one a day per device")
      ->check(CLI::Range(1, 3650));
  app.add_option("--seed", spec.seed, "random seed (same seed, same fleet)");
  app.add_option("--batch", spec.batch, "reports per transaction")->check(CLI::Range(1, 100000));
  bool ingest = false;
  app.add_flag("--ingest", ingest,
               "store every report through Storage::StoreReports (the real ingest path, with the "
               "export outbox; several times slower) instead of direct SQL and the history "
               "backfill");
  CLI11_PARSE(app, argc, argv);
  if (cg::FileExists(db)) {
    cg::bench::Die(db + " exists; give a new path");
  }
  int64_t next = 0;
  auto progress = [&](int64_t reports) {
    if (reports >= next) {
      std::fprintf(stderr, "\r%lld reports", static_cast<long long>(reports));
      next = reports + 50000;
    }
  };
  auto generate = [&]() -> cg::Result<cg::bench::FleetStats> {
    if (!ingest) {
      return cg::bench::GenerateFleetDirect(db, spec, progress);
    }
    auto storage = cg::bench::Must(cg::soc::OpenSqliteStorage(db, /*create=*/true), "open " + db);
    return cg::bench::GenerateFleet(*storage, spec, progress);
  };
  auto stats = cg::bench::Must(generate(), "generate");
  std::fprintf(stderr, "\n");
  std::printf("%lld devices in %zu groups, %lld reports in %.1f s (%.0f reports/s)\n",
              static_cast<long long>(stats.devices), stats.groups.size(),
              static_cast<long long>(stats.reports), stats.seconds.count(),
              static_cast<double>(stats.reports) / stats.seconds.count());
  std::printf("at the end: never reported %lld, stale %lld\n",
              static_cast<long long>(stats.never_reported),
              static_cast<long long>(stats.stale_at_end));
  for (const auto& [status, n] : stats.status_at_end) {
    std::printf("  status %-13s %lld\n", status.c_str(), static_cast<long long>(n));
  }
  for (const auto& [check, n] : stats.failing_at_end) {
    std::printf("  failing %-14s %lld\n", check.c_str(), static_cast<long long>(n));
  }
  return 0;
}

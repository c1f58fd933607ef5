// A synthetic fleet for the SOC's query, report and retention benchmarks: N devices in G groups
// with D days of reports (one a day each) and realistic status changes, written through the
// Storage API (AddDevice, then StoreReports in one transaction per batch) so that every table a
// backend maintains at ingest is filled exactly as real traffic fills it. Deterministic for a
// given seed: two runs make the same fleet, and FleetStats gives the figures a test or a report
// can be checked against.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/storage.h"

namespace cg::bench {

struct FleetSpec {
  int devices = 10000;
  int groups = 60;
  int days = 90;
  uint64_t seed = 1;
  // The last day's reports arrive during the day before this time; day 0 is `days` days earlier.
  // Devices are enrolled the day before day 0.
  SysTime end = FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z
  // Reports per StoreReports call (one transaction, one fsync).
  size_t batch = 2000;
  // Devices enrolled that never report (rounded down), and devices that stop reporting at a
  // random day of the last 30 (so they are stale at `end`): parts per thousand.
  int never_reported_permille = 5;
  int gone_stale_permille = 30;
  // Chance per day that a passing check starts failing (parts per ten thousand, per check) and
  // that a failing one is fixed (percent). A check in `error` lasts one report.
  int fail_per_10000 = 40;
  int fix_percent = 25;
  int error_per_10000 = 20;
};

// What was generated: what queries on it must find.
struct FleetStats {
  int64_t devices = 0;
  int64_t reports = 0;
  int64_t never_reported = 0;
  // Devices whose last report is older than three days at `end` (they stopped reporting).
  int64_t stale_at_end = 0;
  // Devices per status of their latest report ("compliant", "noncompliant", "error"; "unknown"
  // for the ones that never reported).
  std::map<std::string, int64_t> status_at_end;
  // Devices whose latest report has the check failing (status fail).
  std::map<std::string, int64_t> failing_at_end;
  std::vector<std::string> groups;      // as enrolled, sorted
  std::vector<std::string> device_ids;  // in enrollment order
  std::chrono::duration<double> seconds{};
};

// The fleet's groups: "laocai/<district>/xa-<nn>" over the province's nine districts.
std::vector<std::string> FleetGroups(int count);

// Makes the fleet in `storage` (which should be empty of devices with the generated ids).
// `progress` (optional) is called after every batch with the reports stored so far.
Result<FleetStats> GenerateFleet(soc::Storage& storage, const FleetSpec& spec,
                                 const std::function<void(int64_t reports)>& progress = {});

// The same fleet (same seed, same reports and bodies) in a new database at `db_path`, faster:
// devices enrolled through the Storage API, then the reports and their check results inserted
// with direct SQL in one transaction (no fsync), the device rows set as ingest leaves them after
// their newest report (status, latest report, failing and error checks, versions, last seen),
// and the status history, reporting gaps and enforcement changes rebuilt from the stored
// reports by the backend's own backfill on reopening. Not written: the SIEM export outbox (the
// events of each change), which no query reads.
Result<FleetStats> GenerateFleetDirect(const std::string& db_path, const FleetSpec& spec,
                                       const std::function<void(int64_t reports)>& progress = {});

}  // namespace cg::bench

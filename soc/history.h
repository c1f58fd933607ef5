// Status history: how a report changes the per-check status intervals of its device, and how
// long a series of intervals was compliant within a period. Pure functions; the SQLite backend
// (sqlite_history.cpp) applies the transitions at ingest, and the inspection report sums them.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/timeutil.h"
#include "protocol/report.h"
#include "soc/storage.h"

namespace cg::soc {

// What one report says about one check (or, with kOverallCheck, about the device).
struct Observation {
  std::string check_id;
  std::string status;
  std::string severity;
  std::string summary;
  std::string evidence;  // JSON {"expected", "observed"}, clipped to kMaxEvidenceBytes
};
inline constexpr size_t kMaxEvidenceBytes = 2048;
inline constexpr size_t kMaxIntervalSummaryBytes = 512;

// The report's observations: one per check, then the overall one (its summary names the
// failing and erroring checks).
std::vector<Observation> ObservationsOf(const protocol::Report& report);

// What a report does to the open intervals (check id -> status): the checks whose interval
// closes (their status changed, or the report no longer has them) and the intervals that open.
// A check reported with the status it already has changes nothing (a retry or a steady state).
struct Transition {
  std::vector<std::string> close;
  std::vector<Observation> open;
};
Transition ComputeTransition(const std::map<std::string, std::string>& open_status,
                             const std::vector<Observation>& observations);

// The enforcement records of a report (remediations that were not dry runs).
std::vector<EnforcementChange> EnforcementOf(const protocol::Report& report, SysTime received_at);

// pass, not_applicable (checks) and compliant (overall) count as compliant time.
bool IsCompliantStatus(std::string_view status);

// Time of one series (one device's intervals of one check, in order) within [from, to): how
// much of it is covered by intervals ("observed"), and how much of that was compliant. Open
// intervals end at `open_end` (the time the question is asked, when before `to`).
struct TimeShare {
  std::chrono::seconds observed{0};
  std::chrono::seconds compliant{0};
  // compliant / observed, nullopt when nothing was observed.
  std::optional<double> Ratio() const;
};
TimeShare ShareWithin(const std::vector<StatusInterval>& series, SysTime from, SysTime to,
                      SysTime open_end);

// The status of a series at `at` (the interval covering it), nullopt when none does.
std::optional<StatusInterval> StatusAt(const std::vector<StatusInterval>& series, SysTime at);

}  // namespace cg::soc

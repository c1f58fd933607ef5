// The agent's report spool: every report is written here (atomic write, fsync of file and
// directory) before it is sent, and leaves only after the SOC committed it.
//
// An entry is one file "<seq>-<kind>-<report_id>.rep" holding a header line
// "CGSPOOL1 <bytes> <sha256 hex>\n" and the report JSON, so a truncated or damaged entry (power
// loss, bad sector) is recognised, moved aside to corrupt/, counted and reported, and never
// blocks the entries behind it. The spool is bounded in bytes: when full, older posture
// snapshots are dropped first (only the newest posture matters; the newest is kept), security
// reports (YARA matches, refused policies, enforcement changes) last; every drop is counted,
// shown by `cg-agent status --json` and reported to the SOC as an event of the next report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::agent {

enum class SpoolKind { kPosture, kSecurity };

struct SpoolEntry {
  uint64_t seq = 0;
  SpoolKind kind = SpoolKind::kPosture;
  std::string report_id;
  std::string file;  // file name inside the spool directory
  uint64_t bytes = 0;
};

// Totals since the spool was created (persisted in counters.json).
struct SpoolCounters {
  int64_t dropped_posture = 0;
  int64_t dropped_security = 0;
  int64_t corrupt = 0;
  int64_t rejected = 0;  // refused for good by the SOC (4xx), moved to rejected/
  // How much of the above the SOC has already been told about (events of a spooled report).
  int64_t reported_dropped_posture = 0;
  int64_t reported_dropped_security = 0;
  int64_t reported_corrupt = 0;
  int64_t reported_rejected = 0;
};

// Whether a report must outlive posture snapshots when the spool is full: it carries events
// (refused policy, enforcement, ...), a YARA match, or an enforcement change that was made.
SpoolKind KindOf(const protocol::Report& report);

class Spool {
 public:
  static constexpr uint64_t kDefaultMaxBytes = 50ull << 20;

  explicit Spool(std::string dir, uint64_t max_bytes = kDefaultMaxBytes)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  const std::string& dir() const { return dir_; }
  uint64_t max_bytes() const { return max_bytes_; }

  // Adds events for drops and corrupt entries the SOC has not heard of yet to `report`, makes
  // room (dropping as described above), and writes the entry durably. kTooLarge when the report
  // alone exceeds the bound; kIo (with the OS reason, e.g. "No space left on device") when it
  // cannot be written — the spool is then as it was.
  Status Put(protocol::Report& report, SysTime now);

  // Entries, oldest first. With repair, leftovers of interrupted writes are removed and entries
  // whose size does not match their header are moved aside (corrupt/) and counted; without
  // (cg-agent status, while the service may be writing) nothing changes.
  Result<std::vector<SpoolEntry>> List(bool repair = true);
  // The report JSON of an entry, checked against its checksum; a damaged entry is moved aside,
  // counted, and kParse is returned (the caller goes on with the next entry).
  Result<std::string> Read(const SpoolEntry& entry);
  Status Remove(const SpoolEntry& entry);
  // Moves an entry the SOC refused for good (4xx) to rejected/, and counts it.
  Status Reject(const SpoolEntry& entry, const std::string& reason);

  Result<SpoolCounters> Counters() const;
  // Entries and bytes now in the spool (without repair).
  Result<std::pair<size_t, uint64_t>> Usage();

 private:
  Status MoveAside(const SpoolEntry& entry, const char* subdir);
  Status SaveCounters(const SpoolCounters& c) const;
  Status Prepare() const;

  std::string dir_;
  uint64_t max_bytes_;
};

}  // namespace cg::agent

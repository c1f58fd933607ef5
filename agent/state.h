// The agent's state directory: identity (key, certificate, pinned CA), enrollment record,
// last-run status, and the report spool. Root-only (0700); keys 0600.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::agent {

struct Enrollment {
  std::string server;  // "host:port" of the SOC's agent listener
  std::string device_id;
  std::string group;
  std::string enrolled_at;
};

// The SOC refused the device certificate as revoked (revoked.json in the state dir): written
// by whoever met the refusal (report sender, long-poll), removed by a new enrollment.
struct Revocation {
  std::string first_refused_at;  // RFC 3339: when the agent first met the refusal
  std::string last_refused_at;
  std::string error;  // the refusal as the agent saw it
};

struct RunStatus {
  std::string last_report_at;  // RFC 3339 of the last report the SOC committed
  std::string last_report_id;
  std::string last_attempt_at;
  std::string last_error;  // empty when the last attempt succeeded
  int64_t policy_version = 0;
};

class StateDir {
 public:
  explicit StateDir(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string KeyPath() const { return path_ + "/device.key"; }
  std::string CertPath() const { return path_ + "/device.crt"; }
  std::string CaPath() const { return path_ + "/ca.pem"; }
  std::string EnrollmentPath() const { return path_ + "/enrollment.json"; }
  std::string StatusPath() const { return path_ + "/status.json"; }
  std::string SpoolDir() const { return path_ + "/spool"; }
  std::string RevokedPath() const { return path_ + "/revoked.json"; }

  // Creates the directory tree with root-only permissions.
  Status Prepare() const;

  Result<std::optional<Enrollment>> LoadEnrollment() const;
  Status SaveEnrollment(const Enrollment& e) const;
  // A missing status file is an empty status (never ran).
  Result<RunStatus> LoadStatus() const;
  Status SaveStatus(const RunStatus& s) const;

  // Records a refusal as revoked at `now` (keeps the first time); nullopt when none recorded.
  Status RecordRevoked(const std::string& error, const std::string& now) const;
  Result<std::optional<Revocation>> LoadRevocation() const;
  Status ClearRevocation() const;

  // The spool by report id, through agent/spool.h (prefer agent/delivery.h: SpoolReport and
  // SendSpool). Reports wait here (atomic write + fsync) until the SOC committed them.
  Status SpoolPut(const std::string& report_id, const std::string& body) const;
  // Spooled report ids, oldest first.
  Result<std::vector<std::string>> SpoolList() const;
  Result<std::string> SpoolGet(const std::string& report_id) const;
  Status SpoolRemove(const std::string& report_id) const;

 private:
  std::string path_;
};

// Moves a damaged bookkeeping file aside (PATH.damaged-<UTC time>) so that it is rebuilt, and
// returns the `state_file_damaged` event that tells the SOC (file, reason, moved_to).
protocol::Event SetAsideDamaged(const std::string& path, const std::string& reason, SysTime now);

}  // namespace cg::agent

// What the SOC keeps: operator and enrollment tokens, devices, reports, the audit log. An
// interface with plain C++ types so that SQLite (today) and PostgreSQL (several SOC nodes) can
// sit behind it; no backend type appears here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::soc {

// A bearer token of the operator API. Only the SHA-256 of the secret is kept.
struct OperatorToken {
  std::string id;    // UUID
  std::string name;  // who holds it ("nguyen.van.a"); the audit log's actor
  std::string role;  // "analyst" | "admin"
  std::string token_hash;
  SysTime created_at;
  std::optional<SysTime> expires_at;  // nullopt: no expiry
  bool revoked = false;
};

// A token that lets agents enroll into one group, `uses_allowed` times, until `expires_at`.
struct EnrollmentToken {
  std::string id;  // UUID; safe to show and log, unlike the secret
  std::string token_hash;
  std::string group;
  SysTime created_at;
  SysTime expires_at;
  int64_t uses_allowed = 1;
  int64_t uses = 0;
  bool revoked = false;
  std::string created_by;  // operator token name
};

struct Device {
  std::string device_id;  // UUID, the certificate's CN
  std::string hostname;
  std::string machine_id;
  std::string group;        // the certificate's OU
  std::string cert_serial;  // lower-case hex, as protocol::CertificateInfo::serial_hex
  SysTime cert_not_after;
  SysTime enrolled_at;
  std::optional<SysTime> last_seen;  // when the last report arrived; nullopt before the first
  // The overall status of the latest report (kUnknown before the first). Staleness and
  // revocation are not stored here: see EffectiveStatus.
  protocol::DeviceStatus status = protocol::DeviceStatus::kUnknown;
  int64_t policy_version = 0;
  bool revoked = false;
};

struct StoredReport {
  std::string report_id;
  std::string device_id;
  SysTime received_at;
  SysTime collected_at;
  protocol::DeviceStatus status = protocol::DeviceStatus::kUnknown;  // OverallStatus(checks)
  std::string body;  // the report as JSON text (ReportHistory leaves it empty)
};

struct DeviceFilter {
  // Compared with EffectiveStatus(device, stale_before).
  std::optional<protocol::DeviceStatus> status;
  // Devices not heard from since this time count as stale; nullopt: none is stale.
  std::optional<SysTime> stale_before;
  // A group and every group below it: "laocai" matches "laocai" and "laocai/bac-ha", not
  // "laocai2". A trailing '/' is ignored.
  std::optional<std::string> group_prefix;
  // Devices whose latest report has this check failing or in error.
  std::optional<std::string> check_id;
};

struct AuditEntry {
  SysTime time;
  std::string actor;   // operator token name, "-" when none was recognised
  std::string role;    // "analyst" | "admin" | "-"
  std::string method;  // "GET"
  std::string path;    // request path without the query string
  std::string target;  // what the request acted on (a device id, an enrollment token id), or ""
  int result = 0;      // HTTP status answered
  std::string source;  // peer address
};

// The status the operator API shows: a revoked device is revoked; one not heard from since
// `stale_before` (counted from its enrollment if it never reported) is stale; otherwise the
// status of its latest report. ListDevices' status filter applies the same rule.
inline protocol::DeviceStatus EffectiveStatus(const Device& device,
                                              std::optional<SysTime> stale_before) {
  if (device.revoked) {
    return protocol::DeviceStatus::kRevoked;
  }
  if (stale_before && device.last_seen.value_or(device.enrolled_at) < *stale_before) {
    return protocol::DeviceStatus::kStale;
  }
  return device.status;
}

// Why `token` cannot enroll a device at `now`, or nullopt when it can. The single definition
// shared by the backends' ConsumeEnrollmentToken and the service's check before it issues a
// certificate.
inline std::optional<std::string> EnrollmentTokenRefusal(const EnrollmentToken& token,
                                                         SysTime now) {
  if (token.revoked) {
    return "enrollment token revoked";
  }
  if (now >= token.expires_at) {
    return "enrollment token expired";
  }
  if (token.uses >= token.uses_allowed) {
    return "enrollment token used up";
  }
  return std::nullopt;
}

// One report of a group commit (Storage::StoreReports); the pointed-to data must outlive the call.
struct ReportToStore {
  const protocol::Report* report = nullptr;
  std::string_view body_json;
  SysTime received_at;
};

// Every method is safe to call from several threads. Errors are kDatabase unless stated.
class Storage {
 public:
  virtual ~Storage() = default;

  // Stores a new operator token (kAlreadyExists if its id or hash is taken).
  virtual Status CreateOperatorToken(const OperatorToken& token) = 0;
  // The token whose secret hashes to `token_hash`, revoked or expired ones included (the
  // caller decides); kNotFound if there is none.
  virtual Result<OperatorToken> FindOperatorTokenByHash(std::string_view token_hash) = 0;

  // Stores a new enrollment token (kAlreadyExists if its id or hash is taken).
  virtual Status CreateEnrollmentToken(const EnrollmentToken& token) = 0;
  // Looks a token up without using it; kNotFound if there is none.
  virtual Result<EnrollmentToken> FindEnrollmentTokenByHash(std::string_view token_hash) = 0;
  // Uses the token once, atomically (one transaction, so concurrent callers never exceed
  // uses_allowed), and returns it with `uses` counted. Unknown hash: kNotFound "unknown
  // enrollment token"; revoked, expired or used up: kPermissionDenied with that reason
  // (EnrollmentTokenRefusal) and nothing changed.
  virtual Result<EnrollmentToken> ConsumeEnrollmentToken(std::string_view token_hash,
                                                         SysTime now) = 0;

  // Stores a newly enrolled device (kAlreadyExists if the id is taken).
  virtual Status AddDevice(const Device& device) = 0;
  // kNotFound if there is no such device.
  virtual Result<Device> GetDevice(std::string_view device_id) = 0;
  // Devices matching every set field of `filter`, ordered by group, hostname, device id.
  virtual Result<std::vector<Device>> ListDevices(const DeviceFilter& filter) = 0;
  // Marks a device revoked (its certificate is refused from then on). kNotFound if unknown;
  // revoking twice is not an error.
  virtual Status RevokeDevice(std::string_view device_id) = 0;

  // Stores a report that the caller has parsed and authorised, in one transaction with one
  // check_results row per check and the device's update: last_seen becomes received_at (it
  // never moves back), and when the report is the device's newest by collected_at (ties go to
  // the later arrival) the device's status, policy_version and hostname follow it, so a
  // late retry of an old report does not roll the device back. `body_json` is kept as is.
  // Returns true when stored, false when a report with this report_id from this device is
  // already stored (nothing changes: retries are idempotent). Errors: kNotFound for an unknown
  // device_id, kConflict when the report_id belongs to another device, kInvalidArgument for a
  // bad collected_at or a check id given twice; nothing is stored on error.
  virtual Result<bool> StoreReport(const protocol::Report& report, std::string_view body_json,
                                   SysTime received_at) = 0;
  // Group commit: every report judged as StoreReport judges it, in order, all in one
  // transaction (one durable commit for the batch). A report refused for its own reasons does
  // not undo the others; a failure of the transaction itself is every report's result (then
  // nothing of the batch is stored). This default stores them one by one.
  virtual std::vector<Result<bool>> StoreReports(std::span<const ReportToStore> reports) {
    std::vector<Result<bool>> results;
    results.reserve(reports.size());
    for (const ReportToStore& r : reports) {
      results.push_back(StoreReport(*r.report, r.body_json, r.received_at));
    }
    return results;
  }
  // The device's newest report by collected_at, nullopt if it never reported; kNotFound for an
  // unknown device.
  virtual Result<std::optional<StoredReport>> LatestReport(std::string_view device_id) = 0;
  // Up to `limit` reports of the device, newest collected_at first, bodies left empty;
  // kNotFound for an unknown device.
  virtual Result<std::vector<StoredReport>> ReportHistory(std::string_view device_id,
                                                          size_t limit) = 0;

  // Appends to the audit log (which the schema keeps append-only).
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  // The `limit` newest entries, newest first.
  virtual Result<std::vector<AuditEntry>> ListAudit(size_t limit) = 0;
};

}  // namespace cg::soc

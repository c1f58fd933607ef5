// What the SOC keeps: operator and enrollment tokens, devices, reports, the audit log. An
// interface with plain C++ types so that SQLite (today) and PostgreSQL (several SOC nodes) can
// sit behind it; no backend type appears here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"
#include "soc/export_event.h"

namespace cg::soc {

// A bearer token of the operator API. Only the SHA-256 of the secret is kept.
struct OperatorToken {
  std::string id;    // UUID
  std::string name;  // who holds it ("nguyen.van.a"); the audit log's actor
  std::string role;  // "analyst" | "admin" | "metrics" (GET /metrics only)
  std::string token_hash;
  SysTime created_at;
  std::optional<SysTime> expires_at;  // nullopt: no expiry
  bool revoked = false;
  // The last authenticated request made with it (kept to the minute); nullopt: never used.
  std::optional<SysTime> last_used_at;
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
  // The host name the device enrolled with: its identity for analysts. Reports never change it.
  std::string hostname;
  // The host name the latest report gave ("" before the first): an observation, shown next to
  // `hostname` when they differ.
  std::string reported_hostname;
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
  std::string policy_hash;  // of the policy the latest report says is in force ("" before)
  // How far the latest report's collected_at was ahead of the SOC's clock when it arrived
  // (negative: behind, e.g. a report that waited in the spool). The service judges it.
  std::chrono::seconds clock_skew{0};
  // How the SOC judged the latest report's policy (version, hash): "expected" (what the SOC
  // serves the device now), "rollout" (still accepted: the set last served to it or last
  // confirmed by it, or the built-in policy), "unverified" (neither), "" (not judged).
  std::string policy_state;
  // The policy set the device last confirmed with an accepted report, and the one the SOC last
  // handed it over the long-poll (0 and "" before any).
  int64_t verified_policy_version = 0;
  std::string verified_policy_hash;
  int64_t served_policy_version = 0;
  std::string served_policy_hash;
  bool revoked = false;
  // An admin allowed the next enrollment from this machine to become a new certificate of this
  // device (`cgctl device allow-reenroll`); cleared when that enrollment happens.
  bool reenroll_allowed = false;
  // A renewed certificate issued but not used yet ("" when none). The SOC accepts it next to
  // cert_serial; its first use makes it the current one (ReplaceDeviceCertificate).
  std::string pending_cert_serial;
  SysTime pending_cert_not_after;
};

// A certificate the SOC no longer accepts, as the published CRL lists it.
struct RevokedCertificate {
  std::string serial_hex;  // lower-case hex
  std::string device_id;
  SysTime revoked_at;
  SysTime not_after;
  std::string reason;  // "revoked" (the device was revoked) | "superseded" (renewed, re-enrolled)
};

// An enrollment refused because the machine is already enrolled as `device_id`.
struct EnrollmentConflict {
  int64_t id = 0;
  SysTime time;
  std::string device_id;  // the device the machine is already enrolled as
  std::string hostname;   // what the refused enrollment claimed
  std::string machine_id;
  std::string group;  // the refused token's group
  std::string source;
  // Set only by an admin (`cgctl conflicts resolve`): an attempt to take a device over stays
  // open, whatever happens to the device afterwards.
  std::optional<SysTime> resolved_at;
  std::string resolved_by;  // the admin's operator token name
};

struct StoredReport {
  std::string report_id;
  std::string device_id;
  SysTime received_at;
  SysTime collected_at;
  std::chrono::seconds clock_skew{0};                                // collected_at - received_at
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

// The devices query of the operator API (GET /api/v1/devices, `cgctl devices`): filters, one
// sort order and a keyset page. Every set field must match.
enum class DeviceSort { kGroup, kHostname, kStatus, kLastSeen };

// Where a page ends: the sort key of its last row. The next page starts strictly after it, so
// rows inserted or changed meanwhile never repeat or shift the rows of later pages.
struct DeviceSortKey {
  std::string group;
  std::string hostname_folded;
  int64_t number = 0;  // kStatus: PostureRank; kLastSeen: last_seen in Unix seconds, -1 if never
  std::string device_id;
};

struct DeviceQuery {
  // A group and every group below it (see DeviceFilter::group_prefix).
  std::optional<std::string> group_prefix;
  // Any of these postures (PostureStatus: compliant, noncompliant, error, unknown, unverified).
  std::vector<protocol::DeviceStatus> postures;
  // The latest report has this check failing or in error.
  std::optional<std::string> check_id;
  std::optional<bool> stale;
  std::optional<bool> revoked;
  // Exact matches on what the latest report gave.
  std::optional<std::string> os_name;
  std::optional<std::string> os_version;
  std::optional<std::string> agent_version;
  std::optional<int64_t> policy_version;
  // last_seen < before, last_seen >= after (devices that never reported match neither).
  std::optional<SysTime> last_seen_before;
  std::optional<SysTime> last_seen_after;
  // Already folded (FoldForSearch, non-empty): a substring of the folded host name.
  std::optional<std::string> hostname_folded;
  // Staleness: not heard from since the cutoff of its group (from its enrollment if it never
  // reported); revoked devices are never stale. `stale_before_by_group` lists the groups whose
  // cutoff differs from `stale_before`, by exact group name.
  SysTime stale_before;
  std::vector<std::pair<std::string, SysTime>> stale_before_by_group;
  DeviceSort sort = DeviceSort::kGroup;
  bool descending = false;
  size_t limit = 50;
  std::optional<DeviceSortKey> after;
  // Whether to count `total` (the service asks on the first page only: the count reads every
  // matching row, which a cursor page otherwise never does).
  bool count_total = true;
};

// One row of a devices page: the device with what the listing shows beside it.
struct DeviceRow {
  Device device;
  bool stale = false;
  std::vector<std::string> failing_checks;  // status fail in the latest report, sorted
  std::vector<std::string> error_checks;    // status error in the latest report, sorted
  std::string os_name;
  std::string os_version;
  std::string agent_version;
  DeviceSortKey key;
};

struct DevicePage {
  std::vector<DeviceRow> rows;
  bool more = false;  // rows follow the last one
  int64_t total = 0;  // devices matching the filters (0 unless query.count_total)
};

// Per group: how many devices, in which posture, failing which checks (fleet summary).
struct GroupSummary {
  std::string group;
  int64_t devices = 0;  // every enrolled device, revoked ones included
  int64_t revoked = 0;
  // Of the devices not revoked:
  std::map<std::string, int64_t> postures;  // PostureStatus name -> devices
  int64_t stale = 0;
  int64_t never_reported = 0;
  std::map<std::string, int64_t> failing;  // check id -> devices failing it
  std::map<std::string, int64_t> errors;   // check id -> devices where it is in error
};

struct FleetSummaryQuery {
  std::optional<std::string> group_prefix;
  SysTime stale_before;  // as DeviceQuery
  std::vector<std::pair<std::string, SysTime>> stale_before_by_group;
};

// A group's name in Vietnamese (or any Latin-script language) next to its ASCII slug
// ("Xã Bắc Hà" for "laocai/bac-ha"), set by an admin; NFC (soc/display_name.h).
struct GroupDisplayName {
  std::string group;
  std::string display_name;
  std::string set_by;  // the account or operator token name that set it
  SysTime set_at;
};

// A stored report with where it came from (GET /api/v1/reports/{id}).
struct ReportRecord {
  StoredReport report;  // body included
  std::string policy_state;
  std::string hostname;  // the device's enrolled host name
  std::string group;
};

struct AuditEntry {
  SysTime time;
  std::string actor;   // account or operator token name, "-" when none was recognised
  std::string role;    // "analyst" | "inspector" | "admin" | "-"
  std::string method;  // "GET"
  std::string path;    // request path without the query string
  std::string target;  // what the request acted on (a device id, an enrollment token id), or ""
  int result = 0;      // HTTP status answered
  std::string source;  // peer address
  // "METHOD /route/{pattern}" of the route called (audit filters match it); "" before accounts.
  std::string action;
  // The staff account behind the request (a session, or a token the account owns), or "".
  std::string account;
};

// A signed policy (one layer) as pushed by an admin. Versions count per target
// (policy::LayerTarget): one policy per (target, version).
struct StoredPolicy {
  std::string target;  // policy::LayerTarget of the signed document ("" for every group)
  int64_t version = 0;
  std::string hash;    // SHA-256 of the canonical policy (policy::PolicyHash)
  std::string key_id;  // the signing key
  std::string name;
  // Which groups the SOC serves it to: a group and everything below it, or "" for every group
  // the policy's signed target matches.
  std::string scope;
  std::string envelope;  // the signed envelope, JSON text as pushed
  std::string pushed_by;
  SysTime pushed_at;
};

// An ad-hoc task (an unannounced inspection) sent to devices over the long-poll.
struct Task {
  std::string id;  // UUID
  std::string kind = "inspect";
  bool yara = false;   // also run a YARA scan now
  std::string target;  // "device <id>" or "group <g>", as asked
  std::string created_by;
  SysTime created_at;
  SysTime expires_at;  // not handed out after this
};

// A task's state on one device: pending (not yet fetched), delivered (fetched by the agent),
// done (a report answering it arrived).
struct TaskAssignment {
  std::string device_id;
  std::string hostname;
  std::string state;
  std::optional<SysTime> delivered_at;
  std::optional<SysTime> done_at;
  std::string report_id;  // the report that answered it
  // That report's overall status and failing checks (status fail or error), when there is one.
  std::optional<protocol::DeviceStatus> report_status;
  std::vector<std::string> failing_checks;
};

// How long one check of a device (or the device's overall status) kept one status: from the
// report that started it to the report that ended it (its next status, or a report without
// that check). Times are the SOC's arrival times (received_at), the order the device follows.
// Kept for years (status_intervals), long after the raw reports are deleted.
struct StatusInterval {
  std::string device_id;
  std::string check_id;  // kOverallCheck: the device's overall status
  // A protocol::CheckStatus string, or for kOverallCheck a protocol::DeviceStatus one.
  std::string status;
  std::string severity;  // of the check when the interval started ("" for the overall status)
  SysTime since;
  std::optional<SysTime> until;  // nullopt: still the current status
  std::string report_id;         // the report that started it
  std::string summary;           // the check's summary then (the overall one: failing checks)
  std::string evidence;          // JSON {"expected", "observed"} of that report, clipped
};
inline constexpr const char* kOverallCheck = "";

// Which intervals, enforcement changes or gaps: one device or a group and everything below it,
// and a period [from, to) that they overlap (open ends: no bound).
struct HistoryQuery {
  std::optional<std::string> device_id;
  std::optional<std::string> group_prefix;
  std::optional<SysTime> from;
  std::optional<SysTime> to;
};

// A change an agent's enforcement made (or failed to make), from a report's remediation record
// that was not a dry run.
struct EnforcementChange {
  std::string device_id;
  std::string check_id;
  SysTime time;  // the report's arrival
  std::string report_id;
  std::string result;   // "applied" | "error"
  std::string changes;  // JSON array [{target, action, before, after}] or {"error": ...}
};

// A time without reports from a device: between two consecutive arrivals at least
// kMinRecordedGap apart. Stale periods are judged from these (the raw reports are gone by then).
struct ReportingGap {
  std::string device_id;
  SysTime since;  // the arrival before the gap
  SysTime until;  // the arrival that ended it
};
inline constexpr std::chrono::seconds kMinRecordedGap{24 * 3600};

// An inspection task with each device's answer: the status of the report that answered it
// ("" while not answered; "deleted" when that report is gone and no interval tells).
struct InspectionRecord {
  Task task;
  std::vector<std::pair<TaskAssignment, std::string>> assignments;
};

// A generated document (an inspection report) as the SOC recorded it, so that a printed copy
// can be matched by its digest.
struct GeneratedReport {
  std::string id;          // UUID
  std::string kind;        // "inspection"
  std::string digest;      // SHA-256 (hex) of the canonical content
  std::string parameters;  // JSON: group, from, to, format, lang
  std::string generated_by;
  SysTime generated_at;
  std::string content;  // the canonical content (JSON) the digest is of
};

// Device::policy_state values.
inline constexpr const char* kPolicyExpected = "expected";
inline constexpr const char* kPolicyRollout = "rollout";
inline constexpr const char* kPolicyUnverified = "unverified";

// The status the operator API shows: a revoked device is revoked; one not heard from since
// `stale_before` (counted from its enrollment if it never reported) is stale; otherwise the
// status of its latest report, unless that report's policy is unverified. ListDevices' status
// filter applies the same rule.
inline protocol::DeviceStatus EffectiveStatus(const Device& device,
                                              std::optional<SysTime> stale_before) {
  if (device.revoked) {
    return protocol::DeviceStatus::kRevoked;
  }
  if (stale_before && device.last_seen.value_or(device.enrolled_at) < *stale_before) {
    return protocol::DeviceStatus::kStale;
  }
  // A report under a policy the SOC never served proves nothing about the device's posture.
  if (device.policy_state == kPolicyUnverified) {
    return protocol::DeviceStatus::kUnverified;
  }
  return device.status;
}

// What a device's latest report says of it, whether or not it is stale or revoked (those are
// shown beside it): its overall status, unknown before the first report, unverified when that
// report names a policy the SOC never served it.
inline protocol::DeviceStatus PostureStatus(const Device& device) {
  if (device.policy_state == kPolicyUnverified) {
    return protocol::DeviceStatus::kUnverified;
  }
  return device.status;
}

// The order of DeviceSort::kStatus, worst first: noncompliant, error, unverified, unknown,
// compliant.
inline int64_t PostureRank(protocol::DeviceStatus posture) {
  switch (posture) {
    case protocol::DeviceStatus::kNoncompliant:
      return 0;
    case protocol::DeviceStatus::kError:
      return 1;
    case protocol::DeviceStatus::kUnverified:
      return 2;
    case protocol::DeviceStatus::kUnknown:
      return 3;
    default:
      return 4;
  }
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
  // The SOC's verdict on the report's policy (Device::policy_state), "" when not judged.
  std::string_view policy_state = {};
};

// One event of the export outbox (migration 9), in the order the changes committed.
struct OutboxEntry {
  int64_t seq = 0;  // increasing, never reused: what a sink's cursor counts
  ExportEvent event;
};

// Where one export sink ("file", "syslog") stands in the outbox.
struct ExportSinkState {
  std::string sink;
  int64_t delivered_seq = 0;  // every event up to this one was written to the sink
  std::optional<SysTime> delivered_at;
  int64_t pending = 0;  // events after the cursor
  std::optional<SysTime> oldest_pending;
};

// A device the staleness sweep found silent: recorded once per silence (a report ends it).
struct StaleDevice {
  std::string device_id;
  SysTime silent_since;  // last_seen, or enrolled_at when it never reported (as read)
  ExportEvent event;
};

// Every method is safe to call from several threads. Errors are kDatabase unless stated.
// AddPolicy's refusal of a version that is not newer than `stored`, the newest version of the
// policy's target (kAlreadyExists, the message the operator sees).
inline Error NotNewerPolicy(const StoredPolicy& p, int64_t stored) {
  const std::string target = p.target.empty() ? "every group" : "'" + p.target + "'";
  return MakeError(ErrorCode::kAlreadyExists, "policy version " + std::to_string(p.version) +
                                                  " is not newer than the stored version " +
                                                  std::to_string(stored) + " for target " + target +
                                                  " (versions count per target: sign it with "
                                                  "version " +
                                                  std::to_string(stored + 1) + " or higher)");
}

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
  // AddDevice for an enrollment: the check that no device of the same machine (as
  // FindDevicesByMachine matches it) exists and the insert are one step for every node of the
  // SOC, so two enrollments of one machine at once never make two devices. kAlreadyExists
  // naming the device when there is one.
  virtual Status AddEnrolledDevice(const Device& device) = 0;
  // kNotFound if there is no such device.
  virtual Result<Device> GetDevice(std::string_view device_id) = 0;
  // Devices matching every set field of `filter`, ordered by group, hostname, device id.
  virtual Result<std::vector<Device>> ListDevices(const DeviceFilter& filter) = 0;
  // Marks a device revoked (its certificate is refused from then on, and listed in the CRL as
  // revoked at `now`). kNotFound if unknown; revoking twice is not an error.
  virtual Status RevokeDevice(std::string_view device_id, SysTime now) = 0;

  // Stores a report that the caller has parsed and authorised, in one transaction with one
  // check_results row per check and the device's update: last_seen becomes received_at (it
  // never moves back), and the device's status, policy_version, policy_hash, reported_hostname
  // and clock_skew follow the report received last (by received_at; ties go to the later
  // arrival). The agent's collected_at is evidence, not authority: a report dated in the future
  // does not hide the reports that arrive after it. The tasks the report
  // answers (report.task_ids) become done for this device. `body_json` is kept as is.
  // Returns true when stored, false when a report with this report_id from this device is
  // already stored (nothing changes: retries are idempotent). Errors: kNotFound for an unknown
  // device_id, kConflict when the report_id belongs to another device, kInvalidArgument for a
  // bad collected_at or a check id given twice; nothing is stored on error.
  // `policy_state` (Device::policy_state) is stored with the report and, for the device's newest
  // report, on the device; an accepted one ("expected", "rollout") also becomes the device's
  // verified policy.
  virtual Result<bool> StoreReport(const protocol::Report& report, std::string_view body_json,
                                   SysTime received_at, std::string_view policy_state = {}) = 0;
  // Group commit: every report judged as StoreReport judges it, in order, all in one
  // transaction (one durable commit for the batch). A report refused for its own reasons does
  // not undo the others; a failure of the transaction itself is every report's result (then
  // nothing of the batch is stored). This default stores them one by one.
  virtual std::vector<Result<bool>> StoreReports(std::span<const ReportToStore> reports) {
    std::vector<Result<bool>> results;
    results.reserve(reports.size());
    for (const ReportToStore& r : reports) {
      results.push_back(StoreReport(*r.report, r.body_json, r.received_at, r.policy_state));
    }
    return results;
  }
  // The device's report received last, nullopt if it never reported; kNotFound for an
  // unknown device.
  virtual Result<std::optional<StoredReport>> LatestReport(std::string_view device_id) = 0;
  // Up to `limit` reports of the device, received last first, bodies left empty;
  // kNotFound for an unknown device.
  virtual Result<std::vector<StoredReport>> ReportHistory(std::string_view device_id,
                                                          size_t limit) = 0;

  // Stores a pushed policy. Returns true when stored, false when this exact policy (same
  // target, version and hash) is already stored; kAlreadyExists when the target's version is
  // taken by another policy or a newer version of the target is stored (NotNewerPolicy): the
  // check and the insert are one step for every node of the SOC.
  virtual Result<bool> AddPolicy(const StoredPolicy& policy) = 0;
  // Every stored policy, newest push first.
  virtual Result<std::vector<StoredPolicy>> ListPolicies() = 0;
  // Records the policy set the long-poll handed to a device (kNotFound if unknown).
  virtual Status RecordPolicyServed(std::string_view device_id, int64_t version,
                                    std::string_view hash) = 0;
  // The same for many devices at once (a push waking thousands of long-polls); a backend may
  // record them in one transaction. Unknown devices are skipped.
  virtual Status RecordPolicyServedMany(const std::vector<std::string>& device_ids, int64_t version,
                                        std::string_view hash) {
    for (const auto& id : device_ids) {
      if (auto s = RecordPolicyServed(id, version, hash);
          !s.ok() && s.error().code != ErrorCode::kNotFound) {
        return s;
      }
    }
    return OkStatus();
  }

  // Stores a task with one pending assignment per device (kNotFound for an unknown device;
  // nothing is stored then).
  virtual Status CreateTask(const Task& task, const std::vector<std::string>& device_ids) = 0;
  // The device's pending tasks that have not expired at `now`, oldest first, marked delivered
  // (each is handed out once; the agent keeps it until a report answers it).
  virtual Result<std::vector<Task>> TakeTasks(std::string_view device_id, SysTime now) = 0;
  // The `limit` newest tasks, newest first.
  virtual Result<std::vector<Task>> ListTasks(size_t limit) = 0;
  // One task and its assignments (ordered by hostname); kNotFound if unknown.
  virtual Result<std::pair<Task, std::vector<TaskAssignment>>> GetTask(std::string_view id) = 0;
  // Every operator token, newest first (hashes included; callers never show them).
  virtual Result<std::vector<OperatorToken>> ListOperatorTokens() = 0;
  // kNotFound if unknown; revoking twice is not an error.
  virtual Status RevokeOperatorToken(std::string_view id) = 0;
  // Records a use of the token at `now`; writes at most once a minute per token.
  virtual Status TouchOperatorToken(std::string_view id, SysTime now) = 0;
  // Every enrollment token, newest first.
  virtual Result<std::vector<EnrollmentToken>> ListEnrollmentTokens() = 0;
  // kNotFound if unknown; revoking twice is not an error.
  virtual Status RevokeEnrollmentToken(std::string_view id) = 0;

  // Devices enrolled from this machine (same non-empty machine_id, else same hostname).
  virtual Result<std::vector<Device>> FindDevicesByMachine(std::string_view machine_id,
                                                           std::string_view hostname) = 0;
  // Gives a device a new certificate in one transaction: the old serial (which must still be
  // `expected_serial`, else kConflict) goes to the revoked certificates as "superseded" (with a
  // pending renewed certificate other than the new one), the pending one is cleared, the
  // device takes the new serial, expiry and group, un-revokes when `reenroll` is set (an
  // admin allowed it), and reenroll_allowed is cleared. Open conflicts stay open.
  virtual Status ReplaceDeviceCertificate(std::string_view device_id,
                                          std::string_view expected_serial,
                                          std::string_view new_serial, SysTime new_not_after,
                                          std::string_view group, bool reenroll, SysTime now) = 0;
  // Records a renewed certificate as the device's pending one while `current_serial` (which
  // must still be the device's certificate, and the device not revoked, else kConflict) stays
  // valid. A pending certificate offered earlier and never used is superseded.
  virtual Status OfferRenewedCertificate(std::string_view device_id,
                                         std::string_view current_serial,
                                         std::string_view new_serial, SysTime new_not_after,
                                         SysTime now) = 0;
  // Sets reenroll_allowed; kNotFound if unknown. Conflicts stay open (ResolveEnrollmentConflict).
  virtual Status AllowReenroll(std::string_view device_id, SysTime now) = 0;
  // An admin closes a conflict after looking at it; kNotFound if unknown, kConflict if closed.
  virtual Status ResolveEnrollmentConflict(int64_t id, std::string_view resolved_by,
                                           SysTime now) = 0;
  virtual Status AddEnrollmentConflict(const EnrollmentConflict& conflict) = 0;
  // Unresolved conflicts (all of them with include_resolved), newest first.
  virtual Result<std::vector<EnrollmentConflict>> ListEnrollmentConflicts(
      bool include_resolved) = 0;
  // What the CRL lists: every revoked or superseded certificate not yet expired at `now`.
  virtual Result<std::vector<RevokedCertificate>> ListRevokedCertificates(SysTime now) = 0;
  // The number of the next CRL: larger than every number handed out before, whatever the
  // clocks of the nodes say. One node alone (SQLite) uses the time in milliseconds, which grows
  // across restarts; PostgreSQL a sequence shared by the nodes.
  virtual Result<int64_t> NextCrlNumber(SysTime now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  }

  // The export outbox. Reports (StoreReport/StoreReports: DeriveReportEvents, with the options
  // set here) and revocations (RevokeDevice) add their events in the transaction of the change.
  virtual void SetEventOptions(const EventOptions& options) = 0;
  // Up to `limit` events after the sink's cursor, oldest first.
  virtual Result<std::vector<OutboxEntry>> ReadOutbox(std::string_view sink, size_t limit) = 0;
  // Moves the sink's cursor to `seq` (never backwards): called only after the events up to it
  // were written.
  virtual Status MarkExported(std::string_view sink, int64_t seq, SysTime now) = 0;
  virtual Result<std::vector<ExportSinkState>> ExportStatus(
      const std::vector<std::string>& sinks) = 0;
  // Deletes events every one of `sinks` has delivered (no-op without sinks); returns how many.
  virtual Result<int64_t> PruneOutbox(const std::vector<std::string>& sinks) = 0;
  // Deletes up to `batch` of the oldest events recorded before `before`, whoever delivered
  // them: what keeps the outbox bounded when no sink is configured. Returns how many.
  virtual Result<int64_t> TrimOutbox(SysTime before, size_t batch) = 0;
  // Records each device's stale event unless a report arrived since `silent_since` was read or
  // its silence was already recorded; returns how many were recorded.
  virtual Result<int64_t> RecordStaleDevices(std::span<const StaleDevice> devices, SysTime now) = 0;
  // Status history (status_intervals, filled at ingest; see soc/history.h). Intervals
  // overlapping the query, by device, check, since; kNotFound for an unknown device_id.
  virtual Result<std::vector<StatusInterval>> StatusIntervals(const HistoryQuery& query) = 0;
  // Enforcement changes in the query's period, by device and time.
  virtual Result<std::vector<EnforcementChange>> EnforcementChanges(const HistoryQuery& query) = 0;
  // Reporting gaps overlapping the query's period, by device and time.
  virtual Result<std::vector<ReportingGap>> ReportingGaps(const HistoryQuery& query) = 0;
  // Inspection tasks created in the query's period with their assignments to devices of the
  // query's group (tasks with none are left out), oldest first.
  virtual Result<std::vector<InspectionRecord>> InspectionRecords(const HistoryQuery& query) = 0;

  // Retention: each call deletes at most `batch` rows in one short transaction and returns how
  // many it deleted (0: nothing left), so that ingest waits for one batch at most.
  // Reports received before `cutoff` (with their check results), except a device's latest.
  virtual Result<size_t> DeleteReportsBefore(SysTime cutoff, size_t batch) = 0;
  // Closed status intervals, enforcement changes and reporting gaps that ended before `cutoff`.
  virtual Result<size_t> DeleteHistoryBefore(SysTime cutoff, size_t batch) = 0;
  // Audit entries older than `cutoff`; the schema refuses to delete any younger than a year.
  virtual Result<size_t> DeleteAuditBefore(SysTime cutoff, size_t batch) = 0;

  // Records a generated report (kAlreadyExists if its id is taken).
  virtual Status RecordGeneratedReport(const GeneratedReport& report) = 0;
  // The recorded reports with this digest, newest first (content left empty).
  virtual Result<std::vector<GeneratedReport>> FindGeneratedReports(std::string_view digest) = 0;
  // One recorded report with its content; kNotFound for an unknown id.
  virtual Result<GeneratedReport> GetGeneratedReport(std::string_view id) = 0;
  // The devices query (DeviceQuery): one page in the query's order. kInvalidArgument for a
  // limit of 0.
  virtual Result<DevicePage> QueryDevices(const DeviceQuery& query) = 0;
  // Per group (sorted by name) under the query's group prefix; groups without devices are
  // absent.
  virtual Result<std::vector<GroupSummary>> SummarizeFleet(const FleetSummaryQuery& query) = 0;
  // Any stored report by its report_id, body included; kNotFound if there is none.
  virtual Result<ReportRecord> GetReport(std::string_view report_id) = 0;
  // Every group that has a device, sorted.
  virtual Result<std::vector<std::string>> ListDeviceGroups() = 0;
  // Sets (or replaces) a group's display name.
  virtual Status SetGroupDisplayName(const GroupDisplayName& name) = 0;
  // Removes a group's display name; false when it had none.
  virtual Result<bool> ClearGroupDisplayName(std::string_view group) = 0;
  // Every group display name, sorted by group.
  virtual Result<std::vector<GroupDisplayName>> ListGroupDisplayNames() = 0;

  // Appends to the audit log (which the schema keeps append-only).
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  // The `limit` newest entries, newest first.
  virtual Result<std::vector<AuditEntry>> ListAudit(size_t limit) = 0;
};

}  // namespace cg::soc

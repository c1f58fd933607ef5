// PostgreSQL backend: opening, tokens, devices, certificates, conflicts, the audit log.
#include "soc/pg/pg_storage.h"

#include <algorithm>
#include <utility>

#include "soc/pg/pg_migrations.h"
#include "soc/pg/pg_storage_internal.h"
#include "soc/sqlite_storage_query.h"  // CG_DEVICE_COLUMNS: one column list for both backends
#include "soc/text_fold.h"

namespace cg::soc {

namespace pg {
namespace {

// Connections per node: the agents' lookups, ingest and the operator API each take one for the
// duration of a call. PostgreSQL's default max_connections (100) leaves room for several nodes.
constexpr size_t kPoolSize = 8;

Error UnknownDevice(std::string_view id) {
  return MakeError(ErrorCode::kNotFound, "unknown device " + std::string(id));
}

OperatorToken ReadOperatorToken(const Rows& r, int i) {
  OperatorToken t;
  t.id = r.Text(i, 0);
  t.name = r.Text(i, 1);
  t.role = r.Text(i, 2);
  t.token_hash = r.Text(i, 3);
  t.created_at = r.Time(i, 4);
  t.expires_at = r.OptionalTime(i, 5);
  t.revoked = r.Bool(i, 6);
  t.last_used_at = r.OptionalTime(i, 7);
  return t;
}
constexpr const char* kOperatorTokenColumns =
    "id, name, role, token_hash, created_at, expires_at, revoked, last_used_at";

EnrollmentToken ReadEnrollmentToken(const Rows& r, int i) {
  EnrollmentToken t;
  t.id = r.Text(i, 0);
  t.token_hash = r.Text(i, 1);
  t.group = r.Text(i, 2);
  t.created_at = r.Time(i, 3);
  t.expires_at = r.Time(i, 4);
  t.uses_allowed = r.Int(i, 5);
  t.uses = r.Int(i, 6);
  t.revoked = r.Bool(i, 7);
  t.created_by = r.Text(i, 8);
  return t;
}
constexpr const char* kEnrollmentTokenColumns =
    "id, token_hash, group_name, created_at, expires_at, uses_allowed, uses, revoked, created_by";

Result<std::vector<Device>> ReadDevices(const Rows& rows) {
  std::vector<Device> out;
  out.reserve(static_cast<size_t>(rows.Count()));
  for (int i = 0; i < rows.Count(); ++i) {
    CG_ASSIGN_OR_RETURN(Device d, ReadDevice(rows, i));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<protocol::DeviceStatus> StatusColumn(const std::string& text) {
  auto status = protocol::ParseDeviceStatus(text);
  if (!status.ok()) {
    return MakeError(ErrorCode::kDatabase, "corrupt status column: " + status.error().message);
  }
  return *status;
}

Result<Device> ReadDevice(const Rows& r, int i, int c) {
  Device d;
  d.device_id = r.Text(i, c + 0);
  d.hostname = r.Text(i, c + 1);
  d.machine_id = r.Text(i, c + 2);
  d.group = r.Text(i, c + 3);
  d.cert_serial = r.Text(i, c + 4);
  d.cert_not_after = r.Time(i, c + 5);
  d.enrolled_at = r.Time(i, c + 6);
  d.last_seen = r.OptionalTime(i, c + 7);
  CG_ASSIGN_OR_RETURN(d.status, StatusColumn(r.Text(i, c + 8)));
  d.policy_version = r.Int(i, c + 9);
  d.revoked = r.Bool(i, c + 10);
  d.policy_hash = r.Text(i, c + 11);
  d.reenroll_allowed = r.Bool(i, c + 12);
  d.pending_cert_serial = r.Text(i, c + 13);
  d.pending_cert_not_after = r.Time(i, c + 14);
  d.reported_hostname = r.Text(i, c + 15);
  d.clock_skew = std::chrono::seconds(r.Int(i, c + 16));
  d.policy_state = r.Text(i, c + 17);
  d.verified_policy_version = r.Int(i, c + 18);
  d.verified_policy_hash = r.Text(i, c + 19);
  d.served_policy_version = r.Int(i, c + 20);
  d.served_policy_hash = r.Text(i, c + 21);
  return d;
}

PgStorage::PgStorage(std::string uri) : pool_(uri, kPoolSize), where_(RedactUri(uri)) {}

Status PgStorage::Initialise(bool create) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(Identify(*conn, where_, create));
  return Migrate(*conn, where_);
}

Status PgStorage::CreateOperatorToken(const OperatorToken& t) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("INSERT INTO operator_tokens (id, name, role, token_hash, created_at, "
                  "expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  t.id, t.name, t.role, t.token_hash, t.created_at, t.expires_at, t.revoked));
  return OkStatus();
}

Result<OperatorToken> PgStorage::FindOperatorTokenByHash(std::string_view token_hash) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kOperatorTokenColumns +
                                                 " FROM operator_tokens WHERE token_hash = $1",
                                             token_hash));
  if (rows.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown operator token");
  }
  return ReadOperatorToken(rows, 0);
}

Status PgStorage::CreateEnrollmentToken(const EnrollmentToken& t) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("INSERT INTO enrollment_tokens (id, token_hash, group_name, "
                  "created_at, expires_at, uses_allowed, uses, revoked, "
                  "created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                  t.id, t.token_hash, t.group, t.created_at, t.expires_at, t.uses_allowed, t.uses,
                  t.revoked, t.created_by));
  return OkStatus();
}

Result<EnrollmentToken> PgStorage::FindEnrollmentTokenByHash(std::string_view token_hash) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kEnrollmentTokenColumns +
                                                 " FROM enrollment_tokens WHERE token_hash = $1",
                                             token_hash));
  if (rows.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown enrollment token");
  }
  return ReadEnrollmentToken(rows, 0);
}

// SQLite's BEGIN IMMEDIATE made the read and the update one critical section; here the row lock
// does: a second consumer (any node) waits on FOR UPDATE and reads the count the first wrote.
Result<EnrollmentToken> PgStorage::ConsumeEnrollmentToken(std::string_view token_hash,
                                                          SysTime now) {
  return InTransaction([&](Connection& conn) -> Result<EnrollmentToken> {
    CG_ASSIGN_OR_RETURN(auto rows,
                        conn.Query(std::string("SELECT ") + kEnrollmentTokenColumns +
                                       " FROM enrollment_tokens WHERE token_hash = $1 FOR UPDATE",
                                   token_hash));
    if (rows.Count() == 0) {
      return MakeError(ErrorCode::kNotFound, "unknown enrollment token");
    }
    EnrollmentToken token = ReadEnrollmentToken(rows, 0);
    if (auto refusal = EnrollmentTokenRefusal(token, now)) {
      return MakeError(ErrorCode::kPermissionDenied, *refusal);
    }
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = $1", token.id));
    ++token.uses;
    return token;
  });
}

Status PgStorage::AddDevice(const Device& d) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(conn->Query(
      "INSERT INTO devices (device_id, hostname, machine_id, group_name, cert_serial, "
      "cert_not_after, enrolled_at, last_seen, status, policy_version, revoked, hostname_folded) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
      d.device_id, d.hostname, d.machine_id, d.group, d.cert_serial, d.cert_not_after,
      d.enrolled_at, d.last_seen, std::string(protocol::ToString(d.status)), d.policy_version,
      d.revoked, FoldForSearch(d.hostname)));
  return OkStatus();
}

Result<Device> PgStorage::GetDevice(std::string_view device_id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " CG_DEVICE_COLUMNS " FROM devices d WHERE device_id = $1", device_id));
  if (rows.Count() == 0) {
    return UnknownDevice(device_id);
  }
  return ReadDevice(rows, 0);
}

Result<std::vector<Device>> PgStorage::ListDevices(const DeviceFilter& filter) {
  std::optional<std::string> group = filter.group_prefix;
  while (group && !group->empty() && group->back() == '/') {
    group->pop_back();
  }
  std::optional<std::string> status;
  if (filter.status) {
    status = std::string(protocol::ToString(*filter.status));
  }
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  // The CASE is EffectiveStatus (storage.h) in SQL, as on SQLite. Group names compare bytewise
  // (COLLATE "C"), as SQLite's BINARY collation does.
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("SELECT " CG_DEVICE_COLUMNS " FROM devices d WHERE "
                  "($1::text IS NULL OR $1 = CASE WHEN d.revoked = 1 THEN 'revoked' "
                  "  WHEN $2::bigint IS NOT NULL AND COALESCE(d.last_seen, d.enrolled_at) < $2 "
                  "  THEN 'stale' WHEN d.policy_state = 'unverified' THEN 'unverified' "
                  "  ELSE d.status END) "
                  "AND ($3::text IS NULL OR d.group_name = $3 "
                  "  OR left(d.group_name, length($3) + 1) = $3 || '/') "
                  "AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM check_results c "
                  "  WHERE c.report = d.latest_report AND c.check_id = $4 "
                  "  AND c.status IN ('fail', 'error'))) "
                  "ORDER BY d.group_name COLLATE \"C\", d.hostname COLLATE \"C\", "
                  "d.device_id COLLATE \"C\"",
                  status, filter.stale_before, group, filter.check_id));
  return ReadDevices(rows);
}

Status PgStorage::RevokeDevice(std::string_view device_id, SysTime now) {
  return InTransaction([&](Connection& conn) -> Status {
    CG_RETURN_IF_ERROR(LockOutbox(conn));
    CG_RETURN_IF_ERROR(RecordRevokedEvent(conn, device_id, now));
    CG_ASSIGN_OR_RETURN(auto updated, conn.Query("UPDATE devices SET revoked = 1, "
                                                 "reenroll_allowed = 0 WHERE device_id = $1",
                                                 device_id));
    if (updated.Affected() == 0) {
      return UnknownDevice(device_id);
    }
    // Revoking twice keeps the first revocation time (ON CONFLICT DO NOTHING for SQLite's
    // INSERT OR IGNORE). A renewed certificate not used yet is revoked with the current one.
    CG_RETURN_IF_ERROR(conn.Query(
        "INSERT INTO revoked_certificates (serial, device_id, revoked_at, not_after, reason) "
        "SELECT cert_serial, device_id, $2, cert_not_after, 'revoked' FROM devices "
        "WHERE device_id = $1 UNION ALL SELECT pending_cert_serial, device_id, $2, "
        "pending_cert_not_after, 'revoked' FROM devices WHERE device_id = $1 AND "
        "pending_cert_serial <> '' ON CONFLICT (serial) DO NOTHING",
        device_id, now));
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE devices SET pending_cert_serial = '', "
                   "pending_cert_not_after = 0 WHERE device_id = $1",
                   device_id));
    return OkStatus();
  });
}

Result<std::vector<OperatorToken>> PgStorage::ListOperatorTokens() {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kOperatorTokenColumns +
                                             " FROM operator_tokens ORDER BY created_at DESC, "
                                             "seq DESC"));
  std::vector<OperatorToken> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReadOperatorToken(rows, i));
  }
  return out;
}

Status PgStorage::RevokeOperatorToken(std::string_view id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query("UPDATE operator_tokens SET revoked = 1 WHERE id = $1", id));
  if (rows.Affected() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown operator token " + std::string(id));
  }
  return OkStatus();
}

Status PgStorage::TouchOperatorToken(std::string_view id, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("UPDATE operator_tokens SET last_used_at = $2 WHERE id = $1 "
                  "AND (last_used_at IS NULL OR last_used_at < $2 - 60 OR "
                  "last_used_at > $2)",
                  id, now));
  return OkStatus();
}

Result<std::vector<EnrollmentToken>> PgStorage::ListEnrollmentTokens() {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query(std::string("SELECT ") + kEnrollmentTokenColumns +
                                             " FROM enrollment_tokens ORDER BY created_at DESC, "
                                             "seq DESC"));
  std::vector<EnrollmentToken> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(ReadEnrollmentToken(rows, i));
  }
  return out;
}

Status PgStorage::RevokeEnrollmentToken(std::string_view id) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query("UPDATE enrollment_tokens SET revoked = 1 WHERE id = $1", id));
  if (rows.Affected() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown enrollment token " + std::string(id));
  }
  return OkStatus();
}

Result<std::vector<Device>> PgStorage::FindDevicesByMachine(std::string_view machine_id,
                                                            std::string_view hostname) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT " CG_DEVICE_COLUMNS " FROM devices d WHERE "
                                             "CASE WHEN $1 <> '' THEN d.machine_id = $1 "
                                             "ELSE d.machine_id = '' AND d.hostname = $2 END "
                                             "ORDER BY d.enrolled_at DESC, d.device_id COLLATE "
                                             "\"C\"",
                                             machine_id, hostname));
  return ReadDevices(rows);
}

Status PgStorage::ReplaceDeviceCertificate(std::string_view device_id,
                                           std::string_view expected_serial,
                                           std::string_view new_serial, SysTime new_not_after,
                                           std::string_view group, bool reenroll, SysTime now) {
  return InTransaction([&](Connection& conn) -> Status {
    // The device row is locked first: the check of its serial and the change are one step for
    // every node.
    CG_ASSIGN_OR_RETURN(auto locked, conn.Query("SELECT 1 FROM devices WHERE device_id = $1 AND "
                                                "cert_serial = $2 FOR UPDATE",
                                                device_id, expected_serial));
    if (locked.Count() == 0) {
      return MakeError(ErrorCode::kConflict, "device " + std::string(device_id) +
                                                 " is unknown or its certificate changed "
                                                 "meanwhile");
    }
    CG_RETURN_IF_ERROR(conn.Query(
        "INSERT INTO revoked_certificates (serial, device_id, revoked_at, not_after, reason) "
        "SELECT cert_serial, device_id, $3, cert_not_after, 'superseded' FROM devices "
        "WHERE device_id = $1 AND cert_serial = $2 "
        "UNION ALL SELECT pending_cert_serial, device_id, $3, pending_cert_not_after, "
        "'superseded' FROM devices WHERE device_id = $1 AND cert_serial = $2 AND "
        "pending_cert_serial NOT IN ('', $4) ON CONFLICT (serial) DO NOTHING",
        device_id, expected_serial, now, new_serial));
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE devices SET cert_serial = $3, cert_not_after = $4, group_name = $5, "
                   "reenroll_allowed = 0, pending_cert_serial = '', pending_cert_not_after = 0, "
                   "revoked = CASE WHEN $6 = 1 THEN 0 ELSE revoked END "
                   "WHERE device_id = $1 AND cert_serial = $2",
                   device_id, expected_serial, new_serial, new_not_after, group, reenroll));
    return OkStatus();
  });
}

Status PgStorage::OfferRenewedCertificate(std::string_view device_id,
                                          std::string_view current_serial,
                                          std::string_view new_serial, SysTime new_not_after,
                                          SysTime now) {
  return InTransaction([&](Connection& conn) -> Status {
    CG_ASSIGN_OR_RETURN(auto locked, conn.Query("SELECT 1 FROM devices WHERE device_id = $1 AND "
                                                "cert_serial = $2 AND revoked = 0 FOR UPDATE",
                                                device_id, current_serial));
    if (locked.Count() == 0) {
      return MakeError(ErrorCode::kConflict,
                       "device " + std::string(device_id) +
                           " is unknown, revoked, or its certificate changed meanwhile");
    }
    CG_RETURN_IF_ERROR(conn.Query(
        "INSERT INTO revoked_certificates (serial, device_id, revoked_at, not_after, reason) "
        "SELECT pending_cert_serial, device_id, $3, pending_cert_not_after, 'superseded' "
        "FROM devices WHERE device_id = $1 AND cert_serial = $2 AND pending_cert_serial <> '' "
        "AND revoked = 0 ON CONFLICT (serial) DO NOTHING",
        device_id, current_serial, now));
    CG_RETURN_IF_ERROR(
        conn.Query("UPDATE devices SET pending_cert_serial = $3, "
                   "pending_cert_not_after = $4 WHERE device_id = $1 AND "
                   "cert_serial = $2 AND revoked = 0",
                   device_id, current_serial, new_serial, new_not_after));
    return OkStatus();
  });
}

Status PgStorage::AllowReenroll(std::string_view device_id, SysTime /*now*/) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(
      auto rows,
      conn->Query("UPDATE devices SET reenroll_allowed = 1 WHERE device_id = $1", device_id));
  if (rows.Affected() == 0) {
    return UnknownDevice(device_id);
  }
  return OkStatus();
}

// One conditional UPDATE instead of SQLite's read-then-write: the affected-row count says
// whether this call closed it; only when it did not is the row read to say why.
Status PgStorage::ResolveEnrollmentConflict(int64_t id, std::string_view resolved_by, SysTime now) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("UPDATE enrollment_conflicts SET resolved_at = $2, "
                                             "resolved_by = $3 WHERE id = $1 AND resolved_at IS "
                                             "NULL",
                                             id, now, resolved_by));
  if (rows.Affected() == 1) {
    return OkStatus();
  }
  CG_ASSIGN_OR_RETURN(auto exists,
                      conn->Query("SELECT 1 FROM enrollment_conflicts WHERE id = $1", id));
  if (exists.Count() == 0) {
    return MakeError(ErrorCode::kNotFound, "unknown conflict " + std::to_string(id));
  }
  return MakeError(ErrorCode::kConflict, "conflict " + std::to_string(id) + " is already resolved");
}

Status PgStorage::AddEnrollmentConflict(const EnrollmentConflict& c) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("INSERT INTO enrollment_conflicts (time, device_id, hostname, "
                  "machine_id, group_name, source) VALUES ($1, $2, $3, $4, $5, "
                  "$6)",
                  c.time, c.device_id, c.hostname, c.machine_id, c.group, c.source));
  return OkStatus();
}

Result<std::vector<EnrollmentConflict>> PgStorage::ListEnrollmentConflicts(bool include_resolved) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT id, time, device_id, hostname, machine_id, "
                                             "group_name, source, resolved_at, resolved_by FROM "
                                             "enrollment_conflicts WHERE $1 = 1 OR resolved_at "
                                             "IS NULL ORDER BY id DESC LIMIT 1000",
                                             include_resolved));
  std::vector<EnrollmentConflict> out;
  for (int i = 0; i < rows.Count(); ++i) {
    EnrollmentConflict c;
    c.id = rows.Int(i, 0);
    c.time = rows.Time(i, 1);
    c.device_id = rows.Text(i, 2);
    c.hostname = rows.Text(i, 3);
    c.machine_id = rows.Text(i, 4);
    c.group = rows.Text(i, 5);
    c.source = rows.Text(i, 6);
    c.resolved_at = rows.OptionalTime(i, 7);
    c.resolved_by = rows.Text(i, 8);
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<RevokedCertificate>> PgStorage::ListRevokedCertificates(SysTime now) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT serial, device_id, revoked_at, not_after, "
                                             "reason FROM revoked_certificates WHERE not_after > "
                                             "$1 ORDER BY revoked_at, serial COLLATE \"C\"",
                                             now));
  std::vector<RevokedCertificate> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(RevokedCertificate{rows.Text(i, 0), rows.Text(i, 1), rows.Time(i, 2),
                                     rows.Time(i, 3), rows.Text(i, 4)});
  }
  return out;
}

Result<std::vector<std::string>> PgStorage::ListDeviceGroups() {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT DISTINCT group_name COLLATE \"C\" AS g FROM "
                                             "devices ORDER BY g"));
  std::vector<std::string> out;
  for (int i = 0; i < rows.Count(); ++i) {
    out.push_back(rows.Text(i, 0));
  }
  return out;
}

Status PgStorage::AppendAudit(const AuditEntry& e) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_RETURN_IF_ERROR(
      conn->Query("INSERT INTO audit_log (time, actor, role, method, path, "
                  "target, result, source, action, account) VALUES ($1, $2, $3, "
                  "$4, $5, $6, $7, $8, $9, $10)",
                  e.time, StorableText(e.actor), StorableText(e.role), StorableText(e.method),
                  StorableText(e.path), StorableText(e.target), int64_t{e.result},
                  StorableText(e.source), StorableText(e.action), StorableText(e.account)));
  return OkStatus();
}

Result<std::vector<AuditEntry>> PgStorage::ListAudit(size_t limit) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query("SELECT time, actor, role, method, path, target, "
                                  "result, source FROM audit_log ORDER BY id DESC "
                                  "LIMIT $1",
                                  static_cast<int64_t>(std::min<size_t>(limit, size_t{1} << 62))));
  std::vector<AuditEntry> out;
  for (int i = 0; i < rows.Count(); ++i) {
    AuditEntry e;
    e.time = rows.Time(i, 0);
    e.actor = rows.Text(i, 1);
    e.role = rows.Text(i, 2);
    e.method = rows.Text(i, 3);
    e.path = rows.Text(i, 4);
    e.target = rows.Text(i, 5);
    e.result = static_cast<int>(rows.Int(i, 6));
    e.source = rows.Text(i, 7);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace pg

int64_t PgStorageSchemaVersion() { return pg::PgSchemaVersion(); }

Result<std::unique_ptr<Storage>> OpenPgStorage(const std::string& uri, bool create) {
  if (!pg::IsPostgresUri(uri)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a PostgreSQL URI (postgresql://...): " + pg::RedactUri(uri));
  }
  auto storage = std::make_unique<pg::PgStorage>(uri);
  CG_RETURN_IF_ERROR(storage->Initialise(create));
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace cg::soc

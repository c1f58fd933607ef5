// What several nodes on one database must decide together (issue 17): an enrollment of a
// machine that may be enrolling through another node at the same moment, and the CRL number.
// Policy versions are decided in AddPolicy (pg_storage_reports.cpp).
#include <string>

#include "soc/pg/pg_storage_internal.h"
#include "soc/text_fold.h"

namespace cg::soc::pg {

namespace {

// Transaction-level advisory locks (pg_advisory_xact_lock(class, key)): the first key names
// what is locked. kOutboxLockKey (pg_storage_export.cpp) is a one-key lock and never collides.
constexpr int kMachineLockClass = 17001;
constexpr int kCrlLockClass = 17002;

}  // namespace

// Two nodes enrolling one machine: no row exists yet to lock, so the machine's key (its id,
// else its host name) is locked for the transaction; the second waits, then finds the device.
Status PgStorage::AddEnrolledDevice(const Device& d) {
  return InTransaction([&](Connection& conn) -> Status {
    const std::string key = d.machine_id.empty() ? "host:" + d.hostname : "id:" + d.machine_id;
    CG_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))",
                                  kMachineLockClass, key));
    CG_ASSIGN_OR_RETURN(auto existing,
                        conn.Query("SELECT device_id FROM devices d WHERE "
                                   "CASE WHEN $1 <> '' THEN d.machine_id = $1 "
                                   "ELSE d.machine_id = '' AND d.hostname = $2 END LIMIT 1",
                                   d.machine_id, d.hostname));
    if (existing.Count() > 0) {
      return MakeError(ErrorCode::kAlreadyExists,
                       "this machine is already enrolled as device " + existing.Text(0, 0));
    }
    CG_RETURN_IF_ERROR(
        conn.Query("INSERT INTO devices (device_id, hostname, machine_id, group_name, cert_serial, "
                   "cert_not_after, enrolled_at, last_seen, status, policy_version, revoked, "
                   "hostname_folded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                   d.device_id, d.hostname, d.machine_id, d.group, d.cert_serial, d.cert_not_after,
                   d.enrolled_at, d.last_seen, std::string(protocol::ToString(d.status)),
                   d.policy_version, d.revoked, FoldForSearch(d.hostname)));
    return OkStatus();
  });
}

// One sequence for every node. It starts at the time in milliseconds when it is made, so its
// numbers stay above those a node numbered by its clock before (CRL numbers only grow), and
// from then on no node's clock matters.
Result<int64_t> PgStorage::NextCrlNumber(SysTime now) {
  const int64_t start =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return InTransaction([&](Connection& conn) -> Result<int64_t> {
    // Two nodes making the sequence at once would collide in the catalog: one at a time.
    CG_RETURN_IF_ERROR(conn.Query("SELECT pg_advisory_xact_lock($1::integer, 0)", kCrlLockClass));
    CG_RETURN_IF_ERROR(
        conn.Exec("CREATE SEQUENCE IF NOT EXISTS cg_crl_number START WITH " + std::to_string(start),
                  "making the CRL number sequence"));
    CG_ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT nextval('cg_crl_number')"));
    return rows.Int(0, 0);
  });
}

}  // namespace cg::soc::pg

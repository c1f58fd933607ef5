// The SOC's backend in the integration tests (issue 17). A test registered with
// cg_integration_test(NAME BOTH_BACKENDS ...) runs twice under CTest: as NAME's tests on
// SQLite, and as their `pg.` copies, where CTest sets CG_IT_BACKEND=postgres and starts the
// throw-away cluster of the pg_cluster fixture. In the copies every SocServer (harness.h) made
// without a database of its own gets a fresh database on that cluster (`cg-soc init
// --database`), dropped when the server goes, so the copies run in parallel like the rest.
//
// On both backends: skeleton, identity, policy, query_cli, accounts, browser_session,
// soc_hardening, fault and syslog_export (its outbox through the Storage interface). What the
// tests read or plant in the database directly goes through SocSql, the same SQL on both.
// Left out of the pg. copies (PG_FILTER in CMakeLists.txt), where PostgreSQL adds nothing:
// - fault_test: all but SocKilledMidStream. The others are faults of the agent (its spool,
//   state files, a network cut in front of it; about 160 s together) whose SOC side is the
//   idempotent ingest of resent reports, which the SOC killed mid-stream proves on PostgreSQL.
// - skeleton/identity: the TLS handshake refusals (no certificate, another CA, cgctl's pinning)
//   and the enrollment rate limiter (in the node's memory; docs/operations.md);
//   soc_hardening: the trickling client (the request deadline).
// No copy at all: checks_test, yara_differential_test and the shell tests (install layout,
// unit exposure and sandbox, package, tls_scan) test nothing the SOC stores; postgres_test
// and multinode_test run on PostgreSQL only (POSTGRES: CG_IT_BACKEND=postgres, so their
// SocServers get scratch databases the same way). tests/e2e's dashboard_e2e (a shell script
// driving chromium) has its pg. copy too, on a database its script makes with psql.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace cg::testing {

// True in the PostgreSQL copy of a test (CG_IT_BACKEND=postgres). A test program of such a
// copy skips every test when the server binaries are not installed (the pg_cluster fixture
// says so) and fails them when the cluster is missing for any other reason.
bool OnPostgres();

// A database of its own on the test cluster, for a `cg-soc` (a SOC is one database): created
// by Make (names start with `prefix`), dropped with what is still connected to it by the
// destructor.
class ScratchPgDatabase {
 public:
  static Result<std::unique_ptr<ScratchPgDatabase>> Make(const std::string& prefix = "cg_it_");
  ~ScratchPgDatabase();
  ScratchPgDatabase(const ScratchPgDatabase&) = delete;
  ScratchPgDatabase& operator=(const ScratchPgDatabase&) = delete;
  const std::string& uri() const { return uri_; }

 private:
  ScratchPgDatabase(std::string admin_uri, std::string name, std::string uri)
      : admin_uri_(std::move(admin_uri)), name_(std::move(name)), uri_(std::move(uri)) {}
  std::string admin_uri_;
  std::string name_;
  std::string uri_;
};

// What the database of the SOC whose data dir is `data_dir` holds, the same SQL on both
// backends: DIR/database.uri's PostgreSQL database, else DIR/soc.db. Parameters are written
// $1, $2, ... and sent as text (the server gives them their column's type); every value comes
// back as text ("" for NULL). For what no command shows (the order reports were stored in)
// or cannot make (rows an older SOC wrote).
using SqlRows = std::vector<std::vector<std::string>>;
Result<SqlRows> SocSql(const std::string& data_dir, const std::string& sql,
                       const std::vector<std::string>& params = {});

}  // namespace cg::testing

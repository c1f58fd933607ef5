// The SOC's data directory and the wiring of the server (SantadDeps-style: real objects are
// created here and nowhere else).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"

namespace cg::soc {

// Files of a data dir.
struct DataDirLayout {
  std::string dir;
  std::string CaCert() const { return dir + "/ca.pem"; }
  std::string CaKey() const { return dir + "/ca.key"; }
  std::string ServerCert() const { return dir + "/server.pem"; }
  std::string ServerKey() const { return dir + "/server.key"; }
  std::string Database() const { return dir + "/soc.db"; }
  std::string AdminToken() const { return dir + "/admin.token"; }
};

// Creates DIR (0700) with a P-256 CA, a server certificate for `hostnames`, the SQLite
// database and the first admin token (hash stored; the secret written 0600 to
// DIR/admin.token). Refuses a directory that already holds a CounterGuard SOC.
// Returns the admin token.
Result<std::string> InitDataDir(const std::string& dir, const std::vector<std::string>& hostnames);

Result<std::string> CreateOperatorToken(const std::string& dir, const std::string& name,
                                        const std::string& role, std::optional<SysTime> expires_at);

struct ServeOptions {
  std::string data_dir;
  std::string agent_listen = "0.0.0.0:8443";
  std::string operator_listen = "127.0.0.1:8444";
  int threads = 2;
  std::string ready_file;
  // Reports waiting for the group-commit writer; beyond this the agent port answers 503.
  size_t ingest_queue = 4096;
  // Reports per group-commit transaction (1: one transaction per report, for comparison).
  size_t ingest_batch = 512;
};

// Runs both listeners until SIGTERM/SIGINT.
Status Serve(const ServeOptions& options);

}  // namespace cg::soc

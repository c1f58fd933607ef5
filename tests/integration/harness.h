// Runs the real binaries for integration tests: temporary dirs, child processes with
// captured output, and a running cg-soc on loopback with ephemeral ports, on either backend
// (backend.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "protocol/https_client.h"
#include "tests/integration/backend.h"

namespace cg::testing {

// Paths of the built programs (set by CMake).
std::string AgentBin();
std::string SocBin();
std::string CtlBin();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandOutput {
  int exit_code = -1;  // -1: killed or timed out
  std::string out;
  std::string err;
  std::string LastLine() const;
};

// Runs argv to completion (killed after `timeout`), capturing stdout and stderr.
CommandOutput RunCmd(const std::vector<std::string>& argv,
                     std::chrono::seconds timeout = std::chrono::seconds(60));

// A background child whose stderr goes to a file.
class Child {
 public:
  Child() = default;
  Child(const std::vector<std::string>& argv, const std::string& log_file);
  ~Child();
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits for exit; returns the exit code, or -1 when it did not exit in time (then killed).
  int Wait(std::chrono::seconds timeout);

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct SocOptions {
  std::vector<std::string> policy_keys;  // `cg-soc policy-key add` before serving
  std::vector<std::string> serve_args;   // extra `cg-soc serve` arguments
  // Soft and hard RLIMIT_NOFILE of `cg-soc serve` (0: inherited), as a small machine has it.
  unsigned nofile_limit = 0;
  // `cg-soc init --database URI`: the SOC on PostgreSQL. Empty: SQLite, or a scratch database
  // of its own in a test's PostgreSQL copy (OnPostgres()).
  std::string database = {};
  // Instead of `cg-soc init`: a copy of this data dir (a second node of the same SOC, sharing
  // its database, CA and keys).
  std::string copy_of = {};
};

// `cg-soc init` + `cg-soc serve` on 127.0.0.1 with kernel-chosen ports.
class SocServer {
 public:
  explicit SocServer(const std::string& dir, const SocOptions& options = {});  // dir: to create
  // serve_args: more `cg-soc serve` options (--cert-lifetime ...).
  SocServer(const std::string& dir, const std::vector<std::string>& serve_args)
      : SocServer(dir, SocOptions{{}, serve_args}) {}
  ~SocServer();
  bool started() const { return agent_port_ != 0; }
  const std::string& error() const { return error_; }
  uint16_t agent_port() const { return agent_port_; }
  uint16_t operator_port() const { return operator_port_; }
  const std::string& data_dir() const { return dir_; }
  std::string ca() const { return dir_ + "/ca.pem"; }
  std::string admin_token_file() const { return dir_ + "/admin.token"; }
  // A client of the agent port (host name "localhost", this server's CA); with a certificate
  // and key, mutual TLS as that certificate.
  Result<std::unique_ptr<protocol::HttpsClient>> AgentClient(const std::string& cert = "",
                                                             const std::string& key = "") const;
  std::string log() const;
  // The PostgreSQL database the SOC was initialised on ("" on SQLite).
  const std::string& database() const { return database_; }
  // SocSql on this server's database.
  Result<SqlRows> Sql(const std::string& sql, const std::vector<std::string>& params = {}) const {
    return SocSql(dir_, sql, params);
  }
  Child& child() { return child_; }
  // SIGKILL now (no shutdown at all), and wait for the process to be gone.
  void Kill9();
  // `cg-soc serve` again on the same data dir (new kernel-chosen ports); false with error().
  bool Restart();
  // cgctl with --server/--ca/--token-file for this server, then args.
  std::vector<std::string> Ctl(const std::vector<std::string>& args,
                               const std::string& token_file = "") const;

 private:
  bool Serve();

  std::unique_ptr<ScratchPgDatabase> scratch_;  // dropped after the server has stopped
  std::string database_;
  std::string dir_;
  std::vector<std::string> serve_args_;
  unsigned nofile_limit_ = 0;
  std::string error_;
  Child child_;
  uint16_t agent_port_ = 0;
  uint16_t operator_port_ = 0;
};

std::string ReadFile(const std::string& path);

}  // namespace cg::testing

// The SOC's data directory and the wiring of the server (SantadDeps-style: real objects are
// created here and nowhere else).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/retention.h"

namespace cg::soc {

// Files of a data dir.
struct DataDirLayout {
  std::string dir;
  std::string CaCert() const { return dir + "/ca.pem"; }
  std::string CaKey() const { return dir + "/ca.key"; }
  std::string ServerCert() const { return dir + "/server.pem"; }
  std::string ServerKey() const { return dir + "/server.key"; }
  std::string Database() const { return dir + "/soc.db"; }
  // The PostgreSQL database (a libpq URI, 0600: it may hold a password) when `cg-soc init
  // --database` chose one instead of soc.db; every later command opens that database.
  std::string DatabaseUri() const { return dir + "/database.uri"; }
  std::string AdminToken() const { return dir + "/admin.token"; }
  // Public keys (PEM, *.pub) the SOC verifies pushed policies with.
  std::string PolicyKeys() const { return dir + "/policy-keys"; }
  // The CRL for other consumers, rewritten after every revocation or renewal.
  std::string Crl() const { return dir + "/crl.pem"; }
  // The optional configuration file (SIEM export, docs/siem.md).
  std::string Config() const { return dir + "/soc.json"; }
  // The key sealing staff accounts' TOTP secrets in the database (0600; soc/secret_box.h).
  // Made by `cg-soc init`, or at the first start of an older data dir.
  std::string SecretKey() const { return dir + "/secrets.key"; }
};

// Creates DIR (0700; its parent must exist, nothing above DIR is created) with a P-256 CA, a server
// certificate for `hostnames`, the SQLite database and the first admin token (hash stored; the
// secret written 0600 to DIR/admin.token). Refuses a directory that already holds a CounterGuard
// SOC. Returns the admin token.
// With `database` (postgresql://...), the database is that PostgreSQL database (an empty one:
// a database or schema already holding a SOC is refused) instead of DIR/soc.db, and its URI is
// recorded in DIR/database.uri.
Result<std::string> InitDataDir(const std::string& dir, const std::vector<std::string>& hostnames,
                                const std::string& database = "");

Result<std::string> CreateOperatorToken(const std::string& dir, const std::string& name,
                                        const std::string& role, std::optional<SysTime> expires_at);

// The first admin account (or any account, from the server's shell like `cg-soc token
// create`): returns the one-time setup code, which the person uses with `cgctl account setup`.
struct CreatedAccount {
  std::string name;
  std::string role;
  std::string setup_code;
  SysTime setup_expires_at;
};
Result<CreatedAccount> CreateAccountLocally(const std::string& dir, const std::string& name,
                                            const std::string& display_name,
                                            const std::string& role);

// Copies a policy-signing public key into DIR/policy-keys/<key id>.pub after checking it is an
// Ed25519 public key; returns the key id. cg-soc serve reads the directory at start.
Result<std::string> AddPolicyKey(const std::string& dir, const std::string& public_key_file);

struct ServeOptions {
  std::string data_dir;
  // A PostgreSQL URI; "" for the data dir's database (DIR/database.uri, else DIR/soc.db). Given
  // while the data dir records another database, the SOC refuses to start.
  std::string database;
  std::string agent_listen = "0.0.0.0:8443";
  std::string operator_listen = "127.0.0.1:8444";
  int threads = 2;
  std::string ready_file;
  // How long an agent's long-poll is held open when there is nothing new for it.
  std::chrono::milliseconds poll_hold{55000};
  // Lifetime of issued device certificates (agents renew after two thirds of it).
  std::chrono::seconds cert_lifetime{30 * 24 * 3600};
  // Enrollment attempts per source address: a burst, then this many per minute.
  int enroll_burst = 10;
  int enroll_per_minute = 10;
  // Reports waiting for the group-commit writer; beyond this the agent port answers 503.
  size_t ingest_queue = 4096;
  // Reports per group-commit transaction (1: one transaction per report, for comparison).
  size_t ingest_batch = 512;
  // Connections the agent port holds at once, in all and per source address (offices behind
  // one NAT address share the second). Lowered at start when the descriptor limit is too small
  // for them and the operator port's own budget (docs/performance.md has the measurement).
  size_t max_connections = 8192;
  size_t max_connections_per_address = 256;
  // One deadline for a whole request (see ListenerOptions::read_timeout).
  std::chrono::seconds request_timeout{30};
  // Reports dated further ahead of the SOC's clock than this flag their device's clock.
  std::chrono::seconds clock_skew_tolerance{300};
  // Certificate renewals per device and day.
  int renewals_per_day = 5;
  // The configuration file; empty: DataDirLayout::Config() when it exists.
  std::string config_file;
  // Staff accounts: roles that must log in with a TOTP code, and how long sessions last.
  std::vector<std::string> totp_roles{"analyst", "inspector", "admin"};
  std::chrono::seconds session_ttl{12 * 3600};
  std::chrono::seconds session_idle{3600};
  // The dashboard's idle timeout (its sessions live in a browser left open at a desk).
  std::chrono::seconds browser_session_idle{15 * 60};
  // Where the dashboard's files are; "" = FindDashboardDir (none found: GET / says so, the API
  // works). A directory given here must exist.
  std::string dashboard_dir;
  std::string program_path;  // /proc/self/exe, for FindDashboardDir
  // The SOC's name on generated reports ("": the first host name of its server certificate).
  std::string soc_name;
  // How long reports, status history and audit entries are kept (soc/retention.h).
  RetentionOptions retention;
};

// The operator port's own connection budget (analysts' cgctl and browsers).
inline constexpr size_t kOperatorMaxConnections = 64;
inline constexpr size_t kOperatorMaxConnectionsPerAddress = 32;
// Descriptors kept for the database, logs, the CRL file and the listening sockets.
inline constexpr size_t kReservedDescriptors = 64;

// Runs both listeners until the OS asks the process to stop (platform/os/stop_source.h:
// SIGTERM/SIGINT on Linux).
Status Serve(const ServeOptions& options);

}  // namespace cg::soc

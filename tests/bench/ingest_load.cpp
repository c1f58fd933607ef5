// Load generator for the SOC's agent port, and the references it is compared with:
//   ingest:    N simulated agents, each enrolled through the real enrollment route with its own
//              key and certificate, POST reports over keep-alive mTLS connections to a running
//              `cg-soc serve`; prints reports/s.
//   sqlite:    the same rows inserted by a plain program into a database with the SOC's schema
//              and settings (WAL, synchronous=FULL): one transaction per report, one INSERT per
//              row; prints reports/s.
//   postgres:  the same rows inserted through libpq into a PostgreSQL database given the SOC's
//              schema (by its own migrations): one transaction per report, one INSERT per row;
//              prints reports/s (tests/bench/pg_ingest_bench.sh).
//   handshake: full mTLS handshakes (no resumption) by N threads against HOST:PORT, each
//              followed by one HTTP request so that the server has verified the client
//              certificate; prints handshakes/s.
// tests/bench/ingest_bench.sh runs them side by side and prints the ratios.
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "soc/pg/pg.h"
#include "soc/pg/pg_storage.h"
#include "soc/sqlite_storage.h"
#include "tests/bench/bench_util.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using cg::bench::Die;
using cg::bench::Must;

using Agent = cg::bench::EnrolledAgent;

std::unique_ptr<cg::protocol::HttpsClient> Client(const std::string& server, const std::string& ca,
                                                  const std::string& cert = "",
                                                  const std::string& key = "") {
  return cg::bench::Connect(server, ca, std::chrono::seconds(60), cert, key);
}

// A report like the agent sends: `checks` check results with short facts.
cg::protocol::Report MakeReport(const std::string& device_id, int checks, int64_t seq) {
  static const char* kIds[] = {"antivirus",      "yara",        "os_license",
                               "office_license", "screen_lock", "password_age"};
  cg::protocol::Report r;
  r.report_id = cg::NewUuid();
  r.device_id = device_id;
  r.hostname = "pc-" + device_id.substr(0, 8);
  r.os = {"Debian GNU/Linux", "12", "6.1.0-18-amd64", "x86_64"};
  r.agent_version = "0.1.0";
  r.collected_at = cg::FormatRfc3339(std::chrono::system_clock::now() + std::chrono::seconds(seq));
  r.policy_version = 1;
  r.policy_hash = std::string(64, 'a');
  for (int i = 0; i < checks; ++i) {
    cg::protocol::CheckResult c;
    c.id = std::string(kIds[i % 6]) + (i < 6 ? "" : "_" + std::to_string(i));
    c.status = i % 5 == 0 ? cg::protocol::CheckStatus::kFail : cg::protocol::CheckStatus::kPass;
    c.severity = cg::protocol::Severity::kMedium;
    c.summary = "summary of check " + c.id;
    c.facts = {{"value", i}, {"detail", "some fact text for the check"}};
    r.checks.push_back(std::move(c));
  }
  return r;
}

// Enrolls `n` agents through POST /v1/enroll with one multi-use token from the operator API.
std::vector<Agent> EnrollAgents(int n, const std::string& server, const std::string& op_server,
                                const std::string& data_dir, const std::string& work) {
  const std::string ca = data_dir + "/ca.pem";
  std::string admin = Must(cg::ReadFileToString(data_dir + "/admin.token", 4096), "admin token");
  while (!admin.empty() && (admin.back() == '\n' || admin.back() == '\r')) {
    admin.pop_back();
  }
  auto op = Client(op_server, ca);
  const json token_request = {{"group", "bench/load"}, {"uses", n}, {"ttl_seconds", 3600}};
  auto created = Must(op->Request("POST", "/api/v1/enroll-tokens", token_request.dump(),
                                  {{"Authorization", "Bearer " + admin}}),
                      "creating an enrollment token");
  if (created.status != 201) {
    Die("enrollment token: " + created.body);
  }
  const std::string token = json::parse(created.body).at("token");
  std::vector<Agent> agents;
  auto enroll = Client(server, ca);
  for (int i = 0; i < n; ++i) {
    agents.push_back(cg::bench::Enroll(*enroll, token, "bench-" + std::to_string(i),
                                       work + "/agent" + std::to_string(i)));
  }
  return agents;
}

int RunIngest(int n, int per_agent, int checks, const std::string& server,
              const std::string& op_server, const std::string& data_dir, const std::string& work) {
  const auto agents = EnrollAgents(n, server, op_server, data_dir, work);
  // Bodies prepared up front: the clock measures the SOC, not JSON serialisation here.
  std::vector<std::vector<std::string>> bodies(agents.size());
  for (size_t a = 0; a < agents.size(); ++a) {
    for (int i = 0; i < per_agent; ++i) {
      bodies[a].push_back(cg::protocol::ToJson(MakeReport(agents[a].device_id, checks, i)).dump());
    }
  }
  std::vector<std::unique_ptr<cg::protocol::HttpsClient>> clients;
  for (const auto& a : agents) {
    clients.push_back(Client(server, data_dir + "/ca.pem", a.cert_file, a.key_file));
    // Connect (full handshake) before the clock starts: keep-alive connections are measured.
    auto r = Must(clients.back()->Request("GET", "/v1/nothing"), "connect");
    (void)r;
  }
  std::atomic<int64_t> committed{0}, retried{0}, failed{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t a = 0; a < agents.size(); ++a) {
    threads.emplace_back([&, a] {
      for (const auto& body : bodies[a]) {
        for (int attempt = 0;; ++attempt) {
          auto r = clients[a]->Request("POST", "/v1/reports", body);
          if (r.ok() && r->status == 200) {
            ++committed;
            break;
          }
          if (r.ok() && (r->status == 503 || r->status == 429) && attempt < 1000) {
            ++retried;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
          ++failed;
          std::fprintf(stderr, "report failed: %s\n",
                       r.ok() ? r->body.c_str() : r.error().ToString().c_str());
          break;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const json out = {{"mode", "ingest"},
                    {"agents", n},
                    {"reports", committed.load()},
                    {"retried_503", retried.load()},
                    {"failed", failed.load()},
                    {"seconds", seconds},
                    {"per_second", static_cast<double>(committed.load()) / seconds}};
  std::cout << out.dump() << "\n";
  return failed.load() == 0 ? 0 : 1;
}

struct SqliteStmt {
  sqlite3_stmt* s = nullptr;
  ~SqliteStmt() { sqlite3_finalize(s); }
};

void Exec(sqlite3* db, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Die(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
}

void Step(sqlite3* db, sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) {
    Die(std::string("step: ") + sqlite3_errmsg(db));
  }
  sqlite3_reset(s);
}

// The plain-program reference: the SOC's schema (created by the SOC's own storage code), then
// per report BEGIN; INSERT reports; INSERT check_results per check; UPDATE devices; COMMIT.
int RunSqlite(int n, int per_agent, int checks, const std::string& work) {
  const std::string path = work + "/raw.db";
  std::vector<std::string> devices;
  {
    auto storage = Must(cg::soc::OpenSqliteStorage(path, /*create=*/true), "schema");
    for (int i = 0; i < n; ++i) {
      cg::soc::Device d;
      d.device_id = cg::NewUuid();
      d.hostname = "bench-" + std::to_string(i);
      d.machine_id = "m";
      d.group = "bench/load";
      d.cert_serial = "01";
      d.cert_not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
      d.enrolled_at = std::chrono::system_clock::now();
      Must(storage->AddDevice(d), "device");
      devices.push_back(d.device_id);
    }
  }
  std::vector<cg::protocol::Report> reports;
  std::vector<std::string> bodies;
  for (int i = 0; i < per_agent; ++i) {
    for (const auto& d : devices) {
      reports.push_back(MakeReport(d, checks, i));
      bodies.push_back(cg::protocol::ToJson(reports.back()).dump());
    }
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    Die("open raw db");
  }
  Exec(db, "PRAGMA journal_mode = WAL");
  Exec(db, "PRAGMA synchronous = FULL");
  Exec(db, "PRAGMA foreign_keys = ON");
  SqliteStmt ins_report, ins_check, upd_device;
  sqlite3_prepare_v2(db,
                     "INSERT INTO reports (report_id, device_id, received_at, collected_at, "
                     "status, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     -1, &ins_report.s, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO check_results (report, check_id, status, severity) VALUES "
                     "(?1, ?2, ?3, ?4)",
                     -1, &ins_check.s, nullptr);
  sqlite3_prepare_v2(db,
                     "UPDATE devices SET last_seen = ?2, status = ?3, policy_version = ?4, "
                     "latest_report = ?5 WHERE device_id = ?1",
                     -1, &upd_device.s, nullptr);
  if (ins_report.s == nullptr || ins_check.s == nullptr || upd_device.s == nullptr) {
    Die(std::string("prepare: ") + sqlite3_errmsg(db));
  }
  const auto start = Clock::now();
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const int64_t now = cg::ToUnixSeconds(std::chrono::system_clock::now());
    const std::string status(cg::protocol::ToString(cg::protocol::OverallStatus(r.checks)));
    Exec(db, "BEGIN");
    sqlite3_bind_text(ins_report.s, 1, r.report_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_report.s, 2, r.device_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins_report.s, 3, now);
    sqlite3_bind_int64(ins_report.s, 4, now);
    sqlite3_bind_text(ins_report.s, 5, status.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_report.s, 6, bodies[i].c_str(), static_cast<int>(bodies[i].size()),
                      SQLITE_STATIC);
    Step(db, ins_report.s);
    const int64_t row = sqlite3_last_insert_rowid(db);
    for (const auto& c : r.checks) {
      const std::string cs(cg::protocol::ToString(c.status));
      const std::string sev(cg::protocol::ToString(c.severity));
      sqlite3_bind_int64(ins_check.s, 1, row);
      sqlite3_bind_text(ins_check.s, 2, c.id.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(ins_check.s, 3, cs.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(ins_check.s, 4, sev.c_str(), -1, SQLITE_TRANSIENT);
      Step(db, ins_check.s);
    }
    sqlite3_bind_text(upd_device.s, 1, r.device_id.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd_device.s, 2, now);
    sqlite3_bind_text(upd_device.s, 3, status.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int64(upd_device.s, 4, r.policy_version);
    sqlite3_bind_int64(upd_device.s, 5, row);
    Step(db, upd_device.s);
    Exec(db, "COMMIT");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_close(db);
  const json out = {{"mode", "sqlite"},
                    {"reports", reports.size()},
                    {"seconds", seconds},
                    {"per_second", static_cast<double>(reports.size()) / seconds}};
  std::cout << out.dump() << "\n";
  return 0;
}

// The same reference on PostgreSQL: the SOC's schema made by its own PostgreSQL migrations, then
// per report BEGIN; INSERT reports (RETURNING its id); INSERT check_results per check; UPDATE
// devices; COMMIT, each statement through libpq with its parameters (PQexecParams, as the SOC's
// backend sends them).
int RunPostgres(int n, int per_agent, int checks, const std::string& uri) {
  std::vector<std::string> devices;
  {
    auto storage = Must(cg::soc::OpenPgStorage(uri, /*create=*/true), "schema");
    for (int i = 0; i < n; ++i) {
      cg::soc::Device d;
      d.device_id = cg::NewUuid();
      d.hostname = "bench-" + std::to_string(i);
      d.machine_id = "m";
      d.group = "bench/load";
      d.cert_serial = "01" + std::to_string(i);
      d.cert_not_after = std::chrono::system_clock::now() + std::chrono::hours(24);
      d.enrolled_at = std::chrono::system_clock::now();
      Must(storage->AddDevice(d), "device");
      devices.push_back(d.device_id);
    }
  }
  std::vector<cg::protocol::Report> reports;
  std::vector<std::string> bodies;
  for (int i = 0; i < per_agent; ++i) {
    for (const auto& d : devices) {
      reports.push_back(MakeReport(d, checks, i));
      bodies.push_back(cg::protocol::ToJson(reports.back()).dump());
    }
  }
  auto conn = Must(cg::soc::pg::Connection::Open(uri), "connecting");
  const auto start = Clock::now();
  for (size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    const auto now = std::chrono::system_clock::now();
    const std::string status(cg::protocol::ToString(cg::protocol::OverallStatus(r.checks)));
    auto tx = Must(cg::soc::pg::Transaction::Begin(*conn), "BEGIN");
    auto row = Must(conn->Query("INSERT INTO reports (report_id, device_id, received_at, "
                                "collected_at, status, body) VALUES ($1, $2, $3, $4, $5, $6) "
                                "RETURNING id",
                                r.report_id, r.device_id, now, now, status, bodies[i]),
                    "INSERT reports");
    const int64_t id = row.Int(0, 0);
    for (const auto& c : r.checks) {
      Must(conn->Query("INSERT INTO check_results (report, check_id, status, severity) VALUES "
                       "($1, $2, $3, $4)",
                       id, c.id, std::string(cg::protocol::ToString(c.status)),
                       std::string(cg::protocol::ToString(c.severity))),
           "INSERT check_results");
    }
    Must(conn->Query("UPDATE devices SET last_seen = $2, status = $3, policy_version = $4, "
                     "latest_report = $5 WHERE device_id = $1",
                     r.device_id, now, status, r.policy_version, id),
         "UPDATE devices");
    Must(tx.Commit(), "COMMIT");
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const json out = {{"mode", "postgres"},
                    {"reports", reports.size()},
                    {"seconds", seconds},
                    {"per_second", static_cast<double>(reports.size()) / seconds}};
  std::cout << out.dump() << "\n";
  return 0;
}

// One TCP connection + full TLS handshake + one HTTP/1.0 request, read to the end.
bool OneHandshake(SSL_CTX* ctx, const addrinfo* ai) {
  const int fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0) {
    return false;
  }
  bool ok = false;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    static char kHost[] = "localhost";  // SSL_set_tlsext_host_name is a macro with a C cast
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, kHost);
    if (SSL_connect(ssl) == 1) {
      static constexpr char kRequest[] = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
      if (SSL_write(ssl, kRequest, sizeof(kRequest) - 1) > 0) {
        char buf[4096];
        int got = 0;
        while ((got = SSL_read(ssl, buf, sizeof(buf))) > 0) {
          ok = true;
        }
      }
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }
  close(fd);
  return ok;
}

int RunHandshakes(int threads, double seconds, const std::string& server, const std::string& ca,
                  const std::string& cert, const std::string& key) {
  auto hp = Must(cg::protocol::ParseHostPort(server), "server");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(hp.first.c_str(), std::to_string(hp.second).c_str(), &hints, &ai) != 0) {
    Die("resolve " + server);
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // every handshake is a full one
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1 ||
      SSL_CTX_use_certificate_file(ctx, cert.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    Die("loading the client certificate");
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  std::atomic<int64_t> done{0}, failed{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (Clock::now() < deadline) {
        if (OneHandshake(ctx, ai)) {
          ++done;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  SSL_CTX_free(ctx);
  freeaddrinfo(ai);
  const json out = {
      {"mode", "handshake"},       {"threads", threads},
      {"handshakes", done.load()}, {"failed", failed.load()},
      {"seconds", elapsed},        {"per_second", static_cast<double>(done) / elapsed}};
  std::cout << out.dump() << "\n";
  return done.load() > 0 && failed.load() == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  cg::bench::ProgramName() = "ingest_load";
  CLI::App app{"CounterGuard SOC load generator (tests/bench/ingest_bench.sh)"};
  app.require_subcommand(1);
  int agents = 16, per_agent = 100, checks = 6, threads = 4;
  double seconds = 10;
  std::string server, op_server, data_dir, work, ca, cert, key;
  auto* ingest = app.add_subcommand("ingest", "N agents POSTing reports over keep-alive mTLS");
  ingest->add_option("--server", server, "agent port HOST:PORT")->required();
  ingest->add_option("--operator", op_server, "operator port HOST:PORT")->required();
  ingest->add_option("--data-dir", data_dir, "the SOC's data dir (ca.pem, admin.token)")
      ->required();
  ingest->add_option("--work", work, "directory for the agents' keys")->required();
  ingest->add_option("--agents", agents);
  ingest->add_option("--reports", per_agent, "reports per agent");
  ingest->add_option("--checks", checks, "check results per report");
  auto* raw = app.add_subcommand("sqlite", "the same rows inserted by a plain SQLite program");
  raw->add_option("--work", work)->required();
  raw->add_option("--agents", agents);
  raw->add_option("--reports", per_agent);
  raw->add_option("--checks", checks);
  std::string uri;
  auto* raw_pg = app.add_subcommand("postgres", "the same rows inserted by a plain libpq program");
  raw_pg->add_option("--uri", uri, "an empty PostgreSQL database (postgresql://...)")->required();
  raw_pg->add_option("--agents", agents);
  raw_pg->add_option("--reports", per_agent);
  raw_pg->add_option("--checks", checks);
  auto* hs = app.add_subcommand("handshake", "full mTLS handshakes per second");
  hs->add_option("--server", server)->required();
  hs->add_option("--ca", ca)->required();
  hs->add_option("--cert", cert)->required();
  hs->add_option("--key", key)->required();
  hs->add_option("--threads", threads);
  hs->add_option("--seconds", seconds);
  CLI11_PARSE(app, argc, argv);
  if (*ingest) {
    return RunIngest(agents, per_agent, checks, server, op_server, data_dir, work);
  }
  if (*raw) {
    return RunSqlite(agents, per_agent, checks, work);
  }
  if (*raw_pg) {
    return RunPostgres(agents, per_agent, checks, uri);
  }
  return RunHandshakes(threads, seconds, server, ca, cert, key);
}

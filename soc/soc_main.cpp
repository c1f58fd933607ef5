// cg-soc: the SOC collector — init (CA, server certificate, database, first admin token),
// serve (agent and operator listeners), and operator token management on the server.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <tuple>

#include "common/cli.h"
#include "common/logging.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "soc/data_dir.h"

namespace {

int Fail(const cg::Error& e) {
  std::fprintf(stderr, "cg-soc: %s\n", e.ToString().c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cg-soc: CounterGuard SOC collector"};
  app.require_subcommand(1);
  cg::LogOptions log;
  cg::AddLogOptions(app, log);

  std::string data_dir;
  std::vector<std::string> hostnames;
  auto* init_cmd = app.add_subcommand("init",
                                      "Create the CA, server certificate, database and "
                                      "first admin token");
  init_cmd->add_option("--data-dir", data_dir, "SOC data directory (created 0700)")->required();
  std::string init_database;
  init_cmd->add_option("--database", init_database,
                       "PostgreSQL database (postgresql://...) instead of DIR/soc.db; recorded in "
                       "DIR/database.uri (0600)");
  init_cmd->add_option("--hostname", hostnames,
                       "name or address agents and cgctl use for this server (repeatable; "
                       "default localhost)");

  cg::soc::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the agent and operator listeners");
  serve_cmd->add_option("--data-dir", serve.data_dir, "SOC data directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  serve_cmd->add_option("--database", serve.database,
                        "PostgreSQL database (postgresql://...); default: the one `init` "
                        "recorded in the data dir, else DIR/soc.db");
  serve_cmd->add_option("--agent-listen", serve.agent_listen,
                        "agent listener ADDR:PORT (default 0.0.0.0:8443)");
  serve_cmd->add_option("--operator-listen", serve.operator_listen,
                        "operator listener ADDR:PORT (default 127.0.0.1:8444)");
  serve_cmd->add_option("--threads", serve.threads, "I/O threads (default 2)")
      ->check(CLI::Range(1, 64));
  std::string cert_lifetime = "30d";
  serve_cmd->add_option("--cert-lifetime", cert_lifetime,
                        "lifetime of issued device certificates, e.g. 30d, 12h, 90s (default 30d; "
                        "agents renew after two thirds of it)");
  serve_cmd
      ->add_option("--enroll-burst", serve.enroll_burst,
                   "enrollment attempts one address may make at once (default 10)")
      ->check(CLI::Range(1, 100000));
  serve_cmd
      ->add_option("--enroll-per-minute", serve.enroll_per_minute,
                   "enrollment attempts per minute and address after the burst (default 10)")
      ->check(CLI::Range(1, 60000));
  serve_cmd
      ->add_option("--ingest-queue", serve.ingest_queue,
                   "reports waiting to be stored before the agent port answers 503 "
                   "(default 4096)")
      ->check(CLI::Range(1, 1000000));
  serve_cmd
      ->add_option("--ingest-batch", serve.ingest_batch,
                   "reports per group-commit transaction (default 512; 1 commits each "
                   "report alone)")
      ->check(CLI::Range(1, 100000));
  serve_cmd->add_option("--ready-file", serve.ready_file,
                        "write {\"agent_port\",\"operator_port\"} here once listening");

  serve_cmd
      ->add_option("--max-connections", serve.max_connections,
                   "connections the agent port holds at once (default 8192; lowered to fit the "
                   "open-file limit)")
      ->check(CLI::Range(1, 1000000));
  serve_cmd
      ->add_option("--max-connections-per-address", serve.max_connections_per_address,
                   "connections one source address may hold on the agent port (default 256)")
      ->check(CLI::Range(1, 1000000));
  std::string request_timeout, clock_skew_tolerance;
  serve_cmd->add_option("--request-timeout", request_timeout,
                        "one deadline for a whole request, from its first byte (from the accept "
                        "for a connection's first request; default 30s)");
  serve_cmd->add_option("--clock-skew-tolerance", clock_skew_tolerance,
                        "reports dated further ahead of the SOC's clock flag the device's clock "
                        "(default 5m)");
  serve_cmd
      ->add_option("--renewals-per-day", serve.renewals_per_day,
                   "certificate renewals one device may ask for per day (default 5)")
      ->check(CLI::Range(1, 1000));

  serve_cmd->add_option("--config", serve.config_file,
                        "configuration file (SIEM export; default DATA_DIR/soc.json when it "
                        "exists; docs/siem.md)");
  serve_cmd->add_option("--soc-name", serve.soc_name,
                        "the SOC's name on generated reports (default: the first host name of "
                        "its server certificate)");
  std::string keep_reports, keep_history, keep_audit;
  serve_cmd->add_option("--keep-reports", keep_reports,
                        "how long raw reports are kept (default 90d; at least 1d; a device's "
                        "latest report is always kept)");
  serve_cmd->add_option("--keep-history", keep_history,
                        "how long status changes and enforcement changes are kept (default "
                        "1825d, at least 365d)");
  serve_cmd->add_option("--keep-audit", keep_audit,
                        "how long audit entries are kept (default 1825d, at least 366d)");

  std::string poll_hold;
  serve_cmd->add_option("--poll-hold", poll_hold,
                        "how long an agent's long-poll waits for news (default 55s, at most 110s)");
  std::string totp_roles, session_ttl, session_idle, browser_idle;
  serve_cmd->add_option("--totp-roles", totp_roles,
                        "staff roles that must log in with a TOTP code, comma-separated "
                        "(default analyst,inspector,admin; \"none\" for none)");
  serve_cmd->add_option("--session-ttl", session_ttl,
                        "how long a staff login session lasts (default 12h, 5m to 7d)");
  serve_cmd->add_option("--session-idle", session_idle,
                        "a session unused this long ends (default 1h, 1m to 24h)");
  serve_cmd->add_option("--browser-idle", browser_idle,
                        "a dashboard (browser) session unused this long ends (default 15m, 1m "
                        "to 12h)");
  serve_cmd->add_option("--dashboard-dir", serve.dashboard_dir,
                        "the dashboard's files (default: share/counterguard/dashboard beside the "
                        "program, else the source tree's dashboard/)");

  std::string key_dir;
  std::string key_file;
  auto* key_cmd =
      app.add_subcommand("policy-key", "Public keys pushed policies must be signed with");
  key_cmd->require_subcommand(1);
  auto* key_add =
      key_cmd->add_subcommand("add", "Trust a policy-signing public key (restart serve)");
  key_add->add_option("--data-dir", key_dir, "SOC data directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  key_add->add_option("KEY", key_file, "public key (PREFIX.pub from cgctl policy keygen)")
      ->required()
      ->check(CLI::ExistingFile);

  std::string account_dir, account_name, account_display;
  bool account_json = false;
  auto* account_cmd = app.add_subcommand("account", "Staff accounts (on the server)");
  account_cmd->require_subcommand(1);
  auto* create_admin = account_cmd->add_subcommand(
      "create-admin", "Create an admin account; prints its one-time setup code");
  create_admin->add_option("--data-dir", account_dir, "SOC data directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  create_admin->add_option("NAME", account_name, "login name (a-z 0-9 . _ -)")->required();
  create_admin->add_option("--display-name", account_display,
                           "the person's name, e.g. \"Nguyễn Văn An\" (default: NAME)");
  create_admin->add_flag("--json", account_json, "print {\"setup_code\": ...}");

  std::string token_dir;
  std::string token_role;
  std::string token_name;
  std::string token_ttl;
  bool token_json = false;
  auto* token_cmd = app.add_subcommand("token", "Operator tokens");
  token_cmd->require_subcommand(1);
  auto* token_create = token_cmd->add_subcommand("create", "Create an operator token");
  token_create->add_option("--data-dir", token_dir, "SOC data directory")
      ->required()
      ->check(CLI::ExistingDirectory);
  token_create->add_option("--role", token_role, "analyst, admin or metrics (a Prometheus scraper)")
      ->required()
      ->check(CLI::IsMember({"analyst", "admin", "metrics"}));
  token_create->add_option("--name", token_name, "who the token is for")->required();
  token_create->add_option("--ttl", token_ttl, "lifetime, e.g. 30d (default and most: 90d)");
  token_create->add_flag("--json", token_json, "print {\"token\": ...}");

  if (auto exit_code = cg::ParseCommandLine(app, argc, argv, "cg-soc")) {
    return *exit_code;
  }
  auto format = cg::ParseLogFormat(log.format);
  if (!format.ok()) {
    return Fail(format.error());
  }
  if (auto s = cg::InitLogging("cg-soc", *format, log.level); !s.ok()) {
    return Fail(s.error());
  }

  if (*init_cmd) {
    if (hostnames.empty()) {
      hostnames.push_back("localhost");
    }
    auto token = cg::soc::InitDataDir(data_dir, hostnames, init_database);
    if (!token.ok()) {
      return Fail(token.error());
    }
    std::cout << "initialized " << data_dir << "\n"
              << "  CA certificate (pin this on agents and cgctl): " << data_dir << "/ca.pem\n"
              << "  admin token (also in " << data_dir << "/admin.token, 0600):\n"
              << *token << "\n";
    return 0;
  }
  if (*serve_cmd) {
    auto lifetime = cg::ParseDuration(cert_lifetime);
    if (!lifetime.ok()) {
      return Fail(lifetime.error().Wrap("--cert-lifetime"));
    }
    // Seconds are allowed so that tests can let a certificate expire for real.
    if (lifetime->count() < 1 || lifetime->count() > 397LL * 86400) {
      return Fail(cg::MakeError(cg::ErrorCode::kInvalidArgument,
                                "--cert-lifetime must be from 1s to 397d"));
    }
    serve.cert_lifetime = std::chrono::duration_cast<std::chrono::seconds>(*lifetime);
    // Durations given as text: "30s", "5m".
    for (auto [text, target, name, min, max] :
         {std::tuple{&request_timeout, &serve.request_timeout, "--request-timeout",
                     std::chrono::seconds(1), std::chrono::seconds(600)},
          std::tuple{&clock_skew_tolerance, &serve.clock_skew_tolerance, "--clock-skew-tolerance",
                     std::chrono::seconds(0), std::chrono::seconds(7 * 86400)}}) {
      if (text->empty()) {
        continue;
      }
      auto d = cg::ParseDuration(*text);
      if (!d.ok()) {
        return Fail(d.error().Wrap(name));
      }
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(*d);
      if (secs < min || secs > max) {
        return Fail(cg::MakeError(cg::ErrorCode::kInvalidArgument,
                                  std::string(name) + " must be from " +
                                      std::to_string(min.count()) + "s to " +
                                      std::to_string(max.count()) + "s"));
      }
      *target = secs;
    }
    for (auto [text, target, name] :
         {std::tuple{&keep_reports, &serve.retention.reports, "--keep-reports"},
          std::tuple{&keep_history, &serve.retention.history, "--keep-history"},
          std::tuple{&keep_audit, &serve.retention.audit, "--keep-audit"}}) {
      if (text->empty()) {
        continue;
      }
      auto d = cg::ParseDuration(*text);
      if (!d.ok()) {
        return Fail(d.error().Wrap(name));
      }
      *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    if (auto s = cg::soc::ValidateRetention(serve.retention); !s.ok()) {
      return Fail(s.error());
    }
    if (!poll_hold.empty()) {
      auto hold = cg::ParseDuration(poll_hold);
      if (!hold.ok()) {
        return Fail(hold.error().Wrap("--poll-hold"));
      }
      if (*hold < std::chrono::seconds(1) || *hold > std::chrono::seconds(110)) {
        return Fail(cg::MakeError(cg::ErrorCode::kInvalidArgument,
                                  "--poll-hold must be from 1s to 110s (agents wait 120 s)"));
      }
      serve.poll_hold = *hold;
    }
    for (auto [text, target, name, min, max] :
         {std::tuple{&session_ttl, &serve.session_ttl, "--session-ttl", std::chrono::seconds(300),
                     std::chrono::seconds(7 * 86400)},
          std::tuple{&session_idle, &serve.session_idle, "--session-idle", std::chrono::seconds(60),
                     std::chrono::seconds(86400)},
          std::tuple{&browser_idle, &serve.browser_session_idle, "--browser-idle",
                     std::chrono::seconds(60), std::chrono::seconds(12 * 3600)}}) {
      if (text->empty()) {
        continue;
      }
      auto d = cg::ParseDuration(*text);
      if (!d.ok() || *d < min || *d > max) {
        return Fail(cg::MakeError(cg::ErrorCode::kInvalidArgument,
                                  std::string(name) + " must be a duration from " +
                                      std::to_string(min.count()) + "s to " +
                                      std::to_string(max.count()) + "s"));
      }
      *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
    }
    if (!totp_roles.empty()) {
      serve.totp_roles.clear();
      if (totp_roles != "none") {
        size_t start = 0;
        while (start <= totp_roles.size()) {
          const size_t comma = std::min(totp_roles.find(',', start), totp_roles.size());
          const std::string role = totp_roles.substr(start, comma - start);
          if (role != "analyst" && role != "inspector" && role != "admin") {
            return Fail(cg::MakeError(
                cg::ErrorCode::kInvalidArgument,
                "--totp-roles: unknown role '" + role + "' (analyst, inspector, admin, or none)"));
          }
          serve.totp_roles.push_back(role);
          start = comma + 1;
        }
      }
    }
    if (std::error_code ec; serve.dashboard_dir.empty()) {
      serve.program_path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    }
    auto s = cg::soc::Serve(serve);
    return s.ok() ? 0 : Fail(s.error());
  }
  if (*key_add) {
    auto id = cg::soc::AddPolicyKey(key_dir, key_file);
    if (!id.ok()) {
      return Fail(id.error());
    }
    std::cout << "policy key " << *id << " trusted (restart cg-soc serve to use it)\n";
    return 0;
  }
  if (*create_admin) {
    auto created = cg::soc::CreateAccountLocally(
        account_dir, account_name, account_display.empty() ? account_name : account_display,
        "admin");
    if (!created.ok()) {
      return Fail(created.error());
    }
    if (account_json) {
      std::cout << "{\"account\": \"" << created->name << "\", \"setup_code\": \""
                << created->setup_code << "\"}\n";
    } else {
      std::cout << "admin account " << created->name << " created. On the admin's PC, run\n"
                << "  cgctl --server https://HOST:8444 --ca ca.pem account setup " << created->name
                << "\nand type this one-time setup code (valid until "
                << cg::FormatRfc3339(created->setup_expires_at) << "; shown once):\n"
                << created->setup_code << "\n";
    }
    return 0;
  }
  if (*token_create) {
    std::optional<cg::SysTime> expires;
    if (!token_ttl.empty()) {
      auto ttl = cg::ParseDuration(token_ttl);
      if (!ttl.ok()) {
        return Fail(ttl.error());
      }
      expires = std::chrono::system_clock::now() + *ttl;
    }
    auto token = cg::soc::CreateOperatorToken(token_dir, token_name, token_role, expires);
    if (!token.ok()) {
      return Fail(token.error());
    }
    if (token_json) {
      std::cout << "{\"token\": \"" << *token << "\"}\n";
    } else {
      std::cout << "operator token for " << token_name << " (" << token_role << "), shown once:\n"
                << *token << "\n";
    }
    return 0;
  }
  return 2;
}

// cg-agent: the posture service on every counter PC, and its command line.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>

#include "agent/agent.h"
#include "agent/check_command.h"
#include "agent/config.h"
#include "agent/delivery.h"
#include "agent/enforcement.h"
#include "agent/enroll_token.h"
#include "agent/renewal.h"
#include "agent/scan_command.h"
#include "agent/service_command.h"
#include "common/cli.h"
#include "common/logging.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/pki.h"

namespace {

using cg::agent::StateDir;
using nlohmann::json;

int Fail(const cg::Error& e) {
  std::fprintf(stderr, "cg-agent: %s\n", e.ToString().c_str());
  return 2;
}

int Status(const std::string& state_dir, bool as_json) {
  StateDir state(state_dir);
  auto enrollment = state.LoadEnrollment();
  if (!enrollment.ok()) {
    return Fail(enrollment.error());
  }
  // status.json is bookkeeping: a damaged one is shown as the last error, and the rest of the
  // state is still shown (the service sets it aside and rebuilds it at its next cycle).
  auto loaded_status = state.LoadStatus();
  std::optional<cg::agent::RunStatus> status;
  if (loaded_status.ok()) {
    status = std::move(loaded_status).value();
  } else {
    status.emplace();
    status->last_error = loaded_status.error().ToString() +
                         " (the service sets the damaged file aside and rebuilds it at its next "
                         "cycle)";
  }
  auto revocation = state.LoadRevocation();
  if (!revocation.ok()) {
    return Fail(revocation.error());
  }
  const auto& revoked = *revocation;
  if (revoked && !revoked->error.empty()) {
    status->last_error = revoked->error;  // newer than the last cycle's, and what matters
  }
  size_t spooled = 0;
  json spool = json::object();
  if (enrollment->has_value()) {
    auto s = cg::agent::SpoolStatus(state);
    if (!s.ok()) {
      return Fail(s.error());
    }
    spool = std::move(s).value();
    spooled = spool.value("spool_reports", size_t{0});
  }
  const auto& e = *enrollment;
  json j = {{"enrolled", e.has_value()},
            {"device_id", e ? json(e->device_id) : json(nullptr)},
            {"group", e ? json(e->group) : json(nullptr)},
            {"server", e ? json(e->server) : json(nullptr)},
            {"policy_version", status->policy_version},
            {"last_report_at",
             status->last_report_at.empty() ? json(nullptr) : json(status->last_report_at)},
            {"last_report_id",
             status->last_report_id.empty() ? json(nullptr) : json(status->last_report_id)},
            {"last_attempt_at",
             status->last_attempt_at.empty() ? json(nullptr) : json(status->last_attempt_at)},
            {"last_error", status->last_error.empty() ? json(nullptr) : json(status->last_error)},
            {"spool_reports", spooled},
            // The SOC refused the device certificate as revoked: since when the agent knows.
            {"revoked", e.has_value() && revoked.has_value()},
            {"revoked_at", e && revoked ? json(revoked->first_refused_at) : json(nullptr)}};
  // The device certificate's validity and when the agent renews it (null when unreadable).
  j["certificate_not_after"] = nullptr;
  j["certificate_renewal_due"] = nullptr;
  if (e) {
    if (auto pem = cg::ReadFileToString(state.CertPath(), 1u << 20); pem.ok()) {
      if (auto info = cg::protocol::InspectCertificatePem(*pem); info.ok()) {
        const auto plan = cg::agent::PlanRenewal(info->not_before, info->not_after,
                                                 std::chrono::system_clock::now());
        j["certificate_not_after"] = cg::FormatRfc3339(info->not_after);
        j["certificate_renewal_due"] = cg::FormatRfc3339(plan.due);
      }
    }
  }
  j.update(spool);  // spool_bytes, spool_dropped_*, spool_corrupt, spool_rejected
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (!e) {
    std::cout << "enrolled:        no (state dir " << state_dir << ")\n";
    if (!status->last_error.empty()) {  // e.g. the SOC refused the token file's token
      std::cout << "last error:      " << status->last_error << "\n";
    }
    return 0;
  }
  if (revoked) {
    std::cout << "enrolled:        yes, but revoked: the SOC refused the device certificate as "
                 "revoked (first at "
              << revoked->first_refused_at << ", last at " << revoked->last_refused_at
              << "); enroll again with a new token\n";
  } else {
    std::cout << "enrolled:        yes\n";
  }
  std::cout << "device id:       " << e->device_id << "\n"
            << "group:           " << e->group << "\n"
            << "server:          " << e->server << "\n"
            << "policy version:  " << status->policy_version << "\n"
            << "last report:     "
            << (status->last_report_at.empty() ? "never" : status->last_report_at) << "\n"
            << "spooled reports: " << spooled << "\n"
            << "certificate:     valid until "
            << (j["certificate_not_after"].is_string()
                    ? j["certificate_not_after"].get<std::string>()
                    : std::string("unreadable"))
            << ", renewal from "
            << (j["certificate_renewal_due"].is_string()
                    ? j["certificate_renewal_due"].get<std::string>()
                    : std::string("-"))
            << "\n";
  if (spool.value("spool_dropped_posture", 0) + spool.value("spool_dropped_security", 0) +
          spool.value("spool_corrupt", 0) + spool.value("spool_rejected", 0) >
      0) {
    std::cout << "spool losses:    " << spool.value("spool_dropped_posture", 0) << " posture and "
              << spool.value("spool_dropped_security", 0)
              << " security reports dropped (spool full), " << spool.value("spool_corrupt", 0)
              << " corrupt, " << spool.value("spool_rejected", 0) << " refused by the SOC\n";
  }
  if (!status->last_error.empty()) {
    std::cout << "last error:      " << status->last_error << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cg-agent: CounterGuard posture agent"};
  app.require_subcommand(1);
  cg::LogOptions log;
  cg::AddLogOptions(app, log);

  cg::agent::EnrollOptions enroll;
  auto* enroll_cmd = app.add_subcommand("enroll", "Enroll this device with the SOC");
  enroll_cmd->add_option("--server", enroll.server, "SOC agent listener HOST:PORT")->required();
  std::string token_file;
  auto* token_opt = enroll_cmd->add_option(
      "--token", enroll.token,
      "one-time enrollment token (visible in ps and the shell history: prefer --token-file)");
  enroll_cmd
      ->add_option("--token-file", token_file,
                   "file holding the enrollment token (- for standard input)")
      ->excludes(token_opt);
  enroll_cmd->add_option("--ca", enroll.ca_file, "SOC CA certificate to pin (PEM)")
      ->required()
      ->check(CLI::ExistingFile);
  enroll_cmd
      ->add_option("--policy-key", enroll.policy_key_file, "public key trusted for signed policy")
      ->check(CLI::ExistingFile);
  enroll_cmd->add_option("--state-dir", enroll.state_dir, "agent state directory");
  enroll_cmd
      ->add_option("--attempts", enroll.max_attempts,
                   "attempts in all when the SOC answers 429 (each after its Retry-After; "
                   "default 5)")
      ->check(CLI::Range(1, 20));
  enroll_cmd->add_option("--machine-id", enroll.machine_id,
                         "machine id to report instead of the OS's (cloned images, test rigs)");

  cg::agent::RunOptions run;
  int64_t interval_s = 15 * 60;
  std::string config_file;
  auto* run_cmd = app.add_subcommand("run", "Run the service (or one cycle with --once)");
  run_cmd->add_option(
      "--config", config_file,
      "agent configuration (JSON; default " + cg::agent::DefaultConfigFile() + " when present)");
  auto* state_opt = run_cmd->add_option("--state-dir", run.state_dir, "agent state directory");
  run_cmd->add_flag("--once", run.once, "one cycle: check, send, exit");
  bool run_as_service = false;
  run_cmd->add_flag("--service", run_as_service,
                    "run under the Windows service control manager (what `service install` "
                    "registers); logs also to the event log and a rotated file");
  auto* interval_opt =
      run_cmd->add_option("--interval", interval_s, "seconds between cycles (default 900)")
          ->check(CLI::Range(int64_t{10}, int64_t{7 * 86400}));
  std::string clock_offset;
#if CG_TEST_HOOKS
  // Test builds only (CMake CG_TEST_HOOKS): a service that took them could be made to report
  // an unsigned policy or a shifted clock.
  run_cmd->add_option("--policy", run.policy_file, "unsigned policy file (test build only)")
      ->check(CLI::ExistingFile);
  run_cmd->add_option("--clock-offset", clock_offset,
                      "test build only: run with the clock shifted by this duration (e.g. 21d)");
#endif

  cg::agent::CheckCommandOptions check;
  std::string only;
  auto* check_cmd = app.add_subcommand("check", "Run the checks locally and print the result");
  check_cmd->add_flag("--json", check.json, "print the stable JSON document");
  check_cmd->add_option("--only", only, "comma-separated check ids");
  check_cmd->add_option("--root", check.root, "read the machine's files under DIR")
      ->check(CLI::ExistingDirectory);
  check_cmd->add_option("--policy", check.policy_file, "policy document (JSON)")
      ->check(CLI::ExistingFile);
  auto* enforce_flag =
      check_cmd->add_flag("--enforce", check.enforce, "remediate every failing check that can be");
  check_cmd->add_flag("--dry-run", check.dry_run, "print what enforcement would change")
      ->excludes(enforce_flag);
  check_cmd->add_option("--state-dir", check.state_dir,
                        "where applied changes are journaled for undo");

  cg::agent::UndoOptions undo;
  bool undo_flag = false;
  auto* enforce_cmd = app.add_subcommand("enforce", "Take back what enforcement changed");
  enforce_cmd->add_flag("--undo", undo_flag, "undo the newest enforcement record")->required();
  enforce_cmd->add_flag("--all", undo.all, "undo every record, newest first");
  enforce_cmd->add_flag("--dry-run", undo.dry_run, "print what would be restored");
  enforce_cmd->add_option("--state-dir", undo.state_dir, "agent state directory");

  cg::agent::ScanCommandOptions scan;
  auto* scan_cmd = app.add_subcommand("scan", "Scan paths with YARA rules (on demand)");
  scan_cmd->add_option("--rules", scan.rules, "rules file ([NAMESPACE:]FILE), repeatable")
      ->required();
  scan_cmd->add_option("--path", scan.paths, "file or directory, repeatable")->required();
  scan_cmd->add_option("--threads", scan.threads, "worker threads (default: hardware threads)")
      ->check(CLI::Range(0, 256));
  scan_cmd->add_option("--timeout", scan.timeout_seconds, "per-file timeout in seconds (0: none)")
      ->check(CLI::Range(0, 3600));
  scan_cmd->add_flag("--json", scan.json, "print the stable JSON document");

  cg::agent::ServiceInstallOptions service_install;
  auto* service_cmd = app.add_subcommand(
      "service", "Register or remove the Windows service (run as administrator)");
  service_cmd->require_subcommand(1);
  auto* service_install_cmd = service_cmd->add_subcommand(
      "install", "Install or update the service, its configuration and event source; enroll");
  service_install_cmd->add_option(
      "--config", service_install.config_file,
      "agent configuration (default %ProgramData%\\CounterGuard\\agent.json)");
  service_install_cmd->add_option("--server", service_install.server,
                                  "SOC agent listener HOST:PORT (or https://HOST:PORT)");
  service_install_cmd->add_option("--group", service_install.group,
                                  "group this PC is expected to join (e.g. laocai/bac-ha)");
  service_install_cmd->add_option("--token-file", service_install.token_file,
                                  "enrollment token file: the device enrolls now");
  bool service_no_start = false;
  service_install_cmd->add_flag("--no-start", service_no_start,
                                "do not start the service (an installer starts it)");
  auto* service_uninstall_cmd = service_cmd->add_subcommand(
      "uninstall", "Stop and remove the service (configuration, identity and spool stay)");

  std::string status_dir = cg::agent::DefaultStateDir();
  bool status_json = false;
  auto* status_cmd = app.add_subcommand("status", "Show enrollment and delivery state");
  status_cmd->add_option("--state-dir", status_dir, "agent state directory");
  status_cmd->add_flag("--json", status_json, "JSON output");

  if (auto exit_code = cg::ParseCommandLine(app, argc, argv, "cg-agent")) {
    return *exit_code;
  }

  if (run_as_service || *service_cmd) {
    if (auto s = cg::agent::ServiceCommandsSupported(); !s.ok()) {
      return Fail(s.error());
    }
  }
  std::optional<cg::agent::AgentConfig> run_config;
  if (*run_cmd) {
    // The config file sets defaults; flags given on the command line win.
    if (run_as_service && config_file.empty()) {
      auto found = cg::agent::DefaultServiceConfigFile();
      if (!found.ok()) {
        return Fail(found.error());
      }
      config_file = *found;
    }
    const bool explicit_config = !config_file.empty();
    if (!explicit_config && cg::FileExists(cg::agent::DefaultConfigFile())) {
      config_file = cg::agent::DefaultConfigFile();
    }
    if (!config_file.empty()) {
      auto config = cg::agent::LoadAgentConfig(config_file);
      if (!config.ok()) {
        return Fail(config.error());
      }
      if (config->state_dir && state_opt->count() == 0) {
        run.state_dir = *config->state_dir;
      }
      if (config->interval_seconds && interval_opt->count() == 0) {
        interval_s = *config->interval_seconds;
      }
      if (config->log_format && app.get_option("--log-format")->count() == 0) {
        log.format = *config->log_format;
      }
      if (config->log_level && app.get_option("--log-level")->count() == 0) {
        log.level = *config->log_level;
      }
      cg::agent::DeliveryOptions delivery;
      if (config->spool_max_bytes) {
        delivery.spool_max_bytes = static_cast<uint64_t>(*config->spool_max_bytes);
      }
      if (config->reconnect_window_seconds) {
        delivery.sender.reconnect_window = std::chrono::seconds(*config->reconnect_window_seconds);
      }
      if (config->delivery_attempts) {
        delivery.sender.max_attempts = static_cast<int>(*config->delivery_attempts);
      }
      cg::agent::SetDefaultDeliveryOptions(delivery);
      // Only the service (the unit names its configuration) uses a token file: a `run` that
      // picked up the default configuration by itself leaves it alone.
      if (explicit_config) {
        run_config = std::move(config).value();
      }
    }
  }

  auto format = cg::ParseLogFormat(log.format);
  if (!format.ok()) {
    return Fail(format.error());
  }
  if (auto s = cg::InitLogging("cg-agent", *format, log.level); !s.ok()) {
    return Fail(s.error());
  }
  if (run_as_service) {
    if (auto s = cg::agent::AddServiceLogging(config_file); !s.ok()) {
      return Fail(s.error());
    }
  }
  if (*service_install_cmd) {
    service_install.start = !service_no_start;
    return cg::agent::RunServiceInstall(service_install,
                                        [] { return cg::platform::CreateNativePlatform("/"); });
  }
  if (*service_uninstall_cmd) {
    return cg::agent::RunServiceUninstall();
  }

  // The one Platform of this process, wired here and passed down: the live machine, or the
  // tree under `check --root`. `scan` and `status` read only their own files.
  std::optional<cg::platform::Platform> platform;
  if (*enroll_cmd || *run_cmd || *check_cmd || *enforce_cmd) {
    auto made = cg::platform::CreateNativePlatform(*check_cmd ? check.root : "/");
    if (!made.ok()) {
      return Fail(made.error());
    }
    platform = std::move(made).value();
  }

  if (*enroll_cmd) {
    if (!token_file.empty()) {
      auto token = cg::agent::ReadTokenFile(token_file);
      if (!token.ok()) {
        return Fail(token.error());
      }
      enroll.token = std::move(token).value();
    } else if (enroll.token.empty()) {
      return Fail(cg::MakeError(cg::ErrorCode::kInvalidArgument,
                                "enroll needs --token-file FILE (or --token TOKEN)"));
    }
    auto e = cg::agent::Enroll(enroll, *platform);
    if (!e.ok()) {
      return Fail(e.error());
    }
    std::cout << "enrolled: device " << e->device_id << " in group " << e->group << "\n";
    return 0;
  }
  if (*run_cmd) {
    if (!clock_offset.empty()) {
      auto offset = cg::ParseDuration(clock_offset);
      if (!offset.ok()) {
        return Fail(offset.error().Wrap("--clock-offset"));
      }
      run.clock_offset = *offset;
    }
    run.interval = std::chrono::seconds(interval_s);
    run.interval_explicit = interval_opt->count() > 0;
    if (run_config) {  // its token file is used by Run, again and again until enrolled
      run.config = std::move(run_config);
      run.config_file = config_file;
    }
    auto run_agent = [&]() -> int { return cg::agent::Run(run, *platform); };
    if (run_as_service) {
      return cg::agent::RunAsService(run_agent);
    }
    return run_agent();
  }
  if (*check_cmd) {
    for (size_t start = 0; start < only.size();) {
      const size_t comma = only.find(',', start);
      const std::string id =
          only.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!id.empty()) {
        check.only.push_back(id);
      }
      start = comma == std::string::npos ? only.size() : comma + 1;
    }
    return cg::agent::RunCheckCommand(check, *platform);
  }
  if (*scan_cmd) {
    return cg::agent::RunScanCommand(scan);
  }
  if (*enforce_cmd) {
    if (undo.state_dir.empty()) {
      undo.state_dir = cg::agent::DefaultStateDir();
    }
    return cg::agent::RunUndoCommand(undo, *platform, [](const std::string& root) {
      return cg::platform::CreateNativePlatform(root);
    });
  }
  if (*status_cmd) {
    return Status(status_dir, status_json);
  }
  return 2;
}

// Enrollment, report collection, spool delivery and the service loop of cg-agent.
#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <optional>
#include <random>
#include <thread>

#include "agent/background_scan.h"
#include "agent/delivery.h"
#include "agent/enroll_token.h"
#include "agent/inbox.h"
#include "agent/policy_store.h"
#include "agent/poller.h"
#include "agent/renewal.h"
#include "agent/sender.h"
#include "agent/soc_client.h"
#include "collectors/yara.h"
#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "platform/os/secret_file.h"
#include "platform/os/stop_source.h"
#include "protocol/http.h"
#include "protocol/https_client.h"
#include "protocol/json.h"
#include "protocol/pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;

// Turns an HTTP error answer of the SOC into one clear line.
Error HttpError(const protocol::HttpResponse& r, std::string_view what) {
  std::string message;
  json j = protocol::ParseJsonOrDiscarded(r.body);
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", "");
  }
  if (message.empty()) {
    message = r.body.substr(0, 200);
  }
  const ErrorCode code = r.status == 401                      ? ErrorCode::kUnauthenticated
                         : r.status == 403                    ? ErrorCode::kPermissionDenied
                         : r.status == 409                    ? ErrorCode::kConflict
                         : r.status == 429 || r.status >= 500 ? ErrorCode::kUnavailable
                                                              : ErrorCode::kInvalidArgument;
  return MakeError(code, std::string(what) + ": SOC answered " + std::to_string(r.status) +
                             (message.empty() ? "" : ": " + message));
}

}  // namespace

Result<Enrollment> Enroll(const EnrollOptions& options, platform::Platform& platform) {
  if (options.token.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "enrollment token is empty");
  }
  CG_ASSIGN_OR_RETURN(auto ca_pem, ReadFileToString(options.ca_file, 1u << 20));
  if (auto info = protocol::InspectCertificatePem(ca_pem); !info.ok() || !info->is_ca) {
    return MakeError(ErrorCode::kInvalidArgument,
                     options.ca_file + " is not a CA certificate (PEM)");
  }
  std::string policy_key;
  if (!options.policy_key_file.empty()) {
    CG_ASSIGN_OR_RETURN(policy_key, ReadFileToString(options.policy_key_file, 64u << 10));
    // Checked before the token is spent: a bad key file must not cost an enrollment.
    if (auto id = policy::KeyIdOfPublicPem(policy_key); !id.ok()) {
      return id.error().Wrap(options.policy_key_file);
    }
  }
  StateDir state(options.state_dir);
  CG_RETURN_IF_ERROR(state.Prepare());
  CG_ASSIGN_OR_RETURN(auto identity, platform.host->Identity());
  if (!options.machine_id.empty()) {
    identity.machine_id = options.machine_id;
  }

  CG_ASSIGN_OR_RETURN(auto key, protocol::GenerateP256Key());
  CG_ASSIGN_OR_RETURN(auto csr, protocol::MakeCsrPem(*key, identity.hostname));
  const json body = {{"token", options.token},
                     {"csr_pem", csr},
                     {"hostname", identity.hostname},
                     {"machine_id", identity.machine_id}};
  protocol::HttpResponse response;
  for (int attempt = 1;; ++attempt) {
    CG_ASSIGN_OR_RETURN(auto client,
                        ConnectToSoc(options.server, options.ca_file, "", "", options.timeout));
    CG_ASSIGN_OR_RETURN(response, client->Request("POST", "/v1/enroll", body.dump()));
    if (response.status != 429 || attempt >= options.max_attempts) {
      break;
    }
    // Many PCs behind one NAT address enrolling at once: the SOC says when to come back.
    auto wait = ParseRetryAfter(response.Header("Retry-After")).value_or(std::chrono::seconds(10));
    wait = std::clamp(wait, std::chrono::seconds(1), options.max_retry_wait);
    spdlog::warn("enrollment: the SOC is rate-limiting this address; attempt {} of {} in {} s",
                 attempt + 1, options.max_attempts, wait.count());
    if (options.sleep) {
      options.sleep(wait);
    } else {
      std::this_thread::sleep_for(wait);
    }
  }
  if (response.status != 200) {
    Error refused = HttpError(response, "enrollment refused");
    if (response.status == 401 || response.status == 403) {
      refused.message += " (ask the SOC admin for a new token: cgctl enroll-token create)";
    }
    return refused;
  }
  json answer = protocol::ParseJsonOrDiscarded(response.body);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("certificate_pem") ||
      !answer.contains("device_id")) {
    return MakeError(ErrorCode::kParse, "enrollment: the SOC's answer is not understood");
  }
  const std::string cert = answer.value("certificate_pem", "");
  CG_ASSIGN_OR_RETURN(auto cert_info, protocol::InspectCertificatePem(cert));
  Enrollment e{options.server, answer.value("device_id", ""), answer.value("group", ""),
               FormatRfc3339(platform.clock->Now())};
  if (cert_info.subject_cn != e.device_id || !IsUuid(e.device_id)) {
    return MakeError(ErrorCode::kCrypto,
                     "enrollment: certificate subject does not carry the device id");
  }
  CG_ASSIGN_OR_RETURN(auto key_pem, protocol::PrivateKeyToPem(*key));
  CG_RETURN_IF_ERROR(WriteSecretFile(state.KeyPath(), key_pem));
  CG_RETURN_IF_ERROR(WriteFileAtomic(state.CertPath(), cert, 0644));
  CG_RETURN_IF_ERROR(WriteFileAtomic(state.CaPath(), ca_pem, 0644));
  if (!policy_key.empty()) {
    CG_RETURN_IF_ERROR(PolicyStore(state, e.group).InstallTrustedKeys({policy_key}));
  }
  CG_RETURN_IF_ERROR(state.SaveEnrollment(e));
  CG_RETURN_IF_ERROR(state.ClearRevocation());  // a new certificate, not refused (yet)
  spdlog::info("enrolled as device {} in group {}", e.device_id, e.group);
  return e;
}

Result<protocol::Report> CollectReport(const collectors::CheckRegistry& registry,
                                       platform::Platform& platform, const policy::Policy& policy,
                                       const std::string& device_id) {
  CG_ASSIGN_OR_RETURN(auto identity, platform.host->Identity());
  protocol::Report r;
  r.report_id = NewUuid();
  r.device_id = device_id;
  r.hostname = identity.hostname;
  r.os = {identity.os_name, identity.os_version, identity.kernel, identity.arch};
  r.agent_version = CG_VERSION;
  r.collected_at = FormatRfc3339(platform.clock->Now());
  r.policy_version = policy.version;
  r.policy_hash = policy::PolicyHash(policy);
  CG_ASSIGN_OR_RETURN(r.checks, collectors::RunChecks(registry, platform, policy, {}));
  return r;
}

namespace {

// How often the service looks again for an identity it could not read.
constexpr std::chrono::seconds kIdentityRetry{60};

// What a cycle reports besides the checks.
struct CycleExtras {
  std::vector<protocol::Event> events;
  std::vector<std::string> task_ids;
};

// One cycle: collect, spool, deliver. Updates status.json either way. The report (with its
// events and answered tasks) is spooled before anything is sent, so none of them is lost when
// the SOC cannot be reached.
Status Cycle(const StateDir& state, const Enrollment& enrollment,
             const collectors::CheckRegistry& registry, platform::Platform& platform,
             const policy::Policy& policy, const std::string& policy_hash, CycleExtras extras) {
  auto loaded_status = state.LoadStatus();
  if (!loaded_status.ok()) {
    // Bookkeeping only: set aside, rebuilt from this cycle on, and reported with it.
    extras.events.push_back(
        SetAsideDamaged(state.StatusPath(), loaded_status.error().message, platform.clock->Now()));
    loaded_status = RunStatus{};
  }
  RunStatus status = std::move(loaded_status).value();
  status.last_attempt_at = FormatRfc3339(platform.clock->Now());
  status.policy_version = policy.version;
  auto report = CollectReport(registry, platform, policy, enrollment.device_id);
  if (!report.ok()) {
    status.last_error = report.error().ToString();
    (void)state.SaveStatus(status);
    return std::move(report).error();
  }
  report->policy_hash = policy_hash;
  report->events = std::move(extras.events);
  report->task_ids = std::move(extras.task_ids);
  if (report->events.size() > protocol::kMaxEventsPerReport) {
    report->events.erase(report->events.begin(),
                         report->events.end() - protocol::kMaxEventsPerReport);
  }
  spdlog::info("posture collected: {} checks, overall {}{}", report->checks.size(),
               protocol::ToString(protocol::OverallStatus(report->checks)),
               report->task_ids.empty() ? "" : " (answers an inspection)");
  // Spool, then send even when spooling failed (a full disk): sending frees space.
  DeliveryOptions delivery = DefaultDeliveryOptions();
  if (policy.reporting.spool_max_bytes) {  // the province's policy wins over agent.json
    delivery.spool_max_bytes = static_cast<uint64_t>(*policy.reporting.spool_max_bytes);
  }
  const Status spooled = SpoolReport(state, *report, platform.clock->Now(), delivery);
  CG_RETURN_IF_ERROR(RenewCertificateIfDue(state, enrollment, *platform.clock));
  auto delivered = SendSpool(state, enrollment);
  if (!spooled.ok()) {
    status.last_error = spooled.error().ToString();
    (void)state.SaveStatus(status);
    return spooled;
  }
  if (!delivered.ok()) {
    status.last_error = delivered.error().ToString();
    (void)state.SaveStatus(status);
    return std::move(delivered).error();
  }
  status.last_error.clear();
  status.last_report_at = report->collected_at;
  status.last_report_id = report->report_id;
  CG_RETURN_IF_ERROR(state.SaveStatus(status));
  return OkStatus();
}

std::chrono::milliseconds Jittered(std::chrono::seconds interval, double jitter,
                                   std::mt19937_64& rng) {
  std::uniform_real_distribution<double> dist(1.0 - jitter, 1.0 + jitter);
  return std::chrono::milliseconds(
      static_cast<int64_t>(static_cast<double>(interval.count()) * 1000.0 * dist(rng)));
}

}  // namespace

int Run(const RunOptions& options, platform::Platform& platform) {
  Inbox inbox;
  // Made before any thread starts (on Linux the stop signals are blocked in every thread and
  // taken by the source's own); destroyed after them, before the inbox it reports to.
  auto stop_source = os::StopSource::Create();
  if (!stop_source.ok()) {
    spdlog::error("{}", stop_source.error().ToString());
    return 2;
  }
  (*stop_source)->Start([&inbox](const std::string& why) {
    spdlog::info("{} received, stopping", why);
    inbox.RequestStop();
  });

  StateDir state(options.state_dir);
  // The identity (enrollment record, key, certificate) cannot be rebuilt here. Without it the
  // service cannot report, so it says why in its log and tries again, rather than exiting into
  // a restart loop (systemd's or the SCM's); --once fails at once. A token file waiting beside
  // the configuration is used first, and again with back-off while the SOC cannot be reached.
  std::optional<Enrollment> enrolled;
  std::mt19937_64 enroll_rng(std::random_device{}());
  int token_failures = 0;
  while (true) {
    const std::string token_file =
        options.config ? TokenFilePath(*options.config, options.config_file) : std::string();
    if (options.config && FileExists(token_file)) {
      const Status s =
          EnrollFromTokenFile(*options.config, options.config_file, options.state_dir, platform,
                              [&inbox](std::chrono::seconds wait) { inbox.SleepFor(wait); });
      if (!s.ok() && options.once) {
        spdlog::error("{}", s.error().ToString());
        return 2;
      }
      if (!s.ok() && FileExists(token_file)) {  // may pass: SOC unreachable, rate-limited
        const auto wait = EnrollRetryDelay(
            ++token_failures, std::uniform_real_distribution<double>(0.0, 1.0)(enroll_rng));
        spdlog::error("{}; trying again in {} s", s.error().ToString(),
                      std::chrono::duration_cast<std::chrono::seconds>(wait).count());
        if (inbox.SleepFor(wait)) {
          return 0;  // stopped
        }
        continue;
      }
      if (!s.ok()) {  // refused for good: the token is deleted; wait for a new one below
        spdlog::error("{}", s.error().ToString());
      }
      token_failures = 0;
    }
    auto enrollment = state.LoadEnrollment();
    std::string problem;
    if (!enrollment.ok()) {
      problem = enrollment.error().ToString();
    } else if (!enrollment->has_value()) {
      problem =
          "not enrolled: run `cg-agent enroll --server HOST:PORT --token-file FILE --ca "
          "CA.pem --state-dir " +
          options.state_dir + "` first, or drop the token in " + DefaultEnrollTokenFile();
    } else {
      enrolled = **enrollment;
      break;
    }
    if (options.once) {
      spdlog::error("{}", problem);
      return 2;
    }
    spdlog::error("{}; trying again in {} s", problem, kIdentityRetry.count());
    if (inbox.SleepFor(kIdentityRetry)) {
      return 0;  // stopped
    }
  }
  const Enrollment& me = *enrolled;
#if CG_TEST_HOOKS
  ApplyClockOffset(platform, options.clock_offset);
#endif
  collectors::CheckRegistry registry;
  collectors::RegisterBuiltinChecks(registry, options.state_dir);

  // The policy in force: the signed layers of the last good set (verified again now).
  PolicyStore store(state, me.group);
  SharedPolicy shared;
  shared.store = &store;
  // Set while the policy floor cannot be read: reported once per distinct problem, tried again
  // at every cycle (an admin may restore the file), the built-in policy meanwhile.
  std::string floor_fault;
  auto load_store = [&] {
    std::lock_guard lock(shared.mu);
    const Status s = store.Load(platform.clock->Now());
    for (auto& event : store.TakeEvents()) {
      inbox.AddEvent(std::move(event));
    }
    if (s.ok()) {
      if (!floor_fault.empty()) {
        spdlog::info("the policy floor is readable again");
      }
      floor_fault.clear();
      return;
    }
    if (s.error().message != floor_fault) {
      floor_fault = s.error().message;
      spdlog::error("{}", floor_fault);
      inbox.AddEvent({"state_fault",
                      FormatRfc3339(platform.clock->Now()),
                      {{"file", "policy_floor.json"}, {"fatal", true}, {"reason", floor_fault}}});
    }
  };
  load_store();
  std::optional<policy::Policy> fixed_policy;
#if CG_TEST_HOOKS
  if (!options.policy_file.empty()) {
    auto loaded = policy::LoadPolicyFile(options.policy_file);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.error().ToString());
      return 2;
    }
    fixed_policy = std::move(loaded).value();
    spdlog::warn("running on the unsigned policy {} (test build): SOC policies are not fetched",
                 options.policy_file);
  }
#endif
  auto snapshot = [&]() -> std::pair<policy::Policy, std::string> {
    if (fixed_policy) {
      return {*fixed_policy, policy::PolicyHash(*fixed_policy)};
    }
    std::lock_guard lock(shared.mu);
    return {store.current(), store.hash()};
  };

  int64_t rules_checked_for = -1;  // policy version whose YARA rules were compiled and reported
  auto cycle = [&](std::vector<std::string> task_ids) {
    if (!floor_fault.empty()) {
      load_store();
    }
    {
      // A layer that expired while in force stops applying now, and the SOC hears of it.
      std::lock_guard lock(shared.mu);
      for (auto& event : store.DropExpired(platform.clock->Now())) {
        inbox.AddEvent(std::move(event));
      }
    }
    auto [policy, hash] = snapshot();
    if (policy.version != rules_checked_for) {
      rules_checked_for = policy.version;
      if (auto event =
              CheckPolicyRules(policy.Check("yara"), options.state_dir, platform.clock->Now())) {
        inbox.AddEvent(std::move(*event));
      }
    }
    CycleExtras extras{inbox.TakeEvents(), std::move(task_ids)};
    const Status s = Cycle(state, me, registry, platform, policy, hash, std::move(extras));
    if (!s.ok()) {
      spdlog::error("cycle failed: {}", s.error().ToString());
    }
    return s;
  };

  // Back-off waits of the report sender end as soon as a stop is requested.
  DeliveryOptions delivery = DefaultDeliveryOptions();
  delivery.sleep = [&inbox](std::chrono::milliseconds wait) { inbox.SleepFor(wait); };
  SetDefaultDeliveryOptions(delivery);

  if (options.once) {
    const bool sent = cycle({}).ok();
    return sent && floor_fault.empty() ? 0 : 1;
  }

  std::optional<PolicyPoller> poller;
  if (!fixed_policy) {
    poller.emplace(state, me, shared, inbox, *platform.clock);
    poller->Start();
  }
  BackgroundScan scans(platform, options.state_dir, inbox);
  std::vector<AgentTask> awaiting_scan;  // inspections with --yara, answered after the scan

  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto next_cycle = std::chrono::steady_clock::now();
  // time_point::max(): no scan scheduled (the policy has no rules, or it is not computed yet).
  constexpr auto kNoScan = std::chrono::steady_clock::time_point::max();
  auto next_scan = kNoScan;
  std::vector<std::string> answered;
  while (true) {
    // A due cycle, or news: new tasks, an applied or refused policy, a finished scan.
    Inbox::News news = inbox.Take();
    for (const auto& task : news.tasks) {
      if (!task.yara) {
        answered.push_back(task.id);
        continue;
      }
      awaiting_scan.push_back(task);
      auto [policy, hash] = snapshot();
      if (scans.Start(policy.Check("yara"), /*on_demand=*/true)) {
        spdlog::info("inspection {}: YARA scan started", task.id);
      }
    }
    if (!scans.running() && !awaiting_scan.empty()) {
      for (const auto& task : awaiting_scan) {
        answered.push_back(task.id);
      }
      awaiting_scan.clear();
    }
    const bool due = std::chrono::steady_clock::now() >= next_cycle;
    if (due || !answered.empty() || news.cycle_requested) {
      (void)cycle(std::exchange(answered, {}));  // failures are logged; the spool keeps it
      // The province's signed policy sets the pace unless --interval was given.
      const auto interval = [&] {
        const auto reporting = snapshot().first.reporting;
        if (reporting.interval_seconds && !options.interval_explicit) {
          return std::chrono::seconds(*reporting.interval_seconds);
        }
        return options.interval;
      }();
      next_cycle = std::chrono::steady_clock::now() + Jittered(interval, options.jitter, rng);
    }

    // The scheduled scan, when the policy has rules.
    auto [policy, hash] = snapshot();
    const auto now_steady = std::chrono::steady_clock::now();
    if (scans.running() || collectors::ParseYaraPolicy(policy.Check("yara"))
                               .value_or(collectors::YaraPolicy{})
                               .rules.empty()) {
      next_scan = kNoScan;  // a running scan asks for a cycle when it ends, then we plan again
    } else if (next_scan == kNoScan) {
      const SysTime now = platform.clock->Now();
      auto at = collectors::NextScheduledScan(policy.Check("yara"), scans.LastScanTime(), now,
                                              platform.clock->UtcOffset(), unit(rng));
      if (at.ok()) {
        next_scan = now_steady + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                     std::max(*at - now, SysTime::duration(0)));
        spdlog::info("next scheduled YARA scan at {}", FormatRfc3339(*at));
      }
    }
    if (now_steady >= next_scan && scans.Start(policy.Check("yara"), false)) {
      next_scan = kNoScan;  // computed again from the new outcome once it is stored
    }
    const auto wake_at = std::min(next_cycle, next_scan);
    if (!inbox.WaitUntil(wake_at)) {
      break;
    }
  }
  spdlog::info("stopping");
  if (poller) {
    poller->Stop();
  }
  return 0;
}

}  // namespace cg::agent

// Enrollment, report collection, spool delivery and the service loop of cg-agent.
#include "agent/agent.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>
#include <random>

#include "agent/delivery.h"
#include "agent/policy_store.h"
#include "common/files.h"
#include "common/ids.h"
#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;

// Turns an HTTP error answer of the SOC into one clear line.
Error HttpError(const protocol::HttpResponse& r, std::string_view what) {
  std::string message;
  json j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    message = j["error"].value("message", "");
  }
  if (message.empty()) {
    message = r.body.substr(0, 200);
  }
  const ErrorCode code = r.status == 401   ? ErrorCode::kUnauthenticated
                         : r.status == 403 ? ErrorCode::kPermissionDenied
                         : r.status >= 500 ? ErrorCode::kUnavailable
                                           : ErrorCode::kInvalidArgument;
  return MakeError(code, std::string(what) + ": SOC answered " + std::to_string(r.status) +
                             (message.empty() ? "" : ": " + message));
}

Result<std::unique_ptr<protocol::HttpsClient>> Connect(const std::string& server,
                                                       const std::string& ca_file,
                                                       const std::string& cert_file,
                                                       const std::string& key_file,
                                                       std::chrono::seconds timeout) {
  CG_ASSIGN_OR_RETURN(auto host_port, protocol::ParseHostPort(server));
  protocol::ClientOptions o;
  o.host = host_port.first;
  o.port = host_port.second;
  o.ca_file = ca_file;
  o.cert_file = cert_file;
  o.key_file = key_file;
  o.timeout = timeout;
  return protocol::HttpsClient::Create(std::move(o));
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

  CG_ASSIGN_OR_RETURN(auto key, protocol::GenerateP256Key());
  CG_ASSIGN_OR_RETURN(auto csr, protocol::MakeCsrPem(*key, identity.hostname));
  CG_ASSIGN_OR_RETURN(auto client,
                      Connect(options.server, options.ca_file, "", "", options.timeout));
  const json body = {{"token", options.token},
                     {"csr_pem", csr},
                     {"hostname", identity.hostname},
                     {"machine_id", identity.machine_id}};
  CG_ASSIGN_OR_RETURN(auto response, client->Request("POST", "/v1/enroll", body.dump()));
  if (response.status != 200) {
    return HttpError(response, "enrollment refused");
  }
  json answer = json::parse(response.body, nullptr, false);
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
  CG_RETURN_IF_ERROR(WriteFileAtomic(state.KeyPath(), key_pem, 0600));
  CG_RETURN_IF_ERROR(WriteFileAtomic(state.CertPath(), cert, 0644));
  CG_RETURN_IF_ERROR(WriteFileAtomic(state.CaPath(), ca_pem, 0644));
  if (!policy_key.empty()) {
    CG_RETURN_IF_ERROR(PolicyStore(state, e.group).InstallTrustedKeys({policy_key}));
  }
  CG_RETURN_IF_ERROR(state.SaveEnrollment(e));
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

Result<int> DeliverSpool(const StateDir& state, const Enrollment& enrollment,
                         std::chrono::seconds timeout) {
  CG_ASSIGN_OR_RETURN(auto ids, state.SpoolList());
  if (ids.empty()) {
    return 0;
  }
  CG_ASSIGN_OR_RETURN(auto client, Connect(enrollment.server, state.CaPath(), state.CertPath(),
                                           state.KeyPath(), timeout));
  int delivered = 0;
  for (const auto& id : ids) {
    CG_ASSIGN_OR_RETURN(auto body, state.SpoolGet(id));
    CG_ASSIGN_OR_RETURN(auto response, client->Request("POST", "/v1/reports", body));
    if (response.status != 200) {
      return HttpError(response, "report " + id);
    }
    json answer = json::parse(response.body, nullptr, false);
    if (answer.is_discarded() || answer.value("status", "") != "committed" ||
        answer.value("report_id", "") != id) {
      return MakeError(ErrorCode::kParse, "report " + id + ": SOC did not confirm the commit");
    }
    CG_RETURN_IF_ERROR(state.SpoolRemove(id));
    ++delivered;
    spdlog::info("report {} committed by the SOC{}", id,
                 answer.value("duplicate", false) ? " (already stored)" : "");
  }
  return delivered;
}

namespace {

// One cycle: collect, spool, deliver. Updates status.json either way.
Status Cycle(const StateDir& state, const Enrollment& enrollment,
             const collectors::CheckRegistry& registry, platform::Platform& platform,
             const policy::Policy& policy) {
  CG_ASSIGN_OR_RETURN(auto status, state.LoadStatus());
  status.last_attempt_at = FormatRfc3339(platform.clock->Now());
  status.policy_version = policy.version;
  auto report = CollectReport(registry, platform, policy, enrollment.device_id);
  if (!report.ok()) {
    status.last_error = report.error().ToString();
    (void)state.SaveStatus(status);
    return std::move(report).error();
  }
  spdlog::info("posture collected: {} checks, overall {}", report->checks.size(),
               protocol::ToString(protocol::OverallStatus(report->checks)));
  // Spool, then send even when spooling failed (a full disk): sending frees space.
  const Status spooled = SpoolReport(state, *report, platform.clock->Now());
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

int Run(const RunOptions& options) {
  // SIGTERM/SIGINT are taken synchronously (sigtimedwait) between cycles: no handler runs
  // in the middle of a write, and a stop request ends the wait at once.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  StateDir state(options.state_dir);
  auto enrollment = state.LoadEnrollment();
  if (!enrollment.ok()) {
    spdlog::error("{}", enrollment.error().ToString());
    return 2;
  }
  if (!enrollment->has_value()) {
    spdlog::error(
        "not enrolled: run `cg-agent enroll --server HOST:PORT --token TOKEN --ca CA.pem"
        " --state-dir {}` first",
        options.state_dir);
    return 2;
  }
  policy::Policy policy = policy::DefaultPolicy();
  if (!options.policy_file.empty()) {
    auto loaded = policy::LoadPolicyFile(options.policy_file);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.error().ToString());
      return 2;
    }
    policy = std::move(loaded).value();
  }
  auto platform = platform::CreateNativePlatform("/");
  if (!platform.ok()) {
    spdlog::error("{}", platform.error().ToString());
    return 2;
  }
  collectors::CheckRegistry registry;
  collectors::RegisterBuiltinChecks(registry, options.state_dir);

  std::mt19937_64 rng(std::random_device{}());
  for (;;) {
    const Status s = Cycle(state, **enrollment, registry, *platform, policy);
    if (!s.ok()) {
      spdlog::error("cycle failed: {}", s.error().ToString());
    }
    if (options.once) {
      return s.ok() ? 0 : 1;
    }
    const auto wait = Jittered(options.interval, options.jitter, rng);
    spdlog::debug("next cycle in {} s", wait.count() / 1000);
    timespec ts{static_cast<time_t>(wait.count() / 1000),
                static_cast<long>((wait.count() % 1000) * 1000000)};
    siginfo_t info{};
    const int sig = sigtimedwait(&stop_signals, &info, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("signal {} received, stopping", sig);
      return 0;
    }
  }
}

}  // namespace cg::agent

// Report ingest (single and batch) and the long-poll (agent port).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "protocol/json.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/metrics.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

namespace {

// The answer to one stored (or refused) report: what the agent needs to drop it from its spool,
// or why not. Logged here because the deferred path has no request any more.
HttpResponse StoredAnswer(const std::string& report_id, const std::string& peer_address,
                          const Result<bool>& stored) {
  if (stored.ok()) {
    (*stored ? Metrics().reports_stored : Metrics().reports_duplicate).Inc();
    return HttpResponse::Json(
        200, {{"status", "committed"}, {"report_id", report_id}, {"duplicate", !*stored}});
  }
  switch (stored.error().code) {
    case ErrorCode::kNotFound:
      Metrics().Refused(RefusalReason::kUnknownDevice);
      spdlog::warn("report {} from {} refused: unknown device", report_id, peer_address);
      return Fail(403, "forbidden", "unknown device");
    case ErrorCode::kConflict:
      Metrics().Refused(RefusalReason::kConflict);
      return Fail(409, "conflict", stored.error().message);
    case ErrorCode::kInvalidArgument:
      Metrics().Refused(RefusalReason::kInvalidReport);
      return Fail(400, "invalid_report", stored.error().message);
    default:
      Metrics().Refused(RefusalReason::kStorage);
      return StorageFailure("storing report " + report_id, stored.error());
  }
}

// What an analyst tailing the SOC's log must see when a report arrives: a noncompliant device
// and every YARA match (the exported events say the same to the SIEM, once per change).
void LogFindings(const protocol::Report& report, const std::string& peer_address) {
  if (protocol::OverallStatus(report.checks) != protocol::DeviceStatus::kNoncompliant) {
    return;
  }
  std::string failing;
  for (const auto& check : report.checks) {
    if (check.status == protocol::CheckStatus::kFail) {
      failing += (failing.empty() ? "" : ", ") + check.id;
    }
    if (check.id != "yara" || check.status != protocol::CheckStatus::kFail) {
      continue;
    }
    const auto matches = check.facts.find("matches");
    if (matches == check.facts.end() || !matches->is_array()) {
      continue;
    }
    for (const auto& m : *matches) {
      if (!m.is_object()) {
        continue;
      }
      spdlog::warn(
          "security event yara_match: device {} ({}, {}): rule {}:{} matched {} "
          "(sha256 {})",
          report.device_id, EscapeControlCharacters(report.hostname), peer_address,
          EscapeControlCharacters(m.value("namespace", "")),
          EscapeControlCharacters(m.value("rule", "")),
          EscapeControlCharacters(m.value("path", "")),
          EscapeControlCharacters(m.value("sha256", "")));
    }
  }
  spdlog::info("report {} from device {} ({}): noncompliant, failing: {}", report.report_id,
               report.device_id, EscapeControlCharacters(report.hostname), failing);
}

// 503 + Retry-After: the ingest queue is full. The agent keeps the report and comes back.
HttpResponse Overloaded() {
  Metrics().Refused(RefusalReason::kOverloaded);
  HttpResponse response =
      Fail(503, "overloaded", "the SOC is busy storing reports; retry after the delay given");
  response.headers.emplace_back("Retry-After", std::to_string(kOverloadRetryAfterSeconds));
  return response;
}

// One entry of a batch answer.
json BatchEntry(const std::string& report_id, const HttpResponse& answer) {
  json body = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (answer.status == 200 && body.is_object()) {
    return {{"report_id", report_id},
            {"status", "committed"},
            {"duplicate", body.value("duplicate", false)}};
  }
  json error = body.is_object() && body.contains("error") ? body["error"] : json::object();
  // 5xx: the SOC's trouble, worth a retry; 4xx: this report will never be accepted.
  return {{"report_id", report_id},
          {"status", answer.status >= 500 ? "error" : "rejected"},
          {"http_status", answer.status},
          {"error", std::move(error)}};
}

}  // namespace

std::variant<protocol::Report, HttpResponse> SocService::AdmitReport(const json& body,
                                                                     const Call& call) {
  const HttpRequest& request = call.request;
  const protocol::PeerCertificate& peer = *request.peer_cert;  // Access::kDevice
  auto report = protocol::ReportFromJson(body);
  if (!report.ok()) {
    Metrics().Refused(RefusalReason::kInvalidReport);
    return Fail(400, "invalid_report", report.error().message);
  }
  // The device and its certificate were checked for the whole request (DispatchAgent); what is
  // left is about this report, and final: it will never be accepted as it is.
  if (report->device_id != peer.subject_cn) {
    spdlog::warn("report {} from {} (certificate CN {}) refused: another device's report",
                 report->report_id, request.peer_address, peer.subject_cn);
    Metrics().Refused(RefusalReason::kWrongDevice);
    return Fail(422, "wrong_device",
                "the report's device_id is not the client certificate's device");
  }
  // Names and identifiers never hold control characters: such a report is refused. Free text
  // (summaries, facts, OS strings, event details) may quote what the machine holds, so it is
  // kept with its control characters escaped, and cgctl escapes again on output.
  std::vector<std::pair<std::string, const std::string*>> names = {
      {"hostname", &report->hostname},
      {"agent_version", &report->agent_version},
      {"policy_hash", &report->policy_hash}};
  for (const auto& check : report->checks) {
    names.emplace_back("check id", &check.id);
  }
  for (const auto& event : report->events) {
    names.emplace_back("event type", &event.type);
  }
  for (const auto& [what, value] : names) {
    if (HasControlCharacters(*value)) {
      spdlog::warn("report {} from {} (device {}) refused: control characters in its {}",
                   report->report_id, request.peer_address, peer.subject_cn, what);
      Metrics().Refused(RefusalReason::kInvalidReport);
      return Fail(400, "invalid_report", "the report's " + what + " contains control characters");
    }
  }
  size_t escaped = 0;
  for (std::string* text :
       {&report->os.name, &report->os.version, &report->os.kernel, &report->os.arch}) {
    if (HasControlCharacters(*text)) {
      *text = EscapeControlCharacters(*text);
      ++escaped;
    }
  }
  for (auto& check : report->checks) {
    if (HasControlCharacters(check.summary)) {
      check.summary = EscapeControlCharacters(check.summary);
      ++escaped;
    }
    escaped += EscapeControlCharactersInJson(check.facts);
    escaped += EscapeControlCharactersInJson(check.expected);
    escaped += EscapeControlCharactersInJson(check.observed);
    escaped += EscapeControlCharactersInJson(check.remediation);
  }
  for (auto& event : report->events) {
    escaped += EscapeControlCharactersInJson(event.details);
  }
  if (escaped > 0) {
    spdlog::warn("report {} from {} (device {}): control characters escaped in {} field(s)",
                 report->report_id, request.peer_address, peer.subject_cn, escaped);
  }
  // The agent's clock is evidence: a report dated ahead of ours is stored (ordered by arrival)
  // and the device is flagged.
  if (auto collected = ParseRfc3339(report->collected_at);
      collected.ok() && *collected > call.now + config_.clock_skew_tolerance) {
    spdlog::warn(
        "report {} from {} (device {}) is dated {}, {} s ahead of the SOC's clock: the device's "
        "clock is wrong",
        report->report_id, request.peer_address, peer.subject_cn, report->collected_at,
        std::chrono::duration_cast<std::chrono::seconds>(*collected - call.now).count());
  }
  LogFindings(*report, request.peer_address);
  return std::move(report).value();
}

std::string SocService::JudgeReportPolicy(const protocol::Report& report, Call& call) {
  if (hub_ == nullptr || !call.device) {
    return "";
  }
  const Device& device = *call.device;
  auto same = [&](int64_t version, std::string_view hash) {
    return !hash.empty() && report.policy_version == version && report.policy_hash == hash;
  };
  // What the device should run now, or a little later: an agent whose clock is ahead drops an
  // expiring layer first.
  static const std::string kBuiltinHash = policy::PolicyHash(policy::DefaultPolicy());
  std::string expected_text = "the built-in policy";
  bool expected = false;
  bool part_of_expected = false;
  for (const SysTime at : {call.now, call.now + kPolicyClockTolerance}) {
    auto e = hub_->ExpectedFor(device.group, at);
    if (!e) {
      expected = expected || same(0, kBuiltinHash);
      continue;
    }
    expected = expected || same(e->version, e->hash);
    if (at == call.now) {
      expected_text = "version " + std::to_string(e->version) + " hash " + e->hash.substr(0, 16);
    }
    // Some of the expected layers only: the agent refused one (it says why in its events), lost
    // it with a damaged cache, or has not applied a new one yet. Each of those is a policy the
    // SOC serves; `policy status` lists the device as lagging.
    const size_t n = e->layers.size();
    for (uint32_t mask = 1; n > 1 && n <= 6 && mask + 1 < (1u << n) && !part_of_expected; ++mask) {
      std::vector<policy::Layer> subset;
      for (size_t i = 0; i < n; ++i) {
        if ((mask & (1u << i)) != 0) {
          subset.push_back({e->layers[i].target, e->layers[i].version, e->layers[i].hash, {}});
        }
      }
      part_of_expected = same(policy::LayerSetVersion(subset), policy::LayerSetHash(subset));
    }
  }
  if (expected) {
    return kPolicyExpected;
  }
  // Still accepted while a roll-out reaches the device: the set it last confirmed, the set the
  // SOC last handed it, part of the expected set, and the agent's built-in policy (what it
  // falls back to when its cache is lost or a policy expires; it is the directive's baseline,
  // never a relaxation).
  if (same(device.verified_policy_version, device.verified_policy_hash) ||
      same(device.served_policy_version, device.served_policy_hash) || part_of_expected ||
      same(0, kBuiltinHash)) {
    return kPolicyRollout;
  }
  const std::string what = "report " + report.report_id + " claims policy version " +
                           std::to_string(report.policy_version) + " hash " +
                           Clip(report.policy_hash, 16) + ", which the SOC never served to it (" +
                           expected_text + " expected)";
  spdlog::warn("security event policy_unverified: device {} ({}): {}", device.device_id,
               call.request.peer_address, what);
  AuditEntry entry;
  entry.time = call.now;
  entry.actor = "device " + device.device_id;
  entry.role = "agent";
  entry.method = call.request.method;
  entry.path = "policy_unverified";
  entry.target = Clip(what, 400);
  entry.result = 200;
  entry.source = call.request.peer_address;
  if (auto s = storage_.AppendAudit(entry); !s.ok()) {
    spdlog::error("audit of an unverified policy report failed: {}", s.error().ToString());
  }
  return kPolicyUnverified;
}

HttpResponse SocService::SubmitReport(Call& call) {
  const HttpRequest& request = call.request;
  if (request.body.size() > config_.max_report_bytes) {
    Metrics().Refused(RefusalReason::kTooLarge);
    return Fail(413, "too_large",
                "report of " + std::to_string(request.body.size()) +
                    " bytes exceeds the limit of " + std::to_string(config_.max_report_bytes));
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    Metrics().Refused(RefusalReason::kBadJson);
    return Fail(400, "bad_json", body.error().message);
  }
  auto admitted = AdmitReport(*body, call);
  if (auto* refused = std::get_if<HttpResponse>(&admitted)) {
    return std::move(*refused);
  }
  protocol::Report& report = std::get<protocol::Report>(admitted);
  std::string policy_state = JudgeReportPolicy(report, call);
  // What is stored is the report as validated, re-serialised: fields the parser does not know
  // are not kept.
  std::string body_json = DumpJson(protocol::ToJson(report));
  const std::string report_id = report.report_id;
  if (writer_ == nullptr) {
    return StoredAnswer(report_id, request.peer_address,
                        storage_.StoreReport(report, body_json, call.now, policy_state));
  }
  std::vector<IngestItem> items;
  items.push_back(IngestItem{
      std::move(report), std::move(body_json), call.now,
      [respond = *call.respond, report_id, peer = request.peer_address](Result<bool> stored) {
        respond(StoredAnswer(report_id, peer, stored));
      },
      std::move(policy_state)});
  if (!writer_->TrySubmit(std::move(items))) {
    return Overloaded();
  }
  call.deferred = true;
  return HttpResponse{};
}

HttpResponse SocService::SubmitReportBatch(Call& call) {
  const HttpRequest& request = call.request;
  if (request.body.size() > config_.max_report_bytes) {
    Metrics().Refused(RefusalReason::kTooLarge);
    return Fail(413, "too_large",
                "batch of " + std::to_string(request.body.size()) + " bytes exceeds the limit of " +
                    std::to_string(config_.max_report_bytes));
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    Metrics().Refused(RefusalReason::kBadJson);
    return Fail(400, "bad_json", body.error().message);
  }
  const auto reports = body->find("reports");
  if (reports == body->end() || !reports->is_array() || reports->empty() ||
      reports->size() > kMaxBatchReports) {
    return InvalidRequest("'reports' must be an array of 1 to " + std::to_string(kMaxBatchReports) +
                          " reports");
  }
  // Every entry answered in order; the admitted ones are stored together.
  struct Pending {
    json results = json::array();
    std::vector<size_t> slots;  // result index of each queued report
    std::mutex mu;
    size_t remaining = 0;
  };
  auto pending = std::make_shared<Pending>();
  std::vector<protocol::Report> admitted;
  std::vector<std::string> bodies;
  std::vector<std::string> policy_states;
  for (const auto& entry : *reports) {
    std::string id =
        entry.is_object() && entry.contains("report_id") && entry["report_id"].is_string()
            ? Clip(entry["report_id"].get<std::string>(), 64)
            : std::string();
    auto verdict = AdmitReport(entry, call);
    if (auto* refused = std::get_if<HttpResponse>(&verdict)) {
      pending->results.push_back(BatchEntry(id, *refused));
      continue;
    }
    pending->results.push_back(nullptr);
    pending->slots.push_back(pending->results.size() - 1);
    admitted.push_back(std::move(std::get<protocol::Report>(verdict)));
    bodies.push_back(DumpJson(protocol::ToJson(admitted.back())));
    policy_states.push_back(JudgeReportPolicy(admitted.back(), call));
  }
  if (admitted.empty()) {
    return HttpResponse::Json(200, {{"results", std::move(pending->results)}});
  }
  if (writer_ == nullptr) {
    std::vector<ReportToStore> rows;
    for (size_t i = 0; i < admitted.size(); ++i) {
      rows.push_back(ReportToStore{&admitted[i], bodies[i], call.now, policy_states[i]});
    }
    auto stored = storage_.StoreReports(rows);
    for (size_t i = 0; i < admitted.size(); ++i) {
      pending->results[pending->slots[i]] =
          BatchEntry(admitted[i].report_id,
                     StoredAnswer(admitted[i].report_id, request.peer_address, stored[i]));
    }
    return HttpResponse::Json(200, {{"results", std::move(pending->results)}});
  }
  pending->remaining = admitted.size();
  std::vector<IngestItem> items;
  for (size_t i = 0; i < admitted.size(); ++i) {
    const std::string report_id = admitted[i].report_id;
    items.push_back(IngestItem{
        std::move(admitted[i]), std::move(bodies[i]), call.now,
        [pending, slot = pending->slots[i], respond = *call.respond, report_id,
         peer = request.peer_address](Result<bool> stored) {
          std::lock_guard lock(pending->mu);
          pending->results[slot] = BatchEntry(report_id, StoredAnswer(report_id, peer, stored));
          if (--pending->remaining == 0) {
            respond(HttpResponse::Json(200, {{"results", std::move(pending->results)}}));
          }
        },
        std::move(policy_states[i])});
  }
  if (!writer_->TrySubmit(std::move(items))) {
    return Overloaded();
  }
  call.deferred = true;
  return HttpResponse{};
}

// The long-poll: answered now when there is news, else held by the hub (the Responder is taken
// and call.deferred set; the returned value is then ignored).
HttpResponse SocService::Poll(Call& call) {
  const protocol::PeerCertificate& peer = *call.request.peer_cert;  // Access::kDevice
  if (hub_ == nullptr) {
    return NoHub();
  }
  PollRequest poll;
  poll.device_id = peer.subject_cn;
  if (auto version = NonEmptyQuery(call.request, "policy_version")) {
    const auto [end, ec] =
        std::from_chars(version->data(), version->data() + version->size(), poll.policy_version);
    if (ec != std::errc() || end != version->data() + version->size() || poll.policy_version < 0) {
      return InvalidRequest("policy_version must be a non-negative integer");
    }
  }
  if (auto refused = NonEmptyQuery(call.request, "refused")) {
    if (refused->size() > 128 || !IsPrintable(*refused)) {
      return InvalidRequest("refused must be a policy hash");
    }
    poll.refused_hash = *refused;
  }
  if (auto hash = NonEmptyQuery(call.request, "policy_hash")) {
    if (hash->size() > 128 || !IsPrintable(*hash)) {
      return InvalidRequest("policy_hash must be a policy hash");
    }
    poll.policy_hash = *hash;
  }
  // The group is the SOC's record, not anything the agent says.
  poll.group = call.device->group;  // Access::kDevice: live, and this is its certificate
  call.deferred = true;
  hub_->Poll(std::move(poll), std::move(*call.respond));
  return HttpResponse{};
}

}  // namespace cg::soc

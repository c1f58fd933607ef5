// Which events a change produces, and their stored JSON form.
#include "soc/export_event.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/ids.h"
#include "soc/text_width.h"

namespace cg::soc {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::DeviceStatus;

namespace {

constexpr const char* kYaraCheck = "yara";

std::string Text(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// What every event about a device starts with: a new id, the time, and the device.
ExportEvent BaseEvent(std::string_view device_id, std::string_view hostname, std::string_view group,
                      SysTime time) {
  ExportEvent e;
  e.id = NewUuid();
  e.time = time;
  e.device_id = device_id;
  e.hostname = hostname;
  e.group = group;
  return e;
}

// An event about a report: the device as it was known before it, plus what the report says.
ExportEvent Base(const DeviceBefore& before, const protocol::Report& report, SysTime time) {
  ExportEvent e =
      BaseEvent(report.device_id, before.hostname.empty() ? report.hostname : before.hostname,
                before.group, time);
  e.os = report.os;
  e.agent_version = report.agent_version;
  e.report_id = report.report_id;
  return e;
}

bool Failing(CheckStatus s) { return s == CheckStatus::kFail || s == CheckStatus::kError; }

// The check's evidence as the report gives it, without the bulky facts of a scan.
json CheckEvidence(const protocol::CheckResult& check) {
  json evidence = {{"summary", check.summary}, {"check_status", protocol::ToString(check.status)}};
  if (!check.expected.is_null()) {
    evidence["expected"] = check.expected;
  }
  if (!check.observed.is_null()) {
    evidence["observed"] = check.observed;
  }
  return evidence;
}

}  // namespace

std::vector<std::string> YaraMatchKeys(const json& facts) {
  std::vector<std::string> keys;
  auto matches = facts.find("matches");
  if (matches == facts.end() || !matches->is_array()) {
    return keys;
  }
  for (const auto& m : *matches) {
    if (m.is_object()) {
      keys.push_back(Text(m, "namespace") + ":" + Text(m, "rule") + "|" + Text(m, "path") + "|" +
                     Text(m, "sha256"));
    }
  }
  return keys;
}

std::vector<std::string> YaraMatchKeys(const protocol::Report& report) {
  for (const auto& check : report.checks) {
    if (check.id == kYaraCheck && check.status == CheckStatus::kFail) {
      return YaraMatchKeys(check.facts);
    }
  }
  return {};
}

std::vector<ExportEvent> DeriveReportEvents(const DeviceBefore& before,
                                            const protocol::Report& report,
                                            std::string_view policy_state, SysTime received_at,
                                            const EventOptions& options) {
  std::vector<ExportEvent> events;
  const DeviceStatus now_status = protocol::OverallStatus(report.checks);
  std::vector<std::string> failing;
  for (const auto& check : report.checks) {
    if (Failing(check.status)) {
      failing.push_back(check.id);
    }
  }

  // The overall status.
  if (now_status != before.status) {
    ExportEvent e = Base(before, report, received_at);
    e.kind = "state";
    e.category = "configuration";
    e.type = "change";
    e.previous_status = protocol::ToString(before.status);
    e.status = protocol::ToString(now_status);
    e.evidence = {{"failing_checks", failing}};
    switch (now_status) {
      case DeviceStatus::kNoncompliant:
        e.action = export_action::kDeviceNoncompliant;
        e.outcome = "failure";
        e.severity = protocol::Severity::kHigh;
        e.evaluation = "failed";
        break;
      case DeviceStatus::kCompliant:
        e.action = export_action::kDeviceCompliant;
        e.outcome = "success";
        e.severity = protocol::Severity::kInfo;
        e.evaluation = "passed";
        break;
      default:
        e.action = export_action::kDeviceError;
        e.outcome = "unknown";
        e.severity = protocol::Severity::kMedium;
        break;
    }
    e.message = "device " + e.hostname + " is " + e.status + " (was " + e.previous_status + ")" +
                (failing.empty() ? "" : "; failing: ");
    for (size_t i = 0; i < failing.size(); ++i) {
      e.message += (i ? ", " : "") + failing[i];
    }
    events.push_back(std::move(e));
  }

  // Each check that started or stopped failing.
  for (const auto& check : report.checks) {
    auto prev = std::find_if(before.checks.begin(), before.checks.end(),
                             [&](const auto& p) { return p.first == check.id; });
    const bool was_failing = prev != before.checks.end() && Failing(prev->second);
    const bool is_failing = Failing(check.status);
    if (was_failing == is_failing &&
        (prev == before.checks.end() || prev->second == check.status)) {
      continue;
    }
    if (!was_failing && !is_failing) {
      continue;  // pass <-> not_applicable, or first seen passing: nothing a SIEM wants
    }
    ExportEvent e = Base(before, report, received_at);
    e.kind = "state";
    e.category = "configuration";
    e.type = "change";
    e.rule_id = check.id;
    e.rule_name = check.id;
    e.ruleset = "counterguard";
    e.severity = check.severity;
    e.previous_status = prev == before.checks.end() ? "" : protocol::ToString(prev->second);
    e.status = protocol::ToString(check.status);
    if (is_failing) {
      e.action = export_action::kCheckFailed;
      e.outcome = check.status == CheckStatus::kFail ? "failure" : "unknown";
      e.evaluation = check.status == CheckStatus::kFail ? "failed" : "";
    } else {
      e.action = export_action::kCheckPassed;
      e.outcome = "success";
      e.evaluation = "passed";
    }
    e.evidence = CheckEvidence(check);
    const std::string_view summary = Utf8Prefix(check.summary, 300);
    e.message = "check " + check.id + " on " + e.hostname + ": " + e.status + " - " +
                std::string(summary) + (summary.size() < check.summary.size() ? "…" : "");
    events.push_back(std::move(e));
  }

  // New YARA matches (a file that keeps matching alerts once).
  for (const auto& check : report.checks) {
    if (check.id != kYaraCheck || check.status != CheckStatus::kFail) {
      continue;
    }
    const std::set<std::string> known(before.yara_match_keys.begin(), before.yara_match_keys.end());
    const auto keys = YaraMatchKeys(check.facts);
    const json& matches = check.facts["matches"];
    for (size_t i = 0; i < keys.size(); ++i) {
      if (known.count(keys[i]) != 0) {
        continue;
      }
      const json& m = matches[i];
      ExportEvent e = Base(before, report, received_at);
      e.action = export_action::kYaraMatch;
      e.kind = "alert";
      e.category = "malware";
      e.type = "info";
      e.outcome = "unknown";
      auto sev = protocol::ParseSeverity(Text(m, "severity"));
      e.severity = sev.ok() ? *sev : check.severity;
      e.rule_id = Text(m, "namespace") + ":" + Text(m, "rule");
      e.rule_name = Text(m, "rule");
      e.ruleset = Text(m, "namespace");
      e.evaluation = "failed";
      e.file_path = Text(m, "path");
      e.file_sha256 = Text(m, "sha256");
      if (auto size = m.find("size"); size != m.end() && size->is_number_integer()) {
        e.file_size = size->get<int64_t>();
      }
      e.evidence = {{"match", m}};
      e.message = "YARA rule " + e.rule_name + " matched " + e.file_path + " on " + e.hostname;
      events.push_back(std::move(e));
    }
  }

  // Enforcement: changes the agent made (not planned ones).
  for (const auto& check : report.checks) {
    const json& r = check.remediation;
    if (!r.is_object() || r.value("dry_run", true) || Text(r, "result") != "applied") {
      continue;
    }
    auto changes = r.find("changes");
    if (changes == r.end() || !changes->is_array() || changes->empty()) {
      continue;
    }
    ExportEvent e = Base(before, report, received_at);
    e.action = export_action::kEnforcementChange;
    e.kind = "state";
    e.category = "configuration";
    e.type = "change";
    e.outcome = "success";
    e.severity = protocol::Severity::kLow;
    e.rule_id = check.id;
    e.rule_name = check.id;
    e.ruleset = "counterguard";
    e.evidence = {{"changes", *changes}};
    e.message = "enforcement changed " + std::to_string(changes->size()) + " setting(s) of " +
                check.id + " on " + e.hostname;
    events.push_back(std::move(e));
  }

  // Policies the agent refused.
  for (const auto& ev : report.events) {
    if (ev.type != "policy_refused") {
      continue;
    }
    ExportEvent e = Base(before, report, received_at);
    e.action = export_action::kPolicyRefused;
    e.kind = "alert";
    e.category = "configuration";
    e.type = "change";  // ECS allows access|change|creation|deletion|info for configuration
    e.outcome = "failure";
    e.severity = protocol::Severity::kMedium;
    e.evidence = {{"agent_event", {{"type", ev.type}, {"time", ev.time}, {"details", ev.details}}}};
    e.message = "the agent on " + e.hostname + " refused a policy: " +
                (ev.details.is_object() ? Text(ev.details, "message") : std::string());
    events.push_back(std::move(e));
  }

  // A policy the SOC never served (once, when it starts).
  if (policy_state == "unverified" && before.policy_state != "unverified") {
    ExportEvent e = Base(before, report, received_at);
    e.action = export_action::kPolicyUnverified;
    e.kind = "alert";
    e.category = "configuration";
    e.type = "info";
    e.outcome = "failure";
    e.severity = protocol::Severity::kHigh;
    e.evidence = {{"policy_version", report.policy_version}, {"policy_hash", report.policy_hash}};
    e.message = "device " + e.hostname + " reports policy version " +
                std::to_string(report.policy_version) + ", which the SOC never served to it";
    events.push_back(std::move(e));
  }

  // The device's clock went wrong (once, when it starts).
  if (auto collected = ParseRfc3339(report.collected_at); collected.ok()) {
    const auto skew = std::chrono::duration_cast<std::chrono::seconds>(*collected - received_at);
    if (skew > options.clock_skew_tolerance && before.clock_skew <= options.clock_skew_tolerance) {
      ExportEvent e = Base(before, report, received_at);
      e.action = export_action::kClockSkew;
      e.kind = "alert";
      e.category = "host";
      e.type = "change";
      e.outcome = "unknown";
      e.severity = protocol::Severity::kMedium;
      e.evidence = {{"clock_skew_seconds", skew.count()},
                    {"tolerance_seconds", options.clock_skew_tolerance.count()},
                    {"collected_at", report.collected_at},
                    {"received_at", FormatRfc3339(received_at)}};
      e.message = "the clock of " + e.hostname + " is " + std::to_string(skew.count()) +
                  " s ahead of the SOC's";
      events.push_back(std::move(e));
    }
  }
  return events;
}

ExportEvent RevokedEvent(std::string_view device_id, std::string_view hostname,
                         std::string_view group, SysTime now) {
  ExportEvent e = BaseEvent(device_id, hostname, group, now);
  e.action = export_action::kDeviceRevoked;
  e.kind = "state";
  e.category = "host";
  e.type = "change";
  e.outcome = "success";
  e.severity = protocol::Severity::kHigh;
  e.status = "revoked";
  e.message = "device " + std::string(hostname) + " was revoked: its certificate is refused";
  return e;
}

ExportEvent StaleEvent(std::string_view device_id, std::string_view hostname,
                       std::string_view group, std::optional<SysTime> last_seen,
                       std::string_view status, SysTime now) {
  ExportEvent e = BaseEvent(device_id, hostname, group, now);
  e.action = export_action::kDeviceStale;
  e.kind = "state";
  e.category = "host";
  e.type = "info";
  e.outcome = "unknown";
  e.severity = protocol::Severity::kMedium;
  e.previous_status = status;
  e.status = "stale";
  e.evidence = {{"last_seen", last_seen ? json(FormatRfc3339(*last_seen)) : json(nullptr)},
                {"last_status", status}};
  e.message = "device " + std::string(hostname) + " has not reported since " +
              (last_seen ? FormatRfc3339(*last_seen) : std::string("its enrollment"));
  return e;
}

json ToJson(const ExportEvent& e) {
  json j = {{"id", e.id},
            {"time", FormatRfc3339(e.time)},
            {"action", e.action},
            {"kind", e.kind},
            {"category", e.category},
            {"type", e.type},
            {"outcome", e.outcome},
            {"severity", protocol::ToString(e.severity)},
            {"message", e.message},
            {"device_id", e.device_id},
            {"hostname", e.hostname},
            {"group", e.group},
            {"os",
             {{"name", e.os.name},
              {"version", e.os.version},
              {"kernel", e.os.kernel},
              {"arch", e.os.arch}}},
            {"agent_version", e.agent_version},
            {"previous_status", e.previous_status},
            {"status", e.status},
            {"rule_id", e.rule_id},
            {"rule_name", e.rule_name},
            {"ruleset", e.ruleset},
            {"evaluation", e.evaluation},
            {"report_id", e.report_id},
            {"file_path", e.file_path},
            {"file_sha256", e.file_sha256},
            {"evidence", e.evidence}};
  if (e.file_size) {
    j["file_size"] = *e.file_size;
  }
  return j;
}

Result<ExportEvent> ExportEventFromJson(const json& j) {
  if (!j.is_object()) {
    return MakeError(ErrorCode::kParse, "an exported event must be a JSON object");
  }
  ExportEvent e;
  e.id = Text(j, "id");
  auto time = ParseRfc3339(Text(j, "time"));
  if (e.id.empty() || !time.ok()) {
    return MakeError(ErrorCode::kParse, "an exported event needs an id and a time");
  }
  e.time = *time;
  e.action = Text(j, "action");
  e.kind = Text(j, "kind");
  e.category = Text(j, "category");
  e.type = Text(j, "type");
  e.outcome = Text(j, "outcome");
  auto sev = protocol::ParseSeverity(Text(j, "severity"));
  e.severity = sev.ok() ? *sev : protocol::Severity::kMedium;
  e.message = Text(j, "message");
  e.device_id = Text(j, "device_id");
  e.hostname = Text(j, "hostname");
  e.group = Text(j, "group");
  if (auto os = j.find("os"); os != j.end() && os->is_object()) {
    e.os = {Text(*os, "name"), Text(*os, "version"), Text(*os, "kernel"), Text(*os, "arch")};
  }
  e.agent_version = Text(j, "agent_version");
  e.previous_status = Text(j, "previous_status");
  e.status = Text(j, "status");
  e.rule_id = Text(j, "rule_id");
  e.rule_name = Text(j, "rule_name");
  e.ruleset = Text(j, "ruleset");
  e.evaluation = Text(j, "evaluation");
  e.report_id = Text(j, "report_id");
  e.file_path = Text(j, "file_path");
  e.file_sha256 = Text(j, "file_sha256");
  if (auto size = j.find("file_size"); size != j.end() && size->is_number_integer()) {
    e.file_size = size->get<int64_t>();
  }
  if (auto ev = j.find("evidence"); ev != j.end() && ev->is_object()) {
    e.evidence = *ev;
  }
  return e;
}

}  // namespace cg::soc

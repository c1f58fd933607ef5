// JSON mapping of reports; the parser is strict because the SOC stores what it accepts.
#include "protocol/report.h"

#include "common/ids.h"
#include "common/timeutil.h"

namespace cg::protocol {
namespace {

using nlohmann::json;

Error ParseError(std::string msg) { return MakeError(ErrorCode::kParse, std::move(msg)); }

Result<std::string> GetString(const json& j, const char* key, size_t max_len,
                              bool required = true) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) {
      return ParseError(std::string("missing field '") + key + "'");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return ParseError(std::string("field '") + key + "' must be a string");
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) {
    return ParseError(std::string("field '") + key + "' longer than " + std::to_string(max_len));
  }
  return s;
}

}  // namespace

std::string_view ToString(CheckStatus s) {
  switch (s) {
    case CheckStatus::kPass:
      return "pass";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kError:
      return "error";
    case CheckStatus::kNotApplicable:
      return "not_applicable";
  }
  return "error";
}

std::string_view ToString(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "medium";
}

std::string_view ToString(DeviceStatus s) {
  switch (s) {
    case DeviceStatus::kCompliant:
      return "compliant";
    case DeviceStatus::kNoncompliant:
      return "noncompliant";
    case DeviceStatus::kError:
      return "error";
    case DeviceStatus::kStale:
      return "stale";
    case DeviceStatus::kRevoked:
      return "revoked";
    case DeviceStatus::kUnverified:
      return "unverified";
    case DeviceStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

Result<CheckStatus> ParseCheckStatus(std::string_view s) {
  for (auto v :
       {CheckStatus::kPass, CheckStatus::kFail, CheckStatus::kError, CheckStatus::kNotApplicable}) {
    if (ToString(v) == s) {
      return v;
    }
  }
  return ParseError("unknown check status '" + std::string(s.substr(0, 32)) + "'");
}

Result<Severity> ParseSeverity(std::string_view s) {
  for (auto v :
       {Severity::kInfo, Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (ToString(v) == s) {
      return v;
    }
  }
  return ParseError("unknown severity '" + std::string(s.substr(0, 32)) + "'");
}

Result<DeviceStatus> ParseDeviceStatus(std::string_view s) {
  for (auto v : {DeviceStatus::kCompliant, DeviceStatus::kNoncompliant, DeviceStatus::kError,
                 DeviceStatus::kStale, DeviceStatus::kRevoked, DeviceStatus::kUnknown,
                 DeviceStatus::kUnverified}) {
    if (ToString(v) == s) {
      return v;
    }
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown device status '" + std::string(s.substr(0, 32)) +
                       "' (compliant|noncompliant|error|stale|revoked)");
}

DeviceStatus OverallStatus(const std::vector<CheckResult>& checks) {
  bool any_error = false;
  for (const auto& c : checks) {
    if (c.status == CheckStatus::kFail) {
      return DeviceStatus::kNoncompliant;
    }
    any_error = any_error || c.status == CheckStatus::kError;
  }
  return any_error ? DeviceStatus::kError : DeviceStatus::kCompliant;
}

json ToJson(const CheckResult& r) {
  json j = {{"id", r.id},
            {"status", ToString(r.status)},
            {"severity", ToString(r.severity)},
            {"summary", r.summary},
            {"facts", r.facts}};
  if (!r.expected.is_null()) {
    j["expected"] = r.expected;
  }
  if (!r.observed.is_null()) {
    j["observed"] = r.observed;
  }
  if (!r.remediation.is_null()) {
    j["remediation"] = r.remediation;
  }
  return j;
}

json ToJson(const Report& r) {
  json checks = json::array();
  for (const auto& c : r.checks) {
    checks.push_back(ToJson(c));
  }
  json events = json::array();
  for (const auto& e : r.events) {
    events.push_back({{"type", e.type}, {"time", e.time}, {"details", e.details}});
  }
  return {{"report_id", r.report_id},
          {"device_id", r.device_id},
          {"hostname", r.hostname},
          {"os",
           {{"name", r.os.name},
            {"version", r.os.version},
            {"kernel", r.os.kernel},
            {"arch", r.os.arch}}},
          {"agent_version", r.agent_version},
          {"collected_at", r.collected_at},
          {"policy_version", r.policy_version},
          {"policy_hash", r.policy_hash},
          {"checks", std::move(checks)},
          {"events", std::move(events)},
          {"task_ids", r.task_ids}};
}

Result<CheckResult> CheckResultFromJson(const json& j) {
  if (!j.is_object()) {
    return ParseError("check result must be an object");
  }
  CheckResult r;
  CG_ASSIGN_OR_RETURN(r.id, GetString(j, "id", 64));
  if (r.id.empty()) {
    return ParseError("check id is empty");
  }
  CG_ASSIGN_OR_RETURN(auto status, GetString(j, "status", 32));
  CG_ASSIGN_OR_RETURN(r.status, ParseCheckStatus(status));
  CG_ASSIGN_OR_RETURN(auto severity, GetString(j, "severity", 32));
  CG_ASSIGN_OR_RETURN(r.severity, ParseSeverity(severity));
  CG_ASSIGN_OR_RETURN(r.summary, GetString(j, "summary", kMaxSummary));
  if (auto it = j.find("facts"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) {
      return ParseError("check '" + r.id + "': facts must be an object");
    }
    r.facts = *it;
  }
  for (auto [key, field] : {std::pair{"expected", &r.expected}, std::pair{"observed", &r.observed},
                            std::pair{"remediation", &r.remediation}}) {
    if (auto it = j.find(key); it != j.end()) {
      *field = *it;
    }
  }
  return r;
}

Result<Report> ReportFromJson(const json& j) {
  if (!j.is_object()) {
    return ParseError("report must be a JSON object");
  }
  Report r;
  CG_ASSIGN_OR_RETURN(r.report_id, GetString(j, "report_id", 36));
  if (!IsUuid(r.report_id)) {
    return ParseError("report_id is not a UUID");
  }
  CG_ASSIGN_OR_RETURN(r.device_id, GetString(j, "device_id", 36));
  if (!IsUuid(r.device_id)) {
    return ParseError("device_id is not a UUID");
  }
  CG_ASSIGN_OR_RETURN(r.hostname, GetString(j, "hostname", kMaxShortField));
  CG_ASSIGN_OR_RETURN(r.agent_version, GetString(j, "agent_version", 64));
  CG_ASSIGN_OR_RETURN(r.collected_at, GetString(j, "collected_at", 64));
  if (auto t = ParseRfc3339(r.collected_at); !t.ok()) {
    return ParseError("collected_at: " + t.error().message);
  }
  if (auto it = j.find("os"); it != j.end()) {
    if (!it->is_object()) {
      return ParseError("os must be an object");
    }
    CG_ASSIGN_OR_RETURN(r.os.name, GetString(*it, "name", kMaxShortField, false));
    CG_ASSIGN_OR_RETURN(r.os.version, GetString(*it, "version", kMaxShortField, false));
    CG_ASSIGN_OR_RETURN(r.os.kernel, GetString(*it, "kernel", kMaxShortField, false));
    CG_ASSIGN_OR_RETURN(r.os.arch, GetString(*it, "arch", 64, false));
  }
  if (auto it = j.find("policy_version"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return ParseError("policy_version must be a non-negative integer");
    }
    r.policy_version = it->get<int64_t>();
  }
  CG_ASSIGN_OR_RETURN(r.policy_hash, GetString(j, "policy_hash", 128, false));
  auto checks = j.find("checks");
  if (checks == j.end() || !checks->is_array()) {
    return ParseError("checks must be an array");
  }
  if (checks->size() > kMaxChecksPerReport) {
    return ParseError("too many checks (" + std::to_string(checks->size()) + ")");
  }
  for (const auto& c : *checks) {
    auto parsed = CheckResultFromJson(c);
    if (!parsed.ok()) {
      return std::move(parsed).error();
    }
    r.checks.push_back(std::move(parsed).value());
  }
  if (auto events = j.find("events"); events != j.end() && !events->is_null()) {
    if (!events->is_array()) {
      return ParseError("events must be an array");
    }
    if (events->size() > kMaxEventsPerReport) {
      return ParseError("too many events (" + std::to_string(events->size()) + ")");
    }
    for (const auto& e : *events) {
      if (!e.is_object()) {
        return ParseError("event must be an object");
      }
      Event ev;
      CG_ASSIGN_OR_RETURN(ev.type, GetString(e, "type", 64));
      CG_ASSIGN_OR_RETURN(ev.time, GetString(e, "time", 64));
      if (!ParseRfc3339(ev.time).ok()) {
        return ParseError("event time is not RFC 3339");
      }
      if (auto d = e.find("details"); d != e.end() && !d->is_null()) {
        if (!d->is_object()) {
          return ParseError("event details must be an object");
        }
        ev.details = *d;
      }
      r.events.push_back(std::move(ev));
    }
  }
  if (auto tasks = j.find("task_ids"); tasks != j.end() && !tasks->is_null()) {
    if (!tasks->is_array() || tasks->size() > kMaxTasksPerReport) {
      return ParseError("task_ids must be an array of at most " +
                        std::to_string(kMaxTasksPerReport) + " task ids");
    }
    for (const auto& t : *tasks) {
      if (!t.is_string() || !IsUuid(t.get_ref<const std::string&>())) {
        return ParseError("task_ids must hold task ids (UUIDs)");
      }
      r.task_ids.push_back(t.get<std::string>());
    }
  }
  return r;
}

}  // namespace cg::protocol

// Status transitions and compliance shares of the status history (see history.h).
#include "soc/history.h"

#include <algorithm>
#include <set>

namespace cg::soc {
namespace {

std::string ClipUtf8(std::string text, size_t max) {
  if (text.size() <= max) {
    return text;
  }
  size_t end = max;
  // Never cut a UTF-8 sequence in two: back up over continuation bytes.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  text.resize(end);
  return text + "…";
}

std::string EvidenceOf(const protocol::CheckResult& check) {
  if (check.expected.is_null() && check.observed.is_null()) {
    return "";
  }
  const nlohmann::json evidence = {{"expected", check.expected}, {"observed", check.observed}};
  std::string text = evidence.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxEvidenceBytes) {
    // Clipped evidence stays valid JSON: the text is kept as a string.
    return nlohmann::json{{"clipped", ClipUtf8(text, kMaxEvidenceBytes - 64)}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return text;
}

}  // namespace

std::vector<Observation> ObservationsOf(const protocol::Report& report) {
  std::vector<Observation> out;
  out.reserve(report.checks.size() + 1);
  std::string failing;
  std::string erroring;
  for (const auto& check : report.checks) {
    out.push_back({check.id, std::string(protocol::ToString(check.status)),
                   std::string(protocol::ToString(check.severity)),
                   ClipUtf8(check.summary, kMaxIntervalSummaryBytes), EvidenceOf(check)});
    if (check.status == protocol::CheckStatus::kFail) {
      failing += (failing.empty() ? "" : ", ") + check.id;
    } else if (check.status == protocol::CheckStatus::kError) {
      erroring += (erroring.empty() ? "" : ", ") + check.id;
    }
  }
  std::string summary;
  if (!failing.empty()) {
    summary = "fail: " + failing;
  }
  if (!erroring.empty()) {
    summary += (summary.empty() ? "" : "; ") + std::string("error: ") + erroring;
  }
  out.push_back({kOverallCheck,
                 std::string(protocol::ToString(protocol::OverallStatus(report.checks))), "",
                 summary, ""});
  return out;
}

Transition ComputeTransition(const std::map<std::string, std::string>& open_status,
                             const std::vector<Observation>& observations) {
  Transition t;
  std::set<std::string_view> seen;
  for (const auto& o : observations) {
    seen.insert(o.check_id);
    const auto it = open_status.find(o.check_id);
    if (it != open_status.end() && it->second == o.status) {
      continue;
    }
    if (it != open_status.end()) {
      t.close.push_back(o.check_id);
    }
    t.open.push_back(o);
  }
  for (const auto& [check_id, status] : open_status) {
    if (seen.count(check_id) == 0) {
      t.close.push_back(check_id);  // no longer reported (disabled by policy, or removed)
    }
  }
  return t;
}

std::vector<EnforcementChange> EnforcementOf(const protocol::Report& report, SysTime received_at) {
  std::vector<EnforcementChange> out;
  for (const auto& check : report.checks) {
    const auto& rem = check.remediation;
    if (!rem.is_object() || rem.value("dry_run", true)) {
      continue;
    }
    EnforcementChange c;
    c.device_id = report.device_id;
    c.check_id = check.id;
    c.time = received_at;
    c.report_id = report.report_id;
    const auto result = rem.find("result");
    c.result =
        result != rem.end() && result->is_string() && *result == "applied" ? "applied" : "error";
    nlohmann::json changes = nlohmann::json::array();
    if (const auto list = rem.find("changes"); list != rem.end() && list->is_array()) {
      for (const auto& change : *list) {
        if (!change.is_object()) {
          continue;
        }
        // The undo data is the agent's business; what changed is the inspector's.
        nlohmann::json kept = nlohmann::json::object();
        for (const char* key : {"target", "action", "before", "after"}) {
          if (change.contains(key)) {
            kept[key] = change[key];
          }
        }
        changes.push_back(std::move(kept));
      }
    }
    nlohmann::json record = changes;
    if (const auto error = rem.find("error"); error != rem.end() && error->is_string()) {
      record = {{"error", *error}, {"changes", changes}};
    }
    c.changes = ClipUtf8(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         kMaxEvidenceBytes);
    out.push_back(std::move(c));
  }
  return out;
}

bool IsCompliantStatus(std::string_view status) {
  return status == "pass" || status == "not_applicable" || status == "compliant";
}

std::optional<double> TimeShare::Ratio() const {
  if (observed.count() <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(compliant.count()) / static_cast<double>(observed.count());
}

TimeShare ShareWithin(const std::vector<StatusInterval>& series, SysTime from, SysTime to,
                      SysTime open_end) {
  TimeShare share;
  for (const auto& interval : series) {
    const SysTime start = std::max(interval.since, from);
    const SysTime end = std::min(interval.until.value_or(std::max(open_end, interval.since)), to);
    if (end <= start) {
      continue;
    }
    const auto length = std::chrono::duration_cast<std::chrono::seconds>(end - start);
    share.observed += length;
    if (IsCompliantStatus(interval.status)) {
      share.compliant += length;
    }
  }
  return share;
}

std::optional<StatusInterval> StatusAt(const std::vector<StatusInterval>& series, SysTime at) {
  std::optional<StatusInterval> found;
  for (const auto& interval : series) {
    if (interval.since <= at && (!interval.until || *interval.until > at)) {
      found = interval;  // the last one wins: zero-length intervals of a batch come first
    }
  }
  return found;
}

}  // namespace cg::soc

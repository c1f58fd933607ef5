// The inspection report's content: figures computed from the status history (history.h).
#include "soc/inspection_report.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "common/ids.h"
#include "soc/history.h"

namespace cg::soc {

using nlohmann::json;

namespace {

int64_t Secs(std::chrono::seconds s) { return s.count(); }

bool InGroup(std::string_view group, std::string_view prefix) {
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  return prefix.empty() || group == prefix ||
         (group.size() > prefix.size() && group.substr(0, prefix.size()) == prefix &&
          group[prefix.size()] == '/');
}

// Whether a policy layer applied to devices of the unit: its scope or signed target is the
// unit, above it, or below it ("" is every group).
bool PolicyConcerns(const StoredPolicy& p, std::string_view unit) {
  auto related = [&](std::string_view a) {
    if (a.empty() || unit.empty()) {
      return true;
    }
    return InGroup(unit, a) || InGroup(a, unit);
  };
  if (!related(p.scope)) {
    return false;
  }
  // A target may name several groups, comma separated.
  if (p.target.empty()) {
    return true;
  }
  size_t start = 0;
  while (start <= p.target.size()) {
    const size_t comma = p.target.find(',', start);
    const std::string_view one = std::string_view(p.target).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (related(one)) {
      return true;
    }
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return false;
}

json EvidenceJson(const std::string& evidence) {
  if (evidence.empty()) {
    return nullptr;
  }
  json parsed = json::parse(evidence, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? json(evidence) : parsed;
}

// JSON numbers in the content stay integers: floating point would make the text depend on the
// printer.
json DeviceContent(const Device& device, const std::vector<const StatusInterval*>& intervals,
                   const std::vector<const EnforcementChange*>& enforcement,
                   const std::vector<const ReportingGap*>& gaps, const InspectionInput& in,
                   SysTime end) {
  std::map<std::string, std::vector<StatusInterval>> series;
  for (const auto* i : intervals) {
    series[i->check_id].push_back(*i);
  }
  json d = {{"device_id", device.device_id},
            {"hostname", device.hostname},
            {"reported_hostname", device.reported_hostname},
            {"enrolled_at", FormatRfc3339(device.enrolled_at)},
            {"last_seen", device.last_seen ? json(FormatRfc3339(*device.last_seen)) : json()},
            {"revoked", device.revoked},
            {"policy_version", device.policy_version}};
  const auto overall_it = series.find(kOverallCheck);
  const bool reported = overall_it != series.end() && !overall_it->second.empty();
  d["never_reported"] = !reported;
  auto share_json = [&](const std::vector<StatusInterval>& s) {
    const TimeShare share = ShareWithin(s, in.from, in.to, end);
    json j = {{"observed_seconds", Secs(share.observed)},
              {"compliant_seconds", Secs(share.compliant)}};
    // The state at the end: the interval covering the last second of the period.
    if (auto last = StatusAt(s, end - std::chrono::seconds(1))) {
      j["end_status"] = last->status;
      j["end_summary"] = last->summary;
    } else {
      j["end_status"] = "";
      j["end_summary"] = "";
    }
    return j;
  };
  d["overall"] = reported ? share_json(overall_it->second)
                          : json{{"observed_seconds", 0},
                                 {"compliant_seconds", 0},
                                 {"end_status", ""},
                                 {"end_summary", ""}};
  json checks = json::array();
  json findings = json::array();
  for (const auto& [check_id, s] : series) {
    if (check_id == kOverallCheck) {
      continue;
    }
    json c = share_json(s);
    c["id"] = check_id;
    checks.push_back(std::move(c));
    for (const auto& i : s) {
      if (IsCompliantStatus(i.status)) {
        continue;
      }
      findings.push_back({{"check", check_id},
                          {"status", i.status},
                          {"severity", i.severity},
                          {"since", FormatRfc3339(i.since)},
                          {"until", i.until ? json(FormatRfc3339(*i.until)) : json()},
                          {"summary", i.summary},
                          {"evidence", EvidenceJson(i.evidence)},
                          {"report_id", i.report_id}});
    }
  }
  d["checks"] = std::move(checks);
  d["findings"] = std::move(findings);
  json changes = json::array();
  for (const auto* e : enforcement) {
    changes.push_back({{"check", e->check_id},
                       {"time", FormatRfc3339(e->time)},
                       {"result", e->result},
                       {"changes", EvidenceJson(e->changes)},
                       {"report_id", e->report_id}});
  }
  d["enforcement"] = std::move(changes);
  // Stale periods: gaps between arrivals longer than the stale threshold, and the silence from
  // the last arrival to the end of the period.
  json stale = json::array();
  for (const auto* g : gaps) {
    if (g->until - g->since >= in.stale_after) {
      stale.push_back({{"since", FormatRfc3339(g->since)}, {"until", FormatRfc3339(g->until)}});
    }
  }
  bool stale_at_end = false;
  if (reported) {
    // The last arrival before the end: the start of a gap that reaches past it, else last_seen.
    std::optional<SysTime> last_before_end;
    for (const auto* g : gaps) {
      if (g->since < end && g->until >= end) {
        last_before_end = g->since;
      }
    }
    if (!last_before_end && device.last_seen && *device.last_seen < end) {
      last_before_end = device.last_seen;
    }
    if (last_before_end && end - *last_before_end >= in.stale_after) {
      stale_at_end = true;
      const bool listed =
          !stale.empty() && stale.back()["since"] == FormatRfc3339(*last_before_end);
      if (!listed) {
        stale.push_back({{"since", FormatRfc3339(*last_before_end)}, {"until", nullptr}});
      }
    }
  }
  d["stale_periods"] = std::move(stale);
  d["stale_at_end"] = stale_at_end;
  return d;
}

}  // namespace

nlohmann::json BuildInspectionContent(const InspectionInput& in) {
  // An open interval counts up to the end of the period, or up to now for a period not over.
  const SysTime end = std::min(in.to, std::max(in.generated_at, in.from));
  std::map<std::string, std::vector<const StatusInterval*>> intervals;
  for (const auto& i : in.intervals) {
    intervals[i.device_id].push_back(&i);
  }
  std::map<std::string, std::vector<const EnforcementChange*>> enforcement;
  for (const auto& e : in.enforcement) {
    enforcement[e.device_id].push_back(&e);
  }
  std::map<std::string, std::vector<const ReportingGap*>> gaps;
  for (const auto& g : in.gaps) {
    gaps[g.device_id].push_back(&g);
  }
  std::map<std::string, std::vector<const Device*>> units;
  for (const auto& d : in.devices) {
    if (d.enrolled_at < in.to) {
      units[d.group].push_back(&d);
    }
  }
  json units_json = json::array();
  json totals = {{"devices", 0},          {"never_reported", 0}, {"stale_at_end", 0},
                 {"went_stale", 0},       {"revoked", 0},        {"observed_seconds", 0},
                 {"compliant_seconds", 0}};
  auto count = [](json& into, const json& d) {
    into["devices"] = into["devices"].get<int64_t>() + 1;
    into["never_reported"] = into["never_reported"].get<int64_t>() + (d["never_reported"] ? 1 : 0);
    into["stale_at_end"] = into["stale_at_end"].get<int64_t>() + (d["stale_at_end"] ? 1 : 0);
    into["went_stale"] = into["went_stale"].get<int64_t>() + (d["stale_periods"].empty() ? 0 : 1);
    into["revoked"] = into["revoked"].get<int64_t>() + (d["revoked"] ? 1 : 0);
    into["observed_seconds"] =
        into["observed_seconds"].get<int64_t>() + d["overall"]["observed_seconds"].get<int64_t>();
    into["compliant_seconds"] =
        into["compliant_seconds"].get<int64_t>() + d["overall"]["compliant_seconds"].get<int64_t>();
  };
  for (auto& [group, devices] : units) {
    std::sort(devices.begin(), devices.end(), [](const Device* a, const Device* b) {
      return std::tie(a->hostname, a->device_id) < std::tie(b->hostname, b->device_id);
    });
    json unit = {{"group", group}, {"devices", json::array()}};
    json summary = totals;
    for (auto& [k, v] : summary.items()) {
      v = 0;
    }
    std::map<std::string, std::pair<int64_t, int64_t>> per_check;  // observed, compliant
    for (const Device* device : devices) {
      json d = DeviceContent(*device, intervals[device->device_id], enforcement[device->device_id],
                             gaps[device->device_id], in, end);
      count(summary, d);
      count(totals, d);
      for (const auto& c : d["checks"]) {
        auto& [observed, compliant] = per_check[c["id"].get<std::string>()];
        observed += c["observed_seconds"].get<int64_t>();
        compliant += c["compliant_seconds"].get<int64_t>();
      }
      unit["devices"].push_back(std::move(d));
    }
    json checks = json::array();
    for (const auto& [id, share] : per_check) {
      checks.push_back(
          {{"id", id}, {"observed_seconds", share.first}, {"compliant_seconds", share.second}});
    }
    unit["summary"] = std::move(summary);
    unit["checks"] = std::move(checks);
    units_json.push_back(std::move(unit));
  }
  json inspections = json::array();
  for (const auto& record : in.inspections) {
    json devices = json::array();
    for (const auto& [a, status] : record.assignments) {
      devices.push_back({{"device_id", a.device_id},
                         {"hostname", a.hostname},
                         {"state", a.state},
                         {"done_at", a.done_at ? json(FormatRfc3339(*a.done_at)) : json()},
                         {"report_id", a.report_id},
                         {"status", status}});
    }
    inspections.push_back({{"id", record.task.id},
                           {"created_at", FormatRfc3339(record.task.created_at)},
                           {"created_by", record.task.created_by},
                           {"target", record.task.target},
                           {"yara", record.task.yara},
                           {"devices", std::move(devices)}});
  }
  json policies = json::array();
  for (const auto& p : in.policies) {
    if (p.pushed_at < in.to && PolicyConcerns(p, in.group)) {
      policies.push_back({{"target", p.target},
                          {"version", p.version},
                          {"hash", p.hash},
                          {"name", p.name},
                          {"scope", p.scope},
                          {"pushed_at", FormatRfc3339(p.pushed_at)},
                          {"pushed_by", p.pushed_by},
                          {"pushed_in_period", p.pushed_at >= in.from}});
    }
  }
  return {{"kind", "inspection"},
          {"group", in.group},
          {"from", FormatRfc3339(in.from)},
          {"to", FormatRfc3339(in.to)},
          {"utc_offset_seconds", Secs(in.utc_offset)},
          {"stale_after_seconds", Secs(in.stale_after)},
          {"soc", in.soc_name},
          {"generated_by", in.generated_by},
          {"generated_at", FormatRfc3339(in.generated_at)},
          {"totals", std::move(totals)},
          {"units", std::move(units_json)},
          {"inspections", std::move(inspections)},
          {"policies", std::move(policies)}};
}

std::string CanonicalText(const nlohmann::json& content) {
  // nlohmann's objects are ordered maps: keys come out sorted; no indentation, UTF-8 kept.
  return content.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

std::string ContentDigest(const nlohmann::json& content) {
  return Sha256Hex(CanonicalText(content));
}

Result<SysTime> ParseReportDate(std::string_view date, std::chrono::seconds utc_offset) {
  auto bad = [&] {
    return MakeError(ErrorCode::kInvalidArgument, "a date is YYYY-MM-DD, e.g. 2026-12-02 (got '" +
                                                      std::string(date.substr(0, 40)) + "')");
  };
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') {
    return bad();
  }
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t lengths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t i = 0; i < lengths[p]; ++i) {
      const char c = date[starts[p] + i];
      if (c < '0' || c > '9') {
        return bad();
      }
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  const int year = parts[0], month = parts[1], day = parts[2];
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (year < 2000 || year > 2200 || month < 1 || month > 12 || day < 1 || day > kDays[month - 1] ||
      (month == 2 && day == 29 && !leap)) {
    return bad();
  }
  return FromUnixSeconds(UnixSecondsFromUtc(year, month, day, 0, 0, 0) - utc_offset.count());
}

}  // namespace cg::soc

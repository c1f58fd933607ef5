// Fleet queries on the operator port: the devices list (filters, sort, keyset pages), the
// per-group summary and any stored report by id. Field and parameter names: protocol/fleet_api.h.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "common/ids.h"
#include "policy/policy.h"
#include "protocol/fleet_api.h"
#include "protocol/http.h"
#include "protocol/report.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/text_fold.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::DeviceStatus;
using protocol::HttpRequest;
using protocol::HttpResponse;
namespace api = protocol::api;
namespace param = protocol::api::devices_param;

namespace {

// Free-text parameters (OS, versions, search) are short names, never documents.
constexpr size_t kMaxTextParam = 256;
constexpr size_t kMaxCursorBytes = 2048;

// The names of the query string, percent-decoded, to refuse unknown ones (a typo such as
// "stauts" would otherwise list every device as if it matched).
std::vector<std::string> QueryKeys(const HttpRequest& request) {
  std::vector<std::string> keys;
  const size_t q = request.target.find('?');
  if (q == std::string::npos) {
    return keys;
  }
  std::string_view rest = std::string_view(request.target).substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!pair.empty()) {
      keys.push_back(protocol::UrlDecode(pair.substr(0, pair.find('=')), /*plus_is_space=*/true));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(amp + 1);
  }
  return keys;
}

Result<bool> BoolParam(std::string_view name, const std::string& value) {
  if (value == "true" || value == "1" || value == "yes") {
    return true;
  }
  if (value == "false" || value == "0" || value == "no") {
    return false;
  }
  return MakeError(ErrorCode::kInvalidArgument, std::string(name) + " must be true or false");
}

Result<std::string> TextParam(std::string_view name, const std::string& value) {
  if (value.size() > kMaxTextParam) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(name) + " is longer than " +
                                                      std::to_string(kMaxTextParam) + " bytes");
  }
  if (!IsPrintable(value)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(name) + " must be UTF-8 text without control characters");
  }
  return value;
}

std::string Base64Url(std::string_view bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') {
    text.pop_back();
  }
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  return text;
}

Result<std::string> FromBase64Url(std::string text) {
  std::replace(text.begin(), text.end(), '-', '+');
  std::replace(text.begin(), text.end(), '_', '/');
  while (text.size() % 4 != 0) {
    text += '=';
  }
  return Base64Decode(text);
}

std::string_view SortName(DeviceSort sort) {
  switch (sort) {
    case DeviceSort::kHostname:
      return "hostname";
    case DeviceSort::kStatus:
      return "status";
    case DeviceSort::kLastSeen:
      return "last_seen";
    case DeviceSort::kGroup:
      break;
  }
  return "group";
}

// The filters a cursor belongs to: a cursor given with other filters or another order would
// start the page at a row of a different list.
std::string QueryFingerprint(const HttpRequest& request) {
  std::string text;
  for (std::string_view key :
       {param::kGroup, param::kStatus, param::kCheck, param::kStale, param::kRevoked, param::kOs,
        param::kOsVersion, param::kAgentVersion, param::kPolicyVersion, param::kSeenBefore,
        param::kSeenAfter, param::kSearch, param::kSort, param::kOrder}) {
    text += std::string(key) + "=" + request.Query(key).value_or("") + "\n";
  }
  return Sha256Hex(text).substr(0, 16);
}

std::string EncodeCursor(const DeviceSortKey& key, std::string_view fingerprint) {
  const json j = {{"v", 1},          {"f", fingerprint},
                  {"g", key.group},  {"h", key.hostname_folded},
                  {"n", key.number}, {"d", key.device_id}};
  return Base64Url(j.dump());
}

Result<DeviceSortKey> DecodeCursor(const std::string& cursor, std::string_view fingerprint) {
  auto bad = [](std::string why) {
    return MakeError(ErrorCode::kInvalidArgument, "cursor " + why);
  };
  if (cursor.size() > kMaxCursorBytes) {
    return bad("is too long");
  }
  auto bytes = FromBase64Url(cursor);
  if (!bytes.ok()) {
    return bad("is not one this SOC gave (not base64url)");
  }
  const json j = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || j.value("v", 0) != 1 || !j.contains("g") ||
      !j["g"].is_string() || !j.contains("h") || !j["h"].is_string() || !j.contains("n") ||
      !j["n"].is_number_integer() || !j.contains("d") || !j["d"].is_string() || !j.contains("f") ||
      !j["f"].is_string()) {
    return bad("is not one this SOC gave");
  }
  if (j["f"].get<std::string>() != fingerprint) {
    return bad("belongs to a query with other filters or another order: start again without it");
  }
  DeviceSortKey key;
  key.group = j["g"].get<std::string>();
  key.hostname_folded = j["h"].get<std::string>();
  key.number = j["n"].get<int64_t>();
  key.device_id = j["d"].get<std::string>();
  if (!IsUuid(key.device_id)) {
    return bad("is not one this SOC gave");
  }
  return key;
}

json CheckList(const std::vector<std::string>& ids) {
  json list = json::array();
  for (const auto& id : ids) {
    list.push_back(id);
  }
  return list;
}

json RowJson(const DeviceRow& row, std::chrono::seconds skew_tolerance) {
  namespace f = api::device_field;
  const Device& d = row.device;
  json j = {{f::kDeviceId, d.device_id},
            {f::kHostname, d.hostname},
            {f::kReportedHostname, d.reported_hostname},
            {f::kGroup, d.group},
            {f::kStatus, protocol::ToString(PostureStatus(d))},
            {f::kStale, row.stale},
            {f::kRevoked, d.revoked},
            {f::kLastSeen, OptionalTime(d.last_seen)},
            {f::kPolicyVersion, d.policy_version},
            {f::kOsName, row.os_name},
            {f::kOsVersion, row.os_version},
            {f::kAgentVersion, row.agent_version},
            {f::kFailingChecks, CheckList(row.failing_checks)},
            {f::kErrorChecks, CheckList(row.error_checks)},
            {f::kEnrolledAt, FormatRfc3339(d.enrolled_at)},
            {f::kClockSkew, d.clock_skew > skew_tolerance},
            {"clock_skew_seconds", d.clock_skew.count()}};
  if (!d.policy_state.empty()) {
    j["policy_state"] = d.policy_state;
  }
  return j;
}

json SummaryJson(const GroupSummary& g) {
  namespace f = api::summary_field;
  json status = json::object();
  for (const auto& [posture, n] : g.postures) {
    status[posture] = n;
  }
  json failing = json::object();
  for (const auto& [check, n] : g.failing) {
    failing[check] = n;
  }
  json errors = json::object();
  for (const auto& [check, n] : g.errors) {
    errors[check] = n;
  }
  return {{f::kGroup, g.group},
          {f::kDevices, g.devices},
          {f::kRevoked, g.revoked},
          {f::kStatus, std::move(status)},
          {f::kStale, g.stale},
          {f::kNeverReported, g.never_reported},
          {f::kFailing, std::move(failing)},
          {f::kErrors, std::move(errors)}};
}

}  // namespace

Result<std::pair<SysTime, std::vector<std::pair<std::string, SysTime>>>> SocService::StaleCutoffs(
    SysTime now) {
  std::pair<SysTime, std::vector<std::pair<std::string, SysTime>>> cutoffs;
  cutoffs.first = now - config_.stale_after;
  if (hub_ == nullptr) {
    return cutoffs;  // one cutoff for every group
  }
  CG_ASSIGN_OR_RETURN(auto groups, storage_.ListDeviceGroups());
  for (const auto& group : groups) {
    const SysTime cutoff = StaleBefore(group, now);
    if (cutoff != cutoffs.first) {
      cutoffs.second.emplace_back(group, cutoff);
    }
  }
  return cutoffs;
}

HttpResponse SocService::ListDevices(Call& call) {
  const HttpRequest& request = call.request;
  static const std::set<std::string, std::less<>> kKnown = {
      std::string(param::kGroup),         std::string(param::kStatus),
      std::string(param::kCheck),         std::string(param::kStale),
      std::string(param::kRevoked),       std::string(param::kOs),
      std::string(param::kOsVersion),     std::string(param::kAgentVersion),
      std::string(param::kPolicyVersion), std::string(param::kSeenBefore),
      std::string(param::kSeenAfter),     std::string(param::kSearch),
      std::string(param::kSort),          std::string(param::kOrder),
      std::string(param::kLimit),         std::string(param::kCursor)};
  for (const auto& key : QueryKeys(request)) {
    if (kKnown.count(key) == 0) {
      return InvalidRequest("unknown parameter '" + Clip(key, 64) +
                            "' (known: group, status, check, stale, revoked, os, os_version, "
                            "agent_version, policy_version, last_seen_before, last_seen_after, "
                            "search, sort, order, limit, cursor)");
    }
  }
  DeviceQuery q;
  if (auto group = NonEmptyQuery(request, param::kGroup)) {
    while (!group->empty() && group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    q.group_prefix = *group;
  }
  if (auto statuses = NonEmptyQuery(request, param::kStatus)) {
    // Comma-separated; "stale" and "revoked" are the flags of the same names (they are shown
    // beside the status, not instead of it).
    size_t at = 0;
    while (at <= statuses->size()) {
      const size_t comma = std::min(statuses->find(',', at), statuses->size());
      const std::string name = statuses->substr(at, comma - at);
      at = comma + 1;
      if (name == "stale") {
        q.stale = true;
        continue;
      }
      if (name == "revoked") {
        q.revoked = true;
        continue;
      }
      auto parsed = protocol::ParseDeviceStatus(name);
      if (!parsed.ok() || *parsed == DeviceStatus::kStale || *parsed == DeviceStatus::kRevoked) {
        return InvalidRequest(
            "status must be compliant, noncompliant, error, unknown, unverified, stale or "
            "revoked (several separated by ',')");
      }
      if (std::find(q.postures.begin(), q.postures.end(), *parsed) == q.postures.end()) {
        q.postures.push_back(*parsed);
      }
    }
  }
  if (auto check = NonEmptyQuery(request, param::kCheck)) {
    const auto& known = policy::KnownCheckIds();
    if (std::find(known.begin(), known.end(), *check) == known.end()) {
      std::string list;
      for (const auto& id : known) {
        list += (list.empty() ? "" : ", ") + id;
      }
      return InvalidRequest("unknown check (known: " + list + ")");
    }
    q.check_id = *check;
  }
  for (auto [name, slot] : {std::pair{param::kStale, &q.stale}, {param::kRevoked, &q.revoked}}) {
    if (auto value = NonEmptyQuery(request, name)) {
      auto b = BoolParam(name, *value);
      if (!b.ok()) {
        return InvalidRequest(b.error().message);
      }
      if (slot->has_value() && **slot != *b) {
        return InvalidRequest(std::string(name) + " contradicts status=" + std::string(name));
      }
      *slot = *b;
    }
  }
  for (auto [name, slot] : {std::pair{param::kOs, &q.os_name},
                            {param::kOsVersion, &q.os_version},
                            {param::kAgentVersion, &q.agent_version}}) {
    if (auto value = NonEmptyQuery(request, name)) {
      auto text = TextParam(name, *value);
      if (!text.ok()) {
        return InvalidRequest(text.error().message);
      }
      *slot = *text;
    }
  }
  if (auto text = NonEmptyQuery(request, param::kPolicyVersion)) {
    int64_t version = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), version);
    if (ec != std::errc() || end != text->data() + text->size() || version < 0) {
      return InvalidRequest("policy_version must be a whole number >= 0");
    }
    q.policy_version = version;
  }
  for (auto [name, slot] : {std::pair{param::kSeenBefore, &q.last_seen_before},
                            {param::kSeenAfter, &q.last_seen_after}}) {
    if (auto text = NonEmptyQuery(request, name)) {
      auto t = ParseRfc3339(*text);
      if (!t.ok() || text->size() > 64) {
        return InvalidRequest(std::string(name) +
                              " must be an RFC 3339 time, e.g. 2026-03-01T00:00:00Z");
      }
      *slot = *t;
    }
  }
  if (auto search = NonEmptyQuery(request, param::kSearch)) {
    auto text = TextParam(param::kSearch, *search);
    if (!text.ok()) {
      return InvalidRequest(text.error().message);
    }
    std::string folded = FoldForSearch(*text);
    if (folded.empty()) {
      return InvalidRequest("search must contain a letter or a digit");
    }
    q.hostname_folded = std::move(folded);
  }
  if (auto sort = NonEmptyQuery(request, param::kSort)) {
    if (*sort == "group") {
      q.sort = DeviceSort::kGroup;
    } else if (*sort == "hostname") {
      q.sort = DeviceSort::kHostname;
    } else if (*sort == "status") {
      q.sort = DeviceSort::kStatus;
    } else if (*sort == "last_seen") {
      q.sort = DeviceSort::kLastSeen;
    } else {
      return InvalidRequest("sort must be group, hostname, status or last_seen");
    }
  }
  if (auto order = NonEmptyQuery(request, param::kOrder)) {
    if (*order != "asc" && *order != "desc") {
      return InvalidRequest("order must be asc or desc");
    }
    q.descending = *order == "desc";
  }
  auto limit = LimitQuery(request, api::kDefaultDevicePage, api::kMaxDevicePage);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  q.limit = *limit;
  const std::string fingerprint = QueryFingerprint(request);
  if (auto cursor = NonEmptyQuery(request, param::kCursor)) {
    auto key = DecodeCursor(*cursor, fingerprint);
    if (!key.ok()) {
      return InvalidRequest(key.error().message);
    }
    q.after = *key;
    q.count_total = false;  // the first page gave it
  }
  auto cutoffs = StaleCutoffs(call.now);
  if (!cutoffs.ok()) {
    return StorageFailure("listing device groups", cutoffs.error());
  }
  q.stale_before = cutoffs->first;
  q.stale_before_by_group = std::move(cutoffs->second);
  auto page = storage_.QueryDevices(q);
  if (!page.ok()) {
    return StorageFailure("listing devices", page.error());
  }
  namespace f = api::devices_field;
  json list = json::array();
  for (const auto& row : page->rows) {
    list.push_back(RowJson(row, config_.clock_skew_tolerance));
  }
  json next = nullptr;
  if (page->more && !page->rows.empty()) {
    next = EncodeCursor(page->rows.back().key, fingerprint);
  }
  return HttpResponse::Json(200, {{f::kDevices, std::move(list)},
                                  {f::kNextCursor, std::move(next)},
                                  {f::kTotal, q.after ? json(nullptr) : json(page->total)},
                                  {"sort", SortName(q.sort)},
                                  {"order", q.descending ? "desc" : "asc"}});
}

HttpResponse SocService::FleetSummary(Call& call) {
  FleetSummaryQuery q;
  for (const auto& key : QueryKeys(call.request)) {
    if (key != param::kGroup) {
      return InvalidRequest("unknown parameter '" + Clip(key, 64) + "' (known: group)");
    }
  }
  if (auto group = NonEmptyQuery(call.request, param::kGroup)) {
    while (!group->empty() && group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    q.group_prefix = *group;
  }
  auto cutoffs = StaleCutoffs(call.now);
  if (!cutoffs.ok()) {
    return StorageFailure("listing device groups", cutoffs.error());
  }
  q.stale_before = cutoffs->first;
  q.stale_before_by_group = std::move(cutoffs->second);
  auto groups = storage_.SummarizeFleet(q);
  if (!groups.ok()) {
    return StorageFailure("summarising the fleet", groups.error());
  }
  GroupSummary total;
  total.group = q.group_prefix.value_or("");
  json list = json::array();
  for (const auto& g : *groups) {
    list.push_back(SummaryJson(g));
    total.devices += g.devices;
    total.revoked += g.revoked;
    total.stale += g.stale;
    total.never_reported += g.never_reported;
    for (const auto& [k, n] : g.postures) {
      total.postures[k] += n;
    }
    for (const auto& [k, n] : g.failing) {
      total.failing[k] += n;
    }
    for (const auto& [k, n] : g.errors) {
      total.errors[k] += n;
    }
  }
  namespace f = api::summary_field;
  return HttpResponse::Json(200, {{f::kGroups, std::move(list)}, {f::kTotal, SummaryJson(total)}});
}

HttpResponse SocService::GetStoredReport(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "report " + Clip(id, 64);
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such report");
  }
  auto record = storage_.GetReport(id);
  if (!record.ok()) {
    return record.error().code == ErrorCode::kNotFound
               ? Fail(404, "not_found", "no such report")
               : StorageFailure("reading report " + id, record.error());
  }
  json body = json::parse(record->report.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    spdlog::error("stored report {} is not valid JSON", id);
    return Fail(500, "internal", "the stored report is damaged");
  }
  namespace f = api::report_field;
  return HttpResponse::Json(200, {{f::kReportId, record->report.report_id},
                                  {f::kDeviceId, record->report.device_id},
                                  {f::kHostname, record->hostname},
                                  {f::kGroup, record->group},
                                  {f::kStatus, protocol::ToString(record->report.status)},
                                  {f::kReceivedAt, FormatRfc3339(record->report.received_at)},
                                  {f::kCollectedAt, FormatRfc3339(record->report.collected_at)},
                                  {f::kClockSkewSeconds, record->report.clock_skew.count()},
                                  {f::kPolicyState, record->policy_state},
                                  {f::kReport, std::move(body)}});
}

}  // namespace cg::soc

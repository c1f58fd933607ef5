// A device's status history and the inspection reports on the operator port.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "protocol/api_paths.h"
#include "soc/inspection_report.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpResponse;
namespace api = protocol::api;

namespace {

// The longest period one inspection report covers: two years.
constexpr std::chrono::hours kMaxReportPeriod{2 * 366 * 24};

// A ?from= / ?to= bound: an RFC 3339 time, or a DATE (the local midnight that starts it; for
// `to`, the one that ends it).
Result<std::optional<SysTime>> TimeQuery(const protocol::HttpRequest& request, std::string_view key,
                                         bool end_of_day) {
  auto text = NonEmptyQuery(request, key);
  if (!text) {
    return std::optional<SysTime>();
  }
  if (text->size() == 10) {
    CG_ASSIGN_OR_RETURN(SysTime day, ParseReportDate(*text, kReportUtcOffset));
    return std::optional<SysTime>(end_of_day ? day + std::chrono::hours(24) : day);
  }
  auto t = ParseRfc3339(*text);
  if (!t.ok()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(key) + " must be an RFC 3339 time or a date YYYY-MM-DD");
  }
  return std::optional<SysTime>(*t);
}

json IntervalJson(const StatusInterval& i) {
  json evidence = nullptr;
  if (!i.evidence.empty()) {
    evidence = json::parse(i.evidence, nullptr, /*allow_exceptions=*/false);
    if (evidence.is_discarded()) {
      evidence = i.evidence;
    }
  }
  return {{"status", i.status},
          {"severity", i.severity},
          {"since", FormatRfc3339(i.since)},
          {"until", OptionalTime(i.until)},
          {"report_id", i.report_id},
          {"summary", i.summary},
          {"evidence", std::move(evidence)}};
}

// The document of a report: rendering depends only on the content, the format, the language and
// the digest, so the same record always gives the same bytes.
HttpResponse RenderedReport(const json& content, std::string_view format, std::string_view lang,
                            const GeneratedReport& record) {
  HttpResponse response;
  response.status = 200;
  if (format == "html") {
    response.content_type = "text/html; charset=utf-8";
    response.body = RenderInspectionHtml(content, lang, record.digest);
  } else {
    response.content_type = "text/csv; charset=utf-8";
    response.body = RenderInspectionCsv(content, lang, record.digest);
  }
  // Always a download: a browser saves it (the dashboard links here) rather than showing it
  // under the operator port's Content-Security-Policy; cgctl ignores the header. The name is
  // made of the record's checked parameters only (group a-z 0-9 - _ /, dates YYYY-MM-DD).
  const json parameters = json::parse(record.parameters, nullptr, false);
  auto text = [&](const char* key) {
    return parameters.is_object() && parameters.contains(key) && parameters[key].is_string()
               ? parameters[key].get<std::string>()
               : std::string();
  };
  std::string file_group = text("group");
  std::replace(file_group.begin(), file_group.end(), '/', '_');
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"inspection-report_" +
                                                           file_group + "_" + text("from") + "_" +
                                                           text("to") + "." + std::string(format) +
                                                           "\"");
  response.headers.emplace_back(std::string(api::kReportDigestHeader), record.digest);
  response.headers.emplace_back(std::string(api::kReportIdHeader), record.id);
  return response;
}

}  // namespace

HttpResponse SocService::DeviceHistory(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  auto from = TimeQuery(call.request, "from", false);
  auto to = TimeQuery(call.request, "to", true);
  if (!from.ok() || !to.ok()) {
    return InvalidRequest((from.ok() ? to.error() : from.error()).message);
  }
  auto limit = LimitQuery(call.request, kDefaultHistoryLimit, kMaxHistoryLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  std::optional<std::string> check = NonEmptyQuery(call.request, "check");
  // Shaped like a check id (a-z, 0-9, '_'), not only a known one: the history keeps checks a
  // later agent no longer runs. Anything else can match nothing, so it is refused, not searched.
  if (check &&
      (check->size() > protocol::kMaxShortField ||
       check->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)) {
    return InvalidRequest("check must be a check id (a-z, 0-9, _), such as screen_lock");
  }
  HistoryQuery query;
  query.device_id = id;
  query.from = *from;
  query.to = *to;
  auto intervals = storage_.StatusIntervals(query);
  if (!intervals.ok()) {
    if (intervals.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("reading the history of " + id, intervals.error());
  }
  json overall = json::array();
  std::map<std::string, json> checks;
  for (const auto& i : *intervals) {
    if (i.check_id == kOverallCheck) {
      overall.push_back(IntervalJson(i));
    } else if (!check || *check == i.check_id) {
      auto& list = checks[i.check_id];
      if (list.is_null()) {
        list = json::array();
      }
      list.push_back(IntervalJson(i));
    }
  }
  // The latest raw arrivals too (newest first, while retention keeps them): the order the
  // device followed and the clock evidence of each report.
  auto reports = storage_.ReportHistory(id, *limit);
  if (!reports.ok()) {
    return StorageFailure("reading the reports of " + id, reports.error());
  }
  json report_list = json::array();
  for (const auto& report : *reports) {
    report_list.push_back({{"report_id", report.report_id},
                           {"collected_at", FormatRfc3339(report.collected_at)},
                           {"received_at", FormatRfc3339(report.received_at)},
                           {"clock_skew", report.clock_skew > config_.clock_skew_tolerance},
                           {"clock_skew_seconds", report.clock_skew.count()},
                           {"status", protocol::ToString(report.status)}});
  }
  json checks_json = json::array();
  for (auto& [check_id, list] : checks) {
    checks_json.push_back({{"id", check_id}, {"changes", std::move(list)}});
  }
  return HttpResponse::Json(200, {{"device_id", id},
                                  {"from", OptionalTime(*from)},
                                  {"to", OptionalTime(*to)},
                                  {"overall", std::move(overall)},
                                  {"checks", std::move(checks_json)},
                                  {"reports", std::move(report_list)}});
}

HttpResponse SocService::InspectionReport(Call& call) {
  const auto& request = call.request;
  const std::string group = NonEmptyQuery(request, "group").value_or("");
  if (group.empty() || !IsValidGroupName(group)) {
    return InvalidRequest("group must be a group name such as laocai/bac-ha");
  }
  const auto from_text = NonEmptyQuery(request, "from");
  const auto to_text = NonEmptyQuery(request, "to");
  if (!from_text || !to_text) {
    return InvalidRequest("from and to are required dates (YYYY-MM-DD)");
  }
  auto from = ParseReportDate(*from_text, kReportUtcOffset);
  auto last_day = ParseReportDate(*to_text, kReportUtcOffset);
  if (!from.ok() || !last_day.ok()) {
    return InvalidRequest((from.ok() ? last_day.error() : from.error()).message);
  }
  const SysTime to = *last_day + std::chrono::hours(24);
  if (to <= *from) {
    return InvalidRequest("to must not be before from");
  }
  if (to - *from > kMaxReportPeriod) {
    return InvalidRequest("a report covers at most two years");
  }
  const std::string format = NonEmptyQuery(request, "format").value_or("html");
  if (format != "html" && format != "csv") {
    return InvalidRequest("format must be html or csv");
  }
  const std::string lang = NonEmptyQuery(request, "lang").value_or("vi");
  if (!IsReportLanguage(lang)) {
    return InvalidRequest("lang must be vi or en");
  }

  InspectionInput in;
  in.group = group;
  in.from = *from;
  in.to = to;
  in.soc_name = config_.soc_name;
  in.generated_by = call.operator_token != nullptr ? call.operator_token->name : "-";
  in.generated_at = call.now;
  in.stale_after =
      std::chrono::duration_cast<std::chrono::seconds>(call.now - StaleBefore(group, call.now));
  DeviceFilter filter;
  filter.group_prefix = group;
  auto devices = storage_.ListDevices(filter);
  if (!devices.ok()) {
    return StorageFailure("listing the devices of a report", devices.error());
  }
  in.devices = std::move(*devices);
  HistoryQuery query;
  query.group_prefix = group;
  query.from = *from;
  query.to = to;
  auto intervals = storage_.StatusIntervals(query);
  auto enforcement = storage_.EnforcementChanges(query);
  auto gaps = storage_.ReportingGaps(query);
  auto inspections = storage_.InspectionRecords(query);
  auto policies = storage_.ListPolicies();
  for (const Error* e :
       {intervals.ok() ? nullptr : &intervals.error(),
        enforcement.ok() ? nullptr : &enforcement.error(), gaps.ok() ? nullptr : &gaps.error(),
        inspections.ok() ? nullptr : &inspections.error(),
        policies.ok() ? nullptr : &policies.error()}) {
    if (e != nullptr) {
      return StorageFailure("reading the history of a report", *e);
    }
  }
  in.intervals = std::move(*intervals);
  in.enforcement = std::move(*enforcement);
  in.gaps = std::move(*gaps);
  in.inspections = std::move(*inspections);
  in.policies = std::move(*policies);

  const json content = BuildInspectionContent(in);
  GeneratedReport record;
  record.id = NewUuid();
  record.kind = "inspection";
  record.digest = ContentDigest(content);
  record.parameters = json{
      {"group", group},
      {"from", *from_text},
      {"to", *to_text},
      {"format", format},
      {"lang", lang}}.dump();
  record.generated_by = in.generated_by;
  record.generated_at = call.now;
  record.content = CanonicalText(content);
  call.audit_target = Clip("report " + record.id + " digest " + record.digest, 200);
  // No record, no report: a printed copy must always be traceable.
  if (auto s = storage_.RecordGeneratedReport(record); !s.ok()) {
    return StorageFailure("recording a generated report", s.error());
  }
  spdlog::info("inspection report {} for {} ({} to {}) generated by {}: digest {}", record.id,
               group, *from_text, *to_text, record.generated_by, record.digest);
  return RenderedReport(content, format, lang, record);
}

HttpResponse SocService::FindInspectionReports(Call& call) {
  const std::string digest = NonEmptyQuery(call.request, "digest").value_or("");
  call.audit_target = Clip(digest, 80);
  if (digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidRequest("digest must be the 64 lower-case hex digits printed on the report");
  }
  auto found = storage_.FindGeneratedReports(digest);
  if (!found.ok()) {
    return StorageFailure("looking up a report digest", found.error());
  }
  if (found->empty()) {
    return Fail(404, "not_found", "the SOC generated no report with this digest");
  }
  json list = json::array();
  for (const auto& r : *found) {
    json parameters = json::parse(r.parameters, nullptr, /*allow_exceptions=*/false);
    list.push_back({{"id", r.id},
                    {"kind", r.kind},
                    {"digest", r.digest},
                    {"parameters", parameters.is_discarded() ? json(r.parameters) : parameters},
                    {"generated_by", r.generated_by},
                    {"generated_at", FormatRfc3339(r.generated_at)}});
  }
  return HttpResponse::Json(200, {{"reports", std::move(list)}});
}

HttpResponse SocService::DownloadInspectionReport(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "report " + Clip(id, 64);
  if (!IsUuid(id)) {
    return InvalidRequest(
        "a report id is a UUID (printed on the report and by `cgctl report "
        "verify`)");
  }
  auto record = storage_.GetGeneratedReport(id);
  if (!record.ok()) {
    return record.error().code == ErrorCode::kNotFound
               ? Fail(404, "not_found", "the SOC recorded no report with this id")
               : StorageFailure("reading a generated report", record.error());
  }
  // The stored canonical content must still be what the digest printed on the report was made
  // of; a document rendered from altered content is never handed out.
  const json content = json::parse(record->content, nullptr, /*allow_exceptions=*/false);
  if (content.is_discarded() || Sha256Hex(record->content) != record->digest ||
      CanonicalText(content) != record->content) {
    spdlog::error("generated report {}: its stored content does not match its digest {}",
                  record->id, record->digest);
    return Fail(500, "integrity",
                "the stored content of this report does not match its digest; it is not served");
  }
  const json parameters = json::parse(record->parameters, nullptr, false);
  auto stored = [&](const char* key, const char* fallback) {
    return parameters.is_object() && parameters.value(key, json()).is_string()
               ? parameters[key].get<std::string>()
               : std::string(fallback);
  };
  const std::string format =
      NonEmptyQuery(call.request, "format").value_or(stored("format", "html"));
  if (format != "html" && format != "csv") {
    return InvalidRequest("format must be html or csv");
  }
  const std::string lang = NonEmptyQuery(call.request, "lang").value_or(stored("lang", "vi"));
  if (!IsReportLanguage(lang)) {
    return InvalidRequest("lang must be vi or en");
  }
  call.audit_target = Clip("report " + record->id + " digest " + record->digest, 200);
  return RenderedReport(content, format, lang, *record);
}

}  // namespace cg::soc

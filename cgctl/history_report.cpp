// cgctl history / report inspection / report verify.
#include "cgctl/history_report.h"

#include <cstdio>
#include <iostream>

#include "cgctl/cgctl.h"
#include "cgctl/views.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/api_paths.h"

namespace cg::cgctl {

using nlohmann::json;
namespace api = protocol::api;

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "cgctl: %s\n", E(message).c_str());
  return 2;
}

// The SOC's error message of a non-2xx answer.
std::string ErrorOf(const protocol::HttpResponse& r) {
  std::string message = "HTTP " + std::to_string(r.status);
  const json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
    message += ": " + j["error"].value("message", "");
  }
  return message;
}

Result<json> JsonCall(const RawCall& call, const std::string& target) {
  CG_ASSIGN_OR_RETURN(auto r, call("GET", target));
  if (r.status < 200 || r.status >= 300) {
    return MakeError(r.status == 404 ? ErrorCode::kNotFound : ErrorCode::kInvalidArgument,
                     ErrorOf(r));
  }
  json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return MakeError(ErrorCode::kParse, "the SOC answered something that is not JSON");
  }
  return j;
}

std::string Query(std::initializer_list<std::pair<const char*, std::string>> params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (!v.empty()) {
      q += (q.empty() ? "?" : "&") + std::string(k) + "=" + protocol::UrlEncode(v);
    }
  }
  return q;
}

// Each status change of the answer, overall ones first under the name "(device)".
template <typename F>
void ForEachChange(const json& answer, F&& f) {
  for (const auto& i : answer.value("overall", json::array())) {
    f(std::string(), i);
  }
  for (const auto& c : answer.value("checks", json::array())) {
    for (const auto& i : c.value("changes", json::array())) {
      f(c.value("id", ""), i);
    }
  }
}

int64_t Seconds(const json& interval) {
  auto since = ParseRfc3339(interval.value("since", ""));
  const auto until_it = interval.find("until");
  if (!since.ok() || until_it == interval.end() || !until_it->is_string()) {
    return -1;
  }
  auto until = ParseRfc3339(until_it->get<std::string>());
  return until.ok() ? ToUnixSeconds(*until) - ToUnixSeconds(*since) : -1;
}

}  // namespace

std::string FormatDuration(int64_t s) {
  if (s < 0) {
    return "-";
  }
  const int64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  if (d > 0) {
    return std::to_string(d) + "d " + std::to_string(h) + "h";
  }
  if (h > 0) {
    return std::to_string(h) + "h " + std::to_string(m) + "m";
  }
  if (m > 0) {
    return std::to_string(m) + "m " + std::to_string(s % 60) + "s";
  }
  return std::to_string(s) + "s";
}

std::string FormatHistory(const json& answer) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof(line), "%-16s  %-14s  %-20s  %-20s  %-8s  %s\n", "CHECK", "STATUS",
                "SINCE", "UNTIL", "LASTED", "SUMMARY");
  out += line;
  size_t n = 0;
  ForEachChange(answer, [&](const std::string& check, const json& i) {
    const bool open = !i.contains("until") || i["until"].is_null();
    std::snprintf(line, sizeof(line), "%-16s  %-14s  %-20s  %-20s  %-8s  ",
                  check.empty() ? "(device)" : E(check).c_str(), S(i, "status").c_str(),
                  S(i, "since").c_str(), open ? "now" : S(i, "until").c_str(),
                  open ? "-" : FormatDuration(Seconds(i)).c_str());
    out += line;
    out += S(i, "summary") + "\n";
    ++n;
  });
  if (n == 0) {
    out += "(no status recorded in this period)\n";
  }
  return out;
}

std::string HistoryCsv(const json& answer) {
  std::string out = "check,status,severity,since,until,seconds,report_id,summary\r\n";
  ForEachChange(answer, [&](const std::string& check, const json& i) {
    const bool open = !i.contains("until") || i["until"].is_null();
    const int64_t seconds = Seconds(i);
    for (const std::string& cell :
         {check, i.value("status", ""), i.value("severity", ""), i.value("since", ""),
          open ? std::string() : i.value("until", ""),
          seconds < 0 ? std::string() : std::to_string(seconds), i.value("report_id", ""),
          i.value("summary", "")}) {
      out += CsvCell(cell) + ",";  // control characters escaped, as on the terminal
    }
    out.back() = '\r';
    out += "\n";
  });
  return out;
}

void HistoryReportCommands::Register(CLI::App& app) {
  history_ = app.add_subcommand(
      "history", "A device's status changes: when each check started and stopped failing");
  history_->add_option("id", device_id_, "device id")->required();
  history_->add_option("--from", from_, "from this date (YYYY-MM-DD) or RFC 3339 time");
  history_->add_option("--to", to_, "to this date (inclusive) or RFC 3339 time");
  history_->add_option("--check", check_, "only this check (and the device's overall status)");
  history_->add_flag("--csv", csv_, "CSV output");
  history_
      ->add_option("--limit", limit_,
                   "latest raw reports listed with --json (default 20; kept 90 days)")
      ->check(CLI::Range(1, 1000));

  // `report show` (query.cpp) may have made the parent already: one `report` for both.
  try {
    report_ = app.get_subcommand("report");
  } catch (const CLI::OptionNotFound&) {
    report_ = app.add_subcommand("report", "Stored reports and inspection reports");
    report_->require_subcommand(1);
  }
  inspection_ = report_->add_subcommand(
      "inspection", "Compliance of a unit over a period, as one printable HTML file or CSV");
  inspection_->add_option("--group", group_, "the unit (group), e.g. laocai/bac-ha")->required();
  inspection_->add_option("--from", report_from_, "first day, YYYY-MM-DD")->required();
  inspection_->add_option("--to", report_to_, "last day (inclusive), YYYY-MM-DD")->required();
  inspection_->add_option("--format", format_, "html or csv")
      ->required()
      ->check(CLI::IsMember({"html", "csv"}));
  inspection_->add_option("--lang", lang_, "vi (default) or en")
      ->check(CLI::IsMember({"vi", "en"}));
  inspection_->add_option("-o,--output", output_, "write to FILE (default: standard output)");
  download_ = report_->add_subcommand(
      "download", "A report the SOC generated before, again, by its id (same digest)");
  download_->add_option("id", download_id_, "report id (printed with the digest)")->required();
  download_->add_option("-o,--output", download_output_,
                        "write to FILE (default: standard output)");
  download_->add_option("--format", download_format_, "html or csv (default: as generated)")
      ->check(CLI::IsMember({"html", "csv"}));
  download_->add_option("--lang", download_lang_, "vi or en (default: as generated)")
      ->check(CLI::IsMember({"vi", "en"}));
  verify_ = report_->add_subcommand(
      "verify", "Find the SOC's record of a report by the digest printed on it");
  verify_->add_option("digest", digest_, "SHA-256 digest (64 hex digits)")->required();
}

bool HistoryReportCommands::PrintsTable() const {
  return (history_ != nullptr && *history_) || (verify_ != nullptr && *verify_);
}

std::optional<int> HistoryReportCommands::Run(const RawCall& call, bool json_out, bool csv_out) {
  if (history_ != nullptr && *history_) {
    return History(call, json_out, csv_ || csv_out);
  }
  if (inspection_ != nullptr && *inspection_) {
    return Inspection(call, json_out);
  }
  if (verify_ != nullptr && *verify_) {
    return Verify(call, json_out, csv_out);
  }
  if (download_ != nullptr && *download_) {
    return Download(call, json_out);
  }
  return std::nullopt;
}

int HistoryReportCommands::History(const RawCall& call, bool json_out, bool csv) {
  if (json_out && csv) {
    return Fail("history: --json and --csv exclude each other");
  }
  auto r = JsonCall(call, api::PathWithId(api::kDeviceHistory, device_id_) +
                              Query({{"from", from_},
                                     {"to", to_},
                                     {"check", check_},
                                     {"limit", std::to_string(limit_)}}));
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  if (json_out) {
    std::cout << r->dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) << "\n";
  } else if (csv) {
    std::fputs(HistoryCsv(*r).c_str(), stdout);
  } else {
    std::fputs(FormatHistory(*r).c_str(), stdout);
  }
  return 0;
}

int HistoryReportCommands::Inspection(const RawCall& call, bool json_out) {
  auto r = call("GET", std::string(api::kInspectionReport) + Query({{"group", group_},
                                                                    {"from", report_from_},
                                                                    {"to", report_to_},
                                                                    {"format", format_},
                                                                    {"lang", lang_}}));
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  if (r->status != 200) {
    return Fail(ErrorOf(*r));
  }
  return WriteDocument(*r, output_, json_out);
}

int HistoryReportCommands::Download(const RawCall& call, bool json_out) {
  auto r = call("GET", api::PathWithId(api::kInspectionReportById, download_id_) +
                           Query({{"format", download_format_}, {"lang", download_lang_}}));
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  if (r->status != 200) {
    return Fail(ErrorOf(*r));
  }
  // The SOC checked its stored content against the digest; say which digest that was.
  if (r->Header(api::kReportIdHeader) != download_id_) {
    return Fail("the SOC answered another report than " + download_id_);
  }
  return WriteDocument(*r, download_output_, json_out);
}

int HistoryReportCommands::WriteDocument(const protocol::HttpResponse& r, const std::string& output,
                                         bool json_out) {
  const std::string digest = r.Header(api::kReportDigestHeader);
  const std::string id = r.Header(api::kReportIdHeader);
  if (!output.empty()) {
    if (auto s = WriteFileAtomic(output, r.body, 0600); !s.ok()) {
      return Fail(s.error().message);
    }
  } else {
    std::fwrite(r.body.data(), 1, r.body.size(), stdout);
    std::fflush(stdout);
  }
  // The identity goes where it does not mix with the document.
  FILE* info = output.empty() ? stderr : stdout;
  if (json_out) {
    std::fprintf(info, "%s\n",
                 json{{"id", id}, {"digest", digest}, {"output", output}}.dump().c_str());
  } else {
    std::fprintf(info, "report %s%s%s, digest %s\n", E(id).c_str(),
                 output.empty() ? "" : " written to ", E(output).c_str(), E(digest).c_str());
  }
  return 0;
}

int HistoryReportCommands::Verify(const RawCall& call, bool json_out, bool csv) {
  auto r = JsonCall(call, std::string(api::kInspectionReports) + Query({{"digest", digest_}}));
  if (!r.ok()) {
    if (r.error().code == ErrorCode::kNotFound) {
      return Fail("no report with digest " + digest_ + " was generated by this SOC");
    }
    return Fail(r.error().message);
  }
  if (json_out || csv) {
    Emit(ReportRecordsTable(*r), *r, json_out ? Format::kJson : Format::kCsv);
    return 0;
  }
  for (const auto& rep : r->value("reports", json::array())) {
    const json p = rep.value("parameters", json::object());
    std::printf("report %s: %s of %s from %s to %s (%s, %s), generated by %s at %s\n",
                S(rep, "id").c_str(), S(rep, "kind").c_str(), S(p, "group").c_str(),
                S(p, "from").c_str(), S(p, "to").c_str(), S(p, "format").c_str(),
                S(p, "lang").c_str(), S(rep, "generated_by").c_str(),
                S(rep, "generated_at").c_str());
  }
  std::printf("(`cgctl report download ID` gives a recorded report again)\n");
  return 0;
}

}  // namespace cg::cgctl

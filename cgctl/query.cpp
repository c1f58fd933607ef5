// cgctl's fleet queries (see query.h). Field names come from protocol/fleet_api.h, the same
// constants the SOC writes them with.
#include "cgctl/query.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <set>
#include <utility>

#include "cgctl/cgctl.h"
#include "protocol/api_paths.h"
#include "protocol/fleet_api.h"
#include "protocol/http.h"
#include "soc/escape.h"

namespace cg::cgctl {

using nlohmann::json;
namespace api = protocol::api;
namespace df = protocol::api::device_field;
namespace sf = protocol::api::summary_field;

namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "cgctl: %s\n", soc::EscapeControlCharacters(message).c_str());
  return 2;
}

// A JSON value as one cell: strings as they are, null as "", anything else as compact JSON.
std::string Cell(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return "";
  }
  return it->is_string() ? it->get<std::string>()
                         : it->dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Joined(const json& list, const char* separator) {
  std::string out;
  if (!list.is_array()) {
    return out;
  }
  for (const auto& item : list) {
    out +=
        (out.empty() ? "" : separator) + (item.is_string() ? item.get<std::string>() : item.dump());
  }
  return out;
}

// "noncompliant (stale)", "compliant (revoked, clock)": the latest report's status with what
// is true of the device beside it.
std::string StatusText(const json& d) {
  std::string flags;
  for (const auto& [field, word] :
       {std::pair{df::kStale, "stale"}, {df::kRevoked, "revoked"}, {df::kClockSkew, "clock"}}) {
    if (d.value(field, false)) {
      flags += (flags.empty() ? "" : ", ") + std::string(word);
    }
  }
  const std::string status = Cell(d, df::kStatus);
  return flags.empty() ? status : status + " (" + flags + ")";
}

std::string FailingText(const json& d) {
  std::string text = Joined(d.value(df::kFailingChecks, json::array()), ", ");
  const std::string errors = Joined(d.value(df::kErrorChecks, json::array()), ", ");
  if (!errors.empty()) {
    text += (text.empty() ? "" : "; ") + std::string("error: ") + errors;
  }
  return text;
}

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void PrintJson(const json& j) {
  Print(j.dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) + "\n");
}

Table DevicesCsvTable(const json& devices) {
  Table t({df::kDeviceId, df::kHostname, df::kReportedHostname, df::kGroup, df::kStatus, df::kStale,
           df::kRevoked, df::kFailingChecks, df::kErrorChecks, df::kLastSeen, df::kPolicyVersion,
           df::kOsName, df::kOsVersion, df::kAgentVersion});
  for (const auto& d : devices) {
    t.AddRow({Cell(d, df::kDeviceId), Cell(d, df::kHostname), Cell(d, df::kReportedHostname),
              Cell(d, df::kGroup), Cell(d, df::kStatus), Cell(d, df::kStale), Cell(d, df::kRevoked),
              Joined(d.value(df::kFailingChecks, json::array()), " "),
              Joined(d.value(df::kErrorChecks, json::array()), " "), Cell(d, df::kLastSeen),
              Cell(d, df::kPolicyVersion), Cell(d, df::kOsName), Cell(d, df::kOsVersion),
              Cell(d, df::kAgentVersion)});
  }
  return t;
}

// The postures in the order a summary shows them.
constexpr const char* kPostures[] = {"compliant", "noncompliant", "error", "unverified", "unknown"};

int64_t Count(const json& object, const std::string& key) {
  if (!object.is_object()) {
    return 0;
  }
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::vector<std::string> SummaryRow(const json& g) {
  std::vector<std::string> row = {Cell(g, sf::kGroup).empty() ? "(all)" : Cell(g, sf::kGroup),
                                  Cell(g, sf::kDevices)};
  const json status = g.value(sf::kStatus, json::object());
  for (const char* posture : kPostures) {
    row.push_back(std::to_string(Count(status, posture)));
  }
  row.push_back(Cell(g, sf::kStale));
  row.push_back(Cell(g, sf::kNeverReported));
  row.push_back(Cell(g, sf::kRevoked));
  return row;
}

}  // namespace

std::string DevicesQuery(const DevicesOptions& o, const std::string& cursor, int page_size) {
  namespace p = api::devices_param;
  std::string q;
  auto add = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) {
      q += (q.empty() ? "?" : "&") + std::string(key) + "=" + protocol::UrlEncode(value);
    }
  };
  add(p::kGroup, o.group);
  add(p::kStatus, o.status);
  add(p::kCheck, o.check);
  add(p::kStale, o.stale ? "true" : o.not_stale ? "false" : "");
  add(p::kRevoked, o.revoked ? "true" : o.not_revoked ? "false" : "");
  add(p::kOs, o.os);
  add(p::kOsVersion, o.os_version);
  add(p::kAgentVersion, o.agent_version);
  add(p::kPolicyVersion, o.policy_version);
  add(p::kSeenBefore, o.seen_before);
  add(p::kSeenAfter, o.seen_after);
  add(p::kSearch, o.search);
  add(p::kSort, o.sort);
  add(p::kOrder, o.desc ? "desc" : "");
  add(p::kLimit, page_size > 0 ? std::to_string(page_size) : "");
  add(p::kCursor, cursor);
  return q;
}

QueryCommands AddQueryCommands(CLI::App& app, DevicesOptions& o, std::string& summary_group,
                               std::string& report_id) {
  QueryCommands c;
  c.devices = app.add_subcommand("devices", "List devices: filters, sort, pages");
  auto* d = c.devices;
  d->add_option("--group", o.group, "a group and the groups below it (laocai or laocai/bac-ha)");
  d->add_option("--status", o.status,
                "compliant|noncompliant|error|unknown|unverified (what the latest report says; "
                "several with ','), or stale|revoked")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            static const std::set<std::string> kKnown = {
                "compliant", "noncompliant", "error", "unknown", "unverified", "stale", "revoked"};
            size_t at = 0;
            while (at <= value.size()) {
              const size_t comma = std::min(value.find(',', at), value.size());
              const std::string name = value.substr(at, comma - at);
              if (kKnown.count(name) == 0) {
                return "unknown status '" + name +
                       "' (compliant, noncompliant, error, unknown, unverified, stale, revoked)";
              }
              at = comma + 1;
            }
            return "";
          },
          "STATUS[,STATUS...]"));
  d->add_option("--check", o.check, "only devices failing this check (or in error on it)");
  auto* stale = d->add_flag("--stale", o.stale, "only devices not heard from in time");
  d->add_flag("--not-stale", o.not_stale, "only devices heard from in time")->excludes(stale);
  auto* revoked = d->add_flag("--revoked", o.revoked, "only revoked devices");
  d->add_flag("--not-revoked", o.not_revoked, "only devices not revoked")->excludes(revoked);
  d->add_option("--os", o.os, "OS name as reported, e.g. \"Windows 10 Pro\"");
  d->add_option("--os-version", o.os_version, "OS version as reported, e.g. 10.0.19045");
  d->add_option("--agent-version", o.agent_version, "agent version, e.g. 1.4.2");
  d->add_option("--policy-version", o.policy_version, "policy version of the latest report");
  d->add_option("--seen-before", o.seen_before, "last report before this time (RFC 3339)");
  d->add_option("--seen-after", o.seen_after, "last report at or after this time (RFC 3339)");
  d->add_option("--search", o.search,
                "host name contains this, ignoring case, diacritics and separators "
                "(\"bac ha\" finds \"Bắc Hà\")");
  d->add_option("--sort", o.sort, "group (default), hostname, status (worst first), last_seen")
      ->check(CLI::IsMember({"group", "hostname", "status", "last_seen"}));
  d->add_flag("--desc", o.desc, "reverse the order");
  d->add_option("--limit", o.limit, "one page of this many (default: every device)")
      ->check(CLI::Range(1, static_cast<int>(api::kMaxDevicePage)));
  d->add_option("--cursor", o.cursor, "the page after this cursor (printed after a page)");
  c.summary = app.add_subcommand("summary", "Devices per group: status, failing checks, stale");
  c.summary->add_option("--group", summary_group, "a group and the groups below it");
  CLI::App* report = nullptr;
  try {
    report = app.get_subcommand("report");
  } catch (const CLI::OptionNotFound&) {
    report = app.add_subcommand("report", "Stored reports and inspection reports");
    report->require_subcommand(1);
  }
  c.report_show = report->add_subcommand("show", "Any stored report, with its evidence");
  c.report_show->add_option("id", report_id, "report id")->required();
  return c;
}

int RunDevices(const DevicesOptions& o, const CallFn& call, Format format) {
  const bool one_page = o.limit > 0;
  json devices = json::array();
  std::string cursor = o.cursor;
  std::string next;
  int64_t total = 0;
  while (true) {
    auto r = call(std::string(api::kDevices) + DevicesQuery(o, cursor, o.limit));
    if (!r.ok()) {
      return Fail(r.error().message);
    }
    for (auto& d : r->value(api::devices_field::kDevices, json::array())) {
      devices.push_back(std::move(d));
    }
    if (const json t = r->value(api::devices_field::kTotal, json(nullptr)); t.is_number()) {
      total = t.get<int64_t>();  // the first page's count (later pages carry null)
    }
    const json n = r->value(api::devices_field::kNextCursor, json(nullptr));
    next = n.is_string() ? n.get<std::string>() : "";
    if (one_page || next.empty()) {
      break;
    }
    cursor = next;
  }
  switch (format) {
    case Format::kJson:
      PrintJson(devices);  // the stable contract: an array of device objects
      break;
    case Format::kCsv:
      Print(DevicesCsvTable(devices).Csv());
      break;
    case Format::kText:
      Print(DevicesTable(devices).Text());
      std::fprintf(stderr, "%zu of %lld device(s)\n", devices.size(),
                   static_cast<long long>(total));
      break;
  }
  if (one_page && !next.empty()) {
    std::fprintf(stderr, "more: the next page is --cursor %s\n",
                 soc::EscapeControlCharacters(next).c_str());
  }
  return 0;
}

int RunSummary(const std::string& group, const CallFn& call, Format format) {
  std::string q;
  if (!group.empty()) {
    q = "?" + std::string(api::devices_param::kGroup) + "=" + protocol::UrlEncode(group);
  }
  auto r = call(std::string(api::kSummary) + q);
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  switch (format) {
    case Format::kJson:
      PrintJson(*r);
      break;
    case Format::kCsv: {
      // One column per check that fails anywhere in the answer.
      std::set<std::string> checks;
      for (const auto& g : r->value(sf::kGroups, json::array())) {
        const json failing = g.value(sf::kFailing, json::object());
        for (const auto& [check, n] : failing.items()) {
          checks.insert(check);
        }
      }
      std::vector<std::string> headers = {sf::kGroup, sf::kDevices};
      for (const char* posture : kPostures) {
        headers.emplace_back(posture);
      }
      headers.insert(headers.end(), {sf::kStale, sf::kNeverReported, sf::kRevoked});
      for (const auto& check : checks) {
        headers.push_back("failing_" + check);
      }
      Table t(headers);
      auto add = [&](const json& g) {
        auto row = SummaryRow(g);
        for (const auto& check : checks) {
          row.push_back(std::to_string(Count(g.value(sf::kFailing, json::object()), check)));
        }
        t.AddRow(std::move(row));
      };
      for (const auto& g : r->value(sf::kGroups, json::array())) {
        add(g);
      }
      add(r->value(sf::kTotal, json::object()));
      Print(t.Csv());
      break;
    }
    case Format::kText:
      Print(SummaryTable(*r).Text());
      break;
  }
  return 0;
}

int RunReportShow(const std::string& report_id, const CallFn& call, Format format) {
  auto r = call(api::PathWithId(api::kStoredReport, report_id));
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  switch (format) {
    case Format::kJson:
      PrintJson(*r);
      break;
    case Format::kCsv:
      Print(ChecksTable(
                r->value(api::report_field::kReport, json::object()).value("checks", json::array()))
                .Csv());
      break;
    case Format::kText:
      Print(FormatReport(*r));
      break;
  }
  return 0;
}

Table DevicesTable(const json& devices) {
  Table t({"DEVICE ID", "HOSTNAME", "GROUP", "STATUS", "FAILING CHECKS", "LAST SEEN", "POLICY",
           "OS", "AGENT"});
  for (const auto& d : devices) {
    std::string os = Cell(d, df::kOsName);
    if (!Cell(d, df::kOsVersion).empty()) {
      os += " " + Cell(d, df::kOsVersion);
    }
    t.AddRow({Cell(d, df::kDeviceId), Hostname(d), Cell(d, df::kGroup), StatusText(d),
              FailingText(d), Cell(d, df::kLastSeen), Cell(d, df::kPolicyVersion), os,
              Cell(d, df::kAgentVersion)});
  }
  return t;
}

Table SummaryTable(const json& answer) {
  Table t({"GROUP", "DEVICES", "COMPLIANT", "NONCOMPLIANT", "ERROR", "UNVERIFIED", "UNKNOWN",
           "STALE", "NEVER REPORTED", "REVOKED", "FAILING CHECKS"});
  auto add = [&](const json& g) {
    auto row = SummaryRow(g);
    std::string failing;
    const json counts = g.value(sf::kFailing, json::object());
    for (const auto& [check, n] : counts.items()) {
      failing += (failing.empty() ? "" : ", ") + check + " " + n.dump();
    }
    row.push_back(failing);
    t.AddRow(std::move(row));
  };
  for (const auto& g : answer.value(sf::kGroups, json::array())) {
    add(g);
  }
  add(answer.value(sf::kTotal, json::object()));
  return t;
}

Table InspectionTable(const json& devices) {
  namespace f = api::inspection_field;
  Table t({"DEVICE ID", "HOSTNAME", "STATE", "DONE AT", "RESULT", "FAILING CHECKS", "REPORT"});
  for (const auto& d : devices) {
    t.AddRow({Cell(d, f::kDeviceId), Cell(d, f::kHostname), Cell(d, f::kState), Cell(d, "done_at"),
              Cell(d, f::kResult), Joined(d.value(f::kFailingChecks, json::array()), ", "),
              Cell(d, f::kReportId)});
  }
  return t;
}

Table ChecksTable(const json& checks) {
  Table t({"CHECK", "STATUS", "SEVERITY", "SUMMARY", "EXPECTED", "OBSERVED"});
  for (const auto& c : checks) {
    t.AddRow({Cell(c, "id"), Cell(c, "status"), Cell(c, "severity"), Cell(c, "summary"),
              Cell(c, "expected"), Cell(c, "observed")});
  }
  return t;
}

std::string FormatReport(const json& answer) {
  namespace f = api::report_field;
  const json& report = answer.value(f::kReport, json::object());
  const json os = report.value("os", json::object());
  std::string out;
  auto line = [&](const char* label, const std::string& value) {
    out += std::string(label) + E(value.empty() ? "-" : value) + "\n";
  };
  line("report:     ", Cell(answer, f::kReportId));
  line("device:     ", Cell(answer, f::kDeviceId));
  line("hostname:   ", Cell(answer, f::kHostname));
  line("group:      ", Cell(answer, f::kGroup));
  line("status:     ", Cell(answer, f::kStatus));
  line("collected:  ", Cell(answer, f::kCollectedAt));
  line("received:   ", Cell(answer, f::kReceivedAt));
  line("policy:     ", Cell(report, "policy_version") + " " + Cell(answer, f::kPolicyState));
  line("os:         ", Cell(os, "name") + " " + Cell(os, "version"));
  line("agent:      ", Cell(report, "agent_version"));
  out += "\n" + ChecksTable(report.value("checks", json::array())).Text();
  return out;
}

}  // namespace cg::cgctl

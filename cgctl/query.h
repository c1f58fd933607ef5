// cgctl's fleet queries: `devices` (filters, sort, pages), `summary`, `device ID` (current
// results with their evidence), `report show ID` and the per-device results of `inspect status
// ID`, as text tables aligned by display width, CSV or JSON. The commands talk to the SOC through
// a CallFn, so that their output can be tested without one.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "cgctl/table.h"
#include "common/result.h"

namespace cg::cgctl {

// GET `target` on the operator API: the JSON answer, or the SOC's error.
using CallFn = std::function<Result<nlohmann::json>(const std::string& target)>;

enum class Format { kText, kJson, kCsv };

struct DevicesOptions {
  std::string group, status, check, os, os_version, agent_version, policy_version;
  std::string seen_before, seen_after, search, sort = "group", cursor;
  bool stale = false, not_stale = false, revoked = false, not_revoked = false, desc = false;
  int limit = 0;  // 0: every page
};

// The API query string of the options ("" or "?a=b&...").
std::string DevicesQuery(const DevicesOptions& o, const std::string& cursor, int page_size);

// Adds `devices` and `summary` to `app`; the options bind to `devices` and `summary_group`.
struct QueryCommands {
  CLI::App* devices = nullptr;
  CLI::App* summary = nullptr;
  CLI::App* report_show = nullptr;
};
QueryCommands AddQueryCommands(CLI::App& app, DevicesOptions& devices, std::string& summary_group,
                               std::string& report_id);

// The commands: output on stdout (text, JSON or CSV), 0 on success, 2 on failure (message on
// stderr).
int RunDevices(const DevicesOptions& o, const CallFn& call, Format format);
int RunSummary(const std::string& group, const CallFn& call, Format format);
int RunReportShow(const std::string& report_id, const CallFn& call, Format format);

// The tables and texts those commands print.
Table DevicesTable(const nlohmann::json& devices);
Table SummaryTable(const nlohmann::json& answer);
Table InspectionTable(const nlohmann::json& devices);
// A report's checks with their evidence (expected / observed).
Table ChecksTable(const nlohmann::json& checks);
std::string FormatReport(const nlohmann::json& answer);

}  // namespace cg::cgctl

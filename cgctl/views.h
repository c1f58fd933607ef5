// The tables of cgctl's commands that list things (policies, inspections, tokens, conflicts,
// export sinks, accounts, the audit log, report records): built once from the API's answer and
// printed as a text table aligned by display width or as CSV (RFC 4180), so that `--csv` gives
// the same columns as the screen, for every command that prints data (issue 15).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cgctl/query.h"
#include "cgctl/table.h"

namespace cg::cgctl {

// A field as one cell: strings as they are, null or absent as "", anything else as compact
// JSON. Tables escape control characters when they print (table.h).
std::string Cell(const nlohmann::json& object, const char* key);

// `table` on stdout as text or CSV; with Format::kJson, `answer` as indented JSON instead.
void Emit(const Table& table, const nlohmann::json& answer, Format format);

// `policy status`: the versions confirmed, then the lagging and unverified devices. The CSV is
// one table with a "kind" column (version, lagging, unverified).
Table PolicyVersionsTable(const nlohmann::json& status);
Table PolicyLaggingTable(const nlohmann::json& status);
Table PolicyUnverifiedTable(const nlohmann::json& status);
Table PolicyStatusCsvTable(const nlohmann::json& status);
// `policy list`, `policy effective` (its settings and the layer each comes from).
Table PolicyListTable(const nlohmann::json& answer);
Table PolicySettingsTable(const nlohmann::json& effective);
// `inspect status` without an id.
Table InspectionsTable(const nlohmann::json& answer);
// `enroll-token list`, `operator list`, `conflicts`.
Table EnrollTokensTable(const nlohmann::json& answer);
Table OperatorTokensTable(const nlohmann::json& answer);
Table ConflictsTable(const nlohmann::json& answer);
// `export status`.
Table ExportSinksTable(const nlohmann::json& answer);
// `account list`, `audit`.
Table AccountsTable(const nlohmann::json& answer);
Table AuditTable(const nlohmann::json& answer);
// `report verify`: the SOC's records of a digest.
Table ReportRecordsTable(const nlohmann::json& answer);
// One row of `keys` (what a create command printed): its CSV.
Table FieldsTable(const nlohmann::json& object, const std::vector<std::string>& keys);

}  // namespace cg::cgctl

// Tests for cgctl/views.cpp: every list table has the columns of the API's answer, in text
// (aligned by display width, control characters escaped) and in CSV (RFC 4180, formulas
// defused), from answers shaped like the SOC's.
#include "cgctl/views.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace cg::cgctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> CsvLines(const std::string& csv) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < csv.size()) {
    const size_t end = csv.find("\r\n", at);
    lines.push_back(csv.substr(at, end - at));
    at = end == std::string::npos ? csv.size() : end + 2;
  }
  return lines;
}

struct Case {
  const char* name;
  Table (*table)(const json&);
  json answer;
  std::string csv_header;
  std::string csv_row;  // the first data row
};

TEST(ViewsTest, EveryListHasItsColumnsInCsv) {
  const std::vector<Case> cases = {
      {"policy list",
       PolicyListTable,
       {{"policies",
         {{{"target", ""},
           {"version", 4},
           {"name", "Chính sách tỉnh"},
           {"key_id", "k1"},
           {"scope", "laocai"},
           {"pushed_by", "quan.tri"},
           {"pushed_at", "2026-12-01T00:00:00Z"}}}}},
       "TARGET,VERSION,NAME,KEY,SCOPE,PUSHED BY,PUSHED AT",
       "(every group),4,Chính sách tỉnh,k1,laocai,quan.tri,2026-12-01T00:00:00Z"},
      {"inspections",
       InspectionsTable,
       {{"inspections",
         {{{"task_id", "t1"},
           {"target", "group laocai"},
           {"yara", true},
           {"created_at", "2026-12-01T00:00:00Z"},
           {"devices", 3},
           {"delivered", 2},
           {"done", 1}}}}},
       "INSPECTION,TARGET,YARA,ASKED AT,DEVICES,DELIVERED,DONE",
       "t1,group laocai,yes,2026-12-01T00:00:00Z,3,2,1"},
      {"enroll tokens",
       EnrollTokensTable,
       {{"enroll_tokens",
         {{{"id", "e1"},
           {"group", "laocai/bac-ha"},
           {"state", "usable"},
           {"uses", 1},
           {"uses_allowed", 5},
           {"expires_at", "2026-12-02T00:00:00Z"},
           {"created_by", "root"}}}}},
       "ID,GROUP,STATE,USES,EXPIRES,CREATED BY",
       "e1,laocai/bac-ha,usable,1/5,2026-12-02T00:00:00Z,root"},
      {"operator tokens",
       OperatorTokensTable,
       {{"operator_tokens",
         {{{"id", "o1"},
           {"name", "prometheus"},
           {"account", nullptr},
           {"role", "metrics"},
           {"state", "active"},
           {"expires_at", "2027-03-01T00:00:00Z"},
           {"last_used_at", nullptr},
           {"created_at", "2026-12-01T00:00:00Z"}}}}},
       "ID,NAME,ACCOUNT,ROLE,STATE,EXPIRES,LAST USED,CREATED",
       "o1,prometheus,,metrics,active,2027-03-01T00:00:00Z,,2026-12-01T00:00:00Z"},
      {"conflicts",
       ConflictsTable,
       {{"conflicts",
         {{{"id", 7},
           {"time", "2026-12-01T00:00:00Z"},
           {"device_id", "d1"},
           {"hostname", "=cmd|' /C calc'!A0"},
           {"group", "laocai"},
           {"source", "10.0.0.5"},
           {"resolved_at", "2026-12-02T00:00:00Z"},
           {"resolved_by", "quan.tri"}}}}},
       "ID,TIME,DEVICE ID,HOSTNAME,GROUP,SOURCE,RESOLVED",
       // A host name that a spreadsheet would run is text.
       "7,2026-12-01T00:00:00Z,d1,'=cmd|' /C calc'!A0,laocai,10.0.0.5,2026-12-02T00:00:00Z by "
       "quan.tri"},
      {"export sinks",
       ExportSinksTable,
       {{"enabled", true},
        {"sinks",
         {{{"sink", "syslog"},
           {"pending", 17},
           {"oldest_pending", "2026-12-02T09:58:00Z"},
           {"delivered_seq", 25},
           {"delivered_at", nullptr}}}}},
       "SINK,BACKLOG,OLDEST PENDING,DELIVERED SEQ,LAST DELIVERY",
       "syslog,17,2026-12-02T09:58:00Z,25,"},
      {"accounts",
       AccountsTable,
       {{"accounts",
         {{{"name", "nguyen.van.an"},
           {"display_name", "Nguyễn Văn An, Phòng 2"},
           {"role", "inspector"},
           {"state", "active"},
           {"totp", true},
           {"sessions", 1},
           {"last_login_at", "2026-12-01T00:00:00Z"},
           {"tokens", {{{"name", "script"}, {"role", "analyst"}, {"state", "active"}}}}}}}},
       "NAME,DISPLAY NAME,ROLE,STATE,TOTP,SESSIONS,LAST LOGIN,TOKENS",
       "nguyen.van.an,\"Nguyễn Văn An, Phòng 2\",inspector,active,yes,1,2026-12-01T00:00:00Z,"
       "\"script (analyst, active)\""},
      {"audit",
       AuditTable,
       {{"entries",
         {{{"time", "2026-12-01T00:00:00Z"},
           {"actor", "nguyen.van.an"},
           {"role", "inspector"},
           {"kind", "read"},
           {"action", "GET /api/v1/devices"},
           {"result", 200},
           {"source", "10.0.0.9:5000"},
           {"target", "line\nbreak"}}}}},
       "TIME,ACTOR,ROLE,KIND,ACTION,RESULT,SOURCE,TARGET",
       "2026-12-01T00:00:00Z,nguyen.van.an,inspector,read,GET /api/v1/devices,200,10.0.0.9:5000,"
       "line\\x0abreak"},
      {"report records",
       ReportRecordsTable,
       {{"reports",
         {{{"id", "r1"},
           {"kind", "inspection"},
           {"digest", "ab12"},
           {"parameters",
            {{"group", "laocai/bac-ha"},
             {"from", "2026-06-01"},
             {"to", "2026-06-30"},
             {"format", "html"},
             {"lang", "vi"}}},
           {"generated_by", "thanh.tra"},
           {"generated_at", "2026-07-01T00:00:00Z"}}}}},
       "ID,KIND,GROUP,FROM,TO,FORMAT,LANG,GENERATED BY,GENERATED AT,DIGEST",
       "r1,inspection,laocai/bac-ha,2026-06-01,2026-06-30,html,vi,thanh.tra,2026-07-01T00:00:00Z,"
       "ab12"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto lines = CsvLines(c.table(c.answer).Csv());
    ASSERT_EQ(lines.size(), 2u) << c.table(c.answer).Csv();
    EXPECT_EQ(lines[0], c.csv_header);
    EXPECT_EQ(lines[1], c.csv_row);
    // An answer without the list is an empty table, not a crash.
    EXPECT_EQ(CsvLines(c.table(json::object()).Csv()).size(), 1u);
    EXPECT_EQ(CsvLines(c.table(json("not an object")).Csv()).size(), 1u);
  }
}

TEST(ViewsTest, PolicyStatusIsOneCsvWithAKindColumn) {
  const json status = {{"versions", {{{"version", 4}, {"hash", "h4"}, {"devices", 10}}}},
                       {"lagging",
                        {{{"device_id", "d1"},
                          {"hostname", "Bắc Hà 01"},
                          {"group", "laocai/bac-ha"},
                          {"policy_version", 3},
                          {"expected_version", 4},
                          {"status", "compliant"},
                          {"last_seen", "2026-12-01T00:00:00Z"}}}},
                       {"unverified",
                        {{{"device_id", "d2"},
                          {"hostname", "x"},
                          {"group", "laocai"},
                          {"policy_version", 9},
                          {"policy_hash", "bad"},
                          {"expected_version", 4},
                          {"last_seen", nullptr}}}}};
  const auto lines = CsvLines(PolicyStatusCsvTable(status).Csv());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0],
            "kind,version,hash,devices,device_id,hostname,group,policy_version,expected_version,"
            "status,last_seen");
  EXPECT_EQ(lines[1], "version,4,h4,10,,,,,,,");
  EXPECT_EQ(lines[2], "lagging,,,,d1,Bắc Hà 01,laocai/bac-ha,3,4,compliant,2026-12-01T00:00:00Z");
  EXPECT_EQ(lines[3], "unverified,,bad,,d2,x,laocai,9,4,,");
  // The text tables align Vietnamese names by display width.
  const std::string text = PolicyLaggingTable(status).Text();
  std::istringstream in(text);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header.find("HOSTNAME"), 11u);
  EXPECT_EQ(row.find("Bắc Hà 01"), 11u);
  EXPECT_EQ(header.find("GROUP"), 22u);  // "Bắc Hà 01" is 9 columns wide (and 12 bytes)
  EXPECT_THAT(row, HasSubstr("Bắc Hà 01  laocai/bac-ha"));
}

TEST(ViewsTest, EffectivePolicySettingsWithTheirLayer) {
  const json effective = {{"policy",
                           {{"name", "p"},
                            {"checks", {{"screen_lock", {{"timeout_seconds", 300}}}}},
                            {"reporting", {{"interval_seconds", 3600}}}}},
                          {"origin",
                           {{"checks.screen_lock.timeout_seconds", "laocai/bac-ha"},
                            {"reporting.interval_seconds", ""},
                            {"name", "laocai"}}}};
  const auto lines = CsvLines(PolicySettingsTable(effective).Csv());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "SETTING,VALUE,FROM");
  EXPECT_EQ(lines[1], "checks.screen_lock.timeout_seconds,300,laocai/bac-ha");
  EXPECT_EQ(lines[2], "name,p,laocai");
  EXPECT_EQ(lines[3], "reporting.interval_seconds,3600,(every group)");
}

TEST(ViewsTest, ACreatedTokenIsOneRowAndTextEscapesControlCharacters) {
  const json created = {{"token", "secret"}, {"id", "i1"}, {"group", "g\x1b[2J"}};
  const auto lines = CsvLines(FieldsTable(created, {"token", "id", "group", "uses"}).Csv());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "token,id,group,uses");
  EXPECT_EQ(lines[1], "secret,i1,g\\x1b[2J,");
  EXPECT_THAT(FieldsTable(created, {"group"}).Text(), Not(HasSubstr("\x1b")));
}

}  // namespace
}  // namespace cg::cgctl

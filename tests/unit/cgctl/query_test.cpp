// Tests for cgctl/query.cpp and cgctl/table.cpp without a SOC: tables aligned by display width
// (Vietnamese with combining marks, CJK), control characters escaped, CSV quoting, the JSON
// contract, and `devices` following cursors page after page through a fake API.
#include "cgctl/query.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "cgctl/table.h"
#include "soc/text_width.h"
#include "tests/unit/testing/text_lines.h"

namespace cg::cgctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::Lines;
using ::testing::Not;

// The display column where `needle` starts in `line`.
size_t ColumnOf(const std::string& line, const std::string& needle) {
  const size_t at = line.find(needle);
  EXPECT_NE(at, std::string::npos) << needle << " not in " << line;
  return soc::DisplayWidth(line.substr(0, at));
}

TEST(TableTest, ColumnsAlignByDisplayWidthNotBytes) {
  Table t({"HOSTNAME", "GROUP", "STATUS"});
  t.AddRow({"pc-01", "laocai", "compliant"});
  t.AddRow({"B\xe1\xba\xaf\x63 H\xc3\xa0 Qu\xe1\xba\xa7y 01", "laocai/bac-ha", "noncompliant"});
  t.AddRow({"Ba\xcc\x86\xcc\x81\x63 Ha\xcc\x80", "x", "error"});  // decomposed marks
  t.AddRow({"\xe4\xb8\x9c\xe4\xba\xac-PC", "hanoi", "unknown"});  // wide characters
  const auto lines = Lines(t.Text());
  ASSERT_EQ(lines.size(), 5u);
  const size_t group = ColumnOf(lines[0], "GROUP");
  const size_t status = ColumnOf(lines[0], "STATUS");
  EXPECT_EQ(ColumnOf(lines[1], "laocai"), group);
  EXPECT_EQ(ColumnOf(lines[2], "laocai/bac-ha"), group);
  EXPECT_EQ(ColumnOf(lines[3], "x "), group);
  EXPECT_EQ(ColumnOf(lines[4], "hanoi"), group);
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(ColumnOf(lines[i], std::vector<std::string>{"compliant", "noncompliant", "error",
                                                          "unknown"}[i - 1]),
              status)
        << lines[i];
  }
  // "Bắc Hà Quầy 01" is 14 columns but 20 bytes: padding by bytes would misplace GROUP.
  EXPECT_EQ(group, 14u + 2u);
}

TEST(TableTest, ControlCharactersAreEscapedAndFakeNoRow) {
  Table t({"HOSTNAME", "STATUS"});
  t.AddRow({"pc\x1b[2J\r\nfake\xe2\x80\xae", "ok"});
  const std::string text = t.Text();
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text, HasSubstr("pc\\x1b[2J\\x0d\\x0afake\\u202e"));
  EXPECT_EQ(Lines(text).size(), 2u);
  EXPECT_EQ(ColumnOf(Lines(text)[1], "ok"), ColumnOf(Lines(text)[0], "STATUS"));
}

TEST(TableTest, CsvQuotesWhatNeedsQuotingAndDefusesFormulas) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("B\xe1\xba\xaf\x63 H\xc3\xa0"), "B\xe1\xba\xaf\x63 H\xc3\xa0");  // UTF-8 as is
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("+cmd"), "'+cmd");
  EXPECT_EQ(CsvCell("-5"), "-5");                       // a number stays a number
  EXPECT_EQ(CsvCell("line\nbreak"), "line\\x0abreak");  // escaped, so no quoting needed
  Table t({"a", "b"});
  t.AddRow({"1", "x,y"});
  EXPECT_EQ(t.Csv(), "a,b\r\n1,\"x,y\"\r\n");
}

json Row(int n, const std::string& hostname, const std::string& status, bool stale = false) {
  char id[40];
  std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
  return {{"device_id", id},
          {"hostname", hostname},
          {"reported_hostname", hostname},
          {"group", "laocai/bac-ha"},
          {"status", status},
          {"stale", stale},
          {"revoked", false},
          {"failing_checks", json::array({"antivirus", "yara"})},
          {"error_checks", json::array({"password_age"})},
          {"last_seen", "2026-12-01T08:00:00Z"},
          {"policy_version", 4},
          {"os_name", "Windows 10 Pro"},
          {"os_version", "10.0.19045"},
          {"agent_version", "1.4.2"},
          {"clock_skew", false}};
}

TEST(DevicesTableTest, StaleIsShownBesideTheStatusWithTheFailingChecks) {
  const auto lines =
      Lines(DevicesTable(json::array({Row(1, "pc-1", "noncompliant", true)})).Text());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr("noncompliant (stale)"));
  EXPECT_THAT(lines[1], HasSubstr("antivirus, yara; error: password_age"));
  EXPECT_EQ(ColumnOf(lines[1], "noncompliant"), ColumnOf(lines[0], "STATUS"));
  EXPECT_EQ(ColumnOf(lines[1], "Windows 10 Pro 10.0.19045"), ColumnOf(lines[0], "  OS  ") + 2);
}

// A fake operator API: pages of `per_page` rows of `rows`, cursor = the next row's index.
struct FakeApi {
  std::vector<json> rows;
  size_t per_page = 2;
  std::vector<std::string> targets;

  CallFn Fn() {
    return [this](const std::string& target) -> Result<json> {
      targets.push_back(target);
      size_t start = 0;
      const size_t at = target.find("cursor=");
      if (at != std::string::npos) {
        start = std::stoul(target.substr(at + 7));
      }
      json page = json::array();
      for (size_t i = start; i < rows.size() && i < start + per_page; ++i) {
        page.push_back(rows[i]);
      }
      const size_t next = start + per_page;
      return json{{"devices", page},
                  {"total", rows.size()},
                  {"next_cursor", next < rows.size() ? json(std::to_string(next)) : json(nullptr)}};
    };
  }
};

TEST(DevicesCommandTest, WithoutLimitEveryPageIsFetchedAndJsonIsTheArrayContract) {
  FakeApi api;
  for (int i = 1; i <= 5; ++i) {
    api.rows.push_back(Row(i, "pc-" + std::to_string(i), "compliant"));
  }
  DevicesOptions o;
  o.search = "b\xe1\xba\xaf\x63 h\xc3\xa0";
  o.status = "noncompliant,unknown";
  o.stale = true;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunDevices(o, api.Fn(), Format::kJson), 0);
  const json out = json::parse(::testing::internal::GetCapturedStdout());
  ASSERT_TRUE(out.is_array());
  EXPECT_EQ(out.size(), 5u);
  EXPECT_EQ(out[4]["hostname"], "pc-5");
  ASSERT_EQ(api.targets.size(), 3u);  // 2 + 2 + 1
  EXPECT_THAT(api.targets[0], HasSubstr("search=b%E1%BA%AFc%20h%C3%A0"));
  EXPECT_THAT(api.targets[0], HasSubstr("status=noncompliant%2Cunknown"));
  EXPECT_THAT(api.targets[0], HasSubstr("stale=true"));
  EXPECT_THAT(api.targets[2], HasSubstr("cursor=4"));
}

TEST(DevicesCommandTest, WithALimitOnePageAndTheNextCursorOnStderr) {
  FakeApi api;
  for (int i = 1; i <= 5; ++i) {
    api.rows.push_back(Row(i, "pc-" + std::to_string(i), "compliant"));
  }
  DevicesOptions o;
  o.limit = 2;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunDevices(o, api.Fn(), Format::kCsv), 0);
  const std::string csv = ::testing::internal::GetCapturedStdout();
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(api.targets.size(), 1u);
  EXPECT_THAT(api.targets[0], HasSubstr("limit=2"));
  EXPECT_THAT(err, HasSubstr("--cursor 2"));
  const auto lines = Lines(csv);
  ASSERT_EQ(lines.size(), 3u);  // header and 2 rows
  EXPECT_EQ(lines[0],
            "device_id,hostname,reported_hostname,group,status,stale,revoked,failing_checks,"
            "error_checks,last_seen,policy_version,os_name,os_version,agent_version\r");
  EXPECT_THAT(lines[1], HasSubstr(",laocai/bac-ha,compliant,false,false,antivirus yara,"));
}

TEST(DevicesCommandTest, AnApiErrorIsReportedAndEscaped) {
  CallFn failing = [](const std::string&) -> Result<json> {
    return MakeError(ErrorCode::kInvalidArgument, "HTTP 400: search is longer than 256\x1b");
  };
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunDevices(DevicesOptions{}, failing, Format::kText), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("HTTP 400: search is longer than 256\\x1b"));
}

TEST(SummaryCommandTest, TextCsvAndJson) {
  const json answer = {{"groups", json::array({{{"group", "laocai/bac-ha"},
                                                {"devices", 10},
                                                {"revoked", 1},
                                                {"status", {{"compliant", 6}, {"noncompliant", 3}}},
                                                {"stale", 2},
                                                {"never_reported", 0},
                                                {"failing", {{"antivirus", 2}, {"yara", 1}}},
                                                {"errors", json::object()}}})},
                       {"total",
                        {{"group", ""},
                         {"devices", 10},
                         {"revoked", 1},
                         {"status", {{"compliant", 6}, {"noncompliant", 3}}},
                         {"stale", 2},
                         {"never_reported", 0},
                         {"failing", {{"antivirus", 2}, {"yara", 1}}},
                         {"errors", json::object()}}}};
  std::vector<std::string> targets;
  CallFn fn = [&](const std::string& target) -> Result<json> {
    targets.push_back(target);
    return answer;
  };
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunSummary("laocai/bac-ha", fn, Format::kText), 0);
  const auto text = Lines(::testing::internal::GetCapturedStdout());
  ASSERT_EQ(text.size(), 3u);
  EXPECT_EQ(ColumnOf(text[1], "10"), ColumnOf(text[0], "DEVICES"));
  EXPECT_THAT(text[1], HasSubstr("antivirus 2, yara 1"));
  EXPECT_THAT(text[2], HasSubstr("(all)"));
  EXPECT_EQ(targets[0], "/api/v1/summary?group=laocai%2Fbac-ha");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunSummary("", fn, Format::kCsv), 0);
  const auto csv = Lines(::testing::internal::GetCapturedStdout());
  EXPECT_EQ(csv[0],
            "group,devices,compliant,noncompliant,error,unverified,unknown,stale,"
            "never_reported,revoked,failing_antivirus,failing_yara\r");
  EXPECT_EQ(csv[1], "laocai/bac-ha,10,6,3,0,0,0,2,0,1,2,1\r");
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunSummary("", fn, Format::kJson), 0);
  EXPECT_EQ(json::parse(::testing::internal::GetCapturedStdout()), answer);
}

TEST(ReportCommandTest, ChecksWithTheirEvidence) {
  const json answer = {{"report_id", "r1"},
                       {"device_id", "d1"},
                       {"hostname", "B\xe1\xba\xaf\x63 H\xc3\xa0 01"},
                       {"group", "laocai/bac-ha"},
                       {"status", "noncompliant"},
                       {"report",
                        {{"agent_version", "1.4.2"},
                         {"checks", json::array({{{"id", "password_age"},
                                                  {"status", "fail"},
                                                  {"severity", "medium"},
                                                  {"summary", "97 days"},
                                                  {"expected", {{"max_age_days", 90}}},
                                                  {"observed", {{"oldest_days", 97}}}}})}}}};
  const auto lines = Lines(FormatReport(answer));
  EXPECT_THAT(lines[2], HasSubstr("hostname:   B\xe1\xba\xaf\x63 H\xc3\xa0 01"));
  const std::string& header = lines[lines.size() - 2];
  const std::string& row = lines.back();
  EXPECT_EQ(ColumnOf(row, "{\"max_age_days\":90}"), ColumnOf(header, "EXPECTED"));
  EXPECT_EQ(ColumnOf(row, "{\"oldest_days\":97}"), ColumnOf(header, "OBSERVED"));
}

TEST(InspectionTableTest, EachDevicesResult) {
  const json devices = json::array({{{"device_id", "d1"},
                                     {"hostname", "pc-1"},
                                     {"state", "done"},
                                     {"done_at", "2026-12-01T08:00:00Z"},
                                     {"report_id", "r1"},
                                     {"result", "noncompliant"},
                                     {"failing_checks", json::array({"screen_lock"})}},
                                    {{"device_id", "d2"},
                                     {"hostname", "pc-2"},
                                     {"state", "pending"},
                                     {"done_at", nullptr},
                                     {"report_id", ""},
                                     {"result", nullptr},
                                     {"failing_checks", json::array()}}});
  const auto lines = Lines(InspectionTable(devices).Text());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(ColumnOf(lines[1], "noncompliant"), ColumnOf(lines[0], "RESULT"));
  EXPECT_EQ(ColumnOf(lines[1], "screen_lock"), ColumnOf(lines[0], "FAILING CHECKS"));
  EXPECT_EQ(ColumnOf(lines[1], "r1"), ColumnOf(lines[0], "REPORT"));
}

}  // namespace
}  // namespace cg::cgctl

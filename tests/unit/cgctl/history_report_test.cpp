// Tests for cgctl/history_report.cpp: the text and CSV forms of `cgctl history`.
#include "cgctl/history_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cg::cgctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const json kAnswer = json::parse(R"({
  "device_id": "d",
  "overall": [
    {"status": "compliant", "since": "2026-06-01T00:00:00Z", "until": "2026-06-03T04:00:00Z",
     "report_id": "r1", "summary": ""},
    {"status": "noncompliant", "since": "2026-06-03T04:00:00Z", "until": null,
     "report_id": "r2", "summary": "fail: antivirus"}],
  "checks": [{"id": "antivirus", "changes": [
    {"status": "fail", "severity": "high", "since": "2026-06-03T04:00:00Z", "until": null,
     "report_id": "r2", "summary": "=HYPERLINK(\"x\"), signatures \u001b[31m12 days old"}]}]
})");

TEST(FormatHistoryTest, OneLinePerChangeWithHowLongItLasted) {
  const std::string text = FormatHistory(kAnswer);
  EXPECT_THAT(text, HasSubstr("(device)          compliant       2026-06-01T00:00:00Z  "
                              "2026-06-03T04:00:00Z  2d 4h"));
  EXPECT_THAT(text, HasSubstr("antivirus         fail            2026-06-03T04:00:00Z  now"));
  // Control characters from the device never reach the terminal.
  EXPECT_THAT(text, ::testing::Not(HasSubstr("\x1b")));
  EXPECT_THAT(FormatHistory(json::object()), HasSubstr("no status recorded"));
}

TEST(FormatHistoryTest, CsvQuotesAndDefusesFormulas) {
  const std::string csv = HistoryCsv(kAnswer);
  EXPECT_THAT(csv, HasSubstr("check,status,severity,since,until,seconds,report_id,summary\r\n"));
  EXPECT_THAT(csv,
              HasSubstr(",compliant,,2026-06-01T00:00:00Z,2026-06-03T04:00:00Z,187200,r1,\r\n"));
  EXPECT_THAT(csv, HasSubstr("antivirus,fail,high,2026-06-03T04:00:00Z,,,r2,\"'=HYPERLINK("
                             "\"\"x\"\"), signatures"));
}

TEST(FormatDurationTest, Units) {
  EXPECT_EQ(FormatDuration(40), "40s");
  EXPECT_EQ(FormatDuration(125), "2m 5s");
  EXPECT_EQ(FormatDuration(5 * 3600 + 12 * 60), "5h 12m");
  EXPECT_EQ(FormatDuration(3 * 86400 + 4 * 3600 + 59), "3d 4h");
  EXPECT_EQ(FormatDuration(-1), "-");
}

}  // namespace
}  // namespace cg::cgctl

// cgctl's command line and text output, without a SOC.
#include "cgctl/cgctl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace cg::cgctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return lines;
}

int RunWith(std::vector<std::string> args, std::string* err) {
  args.insert(args.begin(), "cgctl");
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  testing::internal::CaptureStderr();
  const int code = Run(static_cast<int>(args.size()), argv.data());
  *err = testing::internal::GetCapturedStderr();
  return code;
}

json Device(std::string hostname) {
  return {{"device_id", "0b5c7a52-1d2e-4f3a-9b8c-7d6e5f4a3b2c"},
          {"hostname", std::move(hostname)},
          {"reported_hostname", nullptr},
          {"group", "laocai/bac-ha"},
          {"status", "noncompliant"},
          {"last_seen", "2026-12-01T08:00:00Z"},
          {"policy_version", 3},
          {"clock_skew", false}};
}

TEST(CgctlFormatTest, DevicesTableColumnsLineUpWithTheHeader) {
  const auto lines = Lines(FormatDevices(json::array({Device("pc-01"), Device("quay-2")})));
  ASSERT_EQ(lines.size(), 3u);
  const size_t host = lines[0].find("HOSTNAME");
  const size_t group = lines[0].find("GROUP");
  const size_t status = lines[0].find("STATUS");
  EXPECT_EQ(lines[1].find("pc-01"), host);
  EXPECT_EQ(lines[2].find("quay-2"), host);
  EXPECT_EQ(lines[1].find("laocai/bac-ha"), group);
  EXPECT_EQ(lines[2].find("noncompliant"), status);
  EXPECT_THAT(lines[1], HasSubstr("  3"));  // a number field is printed as its JSON text
}

TEST(CgctlFormatTest, ControlCharactersFromAgentsAreEscapedInTheTable) {
  json d = Device("pc\x1b[2J\r\nfake-row\xe2\x80\xae");
  d["group"] = "g\x07";
  const std::string text = FormatDevices(json::array({d}));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  EXPECT_THAT(text, Not(HasSubstr("\r")));
  EXPECT_THAT(text, Not(HasSubstr("\x07")));
  EXPECT_THAT(text, Not(HasSubstr("\xe2\x80\xae")));
  EXPECT_THAT(text, HasSubstr("pc\\x1b[2J\\x0d\\x0afake-row\\u202e"));
  EXPECT_EQ(Lines(text).size(), 2u);  // the embedded newline fakes no row
}

TEST(CgctlFormatTest, HostnameShowsTheReportedNameOnlyWhenItDiffers) {
  json d = Device("pc-01");
  EXPECT_EQ(Hostname(d), "pc-01");
  d["reported_hostname"] = "pc-01";
  EXPECT_EQ(Hostname(d), "pc-01");
  d["reported_hostname"] = "other";
  EXPECT_EQ(Hostname(d), "pc-01 (reports other)");
}

TEST(CgctlFormatTest, MissingAndNullFieldsPrintAsADash) {
  const json j = {{"a", nullptr}, {"b", 7}, {"c", "x"}};
  EXPECT_EQ(S(j, "a"), "-");
  EXPECT_EQ(S(j, "missing"), "-");
  EXPECT_EQ(S(j, "b"), "7");
  EXPECT_EQ(S(j, "c"), "x");
}

TEST(CgctlFormatTest, DeviceWithoutReportSaysSoAndFlagsAWrongClock) {
  json d = Device("pc-01");
  d["clock_skew"] = true;
  d["clock_skew_seconds"] = 4000;
  const std::string text = FormatDevice({{"device", d}, {"latest_report", nullptr}});
  EXPECT_THAT(text, HasSubstr("hostname:   pc-01\n"));
  EXPECT_THAT(text, HasSubstr("clock:      WRONG - the latest report was dated 4000 s ahead"));
  EXPECT_THAT(text, HasSubstr("\nno report yet\n"));
}

TEST(CgctlFormatTest, DeviceChecksAreEscapedAndAligned) {
  const json report = {{"report_id", "r1"},
                       {"collected_at", "2026-12-01T08:00:00Z"},
                       {"os", {{"name", "Ubuntu"}, {"version", "22.04"}}},
                       {"checks", json::array({{{"id", "firewall"},
                                                {"status", "fail"},
                                                {"severity", "high"},
                                                {"summary", "off\x1b]0;pwned\x07"}}})}};
  const std::string text = FormatDevice({{"device", Device("pc-01")}, {"latest_report", report}});
  EXPECT_THAT(text, HasSubstr("os:         Ubuntu 22.04\n"));
  EXPECT_THAT(text, Not(HasSubstr("\x1b")));
  const auto lines = Lines(text);
  ASSERT_GE(lines.size(), 2u);
  const std::string& header = lines[lines.size() - 2];
  const std::string& row = lines.back();
  EXPECT_EQ(header.find("STATUS"), row.find("fail"));
  EXPECT_EQ(header.find("SUMMARY"), row.find("off\\x1b]0;pwned\\x07"));
}

TEST(CgctlArgsTest, ACommandIsRequired) {
  std::string err;
  EXPECT_EQ(RunWith({}, &err), 2);
  EXPECT_THAT(err, HasSubstr("cgctl: "));
}

TEST(CgctlArgsTest, AnUnknownStatusFilterIsRefusedBeforeAnyConnection) {
  std::string err;
  EXPECT_EQ(RunWith({"devices", "--status", "bogus"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("bogus"));
}

TEST(CgctlArgsTest, OnlineCommandsNeedATokenFileAndACa) {
  if (std::getenv("CGCTL_TOKEN_FILE") != nullptr || std::getenv("CGCTL_CA") != nullptr) {
    GTEST_SKIP() << "CGCTL_TOKEN_FILE or CGCTL_CA is set in this environment";
  }
  // No saved login session either (issue 16): none in a config dir that does not exist.
  setenv("XDG_CONFIG_HOME", "/nonexistent/cg-test-config", 1);
  std::string err;
  EXPECT_EQ(RunWith({"devices"}, &err), 2);
  EXPECT_EQ(err,
            "cgctl: not logged in: run `cgctl login`, or pass --token-file FILE (or set "
            "CGCTL_TOKEN_FILE) for an operator token\n");
  EXPECT_EQ(RunWith({"--token-file", "/nonexistent/token", "devices"}, &err), 2);
  EXPECT_EQ(err, "cgctl: no SOC CA: pass --ca CA.pem or set CGCTL_CA\n");
}

TEST(CgctlArgsTest, InspectTakesADeviceOrAGroupNotBoth) {
  std::string err;
  EXPECT_EQ(RunWith({"inspect", "--device", "d", "--group", "g"}, &err), 2);
  EXPECT_THAT(err, HasSubstr("excludes"));
}

TEST(CgctlArgsTest, ErrorMessagesAreEscaped) {
  std::string err;
  EXPECT_EQ(RunWith({"--token-file=/nonexistent/\x1b[31mtoken", "--ca=x", "devices"}, &err), 2);
  EXPECT_THAT(err, Not(HasSubstr("\x1b")));
  EXPECT_THAT(err, HasSubstr("\\x1b[31mtoken"));
}

// --csv works with every command that prints data and is refused, before any connection, by
// those that print none (before, it was silently ignored outside devices, summary and report
// show: `cgctl --csv policy status` printed the text table).
TEST(CgctlArgsTest, CsvIsTakenByEveryCommandThatPrintsDataAndRefusedByTheOthers) {
  if (std::getenv("CGCTL_TOKEN_FILE") != nullptr || std::getenv("CGCTL_CA") != nullptr) {
    GTEST_SKIP() << "CGCTL_TOKEN_FILE or CGCTL_CA is set in this environment";
  }
  setenv("XDG_CONFIG_HOME", "/nonexistent/cg-test-config", 1);
  const std::vector<std::vector<std::string>> tables = {
      {"devices"},
      {"summary"},
      {"device", "d1"},
      {"history", "d1"},
      {"report", "show", "r1"},
      {"report", "verify", std::string(64, 'a')},
      {"policy", "status"},
      {"policy", "list"},
      {"policy", "effective", "--group", "laocai"},
      {"inspect", "status"},
      {"inspect", "status", "t1"},
      {"enroll-token", "list"},
      {"enroll-token", "create", "--group", "laocai"},
      {"operator", "list"},
      {"operator", "create", "--name", "p", "--role", "metrics"},
      {"conflicts"},
      {"export", "status"},
      {"account", "list"},
      {"audit"},
  };
  for (const auto& args : tables) {
    std::vector<std::string> with = {"--csv"};
    with.insert(with.end(), args.begin(), args.end());
    SCOPED_TRACE(::testing::PrintToString(with));
    std::string err;
    EXPECT_EQ(RunWith(with, &err), 2);
    // Accepted: it went on to look for credentials.
    EXPECT_THAT(err, HasSubstr("not logged in"));
  }
  const std::vector<std::vector<std::string>> no_table = {
      {"device", "revoke", "d1"},
      {"device", "allow-reenroll", "d1"},
      {"conflicts", "resolve", "1"},
      {"enroll-token", "revoke", "t1"},
      {"operator", "revoke", "t1"},
      {"inspect", "--group", "laocai"},
      {"report", "inspection", "--group", "g", "--from", "2026-01-01", "--to", "2026-01-31",
       "--format", "html"},
      {"report", "download", "00000000-0000-4000-8000-000000000001"},
      {"logout"},
  };
  for (const auto& args : no_table) {
    std::vector<std::string> with = {"--csv"};
    with.insert(with.end(), args.begin(), args.end());
    SCOPED_TRACE(::testing::PrintToString(with));
    std::string err;
    EXPECT_EQ(RunWith(with, &err), 2);
    EXPECT_THAT(err, HasSubstr("--csv: this command prints no table"));
  }
}

}  // namespace
}  // namespace cg::cgctl

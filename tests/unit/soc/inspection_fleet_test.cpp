// The inspection report of a generated fleet (tests/bench/fleet_generator.h, stored through the
// real ingest path) checked against what the generator knows it made: devices, the status each
// device ended the period in, the checks failing at the end, devices that never reported and
// devices that went silent. The hand-made fleet of service_reports_test.cpp checks the shares of
// time; this one checks that nothing is lost or miscounted over many devices, groups and days.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/api_paths.h"
#include "protocol/pki.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/bench/fleet_generator.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using protocol::HttpRequest;
using protocol::HttpResponse;
using ::testing::HasSubstr;

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) {
    cells.push_back(cell);
  }
  return cells;
}

class InspectionFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
    ASSERT_TRUE(storage.ok()) << storage.error().ToString();
    storage_ = std::move(storage).value();
    spec_.devices = 160;
    spec_.groups = 4;
    spec_.days = 30;
    spec_.never_reported_permille = 25;  // 4 devices
    spec_.gone_stale_permille = 50;      // 8 devices
    spec_.fail_per_10000 = 300;          // enough failures to see each check fail
    auto stats = bench::GenerateFleet(*storage_, spec_);
    ASSERT_TRUE(stats.ok()) << stats.error().ToString();
    stats_ = *stats;
    auto ca =
        protocol::CertificateAuthority::Create("Test CA", std::chrono::hours(24 * 3650), spec_.end);
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    SocConfig config;
    config.soc_name = "soc.laocai.gov.vn";
    service_ = std::make_unique<SocService>(
        *storage_, *ca_, [this] { return spec_.end; }, config);
    auto token = service_->CreateOperatorToken("thanh.tra", "analyst", std::nullopt);
    ASSERT_TRUE(token.ok()) << token.error().ToString();
    token_ = *token;
  }

  HttpResponse Get(const std::string& target) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token_);
    r.peer_address = "127.0.0.1:1";
    HttpResponse answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse a) { answer = std::move(a); });
    return answer;
  }

  // The whole generated period: from the first day's date to the last day's (UTC dates; the
  // report's days are Vietnamese, 7 hours ahead, which still covers every last-day report).
  std::string Period() const {
    const auto first = FormatRfc3339(spec_.end - std::chrono::hours(24 * spec_.days));
    const auto last = FormatRfc3339(spec_.end - std::chrono::hours(24));
    return "&from=" + first.substr(0, 10) + "&to=" + last.substr(0, 10);
  }

  testing::TempDir dir_;
  std::unique_ptr<Storage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  std::string token_;
  bench::FleetSpec spec_;
  bench::FleetStats stats_;
};

// One test (the fleet, ~4,800 reports through ingest, is made once): the CSV's per-device lines
// and the HTML's totals.
TEST_F(InspectionFleetTest, CsvAndHtmlCountWhatTheGeneratorMade) {
  const HttpResponse r = Get(std::string(protocol::api::kInspectionReport) +
                             "?group=laocai&format=csv&lang=en" + Period());
  ASSERT_EQ(r.status, 200) << r.body;
  std::stringstream in(r.body);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto header = Split(line.substr(0, line.find('\r')));
  ASSERT_EQ(header.size(), 12u) << line;
  ASSERT_EQ(header[3], "check");
  ASSERT_EQ(header[7], "end_status");
  std::map<std::string, int64_t> end_status;
  std::map<std::string, int64_t> failing;
  std::map<std::string, int64_t> per_group;
  int64_t devices = 0, never = 0, stale = 0;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('\r'));
    if (line.empty() || line[0] == '#') {
      continue;  // the trailer: digest, period, SOC, who and when
    }
    ASSERT_EQ(line.find('"'), std::string::npos) << "no cell of this fleet needs quoting: " << line;
    const auto cells = Split(line);
    ASSERT_EQ(cells.size(), 12u) << line;
    if (cells[3].empty()) {  // the device's overall line
      ++devices;
      ++per_group[cells[0]];
      ++end_status[cells[10] == "1" ? "unknown" : cells[7]];
      never += cells[10] == "1" ? 1 : 0;
      stale += cells[11] == "1" ? 1 : 0;
    } else if (cells[7] == "fail") {
      ++failing[cells[3]];
    }
  }
  EXPECT_EQ(devices, stats_.devices);
  EXPECT_EQ(never, stats_.never_reported);
  EXPECT_EQ(stale, stats_.stale_at_end);
  EXPECT_EQ(end_status, stats_.status_at_end);
  EXPECT_EQ(failing, stats_.failing_at_end);
  ASSERT_EQ(per_group.size(), stats_.groups.size());
  for (const auto& g : stats_.groups) {
    EXPECT_EQ(per_group[g], spec_.devices / spec_.groups) << g;
  }
  // The generator's fleet is not trivial: every status and most checks appear.
  EXPECT_GT(stats_.status_at_end["noncompliant"], 0);
  EXPECT_GT(stats_.stale_at_end, 0);
  EXPECT_GE(stats_.failing_at_end.size(), 3u);

  const HttpResponse html =
      Get(std::string(protocol::api::kInspectionReport) + "?group=laocai&format=html" + Period());
  ASSERT_EQ(html.status, 200) << html.body;
  // The summary table: devices, compliance, never reported, went stale, stale at the end, revoked.
  const std::string row = "<tr><td class=\"n\">" + std::to_string(stats_.devices) + "</td>";
  const auto at = html.body.find(row);
  ASSERT_NE(at, std::string::npos) << "no summary row with " << stats_.devices << " devices";
  const std::string tail = html.body.substr(at, html.body.find("</tr>", at) - at);
  EXPECT_THAT(tail, HasSubstr("</td><td class=\"n\">" + std::to_string(stats_.never_reported) +
                              "</td><td class=\"n\">"));
  EXPECT_THAT(tail, HasSubstr("<td class=\"n\">" + std::to_string(stats_.stale_at_end) +
                              "</td><td class=\"n\">0</td>"));
  for (const auto& g : stats_.groups) {
    EXPECT_THAT(html.body, HasSubstr(g)) << "unit " << g << " missing";
  }
}

}  // namespace
}  // namespace cg::soc

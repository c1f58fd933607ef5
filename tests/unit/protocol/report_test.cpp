// Report JSON mapping: round trips and the strict parser's refusals.
#include "protocol/report.h"

#include <gtest/gtest.h>

namespace cg::protocol {
namespace {

using nlohmann::json;

Report Sample() {
  Report r;
  r.report_id = "0d4f5c1e-8d2b-4d4a-9c55-2f1b3a4c5d6e";
  r.device_id = "6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
  r.hostname = "mc-bac-ha-01";
  r.os = {"Debian GNU/Linux", "12", "6.1.0-18-amd64", "x86_64"};
  r.agent_version = "0.1.0";
  r.collected_at = "2026-11-26T21:37:40Z";
  r.policy_version = 3;
  r.policy_hash = std::string(64, 'a');
  CheckResult c;
  c.id = "password_age";
  c.status = CheckStatus::kFail;
  c.severity = Severity::kHigh;
  c.summary = "1 of 2 interactive accounts has a password older than 90 days: alice (143 d)";
  c.facts = {{"accounts", json::array({{{"name", "alice"}, {"days_since_change", 143}}})}};
  c.expected = {{"max_days", 90}};
  c.observed = {{"oldest_days", 143}};
  c.remediation = {{"dry_run", true}, {"changes", json::array()}};
  r.checks.push_back(c);
  CheckResult na;
  na.id = "yara";
  na.status = CheckStatus::kNotApplicable;
  na.severity = Severity::kInfo;
  na.summary = "no YARA rules in policy";
  r.checks.push_back(na);
  r.events.push_back(
      {"policy_refused", "2026-11-26T21:30:00Z", {{"reason", "not_newer"}, {"version", 2}}});
  r.task_ids.push_back("6f1c2b1e-8a3d-4c5e-9f00-112233445566");
  return r;
}

TEST(ReportJson, RoundTripKeepsEveryField) {
  const Report r = Sample();
  const json j = ToJson(r);
  auto back = ReportFromJson(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(ToJson(*back), j);
  EXPECT_EQ(back->checks.size(), 2u);
  EXPECT_EQ(back->checks[0].status, CheckStatus::kFail);
  EXPECT_EQ(back->checks[0].facts["accounts"][0]["name"], "alice");
  EXPECT_EQ(back->checks[1].expected, json());
  EXPECT_EQ(back->os.kernel, "6.1.0-18-amd64");
  EXPECT_EQ(back->policy_version, 3);
  ASSERT_EQ(back->events.size(), 1u);
  EXPECT_EQ(back->events[0].details["reason"], "not_newer");
  EXPECT_EQ(back->task_ids, r.task_ids);
}

TEST(ReportJson, OptionalFieldsAreOmittedWhenNull) {
  const json j = ToJson(Sample().checks[1]);
  EXPECT_FALSE(j.contains("expected"));
  EXPECT_FALSE(j.contains("remediation"));
  EXPECT_TRUE(j.contains("facts"));
}

TEST(ReportJson, StrictParserRefusesBadReports) {
  struct Case {
    const char* name;
    std::function<void(json&)> mutate;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"not an object", [](json& j) { j = json::array(); }, "object"},
      {"missing report_id", [](json& j) { j.erase("report_id"); }, "report_id"},
      {"report_id not uuid", [](json& j) { j["report_id"] = "abc"; }, "UUID"},
      {"device_id wrong type", [](json& j) { j["device_id"] = 5; }, "device_id"},
      {"hostname too long", [](json& j) { j["hostname"] = std::string(300, 'h'); }, "hostname"},
      {"bad time", [](json& j) { j["collected_at"] = "yesterday"; }, "collected_at"},
      {"checks not array", [](json& j) { j["checks"] = json::object(); }, "checks"},
      {"unknown status", [](json& j) { j["checks"][0]["status"] = "passing"; }, "status"},
      {"unknown severity", [](json& j) { j["checks"][0]["severity"] = "huge"; }, "severity"},
      {"facts not object", [](json& j) { j["checks"][0]["facts"] = json::array(); }, "facts"},
      {"events not array", [](json& j) { j["events"] = 1; }, "events"},
      {"event without type", [](json& j) { j["events"][0].erase("type"); }, "type"},
      {"event bad time", [](json& j) { j["events"][0]["time"] = "soon"; }, "RFC 3339"},
      {"task_ids not array", [](json& j) { j["task_ids"] = "x"; }, "task_ids"},
      {"task id not uuid", [](json& j) { j["task_ids"][0] = "inspect-1"; }, "task ids"},
      {"negative policy version", [](json& j) { j["policy_version"] = -1; }, "policy_version"},
      {"too many checks",
       [](json& j) {
         for (int i = 0; i < 70; ++i) {
           j["checks"].push_back(j["checks"][0]);
         }
       },
       "too many"},
  };
  for (const auto& c : cases) {
    json j = ToJson(Sample());
    c.mutate(j);
    auto r = ReportFromJson(j);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << c.name;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST(OverallStatus, FailDominatesErrorDominatesPass) {
  auto make = [](std::vector<CheckStatus> statuses) {
    std::vector<CheckResult> v;
    for (auto s : statuses) {
      CheckResult c;
      c.status = s;
      v.push_back(c);
    }
    return v;
  };
  EXPECT_EQ(OverallStatus(make({})), DeviceStatus::kCompliant);
  EXPECT_EQ(OverallStatus(make({CheckStatus::kPass, CheckStatus::kNotApplicable})),
            DeviceStatus::kCompliant);
  EXPECT_EQ(OverallStatus(make({CheckStatus::kPass, CheckStatus::kError})), DeviceStatus::kError);
  EXPECT_EQ(OverallStatus(make({CheckStatus::kError, CheckStatus::kFail})),
            DeviceStatus::kNoncompliant);
}

}  // namespace
}  // namespace cg::protocol

// Tests for soc/history.cpp: the status transitions a report causes and the share of time
// compliant of a series of intervals. Pure functions; times are fixed.
#include "soc/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace cg::soc {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr SysTime kT0{seconds(1'790'000'000)};

protocol::CheckResult Check(const char* id, protocol::CheckStatus status) {
  protocol::CheckResult c;
  c.id = id;
  c.status = status;
  return c;
}

std::vector<Observation> Obs(std::initializer_list<std::pair<const char*, const char*>> list) {
  std::vector<Observation> out;
  for (const auto& [id, status] : list) {
    out.push_back({id, status, "high", "", ""});
  }
  return out;
}

std::vector<std::string> Opened(const Transition& t) {
  std::vector<std::string> ids;
  for (const auto& o : t.open) {
    ids.push_back(o.check_id + "=" + o.status);
  }
  return ids;
}

TEST(ComputeTransitionTest, TableOfCases) {
  struct Case {
    const char* name;
    std::map<std::string, std::string> open;
    std::vector<Observation> observed;
    std::vector<std::string> close;
    std::vector<std::string> opened;
  };
  const std::vector<Case> cases = {
      {"first report opens every check",
       {},
       Obs({{"antivirus", "pass"}, {"yara", "fail"}}),
       {},
       {"antivirus=pass", "yara=fail"}},
      {"same status changes nothing",
       {{"antivirus", "pass"}},
       Obs({{"antivirus", "pass"}}),
       {},
       {}},
      {"a check that starts failing closes its passing interval",
       {{"antivirus", "pass"}, {"yara", "pass"}},
       Obs({{"antivirus", "fail"}, {"yara", "pass"}}),
       {"antivirus"},
       {"antivirus=fail"}},
      {"a check no longer reported is closed and not reopened",
       {{"antivirus", "pass"}, {"screen_lock", "fail"}},
       Obs({{"antivirus", "pass"}}),
       {"screen_lock"},
       {}},
      {"error is a status of its own",
       {{"password_age", "fail"}},
       Obs({{"password_age", "error"}}),
       {"password_age"},
       {"password_age=error"}},
  };
  for (const auto& c : cases) {
    const Transition t = ComputeTransition(c.open, c.observed);
    EXPECT_THAT(t.close, ::testing::UnorderedElementsAreArray(c.close)) << c.name;
    EXPECT_THAT(Opened(t), ::testing::UnorderedElementsAreArray(c.opened)) << c.name;
  }
}

TEST(ObservationsOfTest, OverallStatusNamesFailingAndErroringChecks) {
  protocol::Report r;
  r.checks.push_back(Check("antivirus", protocol::CheckStatus::kFail));
  r.checks.push_back(Check("screen_lock", protocol::CheckStatus::kPass));
  r.checks.push_back(Check("password_age", protocol::CheckStatus::kError));
  r.checks[0].summary = "ClamAV database 12 days old";
  r.checks[0].expected = {{"max_age_days", 3}};
  r.checks[0].observed = {{"age_days", 12}};
  const auto obs = ObservationsOf(r);
  ASSERT_EQ(obs.size(), 4u);
  EXPECT_EQ(obs[0].summary, "ClamAV database 12 days old");
  EXPECT_EQ(obs[0].evidence, R"({"expected":{"max_age_days":3},"observed":{"age_days":12}})");
  EXPECT_EQ(obs[1].evidence, "");  // nothing expected or observed: no evidence
  EXPECT_EQ(obs[3].check_id, kOverallCheck);
  EXPECT_EQ(obs[3].status, "noncompliant");
  EXPECT_EQ(obs[3].summary, "fail: antivirus; error: password_age");
}

TEST(ObservationsOfTest, LongSummaryIsClippedOnACharacterBoundary) {
  protocol::Report r;
  r.checks.push_back(Check("antivirus", protocol::CheckStatus::kFail));
  std::string text;
  while (text.size() < 2 * kMaxIntervalSummaryBytes) {
    text += "Bắc Hà ";
  }
  r.checks[0].summary = text;
  const auto obs = ObservationsOf(r);
  EXPECT_LE(obs[0].summary.size(), kMaxIntervalSummaryBytes + 3);
  // Still valid UTF-8: json refuses to dump invalid sequences with the strict handler.
  EXPECT_NO_THROW((void)nlohmann::json(obs[0].summary).dump());
}

StatusInterval Interval(const char* status, SysTime since, std::optional<SysTime> until) {
  StatusInterval i;
  i.status = status;
  i.since = since;
  i.until = until;
  return i;
}

TEST(ShareWithinTest, SeventyFivePercentOfThePeriod) {
  const SysTime from = kT0;
  const SysTime to = kT0 + hours(24 * 100);
  // Compliant from before the period to day 75, then failing until after it.
  const std::vector<StatusInterval> series = {
      Interval("compliant", from - hours(48), from + hours(24 * 75)),
      Interval("noncompliant", from + hours(24 * 75), std::nullopt)};
  const TimeShare share = ShareWithin(series, from, to, to + hours(24));
  EXPECT_EQ(share.observed, hours(24 * 100));
  EXPECT_EQ(share.compliant, hours(24 * 75));
  ASSERT_TRUE(share.Ratio().has_value());
  EXPECT_DOUBLE_EQ(*share.Ratio(), 0.75);
}

TEST(ShareWithinTest, TimeBeforeTheFirstReportIsNotObserved) {
  const SysTime from = kT0;
  const SysTime to = kT0 + hours(40);
  const std::vector<StatusInterval> series = {Interval("pass", from + hours(10), from + hours(20)),
                                              Interval("fail", from + hours(20), std::nullopt)};
  // The period is not over: the open interval counts up to now (hour 30).
  const TimeShare share = ShareWithin(series, from, to, from + hours(30));
  EXPECT_EQ(share.observed, hours(20));
  EXPECT_EQ(share.compliant, hours(10));
}

TEST(ShareWithinTest, NothingObservedHasNoRatio) {
  EXPECT_FALSE(ShareWithin({}, kT0, kT0 + hours(1), kT0).Ratio().has_value());
  // An interval wholly outside the period counts for nothing.
  const TimeShare share =
      ShareWithin({Interval("pass", kT0 - hours(5), kT0 - hours(1))}, kT0, kT0 + hours(1), kT0);
  EXPECT_EQ(share.observed, seconds(0));
}

TEST(ShareWithinTest, NotApplicableCountsAsCompliantErrorDoesNot) {
  const std::vector<StatusInterval> series = {Interval("not_applicable", kT0, kT0 + hours(1)),
                                              Interval("error", kT0 + hours(1), kT0 + hours(3))};
  const TimeShare share = ShareWithin(series, kT0, kT0 + hours(3), kT0 + hours(3));
  EXPECT_EQ(share.compliant, hours(1));
  EXPECT_EQ(share.observed, hours(3));
}

TEST(StatusAtTest, TheLaterOfTwoIntervalsStartingTogetherWins) {
  // Two reports of one batch arrived in the same second: the second one is what the device shows.
  const std::vector<StatusInterval> series = {Interval("fail", kT0, kT0),
                                              Interval("pass", kT0, std::nullopt)};
  ASSERT_TRUE(StatusAt(series, kT0).has_value());
  EXPECT_EQ(StatusAt(series, kT0)->status, "pass");
  EXPECT_FALSE(StatusAt(series, kT0 - seconds(1)).has_value());
}

TEST(EnforcementOfTest, AppliedAndFailedRemediationsAreRecordedDryRunsAreNot) {
  protocol::Report r;
  r.device_id = "d";
  r.report_id = "r";
  r.checks.push_back(Check("screen_lock", protocol::CheckStatus::kPass));
  r.checks[0].remediation = {{"dry_run", false},
                             {"result", "applied"},
                             {"changes",
                              {{{"target", "/etc/dconf/db/local.d/00-cg"},
                                {"action", "write"},
                                {"before", ""},
                                {"after", "lock-enabled=true"},
                                {"undo", {{"secret", "x"}}}}}}};
  r.checks.push_back(Check("password_age", protocol::CheckStatus::kFail));
  r.checks[1].remediation = {{"dry_run", false}, {"result", "error"}, {"error", "chage failed"}};
  r.checks.push_back(Check("antivirus", protocol::CheckStatus::kFail));
  r.checks[2].remediation = {
      {"dry_run", true}, {"result", "planned"}, {"changes", nlohmann::json::array()}};
  const auto changes = EnforcementOf(r, kT0);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].check_id, "screen_lock");
  EXPECT_EQ(changes[0].result, "applied");
  EXPECT_EQ(
      changes[0].changes,
      R"([{"action":"write","after":"lock-enabled=true","before":"","target":"/etc/dconf/db/local.d/00-cg"}])");
  EXPECT_EQ(changes[1].result, "error");
  EXPECT_EQ(changes[1].changes, R"({"changes":[],"error":"chage failed"})");
  EXPECT_EQ(changes[1].time, kT0);
}

}  // namespace
}  // namespace cg::soc

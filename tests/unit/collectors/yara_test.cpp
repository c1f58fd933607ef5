// The `yara` check over a fixture machine in a temporary root: the scheduled scan stores its
// outcome, and the check judges it (threshold, age, rules changed, rules that do not compile
// with the previous rules kept in force); policy validation; the schedule.
#include "collectors/yara.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "platform/fake/fake_platform.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckStatus;

constexpr const char* kRules = R"(
rule remote_tool {
  meta:
    description = "planted remote access tool marker"
  strings:
    $a = "CG-RAT-MARKER-42"
  condition:
    $a
}
rule adware {
  meta:
    severity = "Low"
  strings:
    $b = "CG-ADWARE-MARKER-7"
  condition:
    $b
}
)";

SysTime At(const char* rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : SysTime{};
}

class YaraCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.Put("etc/passwd",
              "root:x:0:0:root:/root:/bin/bash\n"
              "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
              "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n"
              "bob:x:1001:1001:Bob:/var/lib/bob:/bin/bash\n");
    tree_.Put("etc/shadow",
              "root:!:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\n"
              "alice:$6$s$h:20000:0:90:7:::\nbob:$6$s$h:20000:0:90:7:::\n");
    tree_.Put("home/alice/Downloads/tool.exe", "MZ....CG-RAT-MARKER-42....");
    tree_.Put("home/alice/notes.txt", "nothing here");
    tree_.Put("var/lib/bob/toolbar.js", "/* CG-ADWARE-MARKER-7 */");
    tree_.Put("root/.bashrc", "export PS1");
    tree_.Put("srv/site/index.html", "<html></html>");
    // Under /usr/sbin (daemon's home, not a user's) and /proc: never scanned.
    tree_.Put("usr/sbin/planted", "CG-RAT-MARKER-42");
    tree_.Put("proc/1/cmdline", "CG-RAT-MARKER-42");
    auto p = platform::CreateNativePlatform(tree_.root());
    ASSERT_TRUE(p.ok()) << p.error().ToString();
    platform_ = std::move(p).value();
    auto clock = std::make_unique<platform::fake::FakeClock>(At("2026-11-26T05:00:00Z"));
    clock_ = clock.get();
    platform_.clock = std::move(clock);
    state_dir_ = tree_.Host("var/lib/counterguard");
  }

  policy::Policy Policy(json section) const {
    if (!section.contains("paths")) {
      section["paths"] = json::array({"~", "/srv", "/proc"});
    }
    auto p = policy::ParsePolicy(json{{"checks", {{"yara", section}}}});
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return p.ok() ? *p : policy::DefaultPolicy();
  }
  json WithRules(const std::string& text, json extra = json::object()) const {
    extra["rules"] = json::array({{{"namespace", "province"}, {"source", text}}});
    return extra;
  }

  protocol::CheckResult Evaluate(const policy::Policy& p) {
    YaraCheck check(state_dir_);
    CheckContext ctx{platform_, p.Check("yara")};
    return check.Evaluate(ctx);
  }
  Result<ScanSummary> Scan(const policy::Policy& p) {
    return RunScheduledScan(platform_, p.Check("yara"), state_dir_);
  }

  testing::TempTree tree_{"cg-yara-check"};
  platform::Platform platform_;
  platform::fake::FakeClock* clock_ = nullptr;
  std::string state_dir_;
};

TEST_F(YaraCheckTest, NotApplicableWithoutRules) {
  const auto r = Evaluate(policy::DefaultPolicy());
  EXPECT_EQ(r.status, CheckStatus::kNotApplicable);
  EXPECT_EQ(r.summary, "no YARA rules in policy");
  EXPECT_FALSE(Scan(policy::DefaultPolicy()).ok());
}

TEST_F(YaraCheckTest, ErrorUntilAScanHasRun) {
  const auto r = Evaluate(Policy(WithRules(kRules)));
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("no YARA scan has run yet"), std::string::npos) << r.summary;
}

TEST_F(YaraCheckTest, ScheduledScanFindsMatchesAndTheCheckFailsAtTheThreshold) {
  const auto policy = Policy(WithRules(kRules));
  auto s = Scan(policy);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  std::set<std::string> found;
  for (const auto& m : s->matches) {
    found.insert(m.rule + " " + m.path);
  }
  // "~" reached bob's home outside /home; /usr/sbin (daemon) and /proc were not scanned.
  EXPECT_EQ(found,
            (std::set<std::string>{"remote_tool " + tree_.Host("home/alice/Downloads/tool.exe"),
                                   "adware " + tree_.Host("var/lib/bob/toolbar.js")}));
  struct stat st {};
  ASSERT_EQ(::stat(YaraStatePaths(state_dir_).last_scan.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto r = Evaluate(policy);
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("remote_tool"), std::string::npos) << r.summary;
  ASSERT_EQ(r.facts["matches"].size(), 1u);
  EXPECT_EQ(r.facts["matches"][0]["path"], tree_.Host("home/alice/Downloads/tool.exe"));
  EXPECT_EQ(r.facts["matches"][0]["severity"], "high");  // no meta severity: high
  EXPECT_EQ(r.facts["matches"][0]["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(r.facts["matches_below_threshold"], 1);  // adware is "low"
  EXPECT_EQ(r.observed["count"], 1);
}

TEST_F(YaraCheckTest, MatchesBelowTheThresholdPass) {
  const auto policy = Policy(WithRules(kRules, {{"severity_threshold", "critical"}}));
  ASSERT_TRUE(Scan(policy).ok());
  const auto r = Evaluate(policy);
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["matches_below_threshold"], 2);
  EXPECT_NE(r.summary.find("2 lower-severity matches"), std::string::npos) << r.summary;
}

TEST_F(YaraCheckTest, CleanMachinePassesUntilTheScanIsTooOld) {
  const auto policy =
      Policy(WithRules("rule nothing { strings: $x = \"NOT-ON-THIS-PC\" "
                       "condition: $x }"));
  ASSERT_TRUE(Scan(policy).ok());
  auto r = Evaluate(policy);
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_GT(r.facts["files_scanned"].get<int>(), 3);
  clock_->Advance(std::chrono::hours(47));
  EXPECT_EQ(Evaluate(policy).status, CheckStatus::kPass);
  clock_->Advance(std::chrono::hours(2));
  r = Evaluate(policy);
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("older than 48 hours"), std::string::npos) << r.summary;
}

TEST_F(YaraCheckTest, SecondScanUsesTheIncrementalCache) {
  const auto policy = Policy(WithRules(kRules));
  auto first = Scan(policy);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->files_unchanged, 0u);
  auto second = Scan(policy);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->files_unchanged, first->files_scanned - 2);  // all but the two matches
  EXPECT_EQ(second->matches_total, 2u);
}

TEST_F(YaraCheckTest, OtherRulesInPolicyMeanTheLastScanDoesNotCount) {
  ASSERT_TRUE(Scan(Policy(WithRules(kRules))).ok());
  const auto r = Evaluate(Policy(WithRules("rule newer { condition: false }")));
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("other rules"), std::string::npos) << r.summary;
}

TEST_F(YaraCheckTest, RulesThatDoNotCompileKeepThePreviousRulesInForce) {
  ASSERT_TRUE(Scan(Policy(WithRules(kRules))).ok());
  const auto bad = Policy(WithRules("rule broken {\n  condition: and\n}"));
  auto s = Scan(bad);
  ASSERT_TRUE(s.ok()) << "the scan runs with the rules in force: " << s.error().ToString();
  EXPECT_EQ(s->matches_total, 2u);
  // The rules in force found the planted files: that is a fail, and the summary says the
  // policy's rules do not compile.
  const auto r = Evaluate(bad);
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_FALSE(r.facts["matches"].empty());
  EXPECT_NE(r.summary.find("do not compile"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("rules[0]:2"), std::string::npos) << r.summary;
  ASSERT_EQ(r.facts["compile_errors"].size(), 1u);
  EXPECT_EQ(r.facts["compile_errors"][0]["line"], 2);
  EXPECT_EQ(r.facts["compile_errors"][0]["file"], "rules[0]");

  // Without a match, a policy whose rules do not compile is an error, never a pass.
  tree_.Put("opt/clean/letter.txt", "nothing here");
  json good_section = WithRules(kRules);
  good_section["paths"] = {"/opt/clean"};
  json bad_section = good_section;
  bad_section["rules"][0]["source"] = "rule broken {\n  condition: and\n}";
  ASSERT_TRUE(Scan(Policy(good_section)).ok());
  ASSERT_TRUE(Scan(Policy(bad_section)).ok());
  const auto clean = Evaluate(Policy(bad_section));
  EXPECT_EQ(clean.status, CheckStatus::kError);
  EXPECT_NE(clean.summary.find("do not compile"), std::string::npos) << clean.summary;
}

TEST_F(YaraCheckTest, RulesThatDoNotCompileWithNothingBefore) {
  const auto bad = Policy(WithRules("import \"nosuchmod\"\nrule r { condition: true }"));
  auto s = Scan(bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown module"), std::string::npos);
  const auto r = Evaluate(bad);
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("unknown module"), std::string::npos) << r.summary;
}

TEST_F(YaraCheckTest, SlowRulesAreReportedInFacts) {
  const auto policy = Policy(WithRules("rule slow { strings: $a = { 00 ?? 00 } condition: $a }"));
  ASSERT_TRUE(Scan(policy).ok());
  const auto r = Evaluate(policy);
  ASSERT_FALSE(r.facts["slow_rule_warnings"].empty());
  EXPECT_EQ(r.facts["slow_rule_warnings"][0]["rule"], "slow");
}

TEST_F(YaraCheckTest, BadParametersAreErrorsNamingThem) {
  struct Case {
    json section;
    const char* expect;
  };
  const Case cases[] = {
      {WithRules(kRules, {{"severity_threshold", "urgent"}}), "severity_threshold"},
      {WithRules(kRules, {{"schedule_window", "25:00-26:00"}}), "schedule_window"},
      {WithRules(kRules, {{"schedule_window", "12:00-12:00"}}), "schedule_window"},
      {WithRules(kRules, {{"paths", json::array({"relative/dir"})}}), "paths[0]"},
      {WithRules(kRules, {{"paths", json::array()}}), "paths"},
      {{{"rules", json::array({{{"source", "rule a { condition: true }"}, {"ns", "x"}}})}},
       "rules[0].ns"},
      {{{"rules", json::array({{{"namespace", "x"}}})}}, "rules[0].source"},
      {{{"rules", json::array({"rule a { condition: true }"})}}, "rules[0]"},
  };
  for (const auto& c : cases) {
    const auto r = Evaluate(Policy(c.section));
    EXPECT_EQ(r.status, CheckStatus::kError) << c.section.dump();
    EXPECT_NE(r.summary.find(c.expect), std::string::npos) << r.summary;
  }
}

TEST(YaraPolicyTest, DefaultsAreValid) {
  const auto p = policy::DefaultPolicy();
  auto y = ParseYaraPolicy(p.Check("yara"));
  ASSERT_TRUE(y.ok()) << y.error().ToString();
  EXPECT_TRUE(y->rules.empty());
  EXPECT_EQ(y->cpu_budget_percent, 25);
  EXPECT_EQ(y->file_timeout, std::chrono::seconds(10));
  EXPECT_FALSE(y->follow_symlinks);
  EXPECT_TRUE(y->one_filesystem);
  EXPECT_EQ(y->severity_threshold, protocol::Severity::kHigh);
  EXPECT_EQ(y->window_start_minute, 11 * 60 + 30);
  EXPECT_EQ(y->window_end_minute, 13 * 60 + 30);
  EXPECT_EQ(y->paths.front(), "~");
}

TEST(YaraScheduleTest, NextScanTimes) {
  using std::chrono::hours;
  using std::chrono::minutes;
  auto p = policy::ParsePolicy(json{{"checks", {{"yara", {{"schedule_window", "11:30-13:30"}}}}}});
  ASSERT_TRUE(p.ok());
  const auto& cp = p->Check("yara");
  const minutes ict(7 * 60);  // Vietnam, UTC+7
  struct Case {
    const char* what;
    std::optional<SysTime> last;
    const char* now;
    double random;
    const char* expect;
  };
  const Case cases[] = {
      {"never scanned: soon", std::nullopt, "2026-11-26T02:00:00Z", 0.5, "2026-11-26T02:05:00Z"},
      {"scanned at lunch today: tomorrow's window", At("2026-11-26T05:00:00Z"),
       "2026-11-26T06:00:00Z", 0.0, "2026-11-27T04:30:00Z"},
      {"end of tomorrow's window", At("2026-11-26T05:00:00Z"), "2026-11-26T06:00:00Z", 0.999999,
       "2026-11-27T06:29:59Z"},
      {"scanned yesterday, morning now: today's window", At("2026-11-25T05:10:00Z"),
       "2026-11-26T01:00:00Z", 0.5, "2026-11-26T05:30:00Z"},
      {"inside today's window: the rest of it", At("2026-11-25T05:10:00Z"), "2026-11-26T06:00:00Z",
       0.5, "2026-11-26T06:15:00Z"},
      {"missed for 40 hours: catch up", At("2026-11-24T14:00:00Z"), "2026-11-26T06:00:00Z", 0.0,
       "2026-11-26T06:00:00Z"},
  };
  for (const auto& c : cases) {
    auto t = NextScheduledScan(cp, c.last, At(c.now), ict, c.random);
    ASSERT_TRUE(t.ok()) << c.what;
    EXPECT_EQ(FormatRfc3339(*t), c.expect) << c.what;
  }

  // A window across midnight (local 22:00-02:00).
  auto night =
      policy::ParsePolicy(json{{"checks", {{"yara", {{"schedule_window", "22:00-02:00"}}}}}});
  ASSERT_TRUE(night.ok());
  auto t = NextScheduledScan(night->Check("yara"), At("2026-11-25T16:00:00Z"),
                             At("2026-11-26T03:00:00Z"), ict, 0.5);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-26T17:00:00Z");  // local 00:00, the window's middle
}

}  // namespace
}  // namespace cg::collectors

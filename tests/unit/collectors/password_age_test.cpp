// password_age over fixture trees (tests/fixtures/password_age/<case>, read by the real
// Linux platform with a fixed clock: 2026-11-26 = day 20783), plus remediation on temporary
// copies with a scripted chage.
#include "collectors/password_age.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "platform/fake/fake_platform.h"
#include "platform/linux/accounts.h"
#include "platform/os/files.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::CommandResult;
using platform::fake::FakeClock;
using platform::fake::FakeCommandRunner;
using protocol::CheckStatus;

constexpr int64_t kToday = 20783;  // 2026-11-26
const std::string kFixtures = CG_FIXTURES "/password_age/";

policy::Policy PolicyWith(const json& section) {
  auto p = policy::ParsePolicy(json{{"checks", {{"password_age", section}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return std::move(p).value();
}

// The native platform over `root` with a FakeClock at kToday (and, when given, a fake command
// runner in place of the real one).
platform::Platform PlatformAt(const std::string& root, FakeCommandRunner** runner = nullptr) {
  auto p = platform::CreateNativePlatform(root);
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  auto clock = std::make_unique<FakeClock>();
  clock->SetDay(kToday);
  p->clock = std::move(clock);
  if (runner != nullptr) {
    auto fake = std::make_unique<FakeCommandRunner>();
    *runner = fake.get();
    p->commands = std::move(fake);
  }
  return std::move(p).value();
}

std::vector<std::string> Strings(const json& array) {
  std::vector<std::string> out;
  for (const auto& v : array) {
    out.push_back(v.is_string() ? v.get<std::string>() : v.value("name", ""));
  }
  return out;
}

struct TestCase {
  const char* fixture;
  json policy;  // the password_age section
  CheckStatus status;
  std::vector<std::string> summary_parts;
  std::vector<std::string> failing;   // observed.failing_accounts
  std::vector<std::string> judged;    // facts.accounts
  std::vector<std::string> expiring;  // facts.expiring
  std::vector<std::string> locked;    // facts.locked_accounts
  size_t issues;
};

TEST(PasswordAge, FixtureTable) {
  const std::vector<std::string> everyone = {"alice", "bob", "carol"};
  const std::vector<TestCase> cases = {
      {"compliant",
       json::object(),
       CheckStatus::kPass,
       {"3 interactive accounts comply with the 90-day password maximum"},
       {},
       everyone,
       {},
       {},
       0},
      {"old_password",
       json::object(),
       CheckStatus::kFail,
       {"1 of 3 interactive accounts have passwords older than 90 days: alice (143 d, expired 53 "
        "d ago)"},
       {"alice"},
       everyone,
       {},
       {},
       0},
      {"no_maximum",
       json::object(),
       CheckStatus::kFail,
       {"2 of 3 interactive accounts", "alice (no maximum), bob (no maximum)"},
       {"alice", "bob"},
       everyone,
       {},
       {},
       0},
      {"login_defs_too_high",
       json::object(),
       CheckStatus::kFail,
       {"/etc/login.defs PASS_MAX_DAYS is 99999 (policy 90)"},
       {},
       everyone,
       {},
       {},
       0},
      {"login_defs_no_max",
       json::object(),
       CheckStatus::kFail,
       {"/etc/login.defs sets no PASS_MAX_DAYS"},
       {},
       everyone,
       {},
       {},
       0},
      {"locked_and_system_only",
       json::object(),
       CheckStatus::kPass,
       {"no interactive account has a usable password (3 locked, 5 system accounts not judged)"},
       {},
       {},
       {},
       {"alice", "bob", "carol"},
       0},
      {"corrupt_shadow",
       json::object(),
       CheckStatus::kError,
       {"cannot decide: /etc/shadow:7: entry 'bob': expected 9 colon-separated fields, found 5"},
       {},
       {"alice", "carol"},
       {},
       {},
       2},
      {"corrupt_and_old",
       json::object(),
       CheckStatus::kFail,
       {"alice (143 d", "2 issues in the account files, the first at /etc/shadow:7"},
       {"alice"},
       {"alice", "carol"},
       {},
       {},
       2},
      {"nis_compat",
       json::object(),
       CheckStatus::kError,
       {"cannot decide: /etc/passwd:9: NIS compat entry"},
       {},
       everyone,
       {},
       {},
       2},
      {"missing_shadow",
       json::object(),
       CheckStatus::kError,
       {"cannot read the account databases: read /etc/shadow:", "No such file"},
       {},
       {},
       {},
       {},
       0},
      {"expired_password",
       json::object(),
       CheckStatus::kFail,
       {"bob (expired 10 d ago)"},
       {"bob"},
       everyone,
       {},
       {},
       0},
      {"expiring_soon",
       json::object(),
       CheckStatus::kPass,
       {"3 interactive accounts comply", "1 expiring within 14 days: alice (10 d)"},
       {},
       everyone,
       {"alice"},
       {},
       0},
      {"expiring_soon",
       json{{"expiry_warning_days", 7}},
       CheckStatus::kPass,
       {"3 interactive accounts comply"},
       {},
       everyone,
       {},
       {},
       0},
      {"empty_password",
       json::object(),
       CheckStatus::kFail,
       {"bob (empty password)"},
       {"bob"},
       everyone,
       {},
       {},
       0},
      {"forced_change",
       json::object(),
       CheckStatus::kPass,
       {"3 interactive accounts comply"},
       {},
       everyone,
       {},
       {},
       0},
      {"root_included",
       json::object(),
       CheckStatus::kPass,
       {"3 interactive accounts comply"},
       {},
       everyone,
       {},
       {},
       0},
      {"root_included",
       json{{"include_root", true}},
       CheckStatus::kFail,
       {"1 of 4 interactive accounts", "root (400 d, no maximum)"},
       {"root"},
       {"root", "alice", "bob", "carol"},
       {},
       {},
       0},
      {"compliant",
       json{{"max_days", 45}},
       CheckStatus::kFail,
       {"3 of 3 interactive accounts have passwords older than 45 days: alice (maximum 90 d), bob "
        "(60 d, maximum 90 d), carol (maximum 60 d); /etc/login.defs PASS_MAX_DAYS is 90 (policy "
        "45)"},
       everyone,
       everyone,
       {},
       {},
       0},
  };
  const PasswordAgeCheck check;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.fixture) + " " + c.policy.dump());
    platform::Platform platform = PlatformAt(kFixtures + c.fixture);
    const auto policy = PolicyWith(c.policy);
    const CheckContext ctx{platform, policy.Check("password_age")};
    const auto r = check.Evaluate(ctx);
    EXPECT_EQ(r.id, "password_age");
    EXPECT_EQ(r.severity, protocol::Severity::kHigh);
    EXPECT_EQ(r.status, c.status) << r.summary;
    for (const auto& part : c.summary_parts) {
      EXPECT_NE(r.summary.find(part), std::string::npos) << "summary: " << r.summary;
    }
    EXPECT_EQ(r.summary.find('\n'), std::string::npos);
    if (r.status == CheckStatus::kError && c.issues == 0) {
      continue;  // the databases could not be read: no facts to compare
    }
    EXPECT_EQ(Strings(r.observed["failing_accounts"]), c.failing);
    EXPECT_EQ(Strings(r.facts["accounts"]), c.judged);
    EXPECT_EQ(Strings(r.facts["expiring"]), c.expiring);
    EXPECT_EQ(Strings(r.facts["locked_accounts"]), c.locked);
    EXPECT_EQ(r.facts["issues"].size(), c.issues) << r.facts["issues"].dump();
    EXPECT_EQ(r.expected, (json{{"max_days", policy.Check("password_age").Int("max_days")}}));
  }
}

TEST(PasswordAge, FactsDescribeEachAccount) {
  platform::Platform platform = PlatformAt(kFixtures + "locked_and_system_only");
  const auto policy = policy::DefaultPolicy();
  const auto r = PasswordAgeCheck().Evaluate({platform, policy.Check("password_age")});
  EXPECT_EQ(Strings(r.facts["system_accounts"]),
            (std::vector<std::string>{"root", "daemon", "bin", "sshd", "nobody"}));
  EXPECT_EQ(Strings(r.facts["no_login_shell_accounts"]), (std::vector<std::string>{"backup-svc"}));
  EXPECT_EQ(r.facts["today"], "2026-11-26");
  EXPECT_EQ(r.facts["login_defs"]["pass_max_days"], 90);

  platform::Platform old = PlatformAt(kFixtures + "old_password");
  const auto f = PasswordAgeCheck().Evaluate({old, policy.Check("password_age")});
  const json& alice = f.facts["accounts"][0];
  EXPECT_EQ(alice["name"], "alice");
  EXPECT_EQ(alice["uid"], 1000);
  EXPECT_EQ(alice["last_change"], "2026-07-06");
  EXPECT_EQ(alice["days_since_change"], 143);
  EXPECT_EQ(alice["max_days"], 90);
  EXPECT_EQ(alice["expires_in_days"], -53);
  EXPECT_EQ(alice["compliant"], false);
  EXPECT_EQ(f.observed["oldest_password_days"], 143);
  EXPECT_EQ(f.observed["login_defs_pass_max_days"], 90);

  platform::Platform forced = PlatformAt(kFixtures + "forced_change");
  const auto g = PasswordAgeCheck().Evaluate({forced, policy.Check("password_age")});
  EXPECT_EQ(g.facts["accounts"][0]["must_change_at_next_login"], true);
  EXPECT_TRUE(g.facts["accounts"][0]["last_change"].is_null());

  platform::Platform nomax = PlatformAt(kFixtures + "no_maximum");
  const auto h = PasswordAgeCheck().Evaluate({nomax, policy.Check("password_age")});
  EXPECT_TRUE(h.facts["accounts"][0]["max_days"].is_null());
  EXPECT_EQ(h.facts["accounts"][1]["max_days"], 99999);  // kept as the file says
}

// The fake platform with the Linux account parser over its tree: /etc file syntax, with
// failures injected where the tests, running as root, could not make them.
platform::fake::FakePlatform FakeWithLinuxAccounts() {
  auto fake = platform::fake::MakeFakePlatform();
  fake.platform().accounts = std::make_unique<platform::linux_::LinuxAccounts>(fake.fs());
  return fake;
}

TEST(PasswordAge, UnreadableShadowIsAnErrorWithTheReason) {
  // The tests run as root, so the permission problem is injected in the fake tree.
  auto fake = FakeWithLinuxAccounts();
  for (const char* f : {"passwd", "shadow", "login.defs", "shells"}) {
    auto text = ReadFileToString(kFixtures + "compliant/etc/" + f);
    ASSERT_TRUE(text.ok());
    fake.fs().AddFile(std::string("/etc/") + f, *text);
  }
  fake.clock().SetDay(kToday);
  const auto policy = policy::DefaultPolicy();
  const CheckContext ctx{fake.platform(), policy.Check("password_age")};
  EXPECT_EQ(PasswordAgeCheck().Evaluate(ctx).status, CheckStatus::kPass);
  fake.fs().SetError("/etc/shadow", MakeError(ErrorCode::kPermissionDenied,
                                              "read /etc/shadow: Permission denied"));
  const auto r = PasswordAgeCheck().Evaluate(ctx);
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("Permission denied"), std::string::npos) << r.summary;
  auto plan = PasswordAgeCheck().Remediate(ctx, r, /*dry_run=*/true);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kPermissionDenied);
}

TEST(PasswordAge, HostileFilesStayWithinReportLimits) {
  auto fake = FakeWithLinuxAccounts();
  fake.clock().SetDay(kToday);
  // A name that is not UTF-8, and a shadow file of garbage lines.
  fake.fs().AddFile("/etc/passwd", "al\xffice:x:1000:1000::/home/a:/bin/bash\n");
  std::string shadow = "al\xffice:$6$s$h:20000:0:90:7:::\n";
  for (int i = 0; i < 500; ++i) {
    shadow += std::string(300, 'n') + ":$6$s$h:1:0\n";
  }
  fake.fs().AddFile("/etc/shadow", shadow);
  fake.fs().AddFile("/etc/login.defs", "PASS_MAX_DAYS 90\n");
  const auto policy = policy::DefaultPolicy();
  const auto r = PasswordAgeCheck().Evaluate({fake.platform(), policy.Check("password_age")});
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("al?ice (783 d"), std::string::npos) << r.summary;
  EXPECT_LE(r.summary.size(), protocol::kMaxSummary);
  EXPECT_EQ(r.facts["issues"].size(), 50u);
  EXPECT_EQ(r.facts["issues_total"], 500);
  EXPECT_NO_THROW((void)protocol::ToJson(r).dump());  // valid UTF-8 throughout
  auto parsed = protocol::CheckResultFromJson(protocol::ToJson(r));
  EXPECT_TRUE(parsed.ok()) << parsed.error().ToString();
}

// ---- remediation ----

// A copy of a fixture in a temporary root, with chage simulated on that copy's /etc/shadow.
class RemediationTest : public ::testing::Test {
 protected:
  void SetUp() override { Load("remediate"); }

  void Load(const std::string& fixture) {
    tree_ = std::make_unique<testing::TempTree>("cg-pwage");
    tree_->CopyFrom(kFixtures + fixture);
    platform_ = PlatformAt(tree_->root(), &runner_);
    runner_->SetHandler([this](const std::vector<std::string>& argv) { return FakeChage(argv); });
  }

  // chage --root ROOT -M N USER: rewrites field 5 of USER's shadow line, like the real tool.
  Result<CommandResult> FakeChage(const std::vector<std::string>& argv) {
    if (argv.size() != 6 || argv[0] != "chage" || argv[1] != "--root" || argv[2] != tree_->root() ||
        argv[3] != "-M") {
      return MakeError(ErrorCode::kInvalidArgument, "unexpected chage argv");
    }
    const std::string path = tree_->Host("etc/shadow");
    std::string text = ReadFileToString(path).value();
    const std::string prefix = "\n" + argv[5] + ":";
    size_t start = text.find(prefix);
    if (start == std::string::npos) {
      return CommandResult{6, false, "", "chage: user '" + argv[5] + "' does not exist\n"};
    }
    start += 1;
    size_t field = start;
    for (int i = 0; i < 4; ++i) {
      field = text.find(':', field) + 1;
    }
    const size_t end = text.find(':', field);
    text.replace(field, end - field, argv[4]);
    EXPECT_TRUE(WriteFileAtomic(path, text, 0640).ok());
    return CommandResult{0, false, "", ""};
  }

  CheckContext Ctx(const policy::Policy& p) {
    return CheckContext{platform_, p.Check("password_age")};
  }

  std::string LoginDefs() const { return ReadFileToString(tree_->Host("etc/login.defs")).value(); }

  std::unique_ptr<testing::TempTree> tree_;
  platform::Platform platform_;
  FakeCommandRunner* runner_ = nullptr;
  const PasswordAgeCheck check_;
};

TEST_F(RemediationTest, DryRunPlansAndChangesNothing) {
  const auto policy = policy::DefaultPolicy();
  const std::string defs_before = LoginDefs();
  const std::string shadow_before = ReadFileToString(tree_->Host("etc/shadow")).value();
  const auto failed = check_.Evaluate(Ctx(policy));
  ASSERT_EQ(failed.status, CheckStatus::kFail) << failed.summary;

  auto plan = check_.Remediate(Ctx(policy), failed, /*dry_run=*/true);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  ASSERT_EQ(plan->size(), 3u);
  EXPECT_EQ((*plan)[0].target, "/etc/login.defs");
  EXPECT_EQ((*plan)[0].before, (json{{"PASS_MAX_DAYS", 99999}}));
  EXPECT_EQ((*plan)[0].after, (json{{"PASS_MAX_DAYS", 90}}));
  EXPECT_EQ((*plan)[1].target, "account:alice");
  EXPECT_EQ((*plan)[1].action, "chage -M 90");
  EXPECT_EQ((*plan)[1].before, (json{{"max_days", nullptr}}));
  EXPECT_EQ((*plan)[2].target, "account:bob");
  EXPECT_EQ((*plan)[2].before, (json{{"max_days", 99999}}));
  EXPECT_TRUE(runner_->calls().empty());
  EXPECT_EQ(LoginDefs(), defs_before);
  EXPECT_EQ(ReadFileToString(tree_->Host("etc/shadow")).value(), shadow_before);
}

TEST_F(RemediationTest, AppliesThenIsIdempotent) {
  const auto policy = policy::DefaultPolicy();
  const std::string defs_before = LoginDefs();
  ::chmod(tree_->Host("etc/login.defs").c_str(), 0640);
  const auto failed = check_.Evaluate(Ctx(policy));
  ASSERT_EQ(failed.status, CheckStatus::kFail);

  auto changes = check_.Remediate(Ctx(policy), failed, /*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(changes->size(), 3u);
  // Fixed argv, --root for a tree; root (uid 0) is never touched without include_root.
  const std::vector<std::vector<std::string>> expected_calls = {
      {"chage", "--root", tree_->root(), "-M", "90", "alice"},
      {"chage", "--root", tree_->root(), "-M", "90", "bob"},
  };
  EXPECT_EQ(runner_->calls(), expected_calls);
  // Only the PASS_MAX_DAYS line changed; every other byte is as it was.
  std::string expected_defs = defs_before;
  const std::string old_line = "\nPASS_MAX_DAYS\t99999\n";
  ASSERT_NE(expected_defs.find(old_line), std::string::npos);
  expected_defs.replace(expected_defs.find(old_line), old_line.size(), "\nPASS_MAX_DAYS\t90\n");
  EXPECT_EQ(LoginDefs(), expected_defs);
  struct stat st {};
  ASSERT_EQ(::stat(tree_->Host("etc/login.defs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);  // the file keeps its mode

  const auto after = check_.Evaluate(Ctx(policy));
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;

  auto again = check_.Remediate(Ctx(policy), after, /*dry_run=*/false);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(runner_->calls().size(), 2u);
  EXPECT_EQ(LoginDefs(), expected_defs);
}

TEST_F(RemediationTest, RootOnlyWithIncludeRoot) {
  const auto policy = PolicyWith({{"include_root", true}});
  auto plan = check_.Remediate(Ctx(policy), check_.Evaluate(Ctx(policy)), /*dry_run=*/true);
  ASSERT_TRUE(plan.ok());
  std::vector<std::string> targets;
  for (const auto& c : *plan) {
    targets.push_back(c.target);
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/etc/login.defs", "account:root", "account:alice",
                                               "account:bob"}));
}

TEST_F(RemediationTest, AppendsMissingSettingKeepingTheFile) {
  Load("login_defs_no_max");
  const auto policy = policy::DefaultPolicy();
  const std::string before = LoginDefs();
  auto changes = check_.Remediate(Ctx(policy), check_.Evaluate(Ctx(policy)), false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  ASSERT_EQ(changes->size(), 1u);  // the accounts already comply
  EXPECT_EQ((*changes)[0].before, (json{{"PASS_MAX_DAYS", nullptr}}));
  EXPECT_EQ(LoginDefs(), before + "PASS_MAX_DAYS\t90\n");
  EXPECT_TRUE(runner_->calls().empty());
  EXPECT_EQ(check_.Evaluate(Ctx(policy)).status, CheckStatus::kPass);
}

TEST_F(RemediationTest, FailingChageIsAnErrorNamingWhatChanged) {
  runner_->SetResult(
      {"chage", "--root", tree_->root(), "-M", "90", "alice"},
      CommandResult{1, false, "", "chage: cannot lock /etc/shadow; try again later.\n"});
  const auto policy = policy::DefaultPolicy();
  auto r = check_.Remediate(Ctx(policy), check_.Evaluate(Ctx(policy)), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot lock /etc/shadow"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("already changed: /etc/login.defs"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(runner_->calls().size(), 1u);  // stops at the first failure
}

TEST_F(RemediationTest, RefusesWhileEntriesAreUnreadable) {
  Load("corrupt_and_old");
  const auto policy = policy::DefaultPolicy();
  const std::string before = LoginDefs();
  auto r = check_.Remediate(Ctx(policy), check_.Evaluate(Ctx(policy)), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/etc/shadow:7"), std::string::npos) << r.error().message;
  EXPECT_TRUE(runner_->calls().empty());
  EXPECT_EQ(LoginDefs(), before);
}

TEST_F(RemediationTest, RunChecksEnforcesAndReportsTheNewState) {
  CheckRegistry registry;
  registry.Register(std::make_unique<PasswordAgeCheck>());
  RunOptions options;
  options.enforce = EnforceMode::kForce;
  auto results = RunChecks(registry, platform_, policy::DefaultPolicy(), options);
  ASSERT_TRUE(results.ok()) << results.error().ToString();
  ASSERT_EQ(results->size(), 1u);
  const auto& r = (*results)[0];
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.remediation["result"], "applied");
  EXPECT_EQ(r.remediation["changes"].size(), 3u);
}

TEST(PasswordAgeRemediation, LiveRootHasNoRootFlag) {
  auto fake = FakeWithLinuxAccounts();
  fake.fs().AddFile("/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n");
  fake.fs().AddFile("/etc/shadow", "alice:$6$s$h:20773:0::7:::\n", 0640);
  fake.fs().AddFile("/etc/login.defs", "PASS_MAX_DAYS 90\n");
  fake.clock().SetDay(kToday);
  fake.commands().SetResult({"chage", "-M", "90", "alice"}, CommandResult{0, false, "", ""});
  const auto policy = policy::DefaultPolicy();
  const CheckContext ctx{fake.platform(), policy.Check("password_age")};
  auto changes = PasswordAgeCheck().Remediate(ctx, PasswordAgeCheck().Evaluate(ctx), false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(fake.commands().calls(),
            (std::vector<std::vector<std::string>>{{"chage", "-M", "90", "alice"}}));
  EXPECT_TRUE(fake.fs().writes().empty());  // login.defs already complied
}

}  // namespace
}  // namespace cg::collectors

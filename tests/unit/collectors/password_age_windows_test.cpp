// password_age on Windows judged through the fake accounts. The databases are what
// platform/windows/accounts.cpp's AccountsFromNetUser makes of the values real Windows returns
// (that mapping has its own tests, run under Wine: tests/windows/platform/accounts_test.cpp):
// - NetUserModalsGet level 0, USER_MODALS_INFO_0.usrmod0_max_passwd_age in seconds:
//   3628800 (42 days) on a fresh stand-alone Windows 10/11 (Microsoft's "Maximum password age"
//   security policy setting: default 42 days), TIMEQ_FOREVER (0xFFFFFFFF) for "never".
// - NetUserGetInfo level 3 (USER_INFO_3; level 4 has the same fields): usri3_password_age in
//   seconds since the last change, usri3_flags with UF_ACCOUNTDISABLE 0x2 and
//   UF_DONT_EXPIRE_PASSWD 0x10000 (the built-in Administrator: 0x10203, disabled and never
//   expiring; the setup user: 0x201), usri3_user_id the RID (500 Administrator, 501 Guest,
//   1000 and up for accounts made later).
// - The ProfileList's profiles of domain and Entra ID accounts (S-1-5-21-<other domain>-...,
//   S-1-12-1-...) as directory accounts.
#include <gtest/gtest.h>

#include "collectors/check.h"
#include "collectors/password_age.h"
#include "platform/fake/fake_platform.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::AccountDatabase;
using platform::AccountStore;
using platform::LocalAccount;
using platform::PasswordState;
using platform::fake::FakeOs;
using platform::fake::FakePlatform;
using protocol::CheckResult;
using protocol::CheckStatus;

// 2026-03-01, day 20513 since 1970-01-01.
constexpr int64_t kToday = 20513;
const std::string kClerk = "Nguyễn Văn Ánh";

// As AccountsFromNetUser maps an account: uid = RID, disabled = kLocked, last change = today
// minus usri3_password_age, max_days the machine's unless UF_DONT_EXPIRE_PASSWD.
LocalAccount Account(std::string name, uint32_t rid, int64_t age_days, bool disabled,
                     bool never_expires, std::optional<int64_t> machine_max) {
  LocalAccount a;
  a.name = std::move(name);
  a.uid = rid;
  a.login_shell = true;
  a.password = disabled ? PasswordState::kLocked : PasswordState::kUsable;
  a.last_change_day = kToday - age_days;
  a.password_never_expires = never_expires;
  if (!never_expires) {
    a.max_days = machine_max;
  }
  return a;
}

// A fresh stand-alone installation: machine maximum `machine_max` days (42 by default),
// Administrator 0x10203, Guest 0x10223, the clerk 0x201 (or 0x10201 with never_expires).
AccountDatabase Sam(std::optional<int64_t> machine_max, int64_t clerk_age_days,
                    bool clerk_never_expires) {
  AccountDatabase db;
  db.store = AccountStore::kWindowsSam;
  db.defaults.pass_max_days = machine_max;
  db.defaults.pass_min_days = 0;
  db.defaults.uid_min = 500;
  db.defaults.uid_max = INT32_MAX;
  db.accounts.push_back(Account("Administrator", 500, 30, true, true, machine_max));
  db.accounts.push_back(Account("Guest", 501, 0, true, true, machine_max));
  db.accounts.push_back(
      Account(kClerk, 1001, clerk_age_days, false, clerk_never_expires, machine_max));
  return db;
}

class WindowsPasswordAge : public ::testing::Test {
 protected:
  WindowsPasswordAge() : fake_("/", FakeOs::kWindows) {
    fake_.clock().SetDay(kToday);
    section_ = policy::DefaultPolicy().Check("password_age");
    section_.params["max_days"] = 90;
    section_.params["expiry_warning_days"] = 14;
  }
  CheckContext Ctx() { return CheckContext{fake_.platform(), section_}; }
  CheckResult Evaluate() { return PasswordAgeCheck().Evaluate(Ctx()); }

  FakePlatform fake_;
  policy::CheckPolicy section_;
};

TEST_F(WindowsPasswordAge, FreshInstallationPasses) {
  fake_.accounts().Set(Sam(42, 10, false));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["machine_password_policy"]["max_password_age_days"], 42);
  EXPECT_EQ(r.facts["machine_password_policy"]["source"], "NetUserModalsGet");
  EXPECT_FALSE(r.facts.contains("login_defs"));
  ASSERT_EQ(r.facts["accounts"].size(), 1u);
  // The Vietnamese name survives into the report as it is.
  EXPECT_EQ(r.facts["accounts"][0]["name"], kClerk);
  EXPECT_EQ(r.facts["accounts"][0]["days_since_change"], 10);
  EXPECT_EQ(r.facts["accounts"][0]["password_never_expires"], false);
  EXPECT_EQ(r.facts["locked_accounts"], json({"Administrator", "Guest"}));
  EXPECT_EQ(r.observed["machine_max_password_age_days"], 42);
}

TEST_F(WindowsPasswordAge, JudgementTable) {
  struct Case {
    std::string name;
    std::optional<int64_t> machine_max;
    int64_t age;
    bool never_expires;
    CheckStatus status;
    std::string reason;
  };
  const Case cases[] = {
      {"machine maximum unlimited (TIMEQ_FOREVER)", std::nullopt, 10, false, CheckStatus::kFail,
       "the machine's maximum password age is unlimited (passwords never expire)"},
      {"machine maximum 120 days", 120, 10, false, CheckStatus::kFail,
       "the machine's maximum password age is 120 days (policy 90)"},
      {"password never expires (0x10201)", 42, 10, true, CheckStatus::kFail,
       kClerk + " (password never expires)"},
      {"password 120 days old", 42, 120, false, CheckStatus::kFail,
       kClerk + " (120 d, expired 78 d ago)"},
      {"exactly 90 days", 90, 90, false, CheckStatus::kPass, "complies with the 90-day"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    fake_.accounts().Set(Sam(c.machine_max, c.age, c.never_expires));
    const CheckResult r = Evaluate();
    EXPECT_EQ(r.status, c.status) << r.summary;
    EXPECT_NE(r.summary.find(c.reason), std::string::npos) << r.summary;
  }
}

TEST_F(WindowsPasswordAge, DirectoryAccountsAreReportedNotJudged) {
  AccountDatabase db = Sam(42, 10, false);
  db.directory_accounts.push_back(
      {"tran.thi.bich", "S-1-5-21-3623811015-3361044348-30300820-1013", "Active Directory domain"});
  fake_.accounts().Set(db);
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_NE(r.summary.find("1 directory account (domain, Entra ID) governed by the directory's "
                           "own policy, not judged"),
            std::string::npos)
      << r.summary;
  ASSERT_EQ(r.facts["directory_accounts"].size(), 1u);
  EXPECT_EQ(r.facts["directory_accounts"][0]["governed_by"], "Active Directory domain");
  EXPECT_EQ(r.facts["accounts"].size(), 1u);  // only the local clerk is judged
}

TEST_F(WindowsPasswordAge, StubbedApiIsAnErrorWithItsCode) {
  // What WindowsAccounts::Read returns under Wine 8 (NetUserModalsGet level 0 is a stub).
  fake_.accounts().SetError(MakeError(
      ErrorCode::kUnavailable, "NetUserModalsGet(level 0): Internal error (Win32 error 2140)"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("Win32 error 2140"), std::string::npos) << r.summary;
  EXPECT_FALSE(PasswordAgeCheck().Remediate(Ctx(), r, false).ok());
}

TEST_F(WindowsPasswordAge, EnforcementFixesIsIdempotentAndUndoes) {
  fake_.accounts().Set(Sam(std::nullopt, 10, true));
  const CheckResult failed = Evaluate();
  ASSERT_EQ(failed.status, CheckStatus::kFail);

  auto plan = PasswordAgeCheck().Remediate(Ctx(), failed, /*dry_run=*/true);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_TRUE(fake_.accounts().calls().empty());  // a dry run changes nothing
  EXPECT_TRUE(fake_.commands().calls().empty());  // and never runs a command (no chage here)

  auto changes = PasswordAgeCheck().Remediate(Ctx(), failed, /*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(fake_.accounts().calls(),
            (std::vector<std::string>{"max_days 90", "never_expires " + kClerk + " false"}));
  ASSERT_EQ(changes->size(), 2u);
  EXPECT_EQ(changes->at(0).target, "machine:maximum password age");
  EXPECT_EQ(changes->at(0).before["max_days"], nullptr);
  EXPECT_EQ(changes->at(1).target, "account:" + kClerk);
  // The built-in Administrator is disabled: its flag is left alone.
  EXPECT_TRUE(fake_.commands().calls().empty());

  const CheckResult after = Evaluate();
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;
  auto again = PasswordAgeCheck().Remediate(Ctx(), after, false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(fake_.accounts().calls().size(), 2u);

  json records = json::array();
  for (const auto& c : *changes) {
    records.push_back({{"target", c.target}, {"undo", c.undo}});
  }
  auto undone = UndoChanges(fake_.platform(), records, /*dry_run=*/false);
  ASSERT_TRUE(undone.ok()) << undone.error().ToString();
  EXPECT_EQ(*undone, (std::vector<std::string>{"set \"password never expires\" on " + kClerk,
                                               "set the maximum password age back to unlimited"}));
  const CheckResult restored = Evaluate();
  EXPECT_EQ(restored.status, CheckStatus::kFail);
  EXPECT_EQ(restored.observed["machine_max_password_age_days"], nullptr);
  EXPECT_EQ(restored.facts["accounts"][0]["password_never_expires"], true);
}

TEST_F(WindowsPasswordAge, RefusedApiCallIsAnEnforcementErrorNamingIt) {
  fake_.accounts().Set(Sam(std::nullopt, 10, false));
  fake_.accounts().SetWriteError(MakeError(
      ErrorCode::kUnavailable,
      "NetUserModalsSet is not implemented by Wine (calling it aborts the process); not called"));
  CheckRegistry registry;
  registry.Register(std::make_unique<PasswordAgeCheck>());
  policy::Policy policy = policy::DefaultPolicy();
  policy.checks["password_age"] = section_;
  auto results = RunChecks(registry, fake_.platform(), policy,
                           RunOptions{{"password_age"}, EnforceMode::kForce});
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->at(0).status, CheckStatus::kFail);
  EXPECT_EQ(results->at(0).remediation["result"], "error");
  EXPECT_NE(results->at(0).remediation["error"].get<std::string>().find("NetUserModalsSet"),
            std::string::npos);
}

TEST(LinuxPasswordAge, AccountApiIsNotUsedForShadowFiles) {
  // The Linux store is enforced through login.defs and chage; the API calls are refused.
  FakePlatform fake;
  EXPECT_EQ(fake.accounts().SetMaxPasswordDays(90).error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cg::collectors

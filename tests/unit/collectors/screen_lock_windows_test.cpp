// screen_lock on Windows (collectors/screen_lock_windows.cpp) judged through the fake registry,
// fed the values and types real Windows stores (Microsoft's documentation of each setting):
// - User policy, HKU\<SID>\Software\Policies\Microsoft\Windows\Control Panel\Desktop, written
//   by Group Policy (User Configuration > Administrative Templates > Control Panel >
//   Personalization): "Enable screen saver" ScreenSaveActive REG_SZ "1", "Password protect the
//   screen saver" ScreenSaverIsSecure REG_SZ "1", "Screen saver timeout" ScreenSaveTimeOut
//   REG_SZ seconds (1-599940), "Force specific screen saver" SCRNSAVE.EXE REG_SZ.
// - The user's own HKU\<SID>\Control Panel\Desktop: the same names and REG_SZ types (a fresh
//   Windows 10/11 profile has ScreenSaveActive "1", ScreenSaveTimeOut "900" and
//   ScreenSaverIsSecure "0", and no SCRNSAVE.EXE until a screen saver is chosen).
// - Machine: HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System
//   InactivityTimeoutSecs REG_DWORD ("Interactive logon: Machine inactivity limit", 0-599940);
//   HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon ScreenSaverGracePeriod REG_SZ
//   seconds (5 when absent).
// - HKEY_USERS as Windows loads it: .DEFAULT, S-1-5-18/19/20, each logged-on user's SID and
//   its <SID>_Classes; Volatile Environment\USERNAME in a logged-on user's hive; ProfileList
//   ProfileImagePath REG_EXPAND_SZ "C:\Users\<name>".
#include <gtest/gtest.h>

#include "collectors/check.h"
#include "collectors/screen_lock.h"
#include "platform/fake/fake_platform.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::fake::FakeOs;
using platform::fake::FakePlatform;
using protocol::CheckResult;
using protocol::CheckStatus;

const std::string kClerk = "S-1-5-21-1004336348-1177238915-682003330-1001";
const std::string kSecond = "S-1-5-21-1004336348-1177238915-682003330-1002";
const std::string kPolicyKey = "\\Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop";
const std::string kUserKey = "\\Control Panel\\Desktop";
const std::string kMachineKey = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";
const std::string kWinlogon = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
const std::string kProfiles = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";

policy::CheckPolicy Section(const json& params = json::object()) {
  policy::CheckPolicy section = policy::DefaultPolicy().Check("screen_lock");
  section.params["max_idle_seconds"] = 300;
  section.params["max_lock_delay_seconds"] = 5;
  section.params["allow_user_override"] = false;
  for (auto it = params.begin(); it != params.end(); ++it) {
    section.params[it.key()] = it.value();
  }
  return section;
}

// A Windows PC in the fake registry, with helpers to script it.
class WindowsPc {
 public:
  WindowsPc() : fake_("/", FakeOs::kWindows) {
    // HKEY_USERS of a PC with one clerk logged on (Vietnamese name, UTF-8 here, UTF-16 in the
    // real registry).
    for (const std::string& other : {std::string(".DEFAULT"), std::string("S-1-5-18"),
                                     std::string("S-1-5-19"), std::string("S-1-5-20")}) {
      Set(RegistryHive::kUsers, other + kUserKey, "ScreenSaveActive", Sz("1"));
    }
    Set(RegistryHive::kUsers, kClerk + "\\Volatile Environment", "USERNAME", Sz("Nguyễn Văn Ánh"));
    Set(RegistryHive::kUsers, kClerk + "_Classes\\.txt", "", Sz("txtfile"));
    // The fresh profile's own values.
    UserValues(kClerk, "1", "0", "900", std::nullopt);
    RegistryValue path = Sz("C:\\Users\\Nguyễn Văn Ánh");
    path.type = platform::RegistryValueType::kExpandString;
    Set(RegistryHive::kLocalMachine, kProfiles + "\\" + kClerk, "ProfileImagePath", path);
  }

  static RegistryValue Sz(std::string s) { return RegistryValue::String(std::move(s)); }

  void Set(RegistryHive hive, const std::string& key, const std::string& name,
           const RegistryValue& value) {
    ASSERT_TRUE(fake_.registry().SetValue(hive, key, name, value).ok());
  }

  void Values(const std::string& key, std::optional<std::string> active,
              std::optional<std::string> secure, std::optional<std::string> timeout,
              std::optional<std::string> program) {
    const std::pair<const char*, std::optional<std::string>*> values[] = {
        {"ScreenSaveActive", &active},
        {"ScreenSaverIsSecure", &secure},
        {"ScreenSaveTimeOut", &timeout},
        {"SCRNSAVE.EXE", &program}};
    for (const auto& [name, value] : values) {
      if (*value) {
        Set(RegistryHive::kUsers, key, name, Sz(**value));
      }
    }
  }
  // What "Enable screen saver", "Password protect", "Screen saver timeout" and "Force specific
  // screen saver" write.
  void PolicyValues(const std::string& sid, std::optional<std::string> active,
                    std::optional<std::string> secure, std::optional<std::string> timeout,
                    std::optional<std::string> program) {
    Values(sid + kPolicyKey, active, secure, timeout, program);
  }
  void UserValues(const std::string& sid, std::optional<std::string> active,
                  std::optional<std::string> secure, std::optional<std::string> timeout,
                  std::optional<std::string> program) {
    Values(sid + kUserKey, active, secure, timeout, program);
  }

  CheckResult Evaluate(const json& params = json::object()) {
    section_ = Section(params);
    return ScreenLockCheck().Evaluate(CheckContext{fake_.platform(), section_});
  }

  // The facts of the evaluation for `user` (a label containing it).
  static json UserFacts(const CheckResult& r, const std::string& user) {
    for (const auto& u : r.facts["users"]) {
      if (u["user"].get<std::string>().find(user) != std::string::npos) {
        return u;
      }
    }
    ADD_FAILURE() << "no evaluation for " << user << " in " << r.facts.dump();
    return json();
  }

  FakePlatform fake_;
  policy::CheckPolicy section_;
};

class WindowsScreenLock : public ::testing::Test, public WindowsPc {};

TEST_F(WindowsScreenLock, SecurePolicyOf300SecondsPasses) {
  PolicyValues(kClerk, "1", "1", "300", "C:\\Windows\\system32\\scrnsave.scr");
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.summary, "screen lock compliant for 1 logged-on user(s)");
  const json u = UserFacts(r, kClerk);
  EXPECT_EQ(u["user"], "Nguyễn Văn Ánh (" + kClerk + ")");
  EXPECT_EQ(u["desktop"], "windows");
  // Which key decided each value: the policy key, which users cannot change.
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["value"], "300");
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["source"], "HKU\\" + kClerk + kPolicyKey);
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["locked"], true);
  EXPECT_EQ(u["settings"]["ScreenSaverIsSecure"]["source"], "HKU\\" + kClerk + kPolicyKey);
  EXPECT_EQ(u["settings"]["ScreenSaverGracePeriod"]["value"], 5);
  EXPECT_EQ(u["settings"]["ScreenSaverGracePeriod"]["source"], "default");
  EXPECT_EQ(r.observed["Nguyễn Văn Ánh (" + kClerk + ")"]["windows"]["idle_seconds"], 300);
  // Only the clerk's hive is a person's; each other one is named with the reason.
  ASSERT_EQ(r.facts["windows"]["user_hives"].size(), 1u);
  EXPECT_EQ(r.facts["windows"]["user_hives"][0]["hive"], "HKU\\" + kClerk);
  const std::string skipped = r.facts["windows"]["skipped_hives"].dump();
  for (const std::string& hive :
       {std::string(".DEFAULT"), std::string("S-1-5-18"), std::string("S-1-5-19"),
        std::string("S-1-5-20"), kClerk + "_Classes"}) {
    EXPECT_NE(skipped.find("HKU\\\\" + hive + "\""), std::string::npos) << hive << skipped;
  }
}

TEST(WindowsScreenLockTable, Judgement) {
  struct Case {
    std::string name;
    std::optional<std::string> active, secure, timeout, program;
    CheckStatus status;
    std::string reason;  // in the summary
  };
  const Case cases[] = {
      {"1200 s", "1", "1", "1200", "scrnsave.scr", CheckStatus::kFail,
       "idle timeout 1200 s exceeds 300 s"},
      {"secure off", "1", "0", "300", "scrnsave.scr", CheckStatus::kFail,
       "screen lock is disabled"},
      {"saver off", "0", "1", "300", "scrnsave.scr", CheckStatus::kFail,
       "locking on idle is switched off"},
      {"no program", "1", "1", "300", std::nullopt, CheckStatus::kFail,
       "no screen saver program (SCRNSAVE.EXE) is set"},
      {"timeout 0", "1", "1", "0", "scrnsave.scr", CheckStatus::kFail, "idle timeout is 0 (never)"},
      {"not a number", "1", "1", "năm phút", "scrnsave.scr", CheckStatus::kFail,
       "idle timeout is 0 (never)"},
      {"shorter", "1", "1", "60", "scrnsave.scr", CheckStatus::kPass, "compliant"},
      {"exactly", "1", "1", "300", "scrnsave.scr", CheckStatus::kPass, "compliant"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    WindowsPc fresh;
    fresh.PolicyValues(kClerk, c.active, c.secure, c.timeout, c.program);
    const CheckResult r = fresh.Evaluate();
    EXPECT_EQ(r.status, c.status) << r.summary;
    EXPECT_NE(r.summary.find(c.reason), std::string::npos) << r.summary;
  }
}

TEST_F(WindowsScreenLock, PolicyKeyWinsOverTheUsersOwnValues) {
  UserValues(kClerk, "1", "1", "60", "scrnsave.scr");
  PolicyValues(kClerk, std::nullopt, std::nullopt, "1200", std::nullopt);
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("idle timeout 1200 s exceeds 300 s"), std::string::npos) << r.summary;
  const json u = UserFacts(r, kClerk);
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["source"], "HKU\\" + kClerk + kPolicyKey);
  EXPECT_EQ(u["settings"]["ScreenSaverIsSecure"]["source"], "HKU\\" + kClerk + kUserKey);
}

TEST_F(WindowsScreenLock, UserValuesAloneAreNotEnoughUnlessOverrideIsAllowed) {
  UserValues(kClerk, "1", "1", "300", "scrnsave.scr");
  CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("user can change ScreenSaveActive, ScreenSaverIsSecure, "
                           "ScreenSaveTimeOut, SCRNSAVE.EXE (not locked)"),
            std::string::npos)
      << r.summary;
  r = Evaluate({{"allow_user_override", true}});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(WindowsScreenLock, AValueOfTheWrongTypeIsNotCounted) {
  // A REG_DWORD where Windows keeps a REG_SZ (a hand-made .reg file): the screen saver reads
  // strings, so the check falls back to the user's own value and says why.
  UserValues(kClerk, "1", "1", "1200", "scrnsave.scr");
  PolicyValues(kClerk, "1", "1", std::nullopt, "scrnsave.scr");
  Set(RegistryHive::kUsers, kClerk + kPolicyKey, "ScreenSaveTimeOut", RegistryValue::Dword(300));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  const json t = UserFacts(r, kClerk)["settings"]["ScreenSaveTimeOut"];
  EXPECT_EQ(t["value"], "1200");
  EXPECT_EQ(t["source"], "HKU\\" + kClerk + kUserKey);
  EXPECT_NE(t["note"].get<std::string>().find("is REG_DWORD, not REG_SZ: not counted"),
            std::string::npos)
      << t.dump();
}

TEST_F(WindowsScreenLock, MachineInactivityLimitLocksEverySession) {
  UserValues(kClerk, "1", "0", "1200", std::nullopt);  // the user's own saver does not lock
  Set(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs", RegistryValue::Dword(300));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  const json s = UserFacts(r, kClerk)["settings"];
  ASSERT_TRUE(s.contains("InactivityTimeoutSecs")) << s.dump();
  EXPECT_EQ(s["InactivityTimeoutSecs"]["value"], 300);
  EXPECT_EQ(s["InactivityTimeoutSecs"]["source"], "HKLM\\" + kMachineKey);
  EXPECT_NE(s["InactivityTimeoutSecs"]["note"].get<std::string>().find("decides"),
            std::string::npos);
  EXPECT_FALSE(s.contains("ScreenSaveTimeOut"));  // it does not decide
}

TEST_F(WindowsScreenLock, MachineLimitAboveThePolicyFailsWhenTheSaverDoesNotLock) {
  Set(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs",
      RegistryValue::Dword(1200));
  CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("idle timeout 1200 s exceeds 300 s"), std::string::npos) << r.summary;
  // A compliant locked screen saver decides then.
  PolicyValues(kClerk, "1", "1", "300", "scrnsave.scr");
  r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(WindowsScreenLock, MachineLimitAsAStringIsNotCounted) {
  Set(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs", Sz("300"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.facts["windows"]["machine"]["notes"].dump().find("REG_SZ \\\"300\\\""),
            std::string::npos)
      << r.facts["windows"].dump();
}

TEST_F(WindowsScreenLock, GracePeriodIsTheLockDelay) {
  PolicyValues(kClerk, "1", "1", "300", "scrnsave.scr");
  Set(RegistryHive::kLocalMachine, kWinlogon, "ScreenSaverGracePeriod", Sz("10"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("lock delay 10 s exceeds 5 s"), std::string::npos) << r.summary;
  EXPECT_EQ(Evaluate({{"max_lock_delay_seconds", 10}}).status, CheckStatus::kPass);
}

TEST_F(WindowsScreenLock, EveryLoadedUserIsJudged) {
  PolicyValues(kClerk, "1", "1", "300", "scrnsave.scr");
  UserValues(kSecond, "1", "1", "600", "scrnsave.scr");
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find(kSecond), std::string::npos) << r.summary;
  EXPECT_EQ(UserFacts(r, kClerk)["status"], "pass");
  EXPECT_EQ(UserFacts(r, kSecond)["status"], "fail");
}

TEST_F(WindowsScreenLock, NobodyLoggedOn) {
  FakePlatform empty("/", FakeOs::kWindows);
  auto section = Section();
  CheckResult r = ScreenLockCheck().Evaluate(CheckContext{empty.platform(), section});
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_NE(r.summary.find("no user is logged on"), std::string::npos) << r.summary;
  ASSERT_TRUE(empty.registry()
                  .SetValue(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs",
                            RegistryValue::Dword(240))
                  .ok());
  r = ScreenLockCheck().Evaluate(CheckContext{empty.platform(), section});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(WindowsScreenLock, ProfilesNotLoggedOnAreNamed) {
  PolicyValues(kClerk, "1", "1", "300", "scrnsave.scr");
  Set(RegistryHive::kLocalMachine, kProfiles + "\\" + kSecond, "ProfileImagePath",
      Sz("C:\\Users\\Trần Thị Bích"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass);
  ASSERT_EQ(r.facts["windows"]["profiles_not_logged_on"].size(), 1u);
  EXPECT_EQ(r.facts["windows"]["profiles_not_logged_on"][0]["user"], "Trần Thị Bích");
  EXPECT_NE(r.summary.find("1 profile(s) not logged on not read"), std::string::npos) << r.summary;
}

TEST_F(WindowsScreenLock, UnreadableRegistryIsAnErrorNeverAPass) {
  PolicyValues(kClerk, "1", "1", "300", "scrnsave.scr");
  fake_.registry().SetError(
      MakeError(ErrorCode::kPermissionDenied, "RegOpenKeyExW: Access is denied (Win32 error 5)"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("Win32 error 5"), std::string::npos) << r.summary;
}

TEST(ScreenLockOnLinux, TheRegistryIsNotConsulted) {
  // A Linux fake has no registry: the desktop sources decide (here: none, headless).
  FakePlatform fake;
  auto section = Section();
  const CheckResult r = ScreenLockCheck().Evaluate(CheckContext{fake.platform(), section});
  EXPECT_EQ(r.status, CheckStatus::kNotApplicable) << r.summary;
}

// --- enforcement ---------------------------------------------------------------------------

std::map<std::string, json> Snapshot(platform::Registry& registry, const std::string& sid) {
  std::map<std::string, json> out;
  const std::pair<RegistryHive, std::string> keys[] = {{RegistryHive::kUsers, sid + kPolicyKey},
                                                       {RegistryHive::kUsers, sid + kUserKey},
                                                       {RegistryHive::kLocalMachine, kMachineKey},
                                                       {RegistryHive::kLocalMachine, kWinlogon}};
  for (const auto& [hive, key] : keys) {
    for (const char* name : {"ScreenSaveActive", "ScreenSaverIsSecure", "ScreenSaveTimeOut",
                             "SCRNSAVE.EXE", "InactivityTimeoutSecs", "ScreenSaverGracePeriod"}) {
      auto v = registry.GetValue(hive, key, name);
      out[RegistryValuePath(hive, key, name)] = v.ok() ? RegistryValueToJson(*v) : json(nullptr);
    }
  }
  return out;
}

TEST_F(WindowsScreenLock, EnforcementFixesIsIdempotentAndUndoes) {
  PolicyValues(kClerk, std::nullopt, "0", "1200", std::nullopt);
  Set(RegistryHive::kLocalMachine, kWinlogon, "ScreenSaverGracePeriod", Sz("30"));
  const auto before = Snapshot(fake_.registry(), kClerk);
  section_ = Section();
  CheckContext ctx{fake_.platform(), section_};
  const ScreenLockCheck check;
  const CheckResult failed = check.Evaluate(ctx);
  ASSERT_EQ(failed.status, CheckStatus::kFail);

  auto plan = check.Remediate(ctx, failed, /*dry_run=*/true);
  ASSERT_TRUE(plan.ok()) << plan.error().ToString();
  EXPECT_EQ(Snapshot(fake_.registry(), kClerk), before);  // a dry run writes nothing

  auto changes = check.Remediate(ctx, failed, /*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  std::vector<std::string> targets;
  json records = json::array();
  for (const auto& c : *changes) {
    targets.push_back(c.target);
    records.push_back({{"target", c.target}, {"undo", c.undo}});
  }
  const std::string policy = "HKU\\" + kClerk + kPolicyKey;
  EXPECT_EQ(targets, (std::vector<std::string>{
                         "HKLM\\" + kMachineKey + " [InactivityTimeoutSecs]",
                         "HKLM\\" + kWinlogon + " [ScreenSaverGracePeriod]",
                         policy + " [ScreenSaveActive]", policy + " [ScreenSaverIsSecure]",
                         policy + " [ScreenSaveTimeOut]", policy + " [SCRNSAVE.EXE]"}));
  EXPECT_EQ(changes->at(4).before["value"], json({{"type", "REG_SZ"}, {"data", "1200"}}));
  EXPECT_EQ(changes->at(4).after["value"], json({{"type", "REG_SZ"}, {"data", "300"}}));
  EXPECT_EQ(changes->at(0).after["value"], json({{"type", "REG_DWORD"}, {"data", 300}}));
  EXPECT_EQ(fake_.registry()
                .GetString(RegistryHive::kUsers, kClerk + kPolicyKey, "SCRNSAVE.EXE")
                .value_or(""),
            "scrnsave.scr");

  const CheckResult after = check.Evaluate(ctx);
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;
  // A second run changes nothing.
  const size_t writes = fake_.registry().writes().size();
  auto again = check.Remediate(ctx, after, /*dry_run=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(fake_.registry().writes().size(), writes);

  // Undo puts every value back as it was, created ones removed.
  auto undone = UndoChanges(fake_.platform(), records, /*dry_run=*/false);
  ASSERT_TRUE(undone.ok()) << undone.error().ToString();
  EXPECT_EQ(undone->front(), "delete " + policy + " [SCRNSAVE.EXE]");
  EXPECT_EQ(Snapshot(fake_.registry(), kClerk), before);
  EXPECT_EQ(check.Evaluate(ctx).status, CheckStatus::kFail);
}

TEST_F(WindowsScreenLock, EnforcementKeepsAStricterValueAndTheUsersProgram) {
  PolicyValues(kClerk, "1", "0", "120", std::nullopt);
  UserValues(kClerk, std::nullopt, std::nullopt, std::nullopt,
             "C:\\Windows\\system32\\Bubbles.scr");
  section_ = Section();
  CheckContext ctx{fake_.platform(), section_};
  auto changes = ScreenLockCheck().Remediate(ctx, ScreenLockCheck().Evaluate(ctx), false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  auto get = [&](const char* name) {
    return fake_.registry().GetString(RegistryHive::kUsers, kClerk + kPolicyKey, name).value_or("");
  };
  EXPECT_EQ(get("ScreenSaveTimeOut"), "120");
  EXPECT_EQ(get("SCRNSAVE.EXE"), "C:\\Windows\\system32\\Bubbles.scr");
  EXPECT_EQ(ScreenLockCheck().Evaluate(ctx).status, CheckStatus::kPass);
}

TEST_F(WindowsScreenLock, RunChecksEnforcesAndReportsTheNewState) {
  PolicyValues(kClerk, "1", "1", "1200", "scrnsave.scr");
  CheckRegistry registry;
  registry.Register(std::make_unique<ScreenLockCheck>());
  policy::Policy policy = policy::DefaultPolicy();
  policy.checks["screen_lock"] = Section();
  auto results = RunChecks(registry, fake_.platform(), policy,
                           RunOptions{{"screen_lock"}, EnforceMode::kForce});
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ(results->at(0).status, CheckStatus::kPass) << results->at(0).summary;
  EXPECT_EQ(results->at(0).remediation["result"], "applied");
}

TEST_F(WindowsScreenLock, FailedWriteRestoresWhatThisRunWrote) {
  PolicyValues(kClerk, "1", "0", "1200", "scrnsave.scr");
  section_ = Section();
  CheckContext ctx{fake_.platform(), section_};
  const auto before = Snapshot(fake_.registry(), kClerk);
  // The hive refuses writes after the first (a hive loaded read-only, a full disk).
  class OneWrite final : public platform::Registry {
   public:
    explicit OneWrite(platform::Registry& inner) : inner_(inner) {}
    Result<RegistryValue> GetValue(RegistryHive h, std::string_view k,
                                   std::string_view n) const override {
      return inner_.GetValue(h, k, n);
    }
    Result<std::vector<std::string>> ListSubkeys(RegistryHive h,
                                                 std::string_view k) const override {
      return inner_.ListSubkeys(h, k);
    }
    Status SetValue(RegistryHive h, std::string_view k, std::string_view n,
                    const RegistryValue& v) override {
      if (++sets_ == 2) {
        return MakeError(ErrorCode::kPermissionDenied, "RegSetValueExW (Win32 error 5)");
      }
      return inner_.SetValue(h, k, n, v);
    }
    Status DeleteValue(RegistryHive h, std::string_view k, std::string_view n) override {
      return inner_.DeleteValue(h, k, n);
    }

   private:
    platform::Registry& inner_;
    int sets_ = 0;
  };
  auto inner = std::move(fake_.platform().registry);
  fake_.platform().registry = std::make_unique<OneWrite>(*inner);
  auto r = ScreenLockCheck().Remediate(ctx, ScreenLockCheck().Evaluate(ctx), false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("1 earlier value(s) restored"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(Snapshot(*inner, kClerk), before);
  fake_.platform().registry = std::move(inner);
}

}  // namespace
}  // namespace cg::collectors

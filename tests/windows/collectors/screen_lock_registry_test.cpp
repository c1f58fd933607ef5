// screen_lock's Windows source against a real registry (Wine's, under Wine): values written by
// the test into HKEY_USERS\<SID> of the user running it and into HKLM, read back through
// WindowsRegistry, judged, enforced, enforced again (nothing changes) and undone. The user's
// name is set to a Vietnamese one (UTF-16 in the registry) and must come out intact.
#include <gtest/gtest.h>
#include <windows.h>

#include "collectors/check.h"
#include "collectors/screen_lock.h"
#include "platform/windows/registry.h"
#include "platform/windows/user_hives.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::windows::WindowsRegistry;
using protocol::CheckResult;
using protocol::CheckStatus;

const std::string kPolicyParent = "\\Software\\Policies\\Microsoft\\Windows\\Control Panel";
const std::string kPolicyKey = kPolicyParent + "\\Desktop";
const std::string kMachineKey = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";
const std::string kWinlogon = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
const std::string kName = "Nguyễn Văn Ánh";

class ScreenLockRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sids = platform::windows::LoadedUserHives(registry_);
    ASSERT_TRUE(sids.ok()) << sids.error().ToString();
    ASSERT_FALSE(sids->empty()) << "no user hive under HKEY_USERS";
    sid_ = sids->front();
    const std::string volatile_env = sid_ + "\\Volatile Environment";
    auto name = registry_.GetValue(RegistryHive::kUsers, volatile_env, "USERNAME");
    if (name.ok()) {
      saved_name_ = *name;
    }
    ASSERT_TRUE(
        registry_
            .SetValue(RegistryHive::kUsers, volatile_env, "USERNAME", RegistryValue::String(kName))
            .ok());
    Clean();
    platform_.registry = std::make_unique<WindowsRegistry>();
    section_ = policy::DefaultPolicy().Check("screen_lock");
    section_.params["max_idle_seconds"] = 300;
    section_.params["max_lock_delay_seconds"] = 5;
    section_.params["allow_user_override"] = false;
  }

  void TearDown() override {
    Clean();
    const std::string volatile_env = sid_ + "\\Volatile Environment";
    if (saved_name_) {
      (void)registry_.SetValue(RegistryHive::kUsers, volatile_env, "USERNAME", *saved_name_);
    } else if (!sid_.empty()) {
      (void)registry_.DeleteValue(RegistryHive::kUsers, volatile_env, "USERNAME");
    }
  }

  void Clean() {
    ASSERT_TRUE(registry_.DeleteTree(RegistryHive::kUsers, sid_ + kPolicyParent).ok());
    ASSERT_TRUE(
        registry_.DeleteValue(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs")
            .ok());
    ASSERT_TRUE(
        registry_.DeleteValue(RegistryHive::kLocalMachine, kWinlogon, "ScreenSaverGracePeriod")
            .ok());
  }

  void Policy(const std::string& active, const std::string& secure, const std::string& timeout) {
    const std::pair<const char*, std::string> values[] = {{"ScreenSaveActive", active},
                                                          {"ScreenSaverIsSecure", secure},
                                                          {"ScreenSaveTimeOut", timeout},
                                                          {"SCRNSAVE.EXE", "scrnsave.scr"}};
    for (const auto& [name, text] : values) {
      ASSERT_TRUE(
          registry_
              .SetValue(RegistryHive::kUsers, sid_ + kPolicyKey, name, RegistryValue::String(text))
              .ok());
    }
  }

  CheckResult Evaluate() { return ScreenLockCheck().Evaluate(CheckContext{platform_, section_}); }

  WindowsRegistry registry_;
  std::string sid_;
  std::optional<RegistryValue> saved_name_;
  platform::Platform platform_;
  policy::CheckPolicy section_;
};

TEST_F(ScreenLockRegistryTest, JudgesWhatTheRegistryHolds) {
  Policy("1", "1", "300");
  CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  const std::string label = kName + " (" + sid_ + ")";
  ASSERT_TRUE(r.observed.contains(label)) << r.observed.dump();
  EXPECT_EQ(r.observed[label]["windows"]["idle_seconds"], 300);
  // The report serialises: the name went UTF-16 -> UTF-8 intact.
  EXPECT_NE(r.facts.dump().find(kName), std::string::npos);

  Policy("1", "1", "1200");
  r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("idle timeout 1200 s exceeds 300 s"), std::string::npos) << r.summary;

  Policy("1", "0", "300");
  r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("screen lock is disabled"), std::string::npos) << r.summary;
}

TEST_F(ScreenLockRegistryTest, EnforcesOnceAndUndoes) {
  Policy("1", "0", "1200");
  const ScreenLockCheck check;
  CheckContext ctx{platform_, section_};
  auto changes = check.Remediate(ctx, check.Evaluate(ctx), /*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(changes->size(), 3u);  // InactivityTimeoutSecs, ScreenSaverIsSecure, ScreenSaveTimeOut
  EXPECT_EQ(registry_.GetNumber(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs")
                .value_or(0),
            300u);
  EXPECT_EQ(check.Evaluate(ctx).status, CheckStatus::kPass);
  auto again = check.Remediate(ctx, check.Evaluate(ctx), false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());

  json records = json::array();
  for (const auto& c : *changes) {
    records.push_back({{"undo", c.undo}});
  }
  auto undone = UndoChanges(platform_, records, /*dry_run=*/false);
  ASSERT_TRUE(undone.ok()) << undone.error().ToString();
  EXPECT_FALSE(
      registry_.GetValue(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs").ok());
  EXPECT_EQ(registry_.GetString(RegistryHive::kUsers, sid_ + kPolicyKey, "ScreenSaveTimeOut")
                .value_or(""),
            "1200");
  EXPECT_EQ(check.Evaluate(ctx).status, CheckStatus::kFail);
}

}  // namespace
}  // namespace cg::collectors

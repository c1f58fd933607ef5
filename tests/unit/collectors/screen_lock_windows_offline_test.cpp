// screen_lock on Windows for profiles whose user is not logged on (read_profiles_not_logged_on):
// their NTUSER.DAT, loaded for reading through Registry::LoadHiveFile, is judged like a loaded
// hive; a hive that cannot be loaded is an error for that user, never a pass. The fake
// registry's hive files hold what an offline NTUSER.DAT holds (the same keys and REG_SZ values
// as HKU\<SID>: Control Panel\Desktop and the Group Policy key under Software\Policies), and
// fail with the messages WindowsRegistry::LoadHiveFile gives for RegLoadAppKeyW's codes:
// ERROR_SHARING_VIOLATION (32) for a hive another program has loaded, ERROR_FILE_NOT_FOUND (2)
// for an orphaned ProfileList entry.
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
const std::string kAway = "S-1-5-21-1004336348-1177238915-682003330-1002";
const std::string kPolicyKey = "Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop";
const std::string kUserKey = "Control Panel\\Desktop";
const std::string kMachineKey = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";
const std::string kProfiles = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
// ProfileImagePath as Windows writes it (REG_EXPAND_SZ); LoadHiveFile expands it.
const std::string kAwayProfile = "%SystemDrive%\\Users\\Trần Thị Bích";
const std::string kAwayHive = kAwayProfile + "\\NTUSER.DAT";

class OfflineProfiles : public ::testing::Test {
 protected:
  OfflineProfiles() : fake_("/", FakeOs::kWindows) {
    // The clerk is logged on with a compliant Group Policy; the second profile is not.
    Set(RegistryHive::kUsers, kClerk + "\\Volatile Environment", "USERNAME", Sz("Nguyễn Văn Ánh"));
    for (const auto& [name, value] : Compliant()) {
      Set(RegistryHive::kUsers, kClerk + "\\" + kPolicyKey, name, Sz(value));
    }
    Set(RegistryHive::kUsers, "S-1-5-18\\" + kUserKey, "ScreenSaveActive", Sz("1"));
    Profile(kClerk, "%SystemDrive%\\Users\\Nguyễn Văn Ánh");
    Profile(kAway, kAwayProfile);
  }

  static RegistryValue Sz(std::string s) { return RegistryValue::String(std::move(s)); }
  static std::vector<std::pair<std::string, std::string>> Compliant() {
    return {{"ScreenSaveActive", "1"},
            {"ScreenSaverIsSecure", "1"},
            {"ScreenSaveTimeOut", "300"},
            {"SCRNSAVE.EXE", "scrnsave.scr"}};
  }
  void Set(RegistryHive hive, const std::string& key, const std::string& name,
           const RegistryValue& value) {
    ASSERT_TRUE(fake_.registry().SetValue(hive, key, name, value).ok());
  }
  void Profile(const std::string& sid, const std::string& path) {
    RegistryValue v = Sz(path);
    v.type = platform::RegistryValueType::kExpandString;
    Set(RegistryHive::kLocalMachine, kProfiles + "\\" + sid, "ProfileImagePath", v);
  }
  // The offline user's own values (a fresh profile's: active, not secure, 900 s).
  void AwayUserValues() {
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"ScreenSaveActive", "1"},
                                                          {"ScreenSaverIsSecure", "0"},
                                                          {"ScreenSaveTimeOut", "900"}}) {
      fake_.registry().SetHiveFileValue(kAwayHive, kUserKey, name, Sz(value));
    }
  }
  void AwayPolicy(const std::string& timeout) {
    for (auto [name, value] : Compliant()) {
      fake_.registry().SetHiveFileValue(kAwayHive, kPolicyKey, name,
                                        Sz(name == "ScreenSaveTimeOut" ? timeout : value));
    }
  }

  CheckResult Evaluate(bool read = true, const json& extra = json::object()) {
    section_ = policy::DefaultPolicy().Check("screen_lock");
    section_.params["read_profiles_not_logged_on"] = read;
    for (auto it = extra.begin(); it != extra.end(); ++it) {
      section_.params[it.key()] = it.value();
    }
    return ScreenLockCheck().Evaluate(CheckContext{fake_.platform(), section_});
  }

  static json Entry(const CheckResult& r) {
    const json& list = r.facts["windows"]["profiles_not_logged_on"];
    EXPECT_EQ(list.size(), 1u) << r.facts.dump();
    return list.empty() ? json() : list[0];
  }
  static json AwayFacts(const CheckResult& r) {
    for (const auto& u : r.facts["users"]) {
      if (u["user"] == "Trần Thị Bích (" + kAway + ", not logged on)") {
        return u;
      }
    }
    ADD_FAILURE() << "no evaluation of the offline profile in " << r.facts.dump();
    return json();
  }

  FakePlatform fake_;
  policy::CheckPolicy section_;
};

TEST_F(OfflineProfiles, NotAskedTheyAreListedNotLoaded) {
  AwayPolicy("1200");  // would fail if read
  const CheckResult r = Evaluate(/*read=*/false);
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_TRUE(fake_.registry().hive_file_loads().empty());
  const json e = Entry(r);
  EXPECT_EQ(e["read"], false);
  EXPECT_EQ(e["reason"], "the policy does not ask (read_profiles_not_logged_on is false)");
  EXPECT_NE(r.summary.find("1 profile(s) not logged on not read"), std::string::npos) << r.summary;
}

TEST_F(OfflineProfiles, CompliantHiveFilePassesAndIsUnloaded) {
  AwayUserValues();
  AwayPolicy("240");
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.summary,
            "screen lock compliant for 1 logged-on user(s) and 1 profile(s) not logged on");
  // The path as ProfileList holds it (expanded by the Windows implementation).
  EXPECT_EQ(fake_.registry().hive_file_loads(), std::vector<std::string>{kAwayHive});
  EXPECT_EQ(fake_.registry().hive_files_loaded(), 0) << "the hive file stayed loaded";
  const json e = Entry(r);
  EXPECT_EQ(e["read"], true);
  EXPECT_EQ(e["hive_file"], kAwayHive);
  EXPECT_EQ(e["method"], "fake hive file");
  EXPECT_EQ(e["enforcement"],
            "not written into the hive file; the machine inactivity limit covers this user");
  const json u = AwayFacts(r);
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["value"], "240");
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["source"], kAwayHive + ": " + kPolicyKey);
  EXPECT_EQ(u["settings"]["ScreenSaveTimeOut"]["locked"], true);
}

TEST_F(OfflineProfiles, TheUsersOwnValuesFailLikeALoggedOnUsers) {
  AwayUserValues();  // not secure, 900 s, no program, no policy
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("Trần Thị Bích (" + kAway + ", not logged on)"), std::string::npos)
      << r.summary;
  const json u = AwayFacts(r);
  EXPECT_EQ(u["settings"]["ScreenSaverIsSecure"]["source"], kAwayHive + ": " + kUserKey);
  EXPECT_EQ(u["settings"]["ScreenSaverIsSecure"]["locked"], false);
}

TEST_F(OfflineProfiles, PolicyOf1200SecondsFails) {
  AwayPolicy("1200");
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("1200"), std::string::npos) << r.summary;
}

TEST_F(OfflineProfiles, HiveInUseIsAnErrorForThatUserNeverAPass) {
  AwayPolicy("300");
  fake_.registry().SetHiveFileError(
      kAwayHive, MakeError(ErrorCode::kIo,
                           "loading the hive file C:\\Users\\Trần Thị Bích\\NTUSER.DAT "
                           "(RegLoadAppKeyW): The process cannot access the file because it is "
                           "being used by another process (Win32 error 32)"));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  const json e = Entry(r);
  EXPECT_EQ(e["read"], false);
  EXPECT_EQ(e["win32_error"], 32);
  EXPECT_NE(e["error"].get<std::string>().find("in use or locked by another program"),
            std::string::npos)
      << e.dump();
  EXPECT_NE(AwayFacts(r)["error"].get<std::string>().find("Win32 error 32"), std::string::npos);
  EXPECT_NE(r.summary.find("1 of 1 profile(s) not logged on could not be read"), std::string::npos)
      << r.summary;
  // The logged-on clerk is still judged.
  bool clerk = false;
  for (const auto& u : r.facts["users"]) {
    clerk |= u["user"] == "Nguyễn Văn Ánh (" + kClerk + ")" && !u.contains("error");
  }
  EXPECT_TRUE(clerk) << r.facts["users"].dump();
}

TEST_F(OfflineProfiles, AFailingUserStillFailsBesideAnUnreadableHive) {
  fake_.registry().SetHiveFileError(
      kAwayHive, MakeError(ErrorCode::kIo, "loading ...: locked (Win32 error 33)"));
  Set(RegistryHive::kUsers, kClerk + "\\" + kPolicyKey, "ScreenSaveTimeOut", Sz("1200"));
  EXPECT_EQ(Evaluate().status, CheckStatus::kFail);
}

TEST_F(OfflineProfiles, OrphanedProfileWithoutNtuserDatIsAnError) {
  // Nothing scripted for the path: the fake answers ERROR_FILE_NOT_FOUND like RegLoadAppKeyW.
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  const json e = Entry(r);
  EXPECT_EQ(e["win32_error"], 2);
  EXPECT_NE(e["error"].get<std::string>().find("orphaned profile"), std::string::npos) << e.dump();
}

TEST_F(OfflineProfiles, ProfileWithoutImagePathIsAnError) {
  ASSERT_TRUE(
      fake_.registry()
          .DeleteValue(RegistryHive::kLocalMachine, kProfiles + "\\" + kAway, "ProfileImagePath")
          .ok());
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_TRUE(fake_.registry().hive_file_loads().empty());
  EXPECT_NE(Entry(r)["error"].get<std::string>().find("no ProfileImagePath"), std::string::npos);
}

TEST_F(OfflineProfiles, AMachineLimitWithinThePolicyDecidesWithoutLoading) {
  Set(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs", RegistryValue::Dword(300));
  AwayPolicy("1200");
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_TRUE(fake_.registry().hive_file_loads().empty());
  const json e = Entry(r);
  EXPECT_EQ(e["read"], false);
  EXPECT_NE(e["reason"].get<std::string>().find("machine inactivity limit (300 s)"),
            std::string::npos);
  EXPECT_EQ(AwayFacts(r)["settings"]["InactivityTimeoutSecs"]["value"], 300);
}

TEST_F(OfflineProfiles, AValueOfTheWrongTypeInTheHiveFileIsNotCounted) {
  AwayPolicy("300");
  fake_.registry().SetHiveFileValue(kAwayHive, kPolicyKey, "ScreenSaveTimeOut",
                                    RegistryValue::Dword(300));
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;  // no timeout counted
  EXPECT_NE(AwayFacts(r).dump().find("REG_DWORD, not REG_SZ: not counted"), std::string::npos);
}

TEST_F(OfflineProfiles, NobodyLoggedOnTheProfilesDecide) {
  FakePlatform empty("/", FakeOs::kWindows);
  platform::fake::FakeRegistry& registry = empty.registry();
  RegistryValue path = Sz(kAwayProfile);
  path.type = platform::RegistryValueType::kExpandString;
  ASSERT_TRUE(
      registry
          .SetValue(RegistryHive::kLocalMachine, kProfiles + "\\" + kAway, "ProfileImagePath", path)
          .ok());
  ASSERT_TRUE(registry.SetValue(RegistryHive::kUsers, "S-1-5-18\\" + kUserKey, "x", Sz("1")).ok());
  for (const auto& [name, value] : Compliant()) {
    registry.SetHiveFileValue(kAwayHive, kPolicyKey, name, Sz(value));
  }
  section_ = policy::DefaultPolicy().Check("screen_lock");
  section_.params["read_profiles_not_logged_on"] = true;
  const CheckResult r = ScreenLockCheck().Evaluate(CheckContext{empty.platform(), section_});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.summary,
            "screen lock compliant for 0 logged-on user(s) and 1 profile(s) not logged on");
}

TEST_F(OfflineProfiles, EnforcementWritesNoHiveFileAndTheMachineLimitCoversThem) {
  AwayPolicy("1200");
  section_ = policy::DefaultPolicy().Check("screen_lock");
  section_.params["read_profiles_not_logged_on"] = true;
  CheckContext ctx{fake_.platform(), section_};
  const ScreenLockCheck check;
  const CheckResult failed = check.Evaluate(ctx);
  ASSERT_EQ(failed.status, CheckStatus::kFail) << failed.summary;
  auto changes = check.Remediate(ctx, failed, /*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  for (const auto& c : *changes) {
    EXPECT_EQ(c.target.find("NTUSER.DAT"), std::string::npos) << c.target;
    EXPECT_EQ(c.target.find(kAway), std::string::npos) << c.target;
  }
  ASSERT_FALSE(changes->empty());
  EXPECT_EQ(changes->front().target, "HKLM\\" + kMachineKey + " [InactivityTimeoutSecs]");
  const CheckResult after = check.Evaluate(ctx);
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;
  EXPECT_EQ(Entry(after)["read"], false);  // the machine limit decides now
}

TEST(ScreenLockPolicy, ReadProfilesNotLoggedOnIsABoolean) {
  EXPECT_EQ(policy::DefaultPolicy().Check("screen_lock").Bool("read_profiles_not_logged_on"),
            false);
  json doc = {{"version", 1},
              {"checks", {{"screen_lock", {{"read_profiles_not_logged_on", "yes"}}}}}};
  auto bad = policy::ParsePolicy(doc);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("screen_lock.read_profiles_not_logged_on"), std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("must be true or false"), std::string::npos);
  doc["checks"]["screen_lock"]["read_profiles_not_logged_on"] = true;
  auto good = policy::ParsePolicy(doc);
  ASSERT_TRUE(good.ok()) << good.error().ToString();
  EXPECT_TRUE(good->Check("screen_lock").Bool("read_profiles_not_logged_on"));
}

}  // namespace
}  // namespace cg::collectors

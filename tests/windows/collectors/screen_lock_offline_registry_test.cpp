// screen_lock with read_profiles_not_logged_on against a real registry (Wine's, under Wine): a
// ProfileList entry for a user who is not logged on, whose folder (a Vietnamese name) holds an
// NTUSER.DAT made by RegSaveKeyW with the Group Policy screen saver values. The check loads it
// through WindowsRegistry::LoadHiveFile (under Wine: RegLoadKeyW, since RegLoadAppKeyW is a
// stub), judges it, and unloads it; a hive held open by another handle is an error for that
// user with Win32 error 32, never a pass. The hive files are Wine's text format under Wine
// (regf on Windows): a regf NTUSER.DAT written by Windows could not be made here.
#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>

#include "collectors/check.h"
#include "collectors/screen_lock.h"
#include "platform/windows/registry.h"
#include "platform/windows/user_hives.h"
#include "platform/windows/utf16.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::windows::Utf8ToWide;
using platform::windows::WindowsRegistry;
using protocol::CheckResult;
using protocol::CheckStatus;

const std::string kPolicyParent = "Software\\Policies\\Microsoft\\Windows\\Control Panel";
const std::string kPolicyKey = kPolicyParent + "\\Desktop";
const std::string kMachineKey = "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";
const std::string kWinlogon = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
const std::string kProfiles = "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
// A SID no account of the prefix has: its profile is "not logged on".
const std::string kAway = "S-1-5-21-3623811015-3361044348-30300820-1013";
const std::wstring kSource = L"Software\\CounterGuard-test-offline-profile";

class ScreenLockOfflineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sids = platform::windows::LoadedUserHives(registry_);
    ASSERT_TRUE(sids.ok() && !sids->empty());
    sid_ = sids->front();
    Clean();
    folder_ = std::filesystem::temp_directory_path() /
              (L"cg-offline-" + std::to_wstring(GetCurrentProcessId())) / L"Trần Thị Bích";
    std::filesystem::create_directories(folder_);
    const std::u8string u8 = folder_.u8string();
    RegistryValue path = RegistryValue::String(std::string(u8.begin(), u8.end()));
    path.type = platform::RegistryValueType::kExpandString;
    ASSERT_TRUE(registry_
                    .SetValue(RegistryHive::kLocalMachine, kProfiles + "\\" + kAway,
                              "ProfileImagePath", path)
                    .ok());
    // The logged-on user is compliant: what is judged here is the offline profile.
    for (const auto& [name, text] : Values("300")) {
      ASSERT_TRUE(registry_
                      .SetValue(RegistryHive::kUsers, sid_ + "\\" + kPolicyKey, name,
                                RegistryValue::String(text))
                      .ok());
    }
    platform_.registry = std::make_unique<WindowsRegistry>();
    section_ = policy::DefaultPolicy().Check("screen_lock");
    section_.params["read_profiles_not_logged_on"] = true;
  }

  void TearDown() override {
    Clean();
    std::error_code ec;
    std::filesystem::remove_all(folder_.parent_path(), ec);
  }

  void Clean() {
    ASSERT_TRUE(registry_.DeleteTree(RegistryHive::kUsers, sid_ + "\\" + kPolicyParent).ok());
    ASSERT_TRUE(registry_.DeleteTree(RegistryHive::kLocalMachine, kProfiles + "\\" + kAway).ok());
    ASSERT_TRUE(
        registry_.DeleteValue(RegistryHive::kLocalMachine, kMachineKey, "InactivityTimeoutSecs")
            .ok());
    ASSERT_TRUE(
        registry_.DeleteValue(RegistryHive::kLocalMachine, kWinlogon, "ScreenSaverGracePeriod")
            .ok());
    RegDeleteTreeW(HKEY_CURRENT_USER, kSource.c_str());
  }

  static std::vector<std::pair<std::string, std::string>> Values(const std::string& timeout) {
    return {{"ScreenSaveActive", "1"},
            {"ScreenSaverIsSecure", "1"},
            {"ScreenSaveTimeOut", timeout},
            {"SCRNSAVE.EXE", "scrnsave.scr"}};
  }

  // <folder>\NTUSER.DAT holding the Group Policy values, saved by RegSaveKeyW.
  void WriteNtuserDat(const std::string& timeout) {
    const std::wstring file = (folder_ / L"NTUSER.DAT").wstring();
    DeleteFileW(file.c_str());
    RegDeleteTreeW(HKEY_CURRENT_USER, kSource.c_str());
    HKEY key = nullptr;
    ASSERT_EQ(
        RegCreateKeyExW(HKEY_CURRENT_USER, (kSource + L"\\" + *Utf8ToWide(kPolicyKey)).c_str(), 0,
                        nullptr, 0, KEY_ALL_ACCESS, nullptr, &key, nullptr),
        ERROR_SUCCESS);
    for (const auto& [name, text] : Values(timeout)) {
      const std::wstring n = *Utf8ToWide(name);
      const std::wstring t = *Utf8ToWide(text);
      ASSERT_EQ(RegSetValueExW(key, n.c_str(), 0, REG_SZ, reinterpret_cast<const BYTE*>(t.c_str()),
                               static_cast<DWORD>((t.size() + 1) * sizeof(wchar_t))),
                ERROR_SUCCESS);
    }
    RegCloseKey(key);
    HANDLE token = nullptr;
    ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES, &token));
    TOKEN_PRIVILEGES tp{};
    tp.PrivilegeCount = 1;
    tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
    ASSERT_TRUE(LookupPrivilegeValueW(nullptr, L"SeBackupPrivilege", &tp.Privileges[0].Luid));
    ASSERT_TRUE(AdjustTokenPrivileges(token, FALSE, &tp, 0, nullptr, nullptr));
    CloseHandle(token);
    ASSERT_EQ(RegOpenKeyExW(HKEY_CURRENT_USER, kSource.c_str(), 0, KEY_READ, &key), ERROR_SUCCESS);
    ASSERT_EQ(RegSaveKeyW(key, file.c_str(), nullptr), ERROR_SUCCESS);
    RegCloseKey(key);
  }

  CheckResult Evaluate() { return ScreenLockCheck().Evaluate(CheckContext{platform_, section_}); }

  static json Entry(const CheckResult& r) {
    for (const auto& e : r.facts["windows"]["profiles_not_logged_on"]) {
      if (e["sid"] == kAway) {
        return e;
      }
    }
    ADD_FAILURE() << "no entry for " << kAway << " in " << r.facts.dump();
    return json();
  }

  WindowsRegistry registry_;
  std::string sid_;
  std::filesystem::path folder_;
  platform::Platform platform_;
  policy::CheckPolicy section_;
};

TEST_F(ScreenLockOfflineTest, JudgesTheNtuserDatOfAProfileNotLoggedOn) {
  WriteNtuserDat("300");
  CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  json e = Entry(r);
  EXPECT_EQ(e["read"], true) << e.dump();
  EXPECT_EQ(e["user"], "Trần Thị Bích");
  const std::string label = "Trần Thị Bích (" + kAway + ", not logged on)";
  ASSERT_TRUE(r.observed.contains(label)) << r.observed.dump();
  EXPECT_EQ(r.observed[label]["windows"]["idle_seconds"], 300);

  WriteNtuserDat("1200");
  r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find(label), std::string::npos) << r.summary;
  // Nothing of the hive stays loaded under HKEY_USERS.
  auto hku = registry_.ListSubkeys(RegistryHive::kUsers, "");
  ASSERT_TRUE(hku.ok());
  for (const auto& name : *hku) {
    EXPECT_FALSE(name.starts_with("CounterGuard-hive-")) << name;
  }
}

TEST_F(ScreenLockOfflineTest, AHiveInUseIsAnErrorWithItsCode) {
  WriteNtuserDat("300");
  const HANDLE held =
      CreateFileW((folder_ / L"NTUSER.DAT").wstring().c_str(), GENERIC_READ | GENERIC_WRITE, 0,
                  nullptr, OPEN_EXISTING, 0, nullptr);
  ASSERT_NE(held, INVALID_HANDLE_VALUE);
  const CheckResult r = Evaluate();
  CloseHandle(held);
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  const json e = Entry(r);
  EXPECT_EQ(e["read"], false);
  EXPECT_EQ(e["win32_error"], 32) << e.dump();
  EXPECT_NE(e["error"].get<std::string>().find("in use or locked"), std::string::npos) << e.dump();
}

TEST_F(ScreenLockOfflineTest, NotAskedTheProfileIsOnlyListed) {
  WriteNtuserDat("1200");
  section_.params["read_profiles_not_logged_on"] = false;
  const CheckResult r = Evaluate();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(Entry(r)["read"], false);
}

}  // namespace
}  // namespace cg::collectors

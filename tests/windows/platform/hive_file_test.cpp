// WindowsRegistry::LoadHiveFile against the real API. The hive files are made by RegSaveKeyW
// from a key the test writes: on Windows that is a regf file and RegLoadAppKeyW loads it; under
// Wine it is Wine's own text format ("WINE REGISTRY Version 2"), RegLoadAppKeyW is a stub
// (ERROR_SUCCESS and the handle 0xdeadbeef for any file, even a missing one) and the loader
// falls back to RegLoadKeyW into a private HKEY_USERS subkey, which Wine implements. Either way:
// the values come back (Vietnamese text included), the hive is unloaded afterwards, and a
// missing file, a file held open without sharing and a file that is not a hive are errors
// with their Win32 code.
#include <gtest/gtest.h>
#include <windows.h>

#include <fstream>

#include "platform/windows/accounts.h"
#include "platform/windows/registry.h"
#include "platform/windows/utf16.h"
#include "temp_dir.h"

namespace cg::platform::windows {
namespace {

using testing::FromUtf8;

const std::wstring kSource = L"Software\\CounterGuard-test-hive-file";

// Enables the backup privilege RegSaveKeyW needs (the tests run as an administrator).
void EnableBackupPrivilege() {
  HANDLE token = nullptr;
  ASSERT_TRUE(OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES, &token));
  TOKEN_PRIVILEGES tp{};
  tp.PrivilegeCount = 1;
  tp.Privileges[0].Attributes = SE_PRIVILEGE_ENABLED;
  ASSERT_TRUE(LookupPrivilegeValueW(nullptr, L"SeBackupPrivilege", &tp.Privileges[0].Luid));
  ASSERT_TRUE(AdjustTokenPrivileges(token, FALSE, &tp, 0, nullptr, nullptr));
  CloseHandle(token);
}

class HiveFileTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    RegDeleteTreeW(HKEY_CURRENT_USER, kSource.c_str());
  }
  void TearDown() override {
    RegDeleteTreeW(HKEY_CURRENT_USER, kSource.c_str());
    TempDirTest::TearDown();
  }

  // A hive file holding Control Panel\Desktop and the Group Policy key, as an NTUSER.DAT does.
  std::string MakeHive(const std::string& name) {
    const std::pair<const wchar_t*, const wchar_t*> values[] = {
        {L"Control Panel\\Desktop", L"ScreenSaveTimeOut"},
        {L"Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop", L"ScreenSaveTimeOut"}};
    const wchar_t* data[] = {L"900", L"300"};
    for (int i = 0; i < 2; ++i) {
      HKEY key = nullptr;
      EXPECT_EQ(RegCreateKeyExW(HKEY_CURRENT_USER, (kSource + L"\\" + values[i].first).c_str(), 0,
                                nullptr, 0, KEY_ALL_ACCESS, nullptr, &key, nullptr),
                ERROR_SUCCESS);
      EXPECT_EQ(
          RegSetValueExW(key, values[i].second, 0, REG_SZ, reinterpret_cast<const BYTE*>(data[i]),
                         static_cast<DWORD>((wcslen(data[i]) + 1) * sizeof(wchar_t))),
          ERROR_SUCCESS);
      if (i == 0) {
        const std::wstring owner = L"Trần Thị Bích";
        EXPECT_EQ(RegSetValueExW(key, L"Chủ sở hữu", 0, REG_SZ,
                                 reinterpret_cast<const BYTE*>(owner.c_str()),
                                 static_cast<DWORD>((owner.size() + 1) * sizeof(wchar_t))),
                  ERROR_SUCCESS);
      }
      RegCloseKey(key);
    }
    EnableBackupPrivilege();
    HKEY source = nullptr;
    EXPECT_EQ(RegOpenKeyExW(HKEY_CURRENT_USER, kSource.c_str(), 0, KEY_READ, &source),
              ERROR_SUCCESS);
    const std::string path = Dir() + "\\" + name;
    const std::wstring wide = *Utf8ToWide(path);
    EXPECT_EQ(RegSaveKeyW(source, wide.c_str(), nullptr), ERROR_SUCCESS);
    RegCloseKey(source);
    return path;
  }

  static std::vector<std::string> PrivateMounts() {
    std::vector<std::string> out;
    auto names = WindowsRegistry().ListSubkeys(RegistryHive::kUsers, "");
    EXPECT_TRUE(names.ok());
    for (const auto& n : names.value_or(std::vector<std::string>{})) {
      if (n.starts_with("CounterGuard-hive-")) {
        out.push_back(n);
      }
    }
    return out;
  }
};

TEST_F(HiveFileTest, LoadsReadsAndUnloadsAHiveFile) {
  // A profile folder with a Vietnamese name, as C:\Users\<name> is.
  const std::string folder = Dir() + "\\Trần Thị Bích";
  std::filesystem::create_directories(FromUtf8(folder));
  const std::string hive = MakeHive("Trần Thị Bích\\NTUSER.DAT");
  {
    auto loaded = WindowsRegistry().LoadHiveFile(hive);
    ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
    const RegistryHiveFile& file = **loaded;
    auto user = file.GetValue("Control Panel\\Desktop", "ScreenSaveTimeOut");
    ASSERT_TRUE(user.ok()) << user.error().ToString();
    EXPECT_EQ(user->text, "900");
    auto policy = file.GetValue("Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop",
                                "ScreenSaveTimeOut");
    ASSERT_TRUE(policy.ok()) << policy.error().ToString();
    EXPECT_EQ(policy->text, "300");
    auto owner = file.GetValue("Control Panel\\Desktop", "Chủ sở hữu");
    ASSERT_TRUE(owner.ok()) << owner.error().ToString();
    EXPECT_EQ(owner->text, "Trần Thị Bích");
    auto missing = file.GetValue("Control Panel\\Desktop", "SCRNSAVE.EXE");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
    EXPECT_NE(missing.error().message.find(hive + ": Control Panel\\Desktop [SCRNSAVE.EXE]"),
              std::string::npos)
        << missing.error().message;
    if (RunningUnderWine()) {
      EXPECT_NE(file.method().find("RegLoadKeyW"), std::string::npos) << file.method();
      EXPECT_NE(file.method().find("Win32 error 6"), std::string::npos) << file.method();
      // The private mount is not a person's hive for anything that lists HKEY_USERS.
      const auto mounts = PrivateMounts();
      ASSERT_EQ(mounts.size(), 1u);
      EXPECT_FALSE(IsUserHiveName(mounts[0]));
    } else {
      EXPECT_NE(file.method().find("RegLoadAppKeyW"), std::string::npos) << file.method();
      EXPECT_TRUE(PrivateMounts().empty());
    }
  }
  // Unloaded: nothing left under HKEY_USERS, and the file can be opened exclusively again
  // (what the user's logon does).
  EXPECT_TRUE(PrivateMounts().empty());
  const HANDLE h = CreateFileW(Utf8ToWide(hive)->c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               OPEN_EXISTING, 0, nullptr);
  EXPECT_NE(h, INVALID_HANDLE_VALUE) << GetLastError();
  CloseHandle(h);
  // Loaded twice in a row: the first one really was unloaded.
  auto again = WindowsRegistry().LoadHiveFile(hive);
  EXPECT_TRUE(again.ok()) << again.error().ToString();
}

TEST_F(HiveFileTest, ExpandsEnvironmentVariablesInThePath) {
  MakeHive("NTUSER.DAT");
  ASSERT_TRUE(SetEnvironmentVariableW(L"CG_TEST_PROFILE", Utf8ToWide(Dir())->c_str()));
  auto loaded = WindowsRegistry().LoadHiveFile("%CG_TEST_PROFILE%\\NTUSER.DAT");
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_TRUE((*loaded)->GetValue("Control Panel\\Desktop", "ScreenSaveTimeOut").ok());
}

TEST_F(HiveFileTest, AMissingFileIsNotFoundWithItsCode) {
  auto loaded = WindowsRegistry().LoadHiveFile(Dir() + "\\nobody\\NTUSER.DAT");
  ASSERT_FALSE(loaded.ok());
  // Under Wine the stub would have "loaded" it: the fallback must not hide the failure.
  const auto code = Win32CodeOf(loaded.error());
  ASSERT_TRUE(code.has_value()) << loaded.error().message;
  EXPECT_TRUE(*code == ERROR_FILE_NOT_FOUND || *code == ERROR_PATH_NOT_FOUND)
      << loaded.error().message;
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
}

TEST_F(HiveFileTest, AHiveInUseIsASharingViolation) {
  const std::string hive = MakeHive("NTUSER.DAT");
  // Held the way a loaded hive is: opened without sharing.
  const HANDLE h = CreateFileW(Utf8ToWide(hive)->c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                               OPEN_EXISTING, 0, nullptr);
  ASSERT_NE(h, INVALID_HANDLE_VALUE);
  auto loaded = WindowsRegistry().LoadHiveFile(hive);
  CloseHandle(h);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(Win32CodeOf(loaded.error()), std::optional<uint32_t>(ERROR_SHARING_VIOLATION))
      << loaded.error().message;
  EXPECT_NE(loaded.error().message.find(hive), std::string::npos) << loaded.error().message;
  EXPECT_TRUE(PrivateMounts().empty());
}

TEST_F(HiveFileTest, AFileThatIsNotAHiveIsRefused) {
  const std::string path = Dir() + "\\NTUSER.DAT";
  {
    std::ofstream f(FromUtf8(path), std::ios::binary);
    f << std::string("regf") + std::string(4092, '\x5a');
  }
  auto loaded = WindowsRegistry().LoadHiveFile(path);
  ASSERT_FALSE(loaded.ok());
  const auto code = Win32CodeOf(loaded.error()).value_or(0);
  // ERROR_BADDB (1009), ERROR_REGISTRY_CORRUPT (1015) or ERROR_NOT_REGISTRY_FILE (1017, Wine).
  EXPECT_TRUE(code == 1009 || code == 1015 || code == 1017) << loaded.error().message;
}

TEST(WineHiveApis, RegLoadAppKeyIsAStubUnderWine) {
  if (!RunningUnderWine()) {
    GTEST_SKIP() << "documents Wine's stub; Windows loads the file";
  }
  // What LoadHiveFile guards against: success and a handle that does not work, for a file
  // that does not even exist.
  HKEY key = nullptr;
  ASSERT_EQ(RegLoadAppKeyW(L"C:\\no\\such\\NTUSER.DAT", &key, KEY_READ, 0, 0), ERROR_SUCCESS);
  EXPECT_EQ(RegQueryInfoKeyW(key, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                             nullptr, nullptr, nullptr, nullptr),
            ERROR_INVALID_HANDLE);
}

}  // namespace
}  // namespace cg::platform::windows

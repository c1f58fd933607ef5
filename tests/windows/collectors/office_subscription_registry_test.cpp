// office_license's Microsoft 365 sources (collectors/office_subscription_windows.cpp) through
// the real Windows registry and file layers (Wine's under Wine): values written where and as
// Windows/Office write them, and read back by ReadOfficeSubscription:
// - HKLM\...\ProfileList\<SID> ProfileImagePath (REG_EXPAND_SZ) naming a profile folder with
//   a Vietnamese name, holding AppData\Local\Microsoft\Office\Licenses\5\<id>.json in UTF-16LE
//   with a byte-order mark (made here with MultiByteToWideChar, not with the code under test);
// - SharedComputerLicensing as the Office policy writes it (REG_DWORD 1 under
//   HKLM\SOFTWARE\Policies\Microsoft\Office\16.0\Common\Licensing);
// - LicensingNext in the first loaded user hive: REG_DWORD 2 named after the release id in
//   lower case, as the script's listing shows them ("o365proplusretail").
// Everything written is removed again.
#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>
#include <fstream>

#include "collectors/office_subscription_windows.h"
#include "common/ids.h"
#include "platform/windows/file_system.h"
#include "platform/windows/registry.h"
#include "platform/windows/user_hives.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::windows::WindowsRegistry;

const std::string kSid = "S-1-5-21-1111-2222-3333-4242";  // a test profile of our own
const std::wstring kProfileKey =
    L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\S-1-5-21-1111-2222-3333-4242";
const std::string kPolicyKey = "SOFTWARE\\Policies\\Microsoft\\Office\\16.0\\Common\\Licensing";
const std::string kLicensingNext =
    "\\Software\\Microsoft\\Office\\16.0\\Common\\Licensing\\LicensingNext";
const std::string kName = "Nguyễn Văn Ánh";

std::wstring Wide(const std::string& utf8) {
  std::wstring w(utf8.size() + 1, L'\0');
  const int n =
      MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), static_cast<int>(utf8.size()),
                          w.data(), static_cast<int>(w.size()));
  w.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return w;
}

class OfficeSubscriptionRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sids = platform::windows::LoadedUserHives(registry_);
    ASSERT_TRUE(sids.ok()) << sids.error().ToString();
    ASSERT_FALSE(sids->empty()) << "no user hive under HKEY_USERS";
    user_sid_ = sids->front();
    profile_ = std::filesystem::temp_directory_path() /
               (L"cg-m365-" + std::to_wstring(GetCurrentProcessId())) / Wide(kName);
    std::filesystem::remove_all(profile_.parent_path());
    const auto folder = profile_ / L"AppData\\Local\\Microsoft\\Office\\Licenses\\5";
    std::filesystem::create_directories(folder);
    // A licence paid to 2099 and valid offline to 2098: Licensed at any time this test runs.
    const json licence = {{"LicenseType", "User"},
                          {"ProductReleaseId", "O365ProPlusRetail"},
                          {"Status", 1},
                          {"ExpiresOn", "2099-01-31T00:00:00Z"},
                          {"Metadata", {{"NotAfter", "2098-01-19T08:00:00Z"}}}};
    const std::wstring text = Wide(json{{"License", Base64Encode(licence.dump())}}.dump());
    std::ofstream out(folder / L"7f1c2a9e.json", std::ios::binary);
    out.write("\xFF\xFE", 2);
    out.write(reinterpret_cast<const char*>(text.data()),
              static_cast<std::streamsize>(text.size() * sizeof(wchar_t)));
    out.close();
    const std::u8string path8 = profile_.u8string();
    RegistryValue image;
    image.type = platform::RegistryValueType::kExpandString;
    image.text = std::string(path8.begin(), path8.end());
    ASSERT_TRUE(
        registry_
            .SetValue(RegistryHive::kLocalMachine,
                      "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList\\" + kSid,
                      "ProfileImagePath", image)
            .ok());
    ASSERT_TRUE(registry_
                    .SetValue(RegistryHive::kLocalMachine, kPolicyKey, "SharedComputerLicensing",
                              RegistryValue::Dword(1))
                    .ok());
    ASSERT_TRUE(registry_
                    .SetValue(RegistryHive::kUsers, user_sid_ + kLicensingNext, "o365proplusretail",
                              RegistryValue::Dword(2))
                    .ok());
  }
  void TearDown() override {
    RegDeleteTreeW(HKEY_LOCAL_MACHINE, kProfileKey.c_str());
    (void)registry_.DeleteValue(RegistryHive::kLocalMachine, kPolicyKey, "SharedComputerLicensing");
    if (!user_sid_.empty()) {
      (void)registry_.DeleteValue(RegistryHive::kUsers, user_sid_ + kLicensingNext,
                                  "o365proplusretail");
    }
    std::error_code ec;
    std::filesystem::remove_all(profile_.parent_path(), ec);
  }

  WindowsRegistry registry_;
  std::string user_sid_;
  std::filesystem::path profile_;
};

TEST_F(OfficeSubscriptionRegistryTest, ReadsWhatOfficeWrites) {
  auto files = platform::windows::WindowsFileSystem::Create("/");
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  const auto s = ReadOfficeSubscription(registry_, **files, {"O365ProPlusRetail"},
                                        std::chrono::system_clock::now());
  EXPECT_EQ(s.shared_computer_licensing, std::optional<bool>(true)) << s.facts.dump();

  bool mode = false;
  for (const auto& m : s.facts["licensing_mode"]) {
    mode = mode || (m["sid"] == user_sid_ && m["mode"] == "vNext");
  }
  EXPECT_TRUE(mode) << s.facts["licensing_mode"].dump();

  const VNextLicence* ours = nullptr;
  for (const auto& l : s.licences) {
    if (l.owner == kName) {
      ours = &l;
    }
  }
  ASSERT_NE(ours, nullptr) << s.facts.dump();
  EXPECT_EQ(ours->state, "Licensed") << ours->undecided;
  EXPECT_EQ(ours->product_release_id, "O365ProPlusRetail");
  EXPECT_NE(ours->file.find(kName), std::string::npos) << ours->file;

  std::string detail;
  EXPECT_EQ(SubscriptionVerdict(s, {"O365ProPlusRetail"}, detail), std::optional<bool>(true))
      << detail;
  EXPECT_NE(detail.find(kName), std::string::npos) << detail;
}

}  // namespace
}  // namespace cg::collectors

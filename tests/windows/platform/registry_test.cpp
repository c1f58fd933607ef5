// WindowsRegistry against the real registry API (Wine's registry under Wine). Each test
// works under its own HKLM\SOFTWARE\CounterGuardTest\<pid>-<test> key and removes it.
#include "platform/windows/registry.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::platform::windows {
namespace {

constexpr auto kLm = RegistryHive::kLocalMachine;

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = "SOFTWARE\\CounterGuardTest\\" + std::to_string(GetCurrentProcessId()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(registry_.DeleteTree(kLm, key_).ok());
  }
  void TearDown() override { EXPECT_TRUE(registry_.DeleteTree(kLm, key_).ok()); }

  // Reads a value with the raw API (no conversion of ours in between).
  std::wstring RawString(HKEY root, const std::wstring& key, const std::wstring& name) {
    wchar_t buffer[512] = {};
    DWORD size = sizeof buffer;
    const LSTATUS rc = RegGetValueW(root, key.c_str(), name.c_str(),
                                    RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, nullptr, buffer, &size);
    EXPECT_EQ(rc, ERROR_SUCCESS);
    return buffer;
  }

  std::wstring WideKey() { return std::wstring(key_.begin(), key_.end()); }  // ASCII

  WindowsRegistry registry_;
  std::string key_;
};

TEST_F(RegistryTest, TypedValuesRoundTrip) {
  ASSERT_TRUE(
      registry_.SetValue(kLm, key_, "ScreenSaveTimeOut", RegistryValue::String("300")).ok());
  ASSERT_TRUE(
      registry_.SetValue(kLm, key_, "InactivityTimeoutSecs", RegistryValue::Dword(900)).ok());
  ASSERT_TRUE(
      registry_.SetValue(kLm, key_, "Big", RegistryValue::Qword(0x1122334455667788ull)).ok());
  ASSERT_TRUE(registry_
                  .SetValue(kLm, key_, "ProductReleaseIds",
                            RegistryValue::MultiString({"O365ProPlusRetail", "VisioProRetail"}))
                  .ok());

  EXPECT_EQ(registry_.GetString(kLm, key_, "ScreenSaveTimeOut").value(), "300");
  Result<RegistryValue> dword = registry_.GetValue(kLm, key_, "InactivityTimeoutSecs");
  ASSERT_TRUE(dword.ok());
  EXPECT_EQ(dword->type, RegistryValueType::kDword);
  EXPECT_EQ(dword->number, 900u);
  EXPECT_EQ(registry_.GetNumber(kLm, key_, "Big").value(), 0x1122334455667788ull);
  Result<RegistryValue> multi = registry_.GetValue(kLm, key_, "ProductReleaseIds");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->type, RegistryValueType::kMultiString);
  EXPECT_EQ(multi->strings, (std::vector<std::string>{"O365ProPlusRetail", "VisioProRetail"}));
}

TEST_F(RegistryTest, VietnameseKeyValueNameAndDataAreUtf16InTheRegistry) {
  const std::string sub = key_ + "\\Bắc Hà";
  ASSERT_TRUE(registry_
                  .SetValue(kLm, sub, "Nguyễn Văn Ánh",
                            RegistryValue::String("Bộ phận Một cửa – UBND xã Bắc Hà"))
                  .ok());

  // What another Windows program reads: UTF-16, not UTF-8 bytes widened one by one.
  EXPECT_EQ(RawString(HKEY_LOCAL_MACHINE, WideKey() + L"\\B\u1eafc H\u00e0",
                      L"Nguy\u1ec5n V\u0103n \u00c1nh"),
            L"B\u1ed9 ph\u1eadn M\u1ed9t c\u1eeda \u2013 UBND x\u00e3 B\u1eafc H\u00e0");

  EXPECT_EQ(registry_.GetString(kLm, sub, "Nguyễn Văn Ánh").value(),
            "Bộ phận Một cửa – UBND xã Bắc Hà");
  EXPECT_EQ(registry_.ListSubkeys(kLm, key_).value(), std::vector<std::string>{"Bắc Hà"});
}

TEST_F(RegistryTest, MissingKeyAndValueAreNotFound) {
  Result<RegistryValue> no_key = registry_.GetValue(kLm, key_ + "\\absent", "x");
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().code, ErrorCode::kNotFound);
  EXPECT_NE(no_key.error().message.find("Win32 error 2"), std::string::npos)
      << no_key.error().message;

  ASSERT_TRUE(registry_.SetValue(kLm, key_, "present", RegistryValue::Dword(1)).ok());
  Result<RegistryValue> no_value = registry_.GetValue(kLm, key_, "absent");
  ASSERT_FALSE(no_value.ok());
  EXPECT_EQ(no_value.error().code, ErrorCode::kNotFound);
  Result<std::vector<std::string>> no_subkeys = registry_.ListSubkeys(kLm, key_ + "\\absent");
  ASSERT_FALSE(no_subkeys.ok());
  EXPECT_EQ(no_subkeys.error().code, ErrorCode::kNotFound);
}

TEST_F(RegistryTest, WrongTypeIsAnErrorNotAGuess) {
  ASSERT_TRUE(registry_.SetValue(kLm, key_, "n", RegistryValue::Dword(300)).ok());
  ASSERT_TRUE(registry_.SetValue(kLm, key_, "s", RegistryValue::String("300")).ok());
  EXPECT_EQ(registry_.GetString(kLm, key_, "n").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry_.GetNumber(kLm, key_, "s").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RegistryTest, StringsWrittenByOthersWithoutTerminatorOrWithTrailingGarbage) {
  ASSERT_TRUE(registry_.SetValue(kLm, key_, "seed", RegistryValue::Dword(0)).ok());
  Result<UniqueHkey> key = OpenKey(kLm, key_, KEY_SET_VALUE);
  ASSERT_TRUE(key.ok());
  const wchar_t no_nul[] = {L'6', L'0', L'0'};
  ASSERT_EQ(RegSetValueExW(key->get(), L"NoNul", 0, REG_SZ, reinterpret_cast<const BYTE*>(no_nul),
                           sizeof no_nul),
            ERROR_SUCCESS);
  const wchar_t garbage[] = {L'1', L'\0', L'x', L'y', L'\0'};
  ASSERT_EQ(RegSetValueExW(key->get(), L"Garbage", 0, REG_SZ,
                           reinterpret_cast<const BYTE*>(garbage), sizeof garbage),
            ERROR_SUCCESS);
  const wchar_t multi[] = {L'a', L'\0', L'b', L'\0'};  // no final empty string
  ASSERT_EQ(RegSetValueExW(key->get(), L"Multi", 0, REG_MULTI_SZ,
                           reinterpret_cast<const BYTE*>(multi), sizeof multi),
            ERROR_SUCCESS);
  const BYTE odd_dword[] = {1, 2};
  ASSERT_EQ(RegSetValueExW(key->get(), L"ShortDword", 0, REG_DWORD, odd_dword, sizeof odd_dword),
            ERROR_SUCCESS);

  EXPECT_EQ(registry_.GetString(kLm, key_, "NoNul").value(), "600");
  EXPECT_EQ(registry_.GetString(kLm, key_, "Garbage").value(), "1");
  EXPECT_EQ(registry_.GetValue(kLm, key_, "Multi")->strings, (std::vector<std::string>{"a", "b"}));
  Result<RegistryValue> short_dword = registry_.GetValue(kLm, key_, "ShortDword");
  ASSERT_FALSE(short_dword.ok());
  EXPECT_EQ(short_dword.error().code, ErrorCode::kParse);
}

TEST_F(RegistryTest, LargeValueIsReadWhole) {
  std::string big(70000, 'x');  // beyond the first read buffer: the ERROR_MORE_DATA path
  ASSERT_TRUE(registry_.SetValue(kLm, key_, "big", RegistryValue::String(big)).ok());
  EXPECT_EQ(registry_.GetString(kLm, key_, "big").value(), big);
}

TEST_F(RegistryTest, InvalidInputIsRefusedAndWritesNothing) {
  EXPECT_EQ(registry_.SetValue(kLm, key_, "bad\xff", RegistryValue::Dword(1)).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      registry_.SetValue(kLm, key_, "v", RegistryValue::MultiString({"a", "", "b"})).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry_
                .SetValue(kLm, key_, "v",
                          RegistryValue{RegistryValueType::kDword, "", {}, 0x100000000ull, ""})
                .error()
                .code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(registry_.GetValue(kLm, key_, "v").error().code, ErrorCode::kNotFound);
}

TEST_F(RegistryTest, DeleteValueIsIdempotent) {
  ASSERT_TRUE(
      registry_.SetValue(kLm, key_, "ScreenSaverIsSecure", RegistryValue::String("1")).ok());
  ASSERT_TRUE(registry_.DeleteValue(kLm, key_, "ScreenSaverIsSecure").ok());
  EXPECT_EQ(registry_.GetValue(kLm, key_, "ScreenSaverIsSecure").error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(registry_.DeleteValue(kLm, key_, "ScreenSaverIsSecure").ok());
  EXPECT_TRUE(registry_.DeleteValue(kLm, key_ + "\\absent", "x").ok());
}

// HKEY_USERS lists the loaded user hives by SID; the current user's is the hive behind
// HKEY_CURRENT_USER, which is what per-user screen-lock enforcement relies on.
TEST_F(RegistryTest, UserHivesAreListedBySidAndAreTheUsersHive) {
  Result<std::vector<std::string>> hives = registry_.ListSubkeys(RegistryHive::kUsers, "");
  ASSERT_TRUE(hives.ok()) << hives.error().ToString();
  std::vector<std::string> sids;
  for (const std::string& name : *hives) {
    if (name.rfind("S-1-5-21-", 0) == 0 && name.find("_Classes") == std::string::npos) {
      sids.push_back(name);
    }
  }
  ASSERT_FALSE(sids.empty()) << "no user SID under HKEY_USERS";

  const std::string user_key =
      "Software\\CounterGuardTest\\" + std::to_string(GetCurrentProcessId());
  bool found = false;
  for (const std::string& sid : sids) {
    const std::string full = sid + "\\" + user_key;
    ASSERT_TRUE(
        registry_
            .SetValue(RegistryHive::kUsers, full, "ScreenSaveTimeOut", RegistryValue::String(sid))
            .ok());
    const std::wstring wide_key(user_key.begin(), user_key.end());
    const std::wstring wide_sid(sid.begin(), sid.end());
    wchar_t buffer[256] = {};
    DWORD size = sizeof buffer;
    if (RegGetValueW(HKEY_CURRENT_USER, wide_key.c_str(), L"ScreenSaveTimeOut", RRF_RT_REG_SZ,
                     nullptr, buffer, &size) == ERROR_SUCCESS &&
        wide_sid == buffer) {
      found = true;
    }
    EXPECT_TRUE(registry_.DeleteTree(RegistryHive::kUsers, full).ok());
  }
  EXPECT_TRUE(found) << "no HKEY_USERS\\<SID> is the current user's hive";
}

}  // namespace
}  // namespace cg::platform::windows

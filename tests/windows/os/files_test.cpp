// The Windows implementation of platform/os/files.h (platform/windows/os/files.cpp): durable
// replace, size limit, UTF-8 paths, and the private ACL for 0600/0700.
#include "platform/os/files.h"

// clang-format off
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
// clang-format on

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>

namespace cg {
namespace {

namespace fs = std::filesystem;

fs::path FromUtf8(const std::string& s) { return fs::path(std::u8string(s.begin(), s.end())); }

std::string ToUtf8(const fs::path& p) {
  const std::u8string s = p.u8string();
  return std::string(s.begin(), s.end());
}

class CommonFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (L"cg-files-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
            fs::path(::testing::UnitTest::GetInstance()->current_test_info()->name()).wstring());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) { return ToUtf8(dir_ / FromUtf8(name)); }

  // The SDDL of a file's DACL, e.g. "D:PAI(A;;FA;;;SY)(A;;FA;;;BA)".
  std::string DaclSddl(const std::string& path) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    const DWORD rc =
        GetNamedSecurityInfoW(FromUtf8(path).wstring().c_str(), SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION, nullptr, nullptr, nullptr, nullptr, &sd);
    EXPECT_EQ(rc, static_cast<DWORD>(ERROR_SUCCESS));
    if (rc != ERROR_SUCCESS) {
      return "";
    }
    wchar_t* text = nullptr;
    EXPECT_TRUE(ConvertSecurityDescriptorToStringSecurityDescriptorW(
        sd, SDDL_REVISION_1, DACL_SECURITY_INFORMATION, &text, nullptr));
    std::string out = text == nullptr ? "" : std::string(text, text + wcslen(text));
    LocalFree(text);
    LocalFree(sd);
    return out;
  }

  fs::path dir_;
};

TEST_F(CommonFilesTest, WriteReplacesAtomicallyAndReadsBack) {
  const std::string path = Path("agent.json");
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, std::string("second\0binary", 13)).ok());
  EXPECT_EQ(ReadFileToString(path).value(), std::string("second\0binary", 13));
  // No temporary file is left next to it.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(CommonFilesTest, VietnamesePath) {
  const std::string path = Path("Bắc Hà - Nguyễn Văn Ánh.json");
  ASSERT_TRUE(WriteFileAtomic(path, "{}").ok());
  EXPECT_TRUE(FileExists(path));
  // The name on disk is the UTF-16 of the UTF-8 name.
  EXPECT_TRUE(fs::exists(dir_ / L"B\u1eafc H\u00e0 - Nguy\u1ec5n V\u0103n \u00c1nh.json"));
  EXPECT_EQ(ReadFileToString(path).value(), "{}");
}

TEST_F(CommonFilesTest, MissingAndTooLarge) {
  Result<std::string> missing = ReadFileToString(Path("absent"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(FileExists(Path("absent")));

  ASSERT_TRUE(WriteFileAtomic(Path("big"), std::string(1000, 'x')).ok());
  Result<std::string> big = ReadFileToString(Path("big"), 999);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(ReadFileToString(Path("big"), 1000).value().size(), 1000u);
}

bool RunningUnderWine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

TEST_F(CommonFilesTest, PrivateModesGetTheSystemAndAdministratorsAcl) {
  const std::string key = Path("device.key");
  ASSERT_TRUE(WriteFileAtomic(key, "secret", 0600).ok());
  const std::string state = Path("state");
  ASSERT_TRUE(EnsureDirectory(state, 0700).ok());
  const std::string file_acl = DaclSddl(key);
  const std::string dir_acl = DaclSddl(state);
  // Nobody else may read the key, under Wine or Windows.
  EXPECT_EQ(file_acl.find(";;;BU)"), std::string::npos) << file_acl;  // Users
  EXPECT_EQ(file_acl.find(";;;WD)"), std::string::npos) << file_acl;  // Everyone
  if (RunningUnderWine()) {
    // Wine 8 keeps no security descriptor here: it turns the DACL into Unix mode bits (0600
    // shows as SYSTEM + the Unix owner) and reports directories from their Unix mode, so the
    // protected ACL itself can only be checked on Windows (docs/windows.md).
    EXPECT_NE(file_acl.find(";;;SY)"), std::string::npos) << file_acl;
    return;
  }
  for (const std::string& acl : {file_acl, dir_acl}) {
    EXPECT_EQ(acl.rfind("D:P", 0), 0u) << acl;  // protected: nothing inherited
    EXPECT_NE(acl.find(";;;SY)"), std::string::npos) << acl;
    EXPECT_NE(acl.find(";;;BA)"), std::string::npos) << acl;
    EXPECT_EQ(acl.find(";;;BU)"), std::string::npos) << acl;
    EXPECT_EQ(acl.find(";;;WD)"), std::string::npos) << acl;
  }
}

// What the service warns about before using a staged token: the private mode's ACL lets no
// broad group read it; an ACL granting Everyone (or Users) read is reported by name.
TEST_F(CommonFilesTest, ReadableByOthersNamesTheBroadGroupInTheAcl) {
  const std::string token = Path("enroll.token");
  ASSERT_TRUE(WriteFileAtomic(token, "tok\n", 0600).ok());
  auto private_file = ReadableByOthers(token);
  ASSERT_TRUE(private_file.ok()) << private_file.error().ToString();
  EXPECT_EQ(*private_file, std::nullopt) << DaclSddl(token);

  for (const auto& [sddl, who] : {std::pair{L"D:P(A;;FA;;;SY)(A;;FR;;;WD)", "Everyone"},
                                  std::pair{L"D:P(A;;FA;;;SY)(A;;FR;;;BU)", "Users"}}) {
    PSECURITY_DESCRIPTOR sd = nullptr;
    ASSERT_TRUE(
        ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl, SDDL_REVISION_1, &sd, nullptr));
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    PACL dacl = nullptr;
    ASSERT_TRUE(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    std::wstring wide = FromUtf8(token).wstring();
    const DWORD rc =
        SetNamedSecurityInfoW(wide.data(), SE_FILE_OBJECT,
                              DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                              nullptr, nullptr, dacl, nullptr);
    LocalFree(sd);
    ASSERT_EQ(rc, static_cast<DWORD>(ERROR_SUCCESS));
    // Wine keeps what Unix mode bits can say: both come back as
    // "D:(A;;FA;;;SY)(A;;FA;;;<owner>)(A;;0x1200a9;;;WD)", Everyone may read.
    const std::string acl = DaclSddl(token);
    auto others = ReadableByOthers(token);
    ASSERT_TRUE(others.ok()) << others.error().ToString();
    ASSERT_TRUE(others->has_value()) << acl;
    const char* named = acl.find(";;;WD)") != std::string::npos ? "Everyone" : who;
    EXPECT_NE((*others)->find(named), std::string::npos) << **others << " for " << acl;
  }
  EXPECT_FALSE(ReadableByOthers(Path("missing")).ok());
}

}  // namespace
}  // namespace cg

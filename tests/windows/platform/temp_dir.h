// A temporary directory per test under %TEMP%, removed at the end; paths in UTF-8.
#pragma once

#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>
#include <string>

namespace cg::platform::windows::testing {

inline std::filesystem::path FromUtf8(const std::string& s) {
  return std::filesystem::path(std::u8string(s.begin(), s.end()));
}

inline std::string ToUtf8(const std::filesystem::path& p) {
  const std::u8string s = p.u8string();
  return std::string(s.begin(), s.end());
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (L"cg-" + std::to_wstring(GetCurrentProcessId()) + L"-" +
            std::filesystem::path(::testing::UnitTest::GetInstance()->current_test_info()->name())
                .wstring());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(LongForm(dir_), ec);
  }

  static std::filesystem::path LongForm(const std::filesystem::path& p) {
    return std::filesystem::path(L"\\\\?\\" + std::filesystem::absolute(p).wstring());
  }

  std::string Dir() const { return ToUtf8(dir_); }
  std::string Path(const std::string& name) const { return ToUtf8(dir_ / FromUtf8(name)); }

  std::filesystem::path dir_;
};

}  // namespace cg::platform::windows::testing

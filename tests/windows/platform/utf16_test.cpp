// UTF-8 <-> UTF-16 at the Windows boundary: Vietnamese text converts to the exact code units
// and back; invalid input is refused, never replaced.
#include "platform/windows/utf16.h"

#include <gtest/gtest.h>

namespace cg::platform::windows {
namespace {

TEST(Utf16Test, VietnameseToExactCodeUnits) {
  // "Bắc Hà": ắ is U+1EAF (precomposed, as Windows' IMEs produce it), à is U+00E0.
  Result<std::wstring> wide = Utf8ToWide(
      "B\xe1\xba\xaf"
      "c H\xc3\xa0");
  ASSERT_TRUE(wide.ok()) << wide.error().ToString();
  EXPECT_EQ(*wide, std::wstring(L"B\u1eafc H\u00e0"));
  Result<std::string> back = WideToUtf8(*wide);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "Bắc Hà");
}

TEST(Utf16Test, OutsideTheBmpUsesSurrogatePairs) {
  Result<std::wstring> wide = Utf8ToWide("\xf0\x9f\x94\x92");  // U+1F512
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(*wide, std::wstring(L"\xd83d\xdd12"));
  EXPECT_EQ(WideToUtf8(*wide).value(), "\xf0\x9f\x94\x92");
}

TEST(Utf16Test, EmptyAndEmbeddedNul) {
  EXPECT_EQ(Utf8ToWide("").value(), L"");
  EXPECT_EQ(WideToUtf8(L"").value(), "");
  EXPECT_EQ(Utf8ToWide(std::string_view("a\0b", 3)).value(), std::wstring(L"a\0b", 3));
}

TEST(Utf16Test, InvalidUtf8IsRefused) {
  for (std::string_view bad : {"\xff", "abc\xc3", "\xe1\xba", "\xc0\xaf"}) {
    Result<std::wstring> wide = Utf8ToWide(bad);
    ASSERT_FALSE(wide.ok()) << bad;
    EXPECT_EQ(wide.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Utf16Test, UnpairedSurrogateIsRefused) {
  for (std::wstring_view bad : {std::wstring_view(L"\xd800"), std::wstring_view(L"a\xdc00z")}) {
    Result<std::string> utf8 = WideToUtf8(bad);
    ASSERT_FALSE(utf8.ok());
    EXPECT_EQ(utf8.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cg::platform::windows

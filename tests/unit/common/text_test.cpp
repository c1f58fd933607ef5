#include "common/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cg {
namespace {

using Views = std::vector<std::string_view>;

TEST(TextTest, TrimTakesAsciiWhitespaceFromBothEnds) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim("\v\fx"), "x");
  EXPECT_EQ(Trim(" \t\r\n "), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("\xc2\xa0x\xc2\xa0"), "\xc2\xa0x\xc2\xa0") << "bytes above ASCII are kept";
  EXPECT_EQ(Trim(std::string_view("\0x\0", 3)), std::string_view("\0x\0", 3));
}

TEST(TextTest, SplitLinesDropsTheCarriageReturnAndTheEmptyLastLine) {
  EXPECT_EQ(SplitLines("a\nb\r\n\nc"), (Views{"a", "b", "", "c"}));
  EXPECT_EQ(SplitLines("a\n"), (Views{"a"}));
  EXPECT_EQ(SplitLines("a\n\n"), (Views{"a", ""}));
  EXPECT_EQ(SplitLines("\n"), (Views{""}));
  EXPECT_TRUE(SplitLines("").empty());
  EXPECT_EQ(SplitLines("x\ry"), (Views{"x\ry"})) << "only a trailing \\r goes";
}

TEST(TextTest, SplitWordsSplitsAtSpacesAndTabsOnly) {
  EXPECT_EQ(SplitWords("install ok\tinstalled"), (Views{"install", "ok", "installed"}));
  EXPECT_EQ(SplitWords("  a  "), (Views{"a"}));
  EXPECT_TRUE(SplitWords(" \t ").empty());
  EXPECT_EQ(SplitWords("a\nb"), (Views{"a\nb"}));
}

TEST(TextTest, EqualsIgnoreCaseIsAsciiOnly) {
  EXPECT_TRUE(EqualsIgnoreCase("Package", "pACKAGE"));
  EXPECT_FALSE(EqualsIgnoreCase("Package", "Packages"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "b"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("\xc3\x89", "\xc3\xa9")) << "no Unicode folding";
  EXPECT_FALSE(EqualsIgnoreCase("@", "`")) << "only letters fold";
}

}  // namespace
}  // namespace cg

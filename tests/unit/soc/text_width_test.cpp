// Tests for soc/text_width.cpp (terminal columns) and soc/text_fold.cpp (search folding).
#include "soc/text_width.h"

#include <gtest/gtest.h>

#include <string>

#include "soc/text_fold.h"

namespace cg::soc {
namespace {

TEST(TextWidthTest, ColumnsOfLatinVietnameseAndCjkText) {
  struct Case {
    std::string text;
    size_t width;
  };
  const Case cases[] = {
      {"", 0},
      {"pc-01", 5},
      {"B\xe1\xba\xaf\x63 H\xc3\xa0", 6},        // "Bắc Hà", precomposed
      {"Ba\xcc\x86\xcc\x81\x63 Ha\xcc\x80", 6},  // "Bắc Hà", decomposed: marks take no column
      {"\xe4\xb8\x9c\xe4\xba\xac", 4},           // "东京": wide
      {"\xef\xbc\xa1", 2},                       // fullwidth A
      {"a\xe2\x80\x8d"
       "b",
       2},                                 // zero width joiner
      {"\xea\xb0\x80", 2},                 // Hangul syllable
      {"\x1\xe1\x84\x80\xe1\x85\xa1", 3},  // C0 counts 1, conjoining jamo L (2) + V (0)
      {"\xff", 1},                         // invalid byte: one column
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DisplayWidth(c.text), c.width) << c.text;
  }
}

TEST(TextWidthTest, PadAndTruncateKeepCharactersWhole) {
  EXPECT_EQ(PadToWidth("H\xc3\xa0", 4), "H\xc3\xa0  ");
  EXPECT_EQ(PadToWidth("toolong", 3), "toolong");
  EXPECT_EQ(TruncateToWidth("abcdef", 4), "abc\xe2\x80\xa6");
  EXPECT_EQ(TruncateToWidth("abc", 3), "abc");
  // A wide character that would straddle the limit is left out whole, and a combining mark
  // stays with its base.
  EXPECT_EQ(TruncateToWidth("a\xe4\xb8\x9c\xe4\xba\xac", 3), "a\xe2\x80\xa6");
  EXPECT_EQ(TruncateToWidth("Ha\xcc\x80Giang", 3), "Ha\xcc\x80\xe2\x80\xa6");
  EXPECT_EQ(DisplayWidth(TruncateToWidth("\xe4\xb8\x9c\xe4\xba\xac\xe4\xb8\x9c", 4)), 3u);
}

TEST(TextWidthTest, Utf8PrefixNeverCutsACharacter) {
  const std::string bac = "B\xe1\xba\xaf\x63";  // Bắc: 1 + 3 + 1 bytes
  EXPECT_EQ(Utf8Prefix(bac, 5), bac);
  EXPECT_EQ(Utf8Prefix(bac, 9), bac);
  EXPECT_EQ(Utf8Prefix(bac, 4), "B\xe1\xba\xaf");
  EXPECT_EQ(Utf8Prefix(bac, 3), "B");  // ắ would be cut: left out whole
  EXPECT_EQ(Utf8Prefix(bac, 2), "B");
  EXPECT_EQ(Utf8Prefix(bac, 1), "B");
  EXPECT_EQ(Utf8Prefix(bac, 0), "");
  EXPECT_EQ(Utf8Prefix("\xf0\x9f\x98\x80x", 3), "");  // a 4-byte character
}

TEST(TextFoldTest, DiacriticsCaseAndSeparatorsFoldAway) {
  EXPECT_EQ(FoldForSearch("B\xe1\xba\xaf\x63 H\xc3\xa0"), "bacha");        // Bắc Hà
  EXPECT_EQ(FoldForSearch("Ba\xcc\x86\xcc\x81\x63-HA\xcc\x80"), "bacha");  // decomposed
  EXPECT_EQ(FoldForSearch("BACHA_PC.02"), "bachapc02");
  EXPECT_EQ(FoldForSearch("\xc4\x90\xe1\xbb\x93ng \xc4\x91\xc3\xa0o"), "dongdao");  // Đồng đào
  EXPECT_EQ(FoldForSearch("Qu\xe1\xba\xa7y 01"), "quay01");                         // Quầy
  EXPECT_EQ(FoldForSearch("\xe4\xb8\x9c\xe4\xba\xac"), "\xe4\xb8\x9c\xe4\xba\xac");  // 东京 stays
  EXPECT_EQ(FoldForSearch("'; DROP TABLE x; --%_"), "droptablex");
  EXPECT_EQ(FoldForSearch(" - "), "");
  EXPECT_EQ(FoldForSearch("a\xff"
                          "b"),
            "ab");  // invalid UTF-8 dropped
}

}  // namespace
}  // namespace cg::soc

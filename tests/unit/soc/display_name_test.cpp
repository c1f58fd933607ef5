// Display names (soc/display_name.h): NFC against answers computed independently with Python's
// unicodedata, and every refusal with its reason.
#include "soc/display_name.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace cg::soc {
namespace {

using ::testing::HasSubstr;

std::string Normalized(const std::string& text) {
  auto r = NormalizeDisplayName(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.value_or("<refused>");
}

std::string Refusal(const std::string& text) {
  auto r = NormalizeDisplayName(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << r.value_or("");
  return r.ok() ? "" : r.error().message;
}

TEST(DisplayNameTest, PrecomposedVietnameseIsKeptAsItIs) {
  EXPECT_EQ(Normalized("Xã Bắc Hà"), "Xã Bắc Hà");
  EXPECT_EQ(Normalized("Phường Nguyễn Trãi"), "Phường Nguyễn Trãi");
  EXPECT_EQ(Normalized("UBND huyện Đồng Văn - Bộ phận một cửa"),
            "UBND huyện Đồng Văn - Bộ phận một cửa");
}

TEST(DisplayNameTest, DecomposedVietnameseBecomesPrecomposed) {
  // "Xã Bắc Hà" as Unikey's "Unicode tổ hợp" types it: base letters and combining marks.
  EXPECT_EQ(Normalized("Xa\u0303 Ba\u0306\u0301c Ha\u0300"), "X\u00e3 B\u1eafc H\u00e0");
  // "Thị trấn Phố Ràng", fully decomposed (NFD).
  EXPECT_EQ(Normalized("Thi\u0323 tra\u0302\u0301n Pho\u0302\u0301 Ra\u0300ng"),
            "Th\u1ecb tr\u1ea5n Ph\u1ed1 R\u00e0ng");
  // Half composed: "ẹ" (U+1EB9) and a combining circumflex make "ệ" (U+1EC7).
  EXPECT_EQ(Normalized("Nghi\u1eb9\u0302"), "Nghi\u1ec7");
  // "Đường": the stroke of Đ is no combining mark; ư + grave.
  EXPECT_EQ(Normalized("\u0110u\u031bo\u031b\u0300ng"), "\u0110\u01b0\u1eddng");
}

TEST(DisplayNameTest, MarksOutOfCanonicalOrderAreReorderedBeforeComposing) {
  // Circumflex (class 230) typed before the dot below (class 220): NFC is still "ệ".
  EXPECT_EQ(Normalized("e\u0302\u0323"), "\u1ec7");
  EXPECT_EQ(Normalized("e\u0323\u0302"), "\u1ec7");
}

TEST(DisplayNameTest, CompositionStopsWhereNfcStops) {
  // A second acute cannot compose onto "á": it stays a combining mark.
  EXPECT_EQ(Normalized("a\u0301\u0301"), "\u00e1\u0301");
  // No precomposed "q̀": the mark stays, which is NFC.
  EXPECT_EQ(Normalized("q\u0300"), "q\u0300");
  // Deprecated marks with canonical singletons: U+0340 is U+0300, U+0344 is U+0308 U+0301.
  EXPECT_EQ(Normalized("a\u0340"), "\u00e0");
  EXPECT_EQ(Normalized("a\u0344"), "\u00e4\u0301");
  // "=" with a long solidus overlay composes to "≠".
  EXPECT_EQ(Normalized("a =\u0338 b"), "a \u2260 b");
  // Other scripts are names too: Cyrillic, and Hangul jamo composed into a syllable.
  EXPECT_EQ(Normalized("И\u0306"), "\u0419");
  EXPECT_EQ(Normalized("\u1100\u1161"), "\uac00");
}

TEST(DisplayNameTest, SpacesAtTheEndsAreDropped) {
  EXPECT_EQ(Normalized("  Xã Bắc Hà "), "Xã Bắc Hà");
  EXPECT_THAT(Refusal("   "), HasSubstr("is empty"));
  EXPECT_THAT(Refusal(""), HasSubstr("is empty"));
}

TEST(DisplayNameTest, ControlAndInvisibleCharactersAreRefused) {
  EXPECT_THAT(Refusal("Xã\nBắc Hà"),
              HasSubstr("control, formatting or invisible character (U+000A)"));
  EXPECT_THAT(Refusal("Bắc\tHà"), HasSubstr("U+0009"));
  EXPECT_THAT(Refusal("Bắc Hà\x7f"), HasSubstr("U+007F"));
  EXPECT_THAT(Refusal("Bắc\u0085Hà"), HasSubstr("U+0085"));
  EXPECT_THAT(Refusal("Bắc\u00adHà"), HasSubstr("U+00AD"));        // soft hyphen
  EXPECT_THAT(Refusal("Bắc\u200bHà"), HasSubstr("U+200B"));        // zero width space
  EXPECT_THAT(Refusal("\u202eaH c\u1eafB"), HasSubstr("U+202E"));  // right-to-left override
  EXPECT_THAT(Refusal("Bắc Hà\u2028"), HasSubstr("U+2028"));       // line separator
  EXPECT_THAT(Refusal("\ufeffBắc Hà"), HasSubstr("U+FEFF"));       // byte order mark
}

TEST(DisplayNameTest, PrivateUseUnassignedAndBrokenUtf8AreRefused) {
  EXPECT_THAT(Refusal("Xã \ue000"), HasSubstr("U+E000"));              // private use
  EXPECT_THAT(Refusal("Xã \U000E0001"), HasSubstr("U+E0001"));         // language tag
  EXPECT_THAT(Refusal("Xã \xf3\xb0\x80\x80"), HasSubstr("U+F0000"));   // private use plane
  EXPECT_THAT(Refusal("Xã \xf1\x90\x80\x80"), HasSubstr("U+50000"));   // unassigned
  EXPECT_THAT(Refusal("B\xe1\xba"), HasSubstr("not valid UTF-8"));     // cut short
  EXPECT_THAT(Refusal("\xc0\xaf"), HasSubstr("not valid UTF-8"));      // overlong '/'
  EXPECT_THAT(Refusal("\xed\xa0\x80"), HasSubstr("not valid UTF-8"));  // a surrogate
  EXPECT_THAT(Refusal("\xff"), HasSubstr("not valid UTF-8"));
}

TEST(DisplayNameTest, AMarkWithNoLetterBeforeItIsRefused) {
  EXPECT_THAT(Refusal("\u0301Bắc"), HasSubstr("combining mark (U+0301) with no letter before it"));
  EXPECT_THAT(Refusal("Bắc \u0300Hà"), HasSubstr("U+0300"));
}

TEST(DisplayNameTest, LengthIsCountedInCharactersAfterNfc) {
  // 80 "ệ" typed decomposed are 240 code points but 80 characters: accepted.
  std::string decomposed;
  std::string composed;
  for (int i = 0; i < 80; ++i) {
    decomposed += "e\u0323\u0302";
    composed += "\u1ec7";
  }
  EXPECT_EQ(Normalized(decomposed), composed);
  EXPECT_THAT(Refusal(composed + "a"), HasSubstr("longer than 80 characters"));
}

}  // namespace
}  // namespace cg::soc

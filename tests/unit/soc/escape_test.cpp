// Tests for soc/escape.cpp: which characters are escaped, and how.
#include "soc/escape.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cg::soc {
namespace {

TEST(EscapeTest, ControlCharactersBecomeVisibleEscapesAndTextStaysAsItIs) {
  struct Case {
    std::string name;
    std::string in;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"plain", "pc-bac-ha-01", "pc-bac-ha-01"},
      {"Vietnamese", "M\xc3\xa1y t\xc3\xadnh", "M\xc3\xa1y t\xc3\xadnh"},
      {"ESC sequence", "a\x1b[2Jb", "a\\x1b[2Jb"},
      {"CR LF TAB", "a\r\n\tb", "a\\x0d\\x0a\\x09b"},
      {"NUL", std::string("a\0b", 3), "a\\x00b"},
      {"DEL", "a\x7f", "a\\x7f"},
      {"C1 CSI",
       "a\xc2\x9b"
       "31m",
       "a\\u009b31m"},
      {"right-to-left override",
       "a\xe2\x80\xae"
       "cod.exe",
       "a\\u202ecod.exe"},
      {"zero-width space",
       "a\xe2\x80\x8b"
       "b",
       "a\\u200bb"},
      {"invalid UTF-8", "a\xff\xc3", "a\\xff\\xc3"},
      {"overlong slash", "\xc0\xaf", "\\xc0\\xaf"},
      {"a backslash stays", "C:\\x", "C:\\x"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(EscapeControlCharacters(c.in), c.out);
    EXPECT_EQ(HasControlCharacters(c.in), c.in != c.out);
    EXPECT_FALSE(HasControlCharacters(EscapeControlCharacters(c.in)));
  }
}

TEST(EscapeTest, EveryStringAndKeyOfAJsonValueIsEscaped) {
  nlohmann::json value = {
      {"k\x1b", {"v\r", 3, {{"deep", "x\x07"}}}}, {"fine", "ok"}, {"n", nullptr}};
  EXPECT_EQ(EscapeControlCharactersInJson(value), 3u);  // one key, two strings
  EXPECT_EQ(value,
            (nlohmann::json{
                {"k\\x1b", {"v\\x0d", 3, {{"deep", "x\\x07"}}}}, {"fine", "ok"}, {"n", nullptr}}));
  EXPECT_EQ(EscapeControlCharactersInJson(value), 0u);
}

}  // namespace
}  // namespace cg::soc

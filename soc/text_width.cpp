// Terminal column widths (see text_width.h), from ICU's East Asian Width and general category.
#include "soc/text_width.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <cstdint>

namespace cg::soc {
namespace {

// The code point at text[i] and its length in bytes; an invalid byte is U+FFFD of length 1.
char32_t NextCodePoint(std::string_view text, size_t& i) {
  UChar32 cp = 0;
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto length = static_cast<int32_t>(text.size());
  auto at = static_cast<int32_t>(i);
  U8_NEXT(s, at, length, cp);
  i = static_cast<size_t>(at);
  return cp < 0 ? char32_t{0xfffd} : static_cast<char32_t>(cp);
}

}  // namespace

int CodePointWidth(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  // Zero width: combining marks, format characters (ZWJ, soft hyphen, bidi controls) and the
  // medial vowels and final consonants of conjoining Hangul, which join the syllable before.
  const int32_t category = u_charType(c);
  if (category == U_NON_SPACING_MARK || category == U_ENCLOSING_MARK || category == U_FORMAT_CHAR ||
      (cp >= 0x1160 && cp <= 0x11ff)) {
    return 0;
  }
  const int32_t east_asian = u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH);
  if (east_asian == U_EA_WIDE || east_asian == U_EA_FULLWIDTH) {
    return 2;
  }
  return 1;
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size();) {
    width += static_cast<size_t>(CodePointWidth(NextCodePoint(text, i)));
  }
  return width;
}

std::string PadToWidth(std::string_view text, size_t width) {
  std::string out(text);
  const size_t have = DisplayWidth(text);
  if (have < width) {
    out.append(width - have, ' ');
  }
  return out;
}

std::string TruncateToWidth(std::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) {
    return std::string(text);
  }
  if (width == 0) {
    return {};
  }
  // Keep characters while they fit in width - 1 columns, then the ellipsis (one column).
  size_t used = 0;
  size_t end = 0;
  for (size_t i = 0; i < text.size();) {
    const int w = CodePointWidth(NextCodePoint(text, i));
    if (used + static_cast<size_t>(w) > width - 1) {
      break;
    }
    used += static_cast<size_t>(w);
    end = i;
  }
  return std::string(text.substr(0, end)) + "\u2026";
}

std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) {
    return text;
  }
  size_t end = max_bytes;
  // text[end] is the first byte left out: while it continues a sequence, the sequence it
  // belongs to is left out whole.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return text.substr(0, end);
}

}  // namespace cg::soc

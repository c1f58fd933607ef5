// How many terminal columns text takes, for cgctl's tables and any other fixed-width output:
// combining marks (the tone marks of decomposed Vietnamese) and invisible format characters take
// none, East Asian wide and fullwidth characters (CJK) take two, everything else one. Text is
// UTF-8 and should be escaped first (soc/escape.h): control characters are counted as one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cg::soc {

// Columns of one code point: 0, 1 or 2 (wcwidth-like, from ICU's character properties).
int CodePointWidth(char32_t cp);

// Columns of UTF-8 `text`. A byte that is not valid UTF-8 counts as one column.
size_t DisplayWidth(std::string_view text);

// `text` followed by spaces up to `width` columns (unchanged when already that wide).
std::string PadToWidth(std::string_view text, size_t width);

// `text` cut to at most `width` columns on a character boundary (combining marks stay with
// their base), with "…" as its last column when something was cut.
std::string TruncateToWidth(std::string_view text, size_t width);

// The longest prefix of `text` of at most `max_bytes` bytes that does not cut a UTF-8 sequence
// in two (a field limited in bytes: a cut character would reach a SIEM as invalid UTF-8, or as
// U+FFFD once a JSON encoder replaced it).
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes);

}  // namespace cg::soc

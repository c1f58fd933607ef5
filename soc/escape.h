// Text from agents shown to people: control characters (C0, DEL, C1) and the Unicode controls
// that reorder or hide text are made visible as escapes, so that a report cannot move the
// analyst's cursor, fake table rows or hide words. One definition for the SOC's storage and
// every text output of cgctl.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace cg::soc {

// True when `text` holds a byte below 0x20, DEL, a C1 control (U+0080..U+009F) or a
// bidirectional/invisible formatting control (U+200B..U+200F, U+202A..U+202E, U+2066..U+2069).
bool HasControlCharacters(std::string_view text);

// `text` with each of those characters written as an escape: "\x1b" for one byte, "\u009b" for
// a Unicode control. A backslash itself is left as is (the escapes are for the eye, not to be
// parsed back). Invalid UTF-8 bytes above 0x7f are written as "\xNN" too.
std::string EscapeControlCharacters(std::string_view text);

// Every string (and object key) inside `value`, escaped in place. Returns how many changed.
size_t EscapeControlCharactersInJson(nlohmann::json& value);

}  // namespace cg::soc

// Small text helpers for the line- and word-oriented files the collectors and the platform
// read (dpkg status, os-release, login.defs, dconf keyfiles, command output). ASCII only:
// the files are ASCII where it matters, and nothing here depends on the C++ locale.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cg {

// `s` with A-Z made a-z; every other byte (UTF-8 included) unchanged.
std::string AsciiLower(std::string_view s);

// Without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
std::string_view Trim(std::string_view s);

// The lines of `text`, split at '\n', each without a trailing '\r'. A final '\n' does not
// start another (empty) line; "" gives no lines.
std::vector<std::string_view> SplitLines(std::string_view text);

// The runs of characters between spaces and tabs.
std::vector<std::string_view> SplitWords(std::string_view s);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace cg

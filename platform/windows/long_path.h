// Paths handed to the W file APIs. Inside CounterGuard a Windows path is UTF-8 and may use '/'
// or '\' ("C:/Users/Lan/Tài liệu"); at the API it becomes an extended-length path
// ("\\?\C:\Users\Lan\Tài liệu", "\\?\UNC\server\share\..."), so nothing fails at MAX_PATH
// (260 characters) however deep a clerk's folders go, whatever the LongPathsEnabled policy.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::platform::windows {

// The extended-length form of `utf8`: made absolute (GetFullPathNameW, which also resolves
// "." and "..", which the \\?\ form would not), separators turned into '\'. A path already in
// \\?\ form is only converted. kInvalidArgument for bytes that are not UTF-8.
Result<std::wstring> ToLongPath(std::string_view utf8);

// A path a Windows machine can have: "C:\..." (or "C:/..."), "\\server\share\...", "\\?\...".
// A POSIX path ("/etc/os-release") is not one: the API would resolve it against the current
// drive, and under Wine that is Z:, the Linux host's own root.
bool IsWindowsAbsolutePath(std::string_view utf8);

// The inverse for display and for paths handed back to callers: "\\?\C:\a" -> "C:\a",
// "\\?\UNC\s\x" -> "\\s\x".
std::wstring StripLongPrefix(std::wstring_view path);

}  // namespace cg::platform::windows

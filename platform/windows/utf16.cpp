// MultiByteToWideChar/WideCharToMultiByte with the strict flags.
#include "platform/windows/utf16.h"

#include <windows.h>

#include <climits>

#include "common/result.h"

namespace cg::platform::windows {

namespace {

// The conversion APIs take int lengths; a string that large is not a name or a value.
constexpr size_t kMaxChars = INT_MAX / 4;

Error ConversionError(std::string_view what) {
  // Not Win32Error: that helper converts its own message with this file's functions.
  return MakeError(ErrorCode::kInvalidArgument,
                   std::string(what) + " (Win32 error " + std::to_string(GetLastError()) + ")");
}

}  // namespace

Result<std::wstring> Utf8ToWide(std::string_view utf8) {
  if (utf8.empty()) {
    return std::wstring();
  }
  if (utf8.size() > kMaxChars) {
    return MakeError(ErrorCode::kTooLarge, "string too long for UTF-16 conversion");
  }
  const int in = static_cast<int>(utf8.size());
  const int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), in, nullptr, 0);
  if (n <= 0) {
    return ConversionError("not valid UTF-8");
  }
  std::wstring out(static_cast<size_t>(n), L'\0');
  if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8.data(), in, out.data(), n) != n) {
    return ConversionError("not valid UTF-8");
  }
  return out;
}

Result<std::string> WideToUtf8(std::wstring_view wide) {
  if (wide.empty()) {
    return std::string();
  }
  if (wide.size() > kMaxChars) {
    return MakeError(ErrorCode::kTooLarge, "string too long for UTF-8 conversion");
  }
  const int in = static_cast<int>(wide.size());
  const int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wide.data(), in, nullptr, 0,
                                    nullptr, nullptr);
  if (n <= 0) {
    return ConversionError("not valid UTF-16");
  }
  std::string out(static_cast<size_t>(n), '\0');
  if (WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, wide.data(), in, out.data(), n, nullptr,
                          nullptr) != n) {
    return ConversionError("not valid UTF-16");
  }
  return out;
}

}  // namespace cg::platform::windows

#include "platform/windows/long_path.h"

#include <windows.h>

#include <algorithm>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

constexpr std::wstring_view kLongPrefix = L"\\\\?\\";
constexpr std::wstring_view kLongUnc = L"\\\\?\\UNC\\";

}  // namespace

Result<std::wstring> ToLongPath(std::string_view utf8) {
  if (utf8.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "empty path");
  }
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(utf8));
  if (wide.starts_with(kLongPrefix)) {
    return wide;
  }
  std::replace(wide.begin(), wide.end(), L'/', L'\\');
  // GetFullPathNameW itself handles long input; it returns the size needed when the buffer is
  // too small.
  std::wstring full(wide.size() + MAX_PATH, L'\0');
  for (;;) {
    const DWORD n =
        GetFullPathNameW(wide.c_str(), static_cast<DWORD>(full.size()), full.data(), nullptr);
    if (n == 0) {
      return LastWin32Error("full path of " + std::string(utf8));
    }
    if (n < full.size()) {
      full.resize(n);
      break;
    }
    full.resize(n + 1);
  }
  if (full.starts_with(L"\\\\.\\")) {
    return full;  // a device path (\\.\pipe\...) is used as it is
  }
  if (full.starts_with(L"\\\\")) {
    return std::wstring(kLongUnc) + full.substr(2);
  }
  return std::wstring(kLongPrefix) + full;
}

bool IsWindowsAbsolutePath(std::string_view p) {
  const bool letter =
      p.size() >= 3 && ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z'));
  return (letter && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) || p.starts_with("\\\\") ||
         p.starts_with("//");
}

std::wstring StripLongPrefix(std::wstring_view path) {
  if (path.starts_with(kLongUnc)) {
    return L"\\\\" + std::wstring(path.substr(kLongUnc.size()));
  }
  if (path.starts_with(kLongPrefix)) {
    return std::wstring(path.substr(kLongPrefix.size()));
  }
  return std::wstring(path);
}

}  // namespace cg::platform::windows

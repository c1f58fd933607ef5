// The one Win32 error -> cg::Error helper.
#include "platform/windows/win32_error.h"

// clang-format off
#include <windows.h>
#include <lm.h>
// clang-format on

#include <string>

#include "platform/windows/utf16.h"

namespace cg::platform::windows {

ErrorCode Win32ErrorCode(uint32_t code) {
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_NO_MORE_ITEMS:
    case NERR_UserNotFound:
    case NERR_GroupNotFound:
    case ERROR_SERVICE_DOES_NOT_EXIST:
      return ErrorCode::kNotFound;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD:
      return ErrorCode::kPermissionDenied;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_NAME:
    case ERROR_NO_UNICODE_TRANSLATION:
      return ErrorCode::kInvalidArgument;
    case ERROR_MORE_DATA:
    case ERROR_INSUFFICIENT_BUFFER:
      return ErrorCode::kTooLarge;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
      return ErrorCode::kAlreadyExists;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT:
      return ErrorCode::kTimeout;
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return ErrorCode::kConflict;
    // An API, or a level of it, that this system does not implement: real Windows implements
    // every level the agent asks for, so this is an emulator (Wine) or a stripped edition.
    case ERROR_CALL_NOT_IMPLEMENTED:
    case ERROR_NOT_SUPPORTED:
    case ERROR_INVALID_LEVEL:
    case ERROR_PROC_NOT_FOUND:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kIo;
  }
}

Error Win32Error(std::string_view what, uint32_t code) {
  std::string message(what);
  wchar_t* text = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  if (length > 0 && text != nullptr) {
    std::wstring_view wide(text, length);
    while (!wide.empty() && (wide.back() == L'\r' || wide.back() == L'\n' || wide.back() == L' ' ||
                             wide.back() == L'.')) {
      wide.remove_suffix(1);
    }
    // The system message is in the OS's display language (Vietnamese on most counter PCs).
    Result<std::string> utf8 = WideToUtf8(wide);
    if (utf8.ok() && !utf8->empty()) {
      message += ": " + *utf8;
    }
  }
  if (text != nullptr) {
    LocalFree(text);
  }
  message += " (Win32 error " + std::to_string(code) + ")";
  return Error{Win32ErrorCode(code), std::move(message)};
}

Error LastWin32Error(std::string_view what) { return Win32Error(what, GetLastError()); }

}  // namespace cg::platform::windows

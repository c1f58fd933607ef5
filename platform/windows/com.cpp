// COM helpers: HRESULT errors, BSTR conversion, the apartment thread.
#include "platform/windows/com.h"

// clang-format off
#include <windows.h>
#include <objbase.h>
#include <wbemidl.h>
// clang-format on

#include <mutex>
#include <thread>

#include "platform/hresult.h"
#include "platform/windows/utf16.h"

namespace cg::platform::windows {

namespace {

// WMI's codes have no system message; their names are what its documentation lists.
const char* WbemName(HRESULT hr) {
  switch (static_cast<uint32_t>(hr)) {
    case 0x80041001:
      return "WBEM_E_FAILED";
    case 0x80041002:
      return "WBEM_E_NOT_FOUND";
    case 0x80041003:
      return "WBEM_E_ACCESS_DENIED";
    case 0x80041008:
      return "WBEM_E_INVALID_PARAMETER";
    case 0x8004100C:
      return "WBEM_E_NOT_SUPPORTED";
    case 0x8004100E:
      return "WBEM_E_INVALID_NAMESPACE";
    case 0x80041010:
      return "WBEM_E_INVALID_CLASS";
    case 0x80041013:
      return "WBEM_E_PROVIDER_LOAD_FAILURE";
    case 0x80041017:
      return "WBEM_E_INVALID_QUERY";
    case 0x80041032:
      return "WBEM_E_CALL_CANCELLED";
    case 0x80041045:
      return "WBEM_E_PRIVILEGE_NOT_HELD";
    default:
      return nullptr;
  }
}

}  // namespace

ErrorCode HresultErrorCode(HRESULT hr) {
  switch (static_cast<uint32_t>(hr)) {
    case 0x80040154:  // REGDB_E_CLASSNOTREG: no such COM class (WSC on Server, Wine)
    case 0x80004001:  // E_NOTIMPL
    case 0x8004100C:  // WBEM_E_NOT_SUPPORTED
    case 0x8004100E:  // WBEM_E_INVALID_NAMESPACE
    case 0x80041010:  // WBEM_E_INVALID_CLASS
    case 0x80041013:  // WBEM_E_PROVIDER_LOAD_FAILURE
      return ErrorCode::kUnavailable;
    case 0x80070005:  // E_ACCESSDENIED
    case 0x80041003:  // WBEM_E_ACCESS_DENIED
    case 0x80041045:  // WBEM_E_PRIVILEGE_NOT_HELD
      return ErrorCode::kPermissionDenied;
    case 0x80041002:  // WBEM_E_NOT_FOUND (also: a property the object does not have)
      return ErrorCode::kNotFound;
    case 0x80070057:  // E_INVALIDARG
    case 0x80041008:  // WBEM_E_INVALID_PARAMETER
    case 0x80041017:  // WBEM_E_INVALID_QUERY
      return ErrorCode::kInvalidArgument;
    case 0x00040004:  // WBEM_S_TIMEDOUT
    case 0x800705B4:  // HRESULT_FROM_WIN32(ERROR_TIMEOUT)
      return ErrorCode::kTimeout;
    default:
      return ErrorCode::kIo;
  }
}

Error HresultError(std::string_view what, HRESULT hr) {
  std::string message(what);
  if (const char* name = WbemName(hr)) {
    message += std::string(": ") + name;
  } else {
    wchar_t* text = nullptr;
    const DWORD length = FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, static_cast<DWORD>(hr), 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
    if (length > 0 && text != nullptr) {
      std::wstring_view wide(text, length);
      while (!wide.empty() && (wide.back() == L'\r' || wide.back() == L'\n' ||
                               wide.back() == L' ' || wide.back() == L'.')) {
        wide.remove_suffix(1);
      }
      Result<std::string> utf8 = WideToUtf8(wide);
      if (utf8.ok() && !utf8->empty()) {
        message += ": " + *utf8;
      }
    }
    if (text != nullptr) {
      LocalFree(text);
    }
  }
  message += HresultSuffix(static_cast<uint32_t>(hr));
  return Error{HresultErrorCode(hr), std::move(message)};
}

Bstr::Bstr(std::wstring_view text)
    : b_(SysAllocStringLen(text.data(), static_cast<UINT>(text.size()))) {}

Result<std::string> Bstr::Utf8() const {
  if (b_ == nullptr) {
    return std::string();
  }
  return WideToUtf8(std::wstring_view(b_, SysStringLen(b_)));
}

Status RunInComThread(const std::function<Status()>& body) {
  Status result = MakeError(ErrorCode::kInternal, "COM thread did not run");
  std::thread thread([&] {
    const HRESULT init = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    if (FAILED(init)) {
      result = HresultError("CoInitializeEx", init);
      return;
    }
    // Process-wide and settable once: the agent is the only COM client in its process. WMI
    // providers need impersonation; RPC_E_TOO_LATE (someone set it first) is fine, since
    // every WMI proxy also gets its own blanket (CoSetProxyBlanket) in wmi.cpp.
    static std::once_flag security_once;
    std::call_once(security_once, [] {
      CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_PKT_INTEGRITY,
                           RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE, nullptr);
    });
    result = body();
    CoUninitialize();
  });
  thread.join();
  return result;
}

}  // namespace cg::platform::windows

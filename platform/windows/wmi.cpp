// WMI through COM: one locator, one connection and one forward-only enumeration per query.
#include "platform/windows/wmi.h"

// clang-format off
#include <windows.h>
#include <objbase.h>
#include <wbemidl.h>
// clang-format on

#include <cctype>

#include "common/timeutil.h"
#include "platform/windows/com.h"
#include "platform/windows/utf16.h"

namespace cg::platform::windows {

namespace {

std::string Narrow(std::wstring_view name) { return WideToUtf8(name).value_or(std::string("?")); }

// The property's VARIANT; VT_NULL / VT_EMPTY mean "exists, no value".
Status GetProperty(IWbemClassObject* object, std::wstring_view name, Variant& value) {
  const std::wstring wide(name);
  const HRESULT hr = object->Get(wide.c_str(), 0, value.get(), nullptr, nullptr);
  if (FAILED(hr)) {
    return HresultError("WMI property " + Narrow(name), hr);
  }
  return OkStatus();
}

Error WrongType(std::wstring_view name, VARTYPE type) {
  return MakeError(ErrorCode::kParse,
                   "WMI property " + Narrow(name) + " has VARIANT type " + std::to_string(type));
}

bool IsNull(const VARIANT& v) { return v.vt == VT_NULL || v.vt == VT_EMPTY; }

// Sets the security of a proxy to impersonation: the licensing and Defender providers act as
// the caller.
HRESULT Blanket(IUnknown* proxy) {
  return CoSetProxyBlanket(proxy, RPC_C_AUTHN_WINNT, RPC_C_AUTHZ_NONE, nullptr,
                           RPC_C_AUTHN_LEVEL_CALL, RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE);
}

}  // namespace

Result<std::optional<std::string>> WmiObject::String(std::wstring_view name) const {
  Variant v;
  CG_RETURN_IF_ERROR(GetProperty(object_, name, v));
  if (IsNull(*v)) {
    return std::optional<std::string>();
  }
  if ((*v).vt != VT_BSTR) {
    return WrongType(name, (*v).vt);
  }
  BSTR b = (*v).bstrVal;
  CG_ASSIGN_OR_RETURN(std::string text, b == nullptr
                                            ? Result<std::string>(std::string())
                                            : WideToUtf8(std::wstring_view(b, SysStringLen(b))));
  return std::optional<std::string>(std::move(text));
}

Result<std::optional<uint32_t>> WmiObject::Uint32(std::wstring_view name) const {
  Variant v;
  CG_RETURN_IF_ERROR(GetProperty(object_, name, v));
  const VARIANT& x = *v;
  switch (x.vt) {
    case VT_NULL:
    case VT_EMPTY:
      return std::optional<uint32_t>();
    case VT_I4:
      return std::optional<uint32_t>(static_cast<uint32_t>(x.lVal));
    case VT_UI4:
      return std::optional<uint32_t>(x.ulVal);
    case VT_I2:
      return std::optional<uint32_t>(static_cast<uint32_t>(static_cast<uint16_t>(x.iVal)));
    case VT_UI1:
      return std::optional<uint32_t>(x.bVal);
    default:
      return WrongType(name, x.vt);
  }
}

Result<std::optional<bool>> WmiObject::Bool(std::wstring_view name) const {
  Variant v;
  CG_RETURN_IF_ERROR(GetProperty(object_, name, v));
  if (IsNull(*v)) {
    return std::optional<bool>();
  }
  if ((*v).vt != VT_BOOL) {
    return WrongType(name, (*v).vt);
  }
  return std::optional<bool>((*v).boolVal != VARIANT_FALSE);
}

Result<std::optional<std::chrono::system_clock::time_point>> WmiObject::Datetime(
    std::wstring_view name) const {
  CG_ASSIGN_OR_RETURN(std::optional<std::string> text, String(name));
  if (!text) {
    return std::optional<std::chrono::system_clock::time_point>();
  }
  Result<std::chrono::system_clock::time_point> t = ParseCimDatetime(*text);
  if (!t.ok()) {
    return t.error().Wrap("WMI property " + Narrow(name));
  }
  return std::optional<std::chrono::system_clock::time_point>(*t);
}

Result<std::chrono::system_clock::time_point> ParseCimDatetime(std::string_view text) {
  // yyyymmddHHMMSS.mmmmmm sUUU, 25 characters; WMI writes '*' for fields it does not know.
  auto bad = [&] {
    return MakeError(ErrorCode::kParse,
                     "'" + std::string(text.substr(0, 40)) + "' is not a CIM_DATETIME");
  };
  if (text.size() != 25 || text[14] != '.' || (text[21] != '+' && text[21] != '-')) {
    return bad();
  }
  for (size_t i = 0; i < 25; ++i) {
    if (i != 14 && i != 21 && !std::isdigit(static_cast<unsigned char>(text[i]))) {
      return bad();
    }
  }
  const std::string rfc = std::string(text.substr(0, 4)) + "-" + std::string(text.substr(4, 2)) +
                          "-" + std::string(text.substr(6, 2)) + "T" +
                          std::string(text.substr(8, 2)) + ":" + std::string(text.substr(10, 2)) +
                          ":" + std::string(text.substr(12, 2)) + "Z";
  Result<SysTime> local = ParseRfc3339(rfc);
  if (!local.ok()) {
    return bad();
  }
  const int offset = std::stoi(std::string(text.substr(22, 3)));
  const auto minutes = std::chrono::minutes(text[21] == '-' ? -offset : offset);
  return *local - minutes + std::chrono::microseconds(std::stoi(std::string(text.substr(15, 6))));
}

Status WmiQuery(std::wstring_view ns, std::wstring_view wql,
                const std::function<Status(const WmiObject&)>& row,
                std::chrono::milliseconds per_object) {
  const std::string where = "WMI " + Narrow(ns);
  return RunInComThread([&]() -> Status {
    ComPtr<IWbemLocator> locator;
    HRESULT hr = CoCreateInstance(CLSID_WbemLocator, nullptr, CLSCTX_INPROC_SERVER,
                                  IID_IWbemLocator, locator.PutVoid());
    if (FAILED(hr)) {
      return HresultError("CoCreateInstance(WbemLocator)", hr);
    }
    ComPtr<IWbemServices> services;
    const Bstr ns_bstr(ns);
    hr = locator->ConnectServer(ns_bstr.get(), nullptr, nullptr, nullptr, 0, nullptr, nullptr,
                                services.Put());
    if (FAILED(hr)) {
      return HresultError(where, hr);
    }
    hr = Blanket(services.get());
    if (FAILED(hr)) {
      return HresultError(where + ": CoSetProxyBlanket", hr);
    }
    const Bstr language(L"WQL");
    const Bstr query(wql);
    ComPtr<IEnumWbemClassObject> rows;
    hr = services->ExecQuery(language.get(), query.get(),
                             WBEM_FLAG_FORWARD_ONLY | WBEM_FLAG_RETURN_IMMEDIATELY, nullptr,
                             rows.Put());
    if (FAILED(hr)) {
      return HresultError(where + " " + Narrow(wql), hr);
    }
    // A local enumerator is not always a proxy; E_NOINTERFACE from the blanket is harmless.
    Blanket(rows.get());
    for (;;) {
      ComPtr<IWbemClassObject> object;
      ULONG returned = 0;
      hr = rows->Next(static_cast<LONG>(per_object.count()), 1, object.Put(), &returned);
      if (hr == WBEM_S_TIMEDOUT) {
        return HresultError(where + " " + Narrow(wql) + ": no answer in " +
                                std::to_string(per_object.count()) + " ms",
                            hr);
      }
      if (FAILED(hr)) {
        return HresultError(where + " " + Narrow(wql), hr);
      }
      if (returned == 0) {
        return OkStatus();  // WBEM_S_FALSE: the end
      }
      CG_RETURN_IF_ERROR(row(WmiObject(object.get())));
    }
  });
}

}  // namespace cg::platform::windows

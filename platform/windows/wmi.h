// WMI queries (IWbemLocator -> IWbemServices -> ExecQuery) with typed property reads, for the
// Security Center, Defender and Software Licensing sources. A query runs entirely on a COM
// thread of its own (com.h): the caller gets plain values, never a COM pointer.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

struct IWbemClassObject;

namespace cg::platform::windows {

// One object of a result set. Getters fail when the class has no such property
// (WBEM_E_NOT_FOUND, with the HRESULT) or when its value has another type; a property that
// exists but is NULL is nullopt.
class WmiObject {
 public:
  explicit WmiObject(IWbemClassObject* object) : object_(object) {}
  Result<std::optional<std::string>> String(std::wstring_view name) const;
  // uint8/16/32 and sint8/16/32 (WMI hands them over as VT_I4/VT_UI1/...).
  Result<std::optional<uint32_t>> Uint32(std::wstring_view name) const;
  Result<std::optional<bool>> Bool(std::wstring_view name) const;
  // A CIM_DATETIME ("20261115083000.000000+420").
  Result<std::optional<std::chrono::system_clock::time_point>> Datetime(
      std::wstring_view name) const;

 private:
  IWbemClassObject* object_;
};

// Runs `wql` in namespace `ns` (e.g. L"ROOT\\SecurityCenter2") and calls `row` for every
// object, stopping at its first error. Each object waits at most `per_object`.
Status WmiQuery(std::wstring_view ns, std::wstring_view wql,
                const std::function<Status(const WmiObject&)>& row,
                std::chrono::milliseconds per_object = std::chrono::seconds(30));

// CIM_DATETIME "yyyymmddHHMMSS.mmmmmmsUUU" (UUU: minutes east of UTC, sign s) to UTC.
Result<std::chrono::system_clock::time_point> ParseCimDatetime(std::string_view text);

}  // namespace cg::platform::windows

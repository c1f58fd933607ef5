// UTF-8 (everything inside CounterGuard) <-> UTF-16 (every W API) at the Windows boundary.
// Both directions reject invalid input instead of substituting U+FFFD: a user or product name
// that does not convert is reported, never silently changed.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::platform::windows {

// kInvalidArgument for bytes that are not UTF-8.
Result<std::wstring> Utf8ToWide(std::string_view utf8);
// kInvalidArgument for unpaired surrogates.
Result<std::string> WideToUtf8(std::wstring_view wide);

}  // namespace cg::platform::windows

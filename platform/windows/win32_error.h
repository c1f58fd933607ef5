// Win32 error codes (GetLastError, LSTATUS from the registry API, NET_API_STATUS) become a
// cg::Error here and nowhere else (Santa's ErrnoToStatus).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.h"

namespace cg::platform::windows {

// The ErrorCode for a Win32 code: not found, permission denied, unavailable (an API or a
// level the system does not implement, as Wine does for several), ...; kIo otherwise.
ErrorCode Win32ErrorCode(uint32_t code);

// "<what>: <system message> (Win32 error <code>)". The code is always in the message: it is
// what an operator looks up, whatever the language of the system message.
Error Win32Error(std::string_view what, uint32_t code);

// Win32Error(what, GetLastError()).
Error LastWin32Error(std::string_view what);

}  // namespace cg::platform::windows

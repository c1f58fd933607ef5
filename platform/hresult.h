// How an HRESULT (COM, WMI, Security Center, Software Licensing) travels in a cg::Error: the
// Windows implementations end the message with "(HRESULT 0x80041010)" and nothing else does,
// so an OS-neutral check can put the code itself in its facts for the SOC to look up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace cg::platform {

// "0x80041010": eight upper-case hex digits, as Microsoft documents the codes.
std::string FormatHresult(uint32_t hr);

// " (HRESULT 0x80041010)", the suffix the Windows implementations put on their messages.
std::string HresultSuffix(uint32_t hr);

// The code of the last "(HRESULT 0x........)" in the error's message; nullopt when the error
// did not come from an HRESULT.
std::optional<std::string> HresultOf(const Error& error);

}  // namespace cg::platform

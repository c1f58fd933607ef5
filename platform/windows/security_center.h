// Windows implementation of platform/security_center.h: IWSCProductList (wscapi, declared in
// security_center.cpp since mingw-w64 ships no iwscapi.h), WMI root\SecurityCenter2 and
// root\Microsoft\Windows\Defender.
#pragma once

#include <memory>

#include "platform/security_center.h"

namespace cg::platform::windows {

// The Platform::security_center of a Windows machine.
std::unique_ptr<SecurityCenter> CreateWindowsSecurityCenter();

}  // namespace cg::platform::windows

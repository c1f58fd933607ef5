// Windows implementation of platform/licensing.h: WMI SoftwareLicensingProduct and
// OfficeSoftwareProtectionProduct in root\cimv2.
#pragma once

#include <memory>

#include "platform/licensing.h"

namespace cg::platform::windows {

// The Platform::licensing of a Windows machine.
std::unique_ptr<Licensing> CreateWindowsLicensing();

}  // namespace cg::platform::windows

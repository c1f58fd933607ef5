// os_license on Windows: the release's end of servicing from the shipped table
// (collectors/data/windows_support.inc), found by build number and edition, and Windows
// activation from the Software Licensing service.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/check.h"
#include "platform/licensing.h"

namespace cg::collectors {

// The servicing group of an EditionID ("Professional" -> "home_pro", "EnterpriseS" -> "ltsc",
// "ServerStandard" -> "server"); empty for an edition the table does not know.
std::string ServicingGroup(std::string_view edition_id);

// The name of a LicenseStatus value ("Licensed", "OOBGrace", ...); "unknown (7)" otherwise.
std::string LicenseStatusName(uint32_t status);

// The whole check on a machine whose platform has Software Licensing.
protocol::CheckResult EvaluateWindowsLicense(const CheckContext& ctx, protocol::CheckResult r);

}  // namespace cg::collectors

// office_license on Windows: suites from the Uninstall keys (machine 64-bit and 32-bit views,
// every loaded user hive), Microsoft Office from Click-to-Run's configuration and the Software
// Licensing products (SoftwareLicensingProduct; OfficeSoftwareProtectionProduct for Office 2010),
// judged against the same table and licence records as on Linux (office_suites.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collectors/check.h"
#include "collectors/office_license.h"

namespace cg::collectors {

// Click-to-Run ProductReleaseIds of a subscription (Microsoft 365 / Office 365), whose licence is
// per user (a sign-in token), not a product key Software Licensing could report.
bool IsSubscriptionReleaseId(std::string_view release_id);

protocol::CheckResult EvaluateWindowsOffice(const CheckContext& ctx,
                                            const std::vector<LicenceRecord>& licences);

}  // namespace cg::collectors

// office_license: the office suites installed (dpkg, rpm, system Flatpak and Snap), judged
// free or commercial against a shipped table; a commercial suite needs a licence record in the
// policy.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collectors/check.h"
#include "collectors/packages.h"
#include "common/result.h"
#include "platform/platform.h"

namespace cg::collectors {

// Shell-style match of a whole name: '*' any run of characters, '?' one character.
bool GlobMatch(std::string_view pattern, std::string_view text);

// A licence record from the policy parameter `licences` (docs/policy.md).
struct LicenceRecord {
  std::string suite;     // suite id from the table ("wps-office")
  std::string evidence;  // contract, invoice or licence-key reference the province accepts
  std::string expires;   // "YYYY-MM-DD" (last valid day, inclusive), empty: perpetual
};
// Validates the array strictly: unknown keys, empty evidence, bad dates and suites the table
// does not know are errors naming the element ("licences[1].expires: ...").
Result<std::vector<LicenceRecord>> ParseLicenceRecords(const nlohmann::json& licences);

class OfficeLicenseCheck final : public Check {
 public:
  OfficeLicenseCheck() = default;
  std::string_view id() const override { return "office_license"; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;
};

}  // namespace cg::collectors

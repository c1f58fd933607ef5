// office_license: the office suites installed (dpkg, rpm, system Flatpak and Snap), judged
// free or commercial against a shipped table; a commercial suite needs a licence record in the
// policy. Also home of the package inventory, which the antivirus check reads as well.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "collectors/check.h"
#include "common/result.h"
#include "platform/platform.h"

namespace cg::collectors {

// One installed package from a package database.
struct InstalledPackage {
  std::string name;
  std::string version;
  std::string arch;
  std::string state;   // dpkg's state word ("installed", "unpacked", ...); "installed" for rpm
  std::string source;  // "dpkg" or "rpm"
};

struct PackageInventory {
  std::vector<InstalledPackage> packages;
  std::vector<std::string> sources;  // the databases that were read: "dpkg", "rpm"
};

// dpkg's status file: RFC 822-style stanzas. Packages whose state is not-installed or
// config-files are left out. A stanza without Package/Status, or a malformed line, is kParse.
Result<std::vector<InstalledPackage>> ParseDpkgStatus(std::string_view text);
// Output of `rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n'`.
Result<std::vector<InstalledPackage>> ParseRpmQuery(std::string_view text);
// Reads /var/lib/dpkg/status and, when an `rpm` binary exists on the machine, its database.
// Error when neither database exists, or when one that exists cannot be read or parsed.
Result<PackageInventory> ReadInstalledPackages(platform::Platform& platform);

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

// The machine's package inventory (dpkg, rpm), read by the office_license and antivirus checks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

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

}  // namespace cg::collectors

// os_license: the distribution from os-release, its vendor support window from the shipped
// table (collectors/data/os_support.inc), and the subscription where the vendor sells one
// (RHEL entitlement certificates, SUSE registration, Ubuntu Pro for ESM).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/check.h"
#include "common/result.h"
#include "common/timeutil.h"

namespace cg::collectors {

// os-release(5): KEY=VALUE lines, values optionally quoted with shell-style escapes. A line
// that is neither blank, a comment, nor an assignment is kParse.
Result<std::map<std::string, std::string>> ParseOsRelease(std::string_view text);

// Validity window of one PEM certificate (an entitlement certificate).
struct CertificateValidity {
  SysTime not_before;
  SysTime not_after;
};
Result<CertificateValidity> ReadCertificateValidity(std::string_view pem);

class OsLicenseCheck final : public Check {
 public:
  OsLicenseCheck() = default;
  std::string_view id() const override { return "os_license"; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;
};

}  // namespace cg::collectors

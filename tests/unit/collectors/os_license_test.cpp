// os_license over fixture trees with a fixed clock: support windows from the shipped table,
// Ubuntu Pro and RHEL entitlement evidence, and every way the inputs can be missing or broken.
#include "collectors/os_license.h"

#include <gtest/gtest.h>

#include <iostream>

#include "platform/fake/fake_platform.h"
#include "platform/platform.h"
#include "policy/policy.h"
#include "tests/unit/testing/fake_tree.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckStatus;

// 2026-11-26T12:00:00Z
constexpr int64_t kNowUnix = 1795694400;

policy::CheckPolicy PolicyWith(const json& params) {
  auto p = policy::ParsePolicy(json{{"checks", {{"os_license", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("os_license");
}

// The fixture tree through the fake platform (no commands, services or processes).
protocol::CheckResult RunFixture(const std::string& fixture, const json& params) {
  auto fake = platform::fake::MakeFakePlatform();
  testing::LoadFakeTree(fake.fs(), std::string(CG_FIXTURES) + "/os_license/" + fixture);
  fake.clock().Set(FromUnixSeconds(kNowUnix));
  const auto section = PolicyWith(params);
  return OsLicenseCheck().Evaluate(CheckContext{fake.platform(), section});
}

struct Case {
  const char* fixture;
  CheckStatus status;
  const char* summary_has;
  json programme;     // null: not reached
  json support_end;   // null: not reached
  json days_left;     // null: not reached
  json subscription;  // state, null: not reached
  json params = json::object();
};

TEST(OsLicense, Fixtures) {
  const std::vector<Case> cases = {
      // Debian 12: regular security support ended 2026-06-10, LTS runs to 2028-06-30.
      {"debian12_lts", CheckStatus::kPass, "supported (lts) until 2028-06-30", "lts", "2028-06-30",
       582, "not_required"},
      {"debian12_lts",
       CheckStatus::kFail,
       "582 day(s) left, policy wants at least 600",
       "lts",
       "2028-06-30",
       582,
       "not_required",
       {{"min_days_left", 600}}},
      {"debian11_ended", CheckStatus::kFail, "vendor support ended on 2026-08-31", "none",
       "2026-08-31", -87, "not_required"},
      {"debian13_standard", CheckStatus::kPass, "supported (standard)", "standard", "2030-06-30",
       1312, "not_required"},
      {"usr_lib_fallback", CheckStatus::kPass, "Debian 12 (bookworm)", "lts", "2028-06-30", 582,
       "not_required"},
      {"debian_testing", CheckStatus::kError, "without VERSION_ID", nullptr, nullptr, nullptr,
       nullptr},
      // Ubuntu 20.04: standard support ended 2025-05-29; ESM only with Pro attached.
      {"ubuntu2004_no_pro", CheckStatus::kFail,
       "needs Ubuntu Pro attached with esm-infra: not "
       "attached",
       "none", "2025-05-29", -546, "inactive"},
      // Pro's "expires": "9999-12-31..." is a contract without an end.
      {"ubuntu2004_pro", CheckStatus::kPass, "supported (esm) until 2030-04-02", "esm",
       "2030-04-02", 1223, "active"},
      {"ubuntu2004_pro_expired", CheckStatus::kFail, "contract expired", "none", "2025-05-29", -546,
       "inactive"},
      {"ubuntu2004_pro_esm_disabled", CheckStatus::kFail, "esm-infra is not enabled", "none",
       "2025-05-29", -546, "inactive"},
      {"ubuntu2004_token_no_status", CheckStatus::kError, "status.json is missing", "none",
       "2025-05-29", -546, "unknown"},
      {"ubuntu2004_corrupt_status", CheckStatus::kError, "not a Pro status document", "none",
       "2025-05-29", -546, "unknown"},
      {"ubuntu2404_standard", CheckStatus::kPass, "supported (standard) until 2029-04-25",
       "standard", "2029-04-25", 881, "inactive"},
      // RHEL 9: maintenance to 2032-05-31, and an entitlement certificate valid now.
      {"rhel9_entitled", CheckStatus::kPass, "1 of 2 entitlement certificate(s) valid", "standard",
       "2032-05-31", 2013, "active"},
      // notAfter 99991231235959Z: "no well-defined expiration" (RFC 5280).
      {"rhel9_no_expiry_cert", CheckStatus::kPass,
       "1 of 1 entitlement certificate(s) valid, "
       "until no expiry",
       "standard", "2032-05-31", 2013, "active"},
      {"rhel9_expired", CheckStatus::kFail, "all 1 entitlement certificate(s) expired", "standard",
       "2032-05-31", 2013, "inactive"},
      {"rhel9_expired",
       CheckStatus::kPass,
       "supported (standard)",
       "standard",
       "2032-05-31",
       2013,
       "inactive",
       {{"require_subscription", false}}},
      {"rhel9_unregistered", CheckStatus::kFail, "not registered", "standard", "2032-05-31", 2013,
       "inactive"},
      {"rhel9_corrupt_cert", CheckStatus::kError, "unreadable entitlement certificate", "standard",
       "2032-05-31", 2013, "unknown"},
      {"rocky9", CheckStatus::kPass, "Rocky Linux 9.4: supported (standard) until 2032-05-31",
       "standard", "2032-05-31", 2013, "not_required"},
      {"centos7_ended", CheckStatus::kFail, "vendor support ended on 2024-06-30", "none",
       "2024-06-30", -879, "not_required"},
      {"centos_stream9", CheckStatus::kPass, "CentOS Stream 9", "standard", "2027-05-31", 186,
       "not_required"},
      {"opensuse_leap156_ended", CheckStatus::kFail, "vendor support ended on 2026-04-30", "none",
       "2026-04-30", -210, "not_required"},
      // SLES 15 SP7 is supported, but its subscription cannot be read without SUSEConnect.
      {"sles15sp7_no_suseconnect", CheckStatus::kError, "SUSEConnect is not installed", "standard",
       "2031-07-31", 1708, "unknown"},
      {"unknown_distro", CheckStatus::kError, "'arch' (Arch Linux) is not in the vendor support",
       nullptr, nullptr, nullptr, nullptr},
      {"unknown_version", CheckStatus::kError, "Debian 7 is not in the vendor support table",
       nullptr, nullptr, nullptr, nullptr},
      {"corrupt_os_release", CheckStatus::kError, "/etc/os-release is corrupt", nullptr, nullptr,
       nullptr, nullptr},
      {"missing_os_release", CheckStatus::kError, "no os-release file", nullptr, nullptr, nullptr,
       nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.fixture) + " " + c.params.dump());
    const auto r = RunFixture(c.fixture, c.params);
    EXPECT_EQ(r.status, c.status) << r.summary;
    EXPECT_NE(r.summary.find(c.summary_has), std::string::npos) << r.summary;
    EXPECT_EQ(r.facts.value("programme", json()), c.programme) << r.facts.dump();
    EXPECT_EQ(r.facts.value("support_end", json()), c.support_end) << r.facts.dump();
    EXPECT_EQ(r.facts.value("days_left", json()), c.days_left) << r.facts.dump();
    const json sub = r.facts.value("subscription", json());
    EXPECT_EQ(sub.is_object() ? sub["state"] : json(), c.subscription) << r.facts.dump();
  }
}

TEST(OsLicense, FactsNameTheDistributionAndTable) {
  const auto r = RunFixture("debian12_lts", json::object());
  ASSERT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["distribution"], "Debian");
  EXPECT_EQ(r.facts["version"], "12");
  EXPECT_EQ(r.facts["codename"], "bookworm");
  EXPECT_EQ(r.facts["standard_end"], "2026-06-10");
  EXPECT_EQ(r.facts["lts_end"], "2028-06-30");
  EXPECT_EQ(r.facts["support_table_compiled"], "2026-11-26");
  EXPECT_EQ(r.expected["vendor_support"], true);
  EXPECT_EQ(r.observed["programme"], "lts");

  const auto rhel = RunFixture("rhel9_entitled", json::object());
  EXPECT_EQ(rhel.facts["els_end_not_counted"], "2035-05-31");
  EXPECT_EQ(rhel.facts["subscription"]["kind"], "rhel-entitlement");
  EXPECT_NE(rhel.facts["subscription"]["detail"].get<std::string>().find("2027-01-15T00:00:00Z"),
            std::string::npos);
}

TEST(OsLicense, OsReleaseParsing) {
  auto ok = ParseOsRelease(
      "# comment\n\nNAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID='12'\n"
      "PRETTY_NAME=\"a \\\"quoted\\\" name\"\r\n");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->at("NAME"), "Debian GNU/Linux");
  EXPECT_EQ(ok->at("ID"), "debian");
  EXPECT_EQ(ok->at("VERSION_ID"), "12");
  EXPECT_EQ(ok->at("PRETTY_NAME"), "a \"quoted\" name");
  for (const char* bad :
       {"ID debian\n", "ID=\"debian\n", "id=debian\n", "NAME=two words\n", "=x\n", "ID=\"a\"b\n"}) {
    EXPECT_FALSE(ParseOsRelease(bad).ok()) << bad;
  }
}

TEST(OsLicense, CertificateValidity) {
  EXPECT_FALSE(ReadCertificateValidity("not a certificate").ok());
  EXPECT_FALSE(ReadCertificateValidity("").ok());
}

// The real machine: a decided status, or an error that says why.
TEST(OsLicense, RealMachine) {
  auto platform = platform::CreateNativePlatform("/");
  ASSERT_TRUE(platform.ok()) << platform.error().ToString();
  const auto section = PolicyWith(json::object());
  const auto r = OsLicenseCheck().Evaluate(CheckContext{*platform, section});
  EXPECT_FALSE(r.summary.empty());
  EXPECT_NE(r.status, CheckStatus::kNotApplicable) << r.summary;
  std::cout << "os_license on this machine: " << protocol::ToString(r.status) << ": " << r.summary
            << "\n";
}

}  // namespace
}  // namespace cg::collectors

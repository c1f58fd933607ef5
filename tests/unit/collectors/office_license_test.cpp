// office_license over fixture trees with a fixed clock: suites from dpkg, Flatpak and Snap,
// licence records from the policy, and broken or missing package databases.
#include "collectors/office_license.h"

#include <gtest/gtest.h>

#include <iostream>

#include "common/timeutil.h"
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
  auto p = policy::ParsePolicy(json{{"checks", {{"office_license", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("office_license");
}

// The fixture tree through the fake platform (no commands, services or processes).
protocol::CheckResult RunFixture(const std::string& fixture, const json& params) {
  auto fake = platform::fake::MakeFakePlatform();
  testing::LoadFakeTree(fake.fs(), std::string(CG_FIXTURES) + "/office_license/" + fixture);
  fake.clock().Set(FromUnixSeconds(kNowUnix));
  const auto section = PolicyWith(params);
  return OfficeLicenseCheck().Evaluate(CheckContext{fake.platform(), section});
}

// "name version licence" of every suite found, in report order.
std::vector<std::string> SuiteLines(const protocol::CheckResult& r) {
  std::vector<std::string> out;
  if (!r.facts.contains("suites")) {
    return out;
  }
  for (const auto& s : r.facts["suites"]) {
    out.push_back(s["suite"].get<std::string>() + " " + s["version"].get<std::string>() + " " +
                  s["licence"].get<std::string>());
  }
  return out;
}

const json kWpsLicence = {
    {"suite", "wps-office"}, {"evidence", "HD 27/2026/UBND-VP"}, {"expires", "2027-12-31"}};

struct Case {
  const char* fixture;
  json params;
  CheckStatus status;
  const char* summary_has;
  std::vector<std::string> suites;
};

TEST(OfficeLicense, Fixtures) {
  const json none = json::object();
  const std::vector<Case> cases = {
      {"none", none, CheckStatus::kPass, "no office suite installed (searched dpkg)", {}},
      {"libreoffice",
       none,
       CheckStatus::kPass,
       "LibreOffice 4:7.4.7-1+deb12u5 (free)",
       {"libreoffice 4:7.4.7-1+deb12u5 free"}},
      {"libreoffice_tdf",
       none,
       CheckStatus::kPass,
       "LibreOffice 24.8.3.2-2 (free)",
       {"libreoffice 24.8.3.2-2 free"}},
      {"wps",
       none,
       CheckStatus::kFail,
       "WPS Office 11.1.0.11723.XA (no licence record",
       {"wps-office 11.1.0.11723.XA commercial"}},
      {"wps",
       {{"licences", {kWpsLicence}}},
       CheckStatus::kPass,
       "WPS Office 11.1.0.11723.XA (commercial, licensed: HD 27/2026/UBND-VP)",
       {"wps-office 11.1.0.11723.XA commercial"}},
      // Valid through its last day, not a day longer.
      {"wps",
       {{"licences", {{{"suite", "wps-office"}, {"evidence", "PO-1"}, {"expires", "2026-11-26"}}}}},
       CheckStatus::kPass,
       "licensed: PO-1",
       {"wps-office 11.1.0.11723.XA commercial"}},
      {"wps",
       {{"licences", {{{"suite", "wps-office"}, {"evidence", "PO-1"}, {"expires", "2026-11-25"}}}}},
       CheckStatus::kFail,
       "licence record expired on 2026-11-25",
       {"wps-office 11.1.0.11723.XA commercial"}},
      // A perpetual licence (no expiry) for another suite does not cover WPS.
      {"wps",
       {{"licences", {{{"suite", "softmaker-office"}, {"evidence", "invoice 2231"}}}}},
       CheckStatus::kFail,
       "no licence record",
       {"wps-office 11.1.0.11723.XA commercial"}},
      {"wps_half_configured",
       none,
       CheckStatus::kFail,
       "WPS Office",
       {"wps-office 11.1.0.11723.XA commercial"}},
      {"mixed",
       none,
       CheckStatus::kFail,
       "SoftMaker Office 1224-1 (no licence record",
       {"softmaker-office 1224-1 commercial", "freeoffice 1224 free",
        "libreoffice 4:7.4.7-1+deb12u5 free"}},
      {"mixed",
       {{"licences", {{{"suite", "softmaker-office"}, {"evidence", "invoice 2231"}}}}},
       CheckStatus::kPass,
       "SoftMaker Office 1224-1 (commercial, licensed: invoice 2231)",
       {"softmaker-office 1224-1 commercial", "freeoffice 1224 free",
        "libreoffice 4:7.4.7-1+deb12u5 free"}},
      {"flatpak_wps",
       none,
       CheckStatus::kFail,
       "WPS Office (no licence record",
       {"wps-office  commercial"}},
      {"snap_onlyoffice",
       none,
       CheckStatus::kPass,
       "ONLYOFFICE Desktop Editors snap revision 731",
       {"onlyoffice snap revision 731 free"}},
      {"corrupt_status", none, CheckStatus::kError, "expected 'Field: value'", {}},
      {"status_without_status_field", none, CheckStatus::kError, "no Status field", {}},
      {"missing_status", none, CheckStatus::kError, "no package database", {}},
      // Policy records that cannot be evidence are an error, whatever is installed.
      {"none",
       {{"licences", {{{"suite", "wps"}, {"evidence", "x"}}}}},
       CheckStatus::kError,
       "licences[0].suite: 'wps' is not a commercial suite id",
       {}},
      {"none",
       {{"licences", {{{"suite", "libreoffice"}, {"evidence", "x"}}}}},
       CheckStatus::kError,
       "not a commercial suite id",
       {}},
      {"wps",
       {{"licences", {{{"suite", "wps-office"}, {"evidence", " "}}}}},
       CheckStatus::kError,
       "licences[0].evidence",
       {}},
      {"wps",
       {{"licences", {{{"suite", "wps-office"}, {"evidence", "x"}, {"expires", "31/12/2027"}}}}},
       CheckStatus::kError,
       "licences[0].expires",
       {}},
      {"wps",
       {{"licences", {{{"suite", "wps-office"}, {"evidence", "x"}, {"seats", 5}}}}},
       CheckStatus::kError,
       "licences[0].seats: unknown key",
       {}},
      {"wps",
       {{"licences", {"wps-office"}}},
       CheckStatus::kError,
       "licences[0]: must be an object",
       {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.fixture) + " " + c.params.dump());
    const auto r = RunFixture(c.fixture, c.params);
    EXPECT_EQ(r.status, c.status) << r.summary;
    EXPECT_NE(r.summary.find(c.summary_has), std::string::npos) << r.summary;
    EXPECT_EQ(SuiteLines(r), c.suites) << r.facts.dump();
  }
}

TEST(OfficeLicense, NoSuiteIsAFact) {
  const auto r = RunFixture("none", json::object());
  ASSERT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["found"], "none found");
  EXPECT_EQ(r.facts["suites"], json::array());
  EXPECT_EQ(r.facts["sources"], json::array({"dpkg"}));
  EXPECT_EQ(r.expected["unlicensed_commercial_suites"], json::array());
  EXPECT_EQ(r.observed["unlicensed_commercial_suites"], json::array());
}

TEST(OfficeLicense, UnlicensedSuiteIsObserved) {
  const auto r = RunFixture("wps", json::object());
  ASSERT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_EQ(r.observed["unlicensed_commercial_suites"],
            json::array({"WPS Office 11.1.0.11723.XA"}));
  EXPECT_EQ(r.facts["suites"][0]["licensed"], false);
  EXPECT_EQ(r.facts["suites"][0]["source"], "dpkg");
  EXPECT_EQ(r.facts["suites"][0]["package"], "wps-office");
}

TEST(OfficeLicense, GlobMatch) {
  EXPECT_TRUE(GlobMatch("libobasis*-core", "libobasis24.8-core"));
  EXPECT_FALSE(GlobMatch("libobasis*-core", "libobasis24.8-core-extra"));
  EXPECT_TRUE(GlobMatch("softmaker-office*", "softmaker-office"));
  EXPECT_TRUE(GlobMatch("softmaker-office*", "softmaker-office-2024"));
  EXPECT_FALSE(GlobMatch("softmaker-office*", "softmaker-freeoffice-2024"));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
  EXPECT_TRUE(GlobMatch("*a*b*c", "xxaxxbxxc"));
  EXPECT_FALSE(GlobMatch("*a*b*c", "xxaxxbxxcx"));
}

// The real machine: a decided status, or an error that says why.
TEST(OfficeLicense, RealMachine) {
  auto platform = platform::CreateNativePlatform("/");
  ASSERT_TRUE(platform.ok()) << platform.error().ToString();
  const auto section = PolicyWith(json::object());
  const auto r = OfficeLicenseCheck().Evaluate(CheckContext{*platform, section});
  EXPECT_FALSE(r.summary.empty());
  EXPECT_NE(r.status, CheckStatus::kNotApplicable) << r.summary;
  std::cout << "office_license on this machine: " << protocol::ToString(r.status) << ": "
            << r.summary << "\n";
}

}  // namespace
}  // namespace cg::collectors

// office_license on Windows (collectors/office_license_windows.cpp) through the fake registry
// and Software Licensing, fed what real machines hold:
// - Uninstall entries as the installers write them: LibreOffice's MSI ("LibreOffice 24.8.2.1",
//   plus a separate "... Help Pack (Vietnamese)" entry), WPS Office's per-user install
//   (HKCU\...\Uninstall\Kingsoft Office, DisplayName "WPS Office (12.2.0.18911)"), Office
//   components hidden with SystemComponent = 1.
// - Click-to-Run: HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration ProductReleaseIds
//   "O365ProPlusRetail" (Microsoft 365 Apps) or "ProPlus2019Volume", VersionToReport
//   "16.0.17928.20156" (https://learn.microsoft.com/microsoft-365-apps/deploy/
//   overview-of-the-office-2016-deployment-tool and the product IDs list
//   https://learn.microsoft.com/troubleshoot/microsoft-365-apps/office-suite-issues/click-to-run-office-product-ids).
// - SoftwareLicensingProduct for Office (ApplicationID 0ff1ce15-a989-479d-af46-f275c6370663):
//   Name "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", ProductKeyChannel
//   "Volume:GVLK", LicenseStatus 1 (what `cscript ospp.vbs /dstatus` shows as ---LICENSED---).
// - OfficeSoftwareProtectionProduct (Office 2010, ApplicationID 59a52881-...): missing on
//   machines without osppsvc, WMI answers WBEM_E_INVALID_CLASS (0x80041010).
#include "collectors/office_license_windows.h"

#include <gtest/gtest.h>

#include "collectors/office_license.h"
#include "common/timeutil.h"
#include "platform/fake/fake_platform.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::LicensingService;
using platform::RegistryHive;
using platform::RegistryValue;
using protocol::CheckStatus;

constexpr int64_t kNowUnix = 1796212800;  // 2026-12-02T12:00:00Z
constexpr std::string_view kUninstall = R"(SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall)";
constexpr std::string_view kC2r = R"(SOFTWARE\Microsoft\Office\ClickToRun\Configuration)";
constexpr std::string_view kUser = "S-1-5-21-3623811015-3361044348-30300820-1001";

policy::CheckPolicy PolicyWith(const json& params) {
  auto p = policy::ParsePolicy(json{{"checks", {{"office_license", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("office_license");
}

platform::LicensingProduct OfficeProduct(uint32_t status) {
  platform::LicensingProduct p;
  p.application_id = std::string(platform::kOfficeApplicationId);
  p.name = "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition";
  p.description = "Office 19, VOLUME_KMSCLIENT channel";
  p.partial_key = "6MWKP";
  p.license_status = status;
  p.grace_minutes = status == 1 ? 259200u : 0u;
  p.channel = "Volume:GVLK";
  p.kms_machine = "kms.tinhdemo.gov.vn";
  p.source = "SoftwareLicensingProduct";
  return p;
}

class OfficeWindows : public ::testing::Test {
 protected:
  OfficeWindows() : fake_(platform::fake::MakeFakePlatform()) {
    fake_.AddWindowsSources();
    fake_.clock().Set(FromUnixSeconds(kNowUnix));
    // Every real machine has a few hives and Office-free Uninstall entries.
    Set(RegistryHive::kUsers, ".DEFAULT\\Control Panel\\Desktop", "ScreenSaveActive", "1");
    Set(RegistryHive::kUsers, std::string(kUser) + "\\Control Panel\\Desktop", "ScreenSaveActive",
        "1");
    Program(RegistryHive::kLocalMachine, std::string(kUninstall) + "\\7-Zip", "7-Zip 24.08 (x64)",
            "24.08");
    // The OSPP class does not exist (no Office 2010).
    fake_.licensing().SetError(LicensingService::kOfficeSoftwareProtection,
                               MakeError(ErrorCode::kUnavailable,
                                         "WMI ROOT\\CIMV2 SELECT * FROM "
                                         "OfficeSoftwareProtectionProduct: WBEM_E_INVALID_CLASS "
                                         "(HRESULT 0x80041010)"));
  }
  void Set(RegistryHive hive, const std::string& key, std::string_view name, std::string value) {
    ASSERT_TRUE(fake_.registry().SetValue(hive, key, name, RegistryValue::String(value)).ok());
  }
  void Program(RegistryHive hive, const std::string& key, std::string name, std::string version) {
    Set(hive, key, "DisplayName", std::move(name));
    Set(hive, key, "DisplayVersion", std::move(version));
  }
  protocol::CheckResult Run(const json& params = json::object()) {
    const auto section = PolicyWith(params);
    return OfficeLicenseCheck().Evaluate(CheckContext{fake_.platform(), section});
  }
  platform::fake::FakePlatform fake_;
};

TEST_F(OfficeWindows, FreeSuitePassesAndHelpPacksAreNotSuites) {
  Program(RegistryHive::kLocalMachine, std::string(kUninstall) + "\\{A1B2}", "LibreOffice 24.8.2.1",
          "24.8.2.1");
  Program(RegistryHive::kLocalMachine, std::string(kUninstall) + "\\{C3D4}",
          "LibreOffice 24.8.2.1 Help Pack (Vietnamese)", "24.8.2.1");
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  ASSERT_EQ(r.facts["suites"].size(), 1u);
  EXPECT_EQ(r.facts["suites"][0]["suite"], "libreoffice");
  EXPECT_EQ(r.facts["suites"][0]["source"], "uninstall");
  EXPECT_EQ(r.facts["licensing_sources"]["OfficeSoftwareProtectionProduct"], "not installed");
}

TEST_F(OfficeWindows, PerUserWpsNeedsALicenceRecord) {
  Program(RegistryHive::kUsers,
          std::string(kUser) +
              "\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\"
              "Kingsoft Office",
          "WPS Office (12.2.0.18911)", "12.2.0.18911");
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("WPS Office 12.2.0.18911 (no licence record in the policy)"),
            std::string::npos)
      << r.summary;
  EXPECT_NE(r.facts["suites"][0]["registry_key"].get<std::string>().find(kUser), std::string::npos);

  r = Run({{"licences", {{{"suite", "wps-office"}, {"evidence", "HD 27/2026/UBND-VP"}}}}});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(OfficeWindows, HiddenComponentsAreSkipped) {
  const std::string key = std::string(kUninstall) + "\\{90160000-0011-0000-1000-0000000FF1CE}";
  Program(RegistryHive::kLocalMachine, key, "Microsoft Office Professional Plus 2016", "16.0");
  ASSERT_TRUE(
      fake_.registry()
          .SetValue(RegistryHive::kLocalMachine, key, "SystemComponent", RegistryValue::Dword(1))
          .ok());
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["found"], "none found");
}

TEST_F(OfficeWindows, ActivatedVolumeOfficePassesOnItsActivation) {
  Set(RegistryHive::kLocalMachine, std::string(kC2r), "ProductReleaseIds", "ProPlus2019Volume");
  Set(RegistryHive::kLocalMachine, std::string(kC2r), "VersionToReport", "16.0.10417.20012");
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, OfficeProduct(1));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  const auto& office = r.facts["suites"][0];
  EXPECT_EQ(office["suite"], "microsoft-office");
  EXPECT_EQ(office["licensed"], true);
  EXPECT_EQ(office["licensing_products"][0]["kms_machine"], "kms.tinhdemo.gov.vn");
  EXPECT_EQ(office["click_to_run"]["product_release_ids"][0], "ProPlus2019Volume");
}

TEST_F(OfficeWindows, UnactivatedOfficeFailsEvenWithARecord) {
  Set(RegistryHive::kLocalMachine, std::string(kC2r), "ProductReleaseIds", "ProPlus2019Volume");
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, OfficeProduct(5));
  const auto r =
      Run({{"licences", {{{"suite", "microsoft-office"}, {"evidence", "HD 12/2025/STTTT"}}}}});
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("not activated"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("Notification"), std::string::npos) << r.summary;
}

TEST_F(OfficeWindows, Microsoft365IsJudgedByThePolicyRecord) {
  Set(RegistryHive::kLocalMachine, std::string(kC2r), "ProductReleaseIds",
      "O365ProPlusRetail,VisioProRetail");
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.facts["suites"][0]["licence_basis"].get<std::string>().find("per-user sign-in"),
            std::string::npos);
  EXPECT_TRUE(IsSubscriptionReleaseId("O365ProPlusRetail"));
  EXPECT_FALSE(IsSubscriptionReleaseId("ProPlus2021Volume"));

  r = Run({{"licences",
            {{{"suite", "microsoft-office"},
              {"evidence", "EA 2026-0042"},
              {"expires", "2027-06-30"}}}}});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(OfficeWindows, Office2010ThroughOfficeSoftwareProtection) {
  fake_.licensing().SetError(LicensingService::kOfficeSoftwareProtection, std::nullopt);
  auto p = OfficeProduct(1);
  p.application_id = std::string(platform::kOffice2010ApplicationId);
  p.name = "Office 14, OfficeProPlus-MAK edition";
  p.source = "OfficeSoftwareProtectionProduct";
  fake_.licensing().Add(LicensingService::kOfficeSoftwareProtection, p);
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["suites"][0]["source"], "software-licensing");
  EXPECT_EQ(r.facts["licensing_sources"]["OfficeSoftwareProtectionProduct"], "read");
}

TEST_F(OfficeWindows, StubbedLicensingNeverPasses) {
  // Wine: SoftwareLicensingProduct objects lack ApplicationID.
  fake_.licensing().SetError(
      LicensingService::kSoftwareLicensing,
      MakeError(ErrorCode::kNotFound,
                "WMI property ApplicationID: WBEM_E_NOT_FOUND (HRESULT 0x80041002)"));
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_EQ(r.facts["licensing_sources"]["SoftwareLicensingProduct"]["hresult"], "0x80041002");

  Set(RegistryHive::kLocalMachine, std::string(kC2r), "ProductReleaseIds", "ProPlus2021Volume");
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_NE(r.summary.find("activation cannot be read"), std::string::npos) << r.summary;
}

TEST_F(OfficeWindows, UnreadableRegistryIsAnError) {
  fake_.registry().SetError(MakeError(ErrorCode::kPermissionDenied, "access denied"));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
}

}  // namespace
}  // namespace cg::collectors

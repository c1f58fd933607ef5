// os_license on Windows (collectors/os_license_windows.cpp) through the fake host, registry and
// Software Licensing, fed values real Windows returns:
// - SoftwareLicensingProduct (https://learn.microsoft.com/previous-versions/windows/desktop/
//   sppwmi/softwarelicensingproduct): LicenseStatus 0 Unlicensed, 1 Licensed, 2 OOBGrace,
//   3 OOTGrace, 4 NonGenuineGrace, 5 Notification, 6 ExtendedGrace; GracePeriodRemaining in
//   minutes; Name "Windows(R), Professional edition", Description "Windows(R) Operating System,
//   RETAIL channel", ProductKeyChannel "Retail"/"OEM:DM"/"Volume:MAK" as Windows 10/11 report.
// - EditionID values of HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion ("Professional",
//   "CoreSingleLanguage", "Enterprise", "IoTEnterpriseS", "ServerStandard") and the build
//   numbers of the releases (19045 Windows 10 22H2, 26100 Windows 11 24H2, 26200 25H2, 20348
//   Server 2022), with the end dates of learn.microsoft.com/lifecycle (table in
//   collectors/data/windows_support.inc).
#include "collectors/os_license_windows.h"

#include <gtest/gtest.h>

#include "collectors/os_license.h"
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

// 2026-12-02T12:00:00Z
constexpr int64_t kNowUnix = 1796212800;
constexpr std::string_view kCurrentVersion = R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion)";

policy::CheckPolicy PolicyWith(const json& params) {
  auto p = policy::ParsePolicy(json{{"checks", {{"os_license", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("os_license");
}

platform::LicensingProduct WindowsProduct(uint32_t status, uint32_t grace_minutes = 0,
                                          std::string channel = "Retail") {
  platform::LicensingProduct p;
  p.id = "4de7cb65-cdf1-4de9-8ae8-e3cce27b9f2c";
  p.application_id = std::string(platform::kWindowsApplicationId);
  p.name = "Windows(R), Professional edition";
  p.description = "Windows(R) Operating System, RETAIL channel";
  p.partial_key = "3V66T";
  p.license_status = status;
  p.grace_minutes = grace_minutes;
  p.status_reason = status == 1 ? 0u : 0xC004F034u;
  p.is_addon = false;
  p.channel = std::move(channel);
  p.source = "SoftwareLicensingProduct";
  return p;
}

class OsLicenseWindows : public ::testing::Test {
 protected:
  OsLicenseWindows() : fake_(platform::fake::MakeFakePlatform()) {
    fake_.AddWindowsSources();
    fake_.clock().Set(FromUnixSeconds(kNowUnix));
  }
  void Machine(uint32_t build, std::string name, std::string edition) {
    platform::HostIdentity id;
    id.hostname = "MOTCUA-01";
    id.os_id = "windows";
    id.os_name = std::move(name);
    id.os_version = "10.0." + std::to_string(build);
    id.kernel = id.os_version + ".1234";
    fake_.host().SetIdentity(id);
    if (!edition.empty()) {
      ASSERT_TRUE(fake_.registry()
                      .SetValue(RegistryHive::kLocalMachine, kCurrentVersion, "EditionID",
                                RegistryValue::String(std::move(edition)))
                      .ok());
    }
  }
  protocol::CheckResult Run(const json& params = json::object()) {
    const auto section = PolicyWith(params);
    return OsLicenseCheck().Evaluate(CheckContext{fake_.platform(), section});
  }
  platform::fake::FakePlatform fake_;
};

TEST(ServicingGroup, EditionsMapToTheirLifecycle) {
  EXPECT_EQ(ServicingGroup("Professional"), "home_pro");
  EXPECT_EQ(ServicingGroup("CoreSingleLanguage"), "home_pro");  // most OEM laptops in Vietnam
  EXPECT_EQ(ServicingGroup("Enterprise"), "enterprise_education");
  EXPECT_EQ(ServicingGroup("ServerRdsh"), "enterprise_education");  // multi-session, a client
  EXPECT_EQ(ServicingGroup("EnterpriseS"), "ltsc");
  EXPECT_EQ(ServicingGroup("IoTEnterpriseS"), "iot_ltsc");
  EXPECT_EQ(ServicingGroup("ServerDatacenter"), "server");
  EXPECT_EQ(ServicingGroup("SomethingNew"), "");
  EXPECT_EQ(LicenseStatusName(5), "Notification (activation period over)");
  EXPECT_EQ(LicenseStatusName(9), "unknown (9)");
}

TEST_F(OsLicenseWindows, SupportWindowByBuildAndEdition) {
  struct Case {
    uint32_t build;
    const char* name;
    const char* edition;
    CheckStatus status;
    const char* support_end;
    int64_t days_left;
    const char* summary_has;
  };
  const Case cases[] = {
      // Windows 10 22H2: Home and Pro ended 2025-10-14 (ESU not counted).
      {19045, "Windows 10 Pro", "Professional", CheckStatus::kFail, "2025-10-14", -414,
       "Microsoft ended security updates on 2025-10-14"},
      // Windows 11 24H2: Home/Pro ended 2026-10-13, Enterprise runs to 2027-10-12.
      {26100, "Windows 11 Pro", "Professional", CheckStatus::kFail, "2026-10-13", -50,
       "ended security updates on 2026-10-13"},
      {26100, "Windows 11 Enterprise", "Enterprise", CheckStatus::kPass, "2027-10-12", 314,
       "supported until 2027-10-12, 314 day(s) left"},
      {26200, "Windows 11 Home Single Language", "CoreSingleLanguage", CheckStatus::kPass,
       "2027-10-12", 314, "Windows 11 25H2 CoreSingleLanguage"},
      {20348, "Windows Server 2022 Standard", "ServerStandard", CheckStatus::kPass, "2031-10-14",
       1777, "Windows Server 2022 ServerStandard"},
      {19044, "Windows 10 IoT Enterprise LTSC", "IoTEnterpriseS", CheckStatus::kPass, "2032-01-13",
       1868, "supported until 2032-01-13"},
  };
  for (const auto& c : cases) {
    fake_ = platform::fake::MakeFakePlatform();
    fake_.AddWindowsSources();
    fake_.clock().Set(FromUnixSeconds(kNowUnix));
    Machine(c.build, c.name, c.edition);
    fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(1));
    const auto r = Run();
    EXPECT_EQ(r.status, c.status) << c.build << " " << c.edition << ": " << r.summary;
    EXPECT_EQ(r.facts["support_end"], c.support_end) << c.build;
    EXPECT_EQ(r.facts["days_left"], c.days_left) << c.build;
    EXPECT_NE(r.summary.find(c.summary_has), std::string::npos) << r.summary;
    EXPECT_EQ(r.facts["subscription"]["state"], "active");
  }
}

TEST_F(OsLicenseWindows, MinDaysLeftWarnsBeforeTheEnd) {
  Machine(26100, "Windows 11 Enterprise", "Enterprise");
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(1));
  const auto r = Run({{"min_days_left", 365}});
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("314 day(s) left, policy wants at least 365"), std::string::npos);
}

TEST_F(OsLicenseWindows, ActivationStates) {
  struct Case {
    uint32_t status;
    uint32_t grace;
    CheckStatus expect;
    const char* state;
    const char* summary_has;
  };
  const Case cases[] = {
      {1, 0, CheckStatus::kPass, "active", "Windows is activated (Windows(R), Professional"},
      {0, 0, CheckStatus::kFail, "inactive", "not activated: Unlicensed"},
      // A fresh install before activation: 30 days of out-of-box grace (43200 minutes).
      {2, 43200, CheckStatus::kFail, "inactive", "OOBGrace (not activated yet), 30 day(s)"},
      {3, 4320, CheckStatus::kFail, "inactive", "OOTGrace (hardware changed"},
      {4, 0, CheckStatus::kFail, "inactive", "NonGenuineGrace"},
      {5, 0, CheckStatus::kFail, "inactive", "Notification"},
      {6, 0, CheckStatus::kFail, "inactive", "ExtendedGrace"},
      {9, 0, CheckStatus::kError, "unknown", "not documented"},
  };
  for (const auto& c : cases) {
    fake_ = platform::fake::MakeFakePlatform();
    fake_.AddWindowsSources();
    fake_.clock().Set(FromUnixSeconds(kNowUnix));
    Machine(26200, "Windows 11 Pro", "Professional");
    fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(c.status, c.grace));
    const auto r = Run();
    EXPECT_EQ(r.status, c.expect) << c.status << ": " << r.summary;
    EXPECT_EQ(r.facts["subscription"]["state"], c.state) << c.status;
    EXPECT_NE(r.summary.find(c.summary_has), std::string::npos) << r.summary;
    EXPECT_EQ(r.facts["licensing"]["products"][0]["license_status"], c.status);
  }
  // Not required: reported, not judged.
  fake_ = platform::fake::MakeFakePlatform();
  fake_.AddWindowsSources();
  fake_.clock().Set(FromUnixSeconds(kNowUnix));
  Machine(26200, "Windows 11 Pro", "Professional");
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(5));
  const auto r = Run({{"require_subscription", false}});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["subscription"]["state"], "inactive");
  EXPECT_EQ(r.facts["subscription"]["required"], false);
}

TEST_F(OsLicenseWindows, AnAddOnDoesNotLicenseWindows) {
  Machine(26200, "Windows 11 Pro", "Professional");
  auto esu = WindowsProduct(1, 0, "Volume:MAK");
  esu.name = "Windows(R), Client-ESU-Year1 add-on for Professional";
  esu.is_addon = true;
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, esu);
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(5));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_EQ(r.facts["licensing"]["products"].size(), 2u);
}

TEST_F(OsLicenseWindows, NoKeyInstalledIsNotActivated) {
  Machine(26200, "Windows 11 Pro", "Professional");
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("no Windows product key is installed"), std::string::npos);
}

TEST_F(OsLicenseWindows, StubbedLicensingIsAnErrorWithTheHresult) {
  // What Wine gives: objects without the documented properties.
  Machine(26200, "Windows 11 Pro", "Professional");
  fake_.licensing().SetError(
      LicensingService::kSoftwareLicensing,
      MakeError(ErrorCode::kNotFound,
                "WMI property ApplicationID: WBEM_E_NOT_FOUND (HRESULT 0x80041002)"));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_EQ(r.facts["licensing"]["hresult"], "0x80041002");
  EXPECT_NE(r.summary.find("activation cannot be verified"), std::string::npos);
}

TEST_F(OsLicenseWindows, UnknownEditionOrBuildIsUndecided) {
  Machine(26200, "Windows 11 Pro", "");  // no EditionID (Wine's prefix has none)
  fake_.licensing().Add(LicensingService::kSoftwareLicensing, WindowsProduct(1));
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_NE(r.summary.find("EditionID"), std::string::npos);

  Machine(27000, "Windows 12 Pro", "Professional");
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
  EXPECT_NE(r.summary.find("build 27000 is not in the support table"), std::string::npos);
}

}  // namespace
}  // namespace cg::collectors

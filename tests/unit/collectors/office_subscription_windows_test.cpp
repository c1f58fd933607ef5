// office_license on Windows, Microsoft 365 (collectors/office_subscription_windows.cpp): the
// subscription's licence files, Shared Computer Licensing and the per-user licensing mode,
// read through the fake registry and file system the way Microsoft's vNextDiag.ps1 reads them:
// - Licence files under <profile>\AppData\Local\Microsoft\Office\Licenses\<version>\ and
//   <ProgramData>\Microsoft\Office\Licenses\<version>\: UTF-16LE text (the script reads them
//   with Get-Content -Encoding Unicode) of a JSON object whose "License" member is base64 of a
//   UTF-8 JSON licence with ProductReleaseId, LicenseType, Status, ExpiresOn and
//   Metadata.{NotBefore, NotAfter, RenewAfter}. The field names are the script's; the values
//   are made for the test (no real licence file is published: they carry a tenant's ids).
// - HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\<SID> ProfileImagePath
//   ("C:\Users\<name>", REG_EXPAND_SZ) and ProfileList's own ProgramData value
//   ("%SystemDrive%\ProgramData"), SystemRoot "C:\WINDOWS": as a Windows 10/11 setup writes
//   them.
// - SharedComputerLicensing: REG_SZ "1" in ClickToRun\Configuration (what the Office
//   Deployment Tool's <Property Name="SharedComputerLicensing" Value="1"/> writes).
// - LicensingNext: REG_DWORD per release id (2 = vNext in the script).
#include "collectors/office_subscription_windows.h"

#include <gtest/gtest.h>

#include "collectors/office_license.h"
#include "collectors/office_license_windows.h"
#include "common/ids.h"
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
constexpr std::string_view kC2r = R"(SOFTWARE\Microsoft\Office\ClickToRun\Configuration)";
constexpr std::string_view kProfileList =
    R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList)";
constexpr std::string_view kUser = "S-1-5-21-3623811015-3361044348-30300820-1001";
constexpr std::string_view kUserLicences =
    "C:/Users/Nguyễn Văn Ánh/AppData/Local/Microsoft/Office/Licenses/5";

// UTF-8 -> UTF-16LE with a byte-order mark, as PowerShell's "Unicode" encoding writes it.
std::string Utf16Le(std::string_view utf8) {
  std::string out = "\xFF\xFE";
  for (size_t i = 0; i < utf8.size();) {
    const auto b = static_cast<unsigned char>(utf8[i]);
    uint32_t c = b;
    size_t n = 1;
    if (b >= 0xF0) {
      c = b & 0x07u;
      n = 4;
    } else if (b >= 0xE0) {
      c = b & 0x0Fu;
      n = 3;
    } else if (b >= 0xC0) {
      c = b & 0x1Fu;
      n = 2;
    }
    for (size_t k = 1; k < n; ++k) {
      c = (c << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3Fu);
    }
    i += n;
    auto put = [&](uint32_t u) {
      out += static_cast<char>(u & 0xFF);
      out += static_cast<char>(u >> 8);
    };
    if (c >= 0x10000) {
      put(0xD800 + ((c - 0x10000) >> 10));
      put(0xDC00 + ((c - 0x10000) & 0x3FF));
    } else {
      put(c);
    }
  }
  return out;
}

// A licence file: expires_on "" leaves ExpiresOn out.
std::string LicenceFile(std::string_view release_id, std::string_view expires_on,
                        std::string_view not_after) {
  json licence = {{"LicenseId", "7f1c2a9e-4d7b-4c55-9a0e-2f4c8d9b6e31"},
                  {"LicenseType", "User"},
                  {"ProductReleaseId", release_id},
                  {"Acid", "149dbce7-a48e-44db-8364-a53386cd4580"},
                  {"Status", 1},
                  {"ReasonCode", 0},
                  {"Metadata",
                   {{"NotBefore", "2026-11-20T08:00:00Z"},
                    {"NotAfter", not_after},
                    {"RenewAfter", "2026-11-27T08:00:00Z"}}}};
  if (!expires_on.empty()) {
    licence["ExpiresOn"] = expires_on;
  }
  const json outer = {{"Version", 1}, {"License", Base64Encode(licence.dump())}};
  return Utf16Le(outer.dump());
}

SysTime Now() { return FromUnixSeconds(kNowUnix); }

TEST(VNextLicenceTest, StatesAsTheScriptJudgesThem) {
  // Subscription paid to 2027-01-31, licence valid offline to 2027-01-19: Licensed.
  auto l = DecodeVNextLicence(
      LicenceFile("O365ProPlusRetail", "2027-01-31T00:00:00Z", "2027-01-19T08:00:00Z"), Now());
  EXPECT_EQ(l.state, "Licensed") << l.undecided;
  EXPECT_EQ(l.product_release_id, "O365ProPlusRetail");
  EXPECT_EQ(l.licence_type, "User");
  EXPECT_EQ(l.entitlement_status, "1");
  // The subscription ended on 2026-11-30, the licence still runs: Grace.
  l = DecodeVNextLicence(
      LicenceFile("O365ProPlusRetail", "2026-11-30T00:00:00.0000000Z", "2027-01-19T08:00:00Z"),
      Now());
  EXPECT_EQ(l.state, "Grace") << l.undecided;
  // Past NotAfter: reduced functionality, whatever ExpiresOn says.
  l = DecodeVNextLicence(
      LicenceFile("O365ProPlusRetail", "2027-06-30T00:00:00Z", "2026-12-01T08:00:00Z"), Now());
  EXPECT_EQ(l.state, "RFM") << l.undecided;
  // No ExpiresOn: Licensed until NotAfter.
  l = DecodeVNextLicence(LicenceFile("O365ProPlusRetail", "", "2027-01-19T08:00:00+07:00"), Now());
  EXPECT_EQ(l.state, "Licensed") << l.undecided;
}

TEST(VNextLicenceTest, WhatCannotBeJudgedIsUndecided) {
  // A date in another form (Get-Date would read it by the PC's culture): not guessed.
  auto l = DecodeVNextLicence(LicenceFile("O365ProPlusRetail", "", "19/01/2027 08:00:00"), Now());
  EXPECT_EQ(l.state, "");
  EXPECT_NE(l.undecided.find("is not a date"), std::string::npos) << l.undecided;
  l = DecodeVNextLicence(Utf16Le(R"({"License": "not base64!"})"), Now());
  EXPECT_EQ(l.state, "");
  EXPECT_NE(l.undecided.find("not base64"), std::string::npos) << l.undecided;
  l = DecodeVNextLicence("{\"License\": 1}", Now());  // UTF-8, odd length: not UTF-16
  EXPECT_EQ(l.state, "");
  l = DecodeVNextLicence(Utf16Le(R"({"Version": 1})"), Now());
  EXPECT_NE(l.undecided.find("not a licence file"), std::string::npos) << l.undecided;
  l = DecodeVNextLicence(
      Utf16Le(
          json{{"License", Base64Encode(R"({"ProductReleaseId": "O365ProPlusRetail"})")}}.dump()),
      Now());
  EXPECT_EQ(l.undecided, "no Metadata.NotAfter");
}

TEST(VNextLicenceTest, Utf16LeWithVietnameseAndSurrogates) {
  auto s = Utf16LeToUtf8(Utf16Le("Nguyễn Văn Ánh 📄"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(*s, "Nguyễn Văn Ánh 📄");
  EXPECT_FALSE(Utf16LeToUtf8(std::string("\x3D\xD8\x41\x00", 4)).ok());  // lone high surrogate
  EXPECT_FALSE(Utf16LeToUtf8(std::string("\x41", 1)).ok());
}

class Microsoft365 : public ::testing::Test {
 protected:
  Microsoft365() : fake_(platform::fake::MakeFakePlatform()) {
    fake_.AddWindowsSources();
    fake_.clock().Set(Now());
    Set(RegistryHive::kLocalMachine, R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion)",
        "SystemRoot", "C:\\WINDOWS");
    Set(RegistryHive::kLocalMachine, std::string(kProfileList), "ProgramData",
        "%SystemDrive%\\ProgramData");
    // Not a person's profile: not searched.
    Set(RegistryHive::kLocalMachine, std::string(kProfileList) + "\\S-1-5-18", "ProfileImagePath",
        "%systemroot%\\system32\\config\\systemprofile");
    Set(RegistryHive::kLocalMachine, std::string(kProfileList) + "\\" + std::string(kUser),
        "ProfileImagePath", "C:\\Users\\Nguyễn Văn Ánh");
    Set(RegistryHive::kUsers, std::string(kUser) + "\\Control Panel\\Desktop", "ScreenSaveActive",
        "1");
    Set(RegistryHive::kLocalMachine, std::string(kC2r), "ProductReleaseIds", "O365ProPlusRetail");
    fake_.licensing().SetError(LicensingService::kOfficeSoftwareProtection,
                               MakeError(ErrorCode::kUnavailable,
                                         "WMI ROOT\\CIMV2 SELECT * FROM "
                                         "OfficeSoftwareProtectionProduct: WBEM_E_INVALID_CLASS "
                                         "(HRESULT 0x80041010)"));
  }
  void Set(RegistryHive hive, const std::string& key, std::string_view name, std::string value) {
    ASSERT_TRUE(fake_.registry().SetValue(hive, key, name, RegistryValue::String(value)).ok());
  }
  protocol::CheckResult Run(const json& params = json::object()) {
    auto p = policy::ParsePolicy(json{{"checks", {{"office_license", params}}}});
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    return OfficeLicenseCheck().Evaluate(
        CheckContext{fake_.platform(), p->Check("office_license")});
  }
  static json WithRecord() {
    return {{"licences", {{{"suite", "microsoft-office"}, {"evidence", "EA 2026-0042"}}}}};
  }
  platform::fake::FakePlatform fake_;
};

TEST_F(Microsoft365, ALicensedUserLicencePassesWithoutARecord) {
  fake_.fs().AddFile(
      std::string(kUserLicences) + "/a1b2.json",
      LicenceFile("O365ProPlusRetail", "2027-01-31T00:00:00Z", "2027-01-19T08:00:00Z"));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  const auto& office = r.facts["suites"][0];
  EXPECT_EQ(office["licensed"], true);
  const auto& m365 = office["microsoft_365"];
  ASSERT_EQ(m365["licences"].size(), 1u) << m365.dump();
  EXPECT_EQ(m365["licences"][0]["user"], "Nguyễn Văn Ánh");
  EXPECT_EQ(m365["licences"][0]["state"], "Licensed");
  EXPECT_NE(r.summary.find("Nguyễn Văn Ánh"), std::string::npos) << r.summary;
  EXPECT_EQ(m365["shared_computer_licensing"]["enabled"], nullptr);
}

TEST_F(Microsoft365, GraceOrReducedFunctionalityFailsEvenWithARecord) {
  fake_.fs().AddFile(
      std::string(kUserLicences) + "/a1b2.json",
      LicenceFile("O365ProPlusRetail", "2026-11-30T00:00:00Z", "2027-01-19T08:00:00Z"));
  auto r = Run(WithRecord());
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("in grace"), std::string::npos) << r.summary;

  // A second user's licence Licensed does not outweigh one in reduced functionality.
  Set(RegistryHive::kLocalMachine, std::string(kProfileList) + "\\S-1-5-21-1-2-3-1002",
      "ProfileImagePath", "%SystemDrive%\\Users\\tran.binh");
  fake_.fs().AddFile("C:/Users/tran.binh/AppData/Local/Microsoft/Office/Licenses/5/c3.json",
                     LicenceFile("O365ProPlusRetail", "", "2026-12-01T00:00:00Z"));
  fake_.fs().AddFile(std::string(kUserLicences) + "/a1b2.json",
                     LicenceFile("O365ProPlusRetail", "", "2027-01-19T08:00:00Z"));
  r = Run(WithRecord());
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("reduced functionality"), std::string::npos) << r.summary;
  EXPECT_NE(r.summary.find("tran.binh"), std::string::npos) << r.summary;
}

TEST_F(Microsoft365, UndecidedOrNoLicenceLeavesItToTheRecord) {
  // No licence file: as before, the policy's record decides.
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.facts["suites"][0]["licence_basis"].get<std::string>().find(
                "no Microsoft 365 licence file for O365ProPlusRetail"),
            std::string::npos)
      << r.facts.dump();
  // A licence that cannot be judged never passes by itself, beside a Licensed one either.
  fake_.fs().AddFile(std::string(kUserLicences) + "/a1b2.json",
                     LicenceFile("O365ProPlusRetail", "", "2027-01-19T08:00:00Z"));
  fake_.fs().AddFile(std::string(kUserLicences) + "/ffff.json", "garbage!");
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.facts["suites"][0]["licence_basis"].get<std::string>().find("cannot be judged"),
            std::string::npos)
      << r.facts.dump();
  r = Run(WithRecord());
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
}

TEST_F(Microsoft365, DeviceLicenceSharedComputerAndModeInFacts) {
  // A device-based licence in ProgramData; a Visio licence for another product is ignored.
  fake_.fs().AddFile(
      "C:/ProgramData/Microsoft/Office/Licenses/5/d4.json",
      LicenceFile("O365ProPlusRetail", "2027-03-01T00:00:00Z", "2027-02-01T00:00:00Z"));
  fake_.fs().AddFile("C:/ProgramData/Microsoft/Office/Licenses/5/v5.json",
                     LicenceFile("VisioProRetail", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"));
  Set(RegistryHive::kLocalMachine, std::string(kC2r), "SharedComputerLicensing", "1");
  ASSERT_TRUE(fake_.registry()
                  .SetValue(RegistryHive::kUsers,
                            std::string(kUser) +
                                R"(\Software\Microsoft\Office\16.0\Common\Licensing\LicensingNext)",
                            "o365proplusretail", RegistryValue::Dword(2))
                  .ok());
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_NE(r.summary.find("the device licence"), std::string::npos) << r.summary;
  const auto& m365 = r.facts["suites"][0]["microsoft_365"];
  EXPECT_EQ(m365["shared_computer_licensing"]["enabled"], true);
  ASSERT_EQ(m365["licensing_mode"].size(), 1u) << m365.dump();
  EXPECT_EQ(m365["licensing_mode"][0]["mode"], "vNext");
  EXPECT_EQ(m365["licences"].size(), 2u);
  // A profile path with a variable other than %SystemDrive%: said, not guessed; the system
  // profile (S-1-5-18) is no person's and is not searched.
  for (const auto& f : m365["licence_folders"]) {
    EXPECT_NE(f.value("sid", ""), "S-1-5-18") << f.dump();
  }
  Set(RegistryHive::kLocalMachine, std::string(kProfileList) + "\\S-1-5-21-1-2-3-1003",
      "ProfileImagePath", "%ProfilesRoot%\\le.cuong");
  const auto again = Run();
  EXPECT_EQ(again.status, CheckStatus::kPass) << again.summary;
  bool said = false;
  for (const auto& f : again.facts["suites"][0]["microsoft_365"]["licence_folders"]) {
    said = said || (f.value("sid", "") == "S-1-5-21-1-2-3-1003" &&
                    f.value("error", "").find("cannot expand") != std::string::npos);
  }
  EXPECT_TRUE(said) << again.facts.dump();
}

}  // namespace
}  // namespace cg::collectors

// The antivirus check's Windows judgement (collectors/antivirus_windows.cpp) through the fake
// Security Center, fed values real Windows returns:
// - productState values as seen on real machines (root\SecurityCenter2 AntiVirusProduct):
//   266240 (0x041000) on + up to date, 266256 (0x041010) on + out of date, 262144 (0x040000)
//   off, 270336 (0x042000) snoozed, 397568 (0x061100) Windows Defender on, 393472 (0x060100)
//   Windows Defender off (a third-party product took over); listed from 34 products on 10000+
//   endpoints in https://stackoverflow.com/a/23641299 ("WMI Security Center productState
//   clarification"), bytes explained in
//   http://neophob.com/2010/03/wmi-query-windows-securitycenter2/ (Microsoft does not document
//   productState).
// - WSC_SECURITY_PRODUCT_STATE 0 on / 1 off / 2 snoozed / 3 expired and
//   WSC_SECURITY_SIGNATURE_STATUS 0 out of date / 1 up to date:
//   https://learn.microsoft.com/windows/win32/api/iwscapi/ne-iwscapi-wsc_security_product_state
// - MSFT_MpComputerStatus (AMServiceEnabled, AntivirusEnabled, RealTimeProtectionEnabled,
//   AntivirusSignatureAge in days, AntivirusSignatureLastUpdated):
//   https://learn.microsoft.com/previous-versions/windows/desktop/defender/msft-mpcomputerstatus
// - REGDB_E_CLASSNOTREG 0x80040154 (no WSCProductList class: Windows Server) and
//   WBEM_E_INVALID_NAMESPACE 0x8004100E (no root\SecurityCenter2 on Server).
#include "collectors/antivirus_windows.h"

#include <gtest/gtest.h>

#include <chrono>

#include "collectors/antivirus.h"
#include "common/timeutil.h"
#include "platform/fake/fake_platform.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::AvProductState;
using platform::AvSignatureStatus;
using protocol::CheckStatus;

// 2026-12-02T12:00:00Z
constexpr int64_t kNowUnix = 1796212800;

policy::CheckPolicy PolicyWith(const json& params) {
  auto p = policy::ParsePolicy(json{{"checks", {{"antivirus", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("antivirus");
}

class AntivirusWindows : public ::testing::Test {
 protected:
  AntivirusWindows() : fake_(platform::fake::MakeFakePlatform()) {
    fake_.AddWindowsSources();
    fake_.clock().Set(FromUnixSeconds(kNowUnix));
  }
  protocol::CheckResult Run(const json& params = json::object()) {
    const auto section = PolicyWith(params);
    return AntivirusCheck().Evaluate(CheckContext{fake_.platform(), section});
  }
  static platform::WscProduct Wsc(std::string name, uint32_t state, uint32_t signatures) {
    platform::WscProduct p;
    p.name = std::move(name);
    p.raw_state = state;
    p.state = state == 0   ? AvProductState::kOn
              : state == 1 ? AvProductState::kOff
              : state == 2 ? AvProductState::kSnoozed
              : state == 3 ? AvProductState::kExpired
                           : AvProductState::kUnknown;
    p.raw_signatures = signatures;
    p.signatures = signatures == 1   ? AvSignatureStatus::kUpToDate
                   : signatures == 0 ? AvSignatureStatus::kOutOfDate
                                     : AvSignatureStatus::kUnknown;
    p.state_timestamp = "Tue, 01 Dec 2026 08:12:40 GMT";
    return p;
  }
  // Defender on, signatures updated `hours` ago.
  platform::DefenderStatus Defender(int hours, bool realtime = true) {
    platform::DefenderStatus d;
    d.service_enabled = true;
    d.antivirus_enabled = true;
    d.realtime_enabled = realtime;
    d.signature_updated = FromUnixSeconds(kNowUnix) - std::chrono::hours(hours);
    d.signature_age_days = static_cast<uint32_t>(hours / 24);
    d.signature_version = "1.421.1234.0";
    d.product_version = "4.18.24090.11";
    return d;
  }
  platform::fake::FakePlatform fake_;
};

TEST(ProductState, DecodesTheObservedValues) {
  struct Case {
    uint32_t value;
    AvProductState state;
    AvSignatureStatus signatures;
    bool microsoft;
  };
  const Case cases[] = {
      {266240, AvProductState::kOn, AvSignatureStatus::kUpToDate, false},
      {266256, AvProductState::kOn, AvSignatureStatus::kOutOfDate, false},
      {262144, AvProductState::kOff, AvSignatureStatus::kUpToDate, false},
      {262160, AvProductState::kOff, AvSignatureStatus::kOutOfDate, false},
      {270336, AvProductState::kSnoozed, AvSignatureStatus::kUpToDate, false},
      {397312, AvProductState::kOn, AvSignatureStatus::kUpToDate, false},
      {397568, AvProductState::kOn, AvSignatureStatus::kUpToDate, true},
      {397584, AvProductState::kOn, AvSignatureStatus::kOutOfDate, true},
      {393472, AvProductState::kOff, AvSignatureStatus::kUpToDate, true},
      // 344064 = 0x054000: a state nibble no product documents; never read as "on".
      {344064, AvProductState::kUnknown, AvSignatureStatus::kUpToDate, false},
  };
  for (const auto& c : cases) {
    const ProductStateBits bits = DecodeProductState(c.value);
    EXPECT_EQ(bits.state, c.state) << c.value;
    EXPECT_EQ(bits.signatures, c.signatures) << c.value;
    EXPECT_EQ(bits.microsoft, c.microsoft) << c.value;
  }
  EXPECT_EQ(DecodeProductState(397568).provider, 0x06u);  // antivirus + automatic updates
}

TEST_F(AntivirusWindows, ThirdPartyProductOnPassesWhileDefenderIsOff) {
  fake_.security_center().SetProducts(std::vector<platform::WscProduct>{
      Wsc("Windows Defender", 1, 1), Wsc("Kaspersky Endpoint Security for Windows", 0, 1)});
  fake_.security_center().SetDefender(std::optional(Defender(2, /*realtime=*/false)));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["engine"], "kaspersky-endpoint-security-for-windows");
  EXPECT_EQ(r.facts["sources"]["security_center"], "read");
  ASSERT_EQ(r.facts["engines"].size(), 2u);
  EXPECT_EQ(r.facts["engines"][0]["engine"], "defender");
  EXPECT_EQ(r.facts["engines"][0]["status"], "fail");
  EXPECT_EQ(r.facts["engines"][1]["security_center_signatures"], "up_to_date");
}

TEST_F(AntivirusWindows, VietnameseProductsFromSecurityCenterAreJudged) {
  fake_.security_center().SetProducts(std::vector<platform::WscProduct>{
      Wsc("Bkav Pro Internet Security", 0, 0), Wsc("CMC Antivirus", 2, 1)});
  fake_.security_center().SetDefender(std::optional<platform::DefenderStatus>());
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("Bkav Pro Internet Security: Security Center reports the signatures "
                           "out of date"),
            std::string::npos)
      << r.summary;
  EXPECT_NE(r.summary.find("CMC Antivirus: protection snoozed"), std::string::npos) << r.summary;
}

TEST_F(AntivirusWindows, DefenderSignatureAgeComesFromItsOwnStatus) {
  fake_.security_center().SetProducts(
      std::vector<platform::WscProduct>{Wsc("Windows Defender", 0, 1)});
  fake_.security_center().SetDefender(std::optional(Defender(100)));
  auto r = Run({{"max_signature_age_hours", 72}});
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_EQ(r.facts["age_hours"], 100);
  EXPECT_NE(r.summary.find("signatures are 100 h old (limit 72 h)"), std::string::npos);

  fake_.security_center().SetDefender(std::optional(Defender(5)));
  r = Run({{"max_signature_age_hours", 72}, {"require_realtime", true}});
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["version"], "4.18.24090.11");
  EXPECT_EQ(r.facts["realtime"], true);

  fake_.security_center().SetDefender(std::optional(Defender(5, /*realtime=*/false)));
  r = Run({{"require_realtime", true}});
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("real-time scanning is off"), std::string::npos);
}

TEST_F(AntivirusWindows, FallsBackToSecurityCenter2WhenTheComApiFails) {
  // Default: WSCProductList is not registered (0x80040154).
  fake_.security_center().SetWmiProducts(std::vector<platform::WmiAntivirusProduct>{
      {"Windows Defender", 393472, "Tue, 01 Dec 2026 08:12:40 GMT", "windowsdefender://"},
      {"Kaspersky Endpoint Security for Windows", 266240, "", "C:\\Program Files (x86)\\..."}});
  fake_.security_center().SetDefender(std::optional(Defender(3, false)));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["sources"]["security_center"]["hresult"], "0x80040154");
  EXPECT_EQ(r.facts["sources"]["wmi_security_center2"], "read");
  EXPECT_EQ(r.facts["engines"][1]["product_state"]["hex"], "0x041000");
  EXPECT_EQ(r.facts["engines"][0]["product_state"]["microsoft"], true);
}

TEST_F(AntivirusWindows, WindowsServerHasOnlyDefender) {
  // Server: no Security Center class, no SecurityCenter2 namespace (the fake's defaults).
  fake_.security_center().SetDefender(std::optional(Defender(20)));
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["engine"], "defender");
  EXPECT_EQ(r.facts["age_hours"], 20);
  EXPECT_EQ(r.facts["sources"]["wmi_security_center2"]["hresult"], "0x8004100E");

  // Only the age in whole days (no update time): still an age, judged in hours.
  auto days_only = Defender(0);
  days_only.signature_updated.reset();
  days_only.signature_age_days = 1;
  fake_.security_center().SetDefender(std::optional(days_only));
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["age_hours"], 24);
  days_only.signature_age_days = 4;
  fake_.security_center().SetDefender(std::optional(days_only));
  r = Run({{"max_signature_age_hours", 72}});
  EXPECT_EQ(r.status, CheckStatus::kFail) << r.summary;
  EXPECT_NE(r.summary.find("4 day(s) old"), std::string::npos) << r.summary;

  auto off = Defender(20);
  off.antivirus_enabled = false;  // passive mode or turned off by policy
  fake_.security_center().SetDefender(std::optional(off));
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("AntivirusEnabled false"), std::string::npos) << r.summary;
}

TEST_F(AntivirusWindows, EveryApiMissingIsAnErrorWithTheCodes) {
  // What Wine gives: no source answers. Never a pass, never a silent fail.
  fake_.security_center().SetDefender(MakeError(
      ErrorCode::kUnavailable,
      "WMI ROOT\\Microsoft\\Windows\\Defender: WBEM_E_INVALID_NAMESPACE (HRESULT 0x8004100E)"));
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError);
  EXPECT_NE(r.summary.find("0x80040154"), std::string::npos) << r.summary;
  EXPECT_EQ(r.facts["sources"]["defender"]["hresult"], "0x8004100E");
  EXPECT_EQ(r.facts["engine"], "none");
}

TEST_F(AntivirusWindows, NothingRegisteredFails) {
  fake_.security_center().SetProducts(std::vector<platform::WscProduct>{});
  fake_.security_center().SetDefender(std::optional<platform::DefenderStatus>());
  const auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kFail);
  EXPECT_NE(r.summary.find("no antivirus product is registered"), std::string::npos);
}

TEST_F(AntivirusWindows, UnknownStatesAreUndecidedNotPassed) {
  fake_.security_center().SetProducts(
      std::vector<platform::WscProduct>{Wsc("Some Antivirus", 7, 1)});
  fake_.security_center().SetDefender(std::optional<platform::DefenderStatus>());
  auto r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;

  // Defender's instance without the enabled flags proves nothing about it running.
  platform::DefenderStatus bare;
  bare.signature_updated = FromUnixSeconds(kNowUnix) - std::chrono::hours(1);
  fake_.security_center().SetProducts(std::vector<platform::WscProduct>{});
  fake_.security_center().SetDefender(std::optional(bare));
  r = Run();
  EXPECT_EQ(r.status, CheckStatus::kError) << r.summary;
}

TEST_F(AntivirusWindows, LinuxPlatformKeepsTheLinuxSources) {
  auto linux_fake = platform::fake::MakeFakePlatform();  // no AddWindowsSources
  const auto section = PolicyWith(json::object());
  const auto r = AntivirusCheck().Evaluate(CheckContext{linux_fake.platform(), section});
  EXPECT_FALSE(r.facts["sources"].contains("security_center"));
  EXPECT_TRUE(r.facts["sources"].contains("packages"));
}

}  // namespace
}  // namespace cg::collectors

// platform/windows COM/WMI layer and its two clients (Security Center, Software Licensing)
// against the real APIs: under Wine they must either return data or fail with the HRESULT in
// the message, never crash; what they returned is printed for docs/windows.md.
#include "platform/windows/wmi.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "common/timeutil.h"
#include "platform/hresult.h"
#include "platform/windows/com.h"
#include "platform/windows/licensing.h"
#include "platform/windows/security_center.h"

namespace cg::platform::windows {
namespace {

// Every failure of these APIs must carry its code.
void ExpectDataOrHresult(const Error& error, const char* what) {
  EXPECT_TRUE(HresultOf(error).has_value()) << what << ": " << error.message;
  std::cout << what << ": error " << error.message << "\n";
}

TEST(CimDatetimeTest, ParsesWithTheOffset) {
  // Defender's AntivirusSignatureLastUpdated on a machine in Vietnam (UTC+7 = +420 minutes).
  auto t = ParseCimDatetime("20261202083000.000000+420");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(FormatRfc3339(*t), "2026-12-02T01:30:00Z");
  t = ParseCimDatetime("20261202013000.500000-060");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(ToUnixSeconds(*t), ToUnixSeconds(ParseRfc3339("2026-12-02T02:30:00Z").value()));
  EXPECT_FALSE(ParseCimDatetime("2026120208300.000000+420").ok());
  EXPECT_FALSE(ParseCimDatetime("2026****083000.000000+420").ok());
  EXPECT_FALSE(ParseCimDatetime("20261302083000.000000+420").ok());  // month 13
}

TEST(HresultErrorTest, CodeAndNameAreInTheMessage) {
  const Error e = HresultError("WMI ROOT\\SecurityCenter2", static_cast<HRESULT>(0x8004100E));
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_NE(e.message.find("WBEM_E_INVALID_NAMESPACE"), std::string::npos) << e.message;
  EXPECT_EQ(HresultOf(e), "0x8004100E");
  const Error c = HresultError("CoCreateInstance", REGDB_E_CLASSNOTREG);
  EXPECT_EQ(c.code, ErrorCode::kUnavailable);
  EXPECT_EQ(HresultOf(c), "0x80040154");
  EXPECT_EQ(HresultError("x", E_ACCESSDENIED).code, ErrorCode::kPermissionDenied);
}

TEST(WmiTest, QueriesAClassWineImplements) {
  // Win32_OperatingSystem exists on every Windows and in Wine's wbemprox.
  int rows = 0;
  std::string caption;
  const Status s =
      WmiQuery(L"ROOT\\CIMV2", L"SELECT Caption, BuildNumber FROM Win32_OperatingSystem",
               [&](const WmiObject& o) -> Status {
                 ++rows;
                 CG_ASSIGN_OR_RETURN(auto c, o.String(L"Caption"));
                 caption = c.value_or("");
                 // A property the query did not select is not there.
                 auto missing = o.String(L"NoSuchProperty");
                 EXPECT_FALSE(missing.ok());
                 if (!missing.ok()) {
                   EXPECT_TRUE(HresultOf(missing.error()).has_value());
                 }
                 return OkStatus();
               });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(rows, 1);
  EXPECT_FALSE(caption.empty());
  std::cout << "Win32_OperatingSystem.Caption: " << caption << "\n";
}

TEST(WmiTest, AMissingNamespaceIsAnErrorWithItsCode) {
  const Status s = WmiQuery(L"ROOT\\NoSuchNamespaceCounterGuard", L"SELECT * FROM Anything",
                            [](const WmiObject&) { return OkStatus(); });
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(HresultOf(s.error()).has_value()) << s.error().message;
}

// Wine's wbemprox has a one-row SoftwareLicensingProduct with only LicenseIsAddon and
// LicenseStatus (= 1, "Licensed") and no ApplicationID: an agent that read LicenseStatus
// without the application id would call Wine an activated Windows. Ours filters by
// ApplicationID in the query, which Wine refuses (WBEM_E_INVALID_QUERY, see below).
TEST(WmiTest, WinesSoftwareLicensingStubHasNoApplicationId) {
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr || GetProcAddress(ntdll, "wine_get_version") == nullptr) {
    GTEST_SKIP() << "what Wine implements; real Windows has the full class";
  }
  int rows = 0;
  const Status s = WmiQuery(
      L"ROOT\\CIMV2", L"SELECT * FROM SoftwareLicensingProduct", [&](const WmiObject& o) -> Status {
        ++rows;
        auto status = o.Uint32(L"LicenseStatus");
        EXPECT_TRUE(status.ok());
        if (status.ok() && status->has_value()) {
          std::cout << "Wine SoftwareLicensingProduct.LicenseStatus = " << **status << "\n";
        }
        auto app = o.String(L"ApplicationID");
        EXPECT_FALSE(app.ok());
        if (!app.ok()) {
          std::cout << "ApplicationID: " << app.error().message << "\n";
        }
        return OkStatus();
      });
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(rows, 1);
}

TEST(SecurityCenterLiveTest, DataOrAnErrorWithTheCode) {
  auto sc = CreateWindowsSecurityCenter();
  auto products = sc->Products();
  if (products.ok()) {
    std::cout << "IWSCProductList: " << products->size() << " product(s)\n";
    for (const auto& p : *products) {
      EXPECT_FALSE(p.name.empty());
    }
  } else {
    ExpectDataOrHresult(products.error(), "IWSCProductList");
  }
  auto wmi = sc->WmiProducts();
  if (wmi.ok()) {
    std::cout << "SecurityCenter2 AntiVirusProduct: " << wmi->size() << " instance(s)\n";
    for (const auto& p : *wmi) {
      std::cout << "  " << p.name << " productState " << p.product_state << "\n";
    }
  } else {
    ExpectDataOrHresult(wmi.error(), "SecurityCenter2 AntiVirusProduct");
  }
  auto defender = sc->Defender();
  if (defender.ok()) {
    std::cout << "MSFT_MpComputerStatus: " << (defender->has_value() ? "1" : "no") << " instance\n";
  } else {
    ExpectDataOrHresult(defender.error(), "MSFT_MpComputerStatus");
  }
}

TEST(LicensingLiveTest, DataOrAnErrorWithTheCode) {
  auto licensing = CreateWindowsLicensing();
  for (const auto service :
       {LicensingService::kSoftwareLicensing, LicensingService::kOfficeSoftwareProtection}) {
    const char* what = service == LicensingService::kSoftwareLicensing
                           ? "SoftwareLicensingProduct (Windows)"
                           : "OfficeSoftwareProtectionProduct (Windows id)";
    auto products = licensing->Products(service, kWindowsApplicationId);
    if (products.ok()) {
      std::cout << what << ": " << products->size() << " product(s) with a key\n";
      for (const auto& p : *products) {
        EXPECT_EQ(p.application_id, kWindowsApplicationId);
        EXPECT_FALSE(p.partial_key.empty());
      }
    } else {
      ExpectDataOrHresult(products.error(), what);
    }
  }
  // The id goes into WQL text: anything but a GUID is refused before any query.
  auto bad = licensing->Products(LicensingService::kSoftwareLicensing, "x' OR 1=1 --");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::platform::windows

// Windows and Office activation as the Software Licensing service reports it: WMI
// SoftwareLicensingProduct (Windows 7+, Office 2013+) and OfficeSoftwareProtectionProduct
// (Office 2010's own service, osppsvc). The implementation returns the products; collectors
// (os_license, office_license) judge them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::platform {

// Application ids of SoftwareLicensingProduct.ApplicationID.
inline constexpr std::string_view kWindowsApplicationId = "55c92734-d682-4d71-983e-d6ec3f16059f";
inline constexpr std::string_view kOfficeApplicationId = "0ff1ce15-a989-479d-af46-f275c6370663";
inline constexpr std::string_view kOffice2010ApplicationId = "59a52881-a989-479d-af46-f275c6370663";

enum class LicensingService {
  kSoftwareLicensing,         // SoftwareLicensingProduct (sppsvc)
  kOfficeSoftwareProtection,  // OfficeSoftwareProtectionProduct (osppsvc, Office 2010 MSI)
};

// LicenseStatus values (SoftwareLicensingProduct documentation).
enum class LicenseStatus : uint32_t {
  kUnlicensed = 0,
  kLicensed = 1,
  kOobGrace = 2,         // out-of-box grace: installed, never activated
  kOotGrace = 3,         // out-of-tolerance grace: hardware changed too much
  kNonGenuineGrace = 4,  // failed genuine validation
  kNotification = 5,     // grace over: reduced-functionality notifications
  kExtendedGrace = 6,
};

// One product that has a product key installed.
struct LicensingProduct {
  std::string id;                         // ID (the SKU GUID)
  std::string application_id;             // ApplicationID
  std::string name;                       // "Windows(R), Professional edition", "Office 19,
                                          // Office19ProPlus2019VL_KMS_Client_AE edition"
  std::string description;                // "Windows(R) Operating System, RETAIL channel"
  std::string partial_key;                // last five characters of the key
  uint32_t license_status = 0;            // LicenseStatus, raw (0-6 documented)
  std::optional<uint32_t> grace_minutes;  // GracePeriodRemaining
  std::optional<uint32_t> status_reason;  // LicenseStatusReason (an HRESULT)
  std::optional<bool> is_addon;           // LicenseIsAddon (ESU and other add-ons)
  std::string channel;      // ProductKeyChannel: "Retail", "OEM:DM", "Volume:GVLK", "Volume:MAK"
  std::string kms_machine;  // KeyManagementServiceMachine (set by hand or by a KMS tool)
  std::string source;       // "SoftwareLicensingProduct" or "OfficeSoftwareProtectionProduct"
};

class Licensing {
 public:
  virtual ~Licensing() = default;
  // The products of `application_id` that have a partial product key. Fails with the HRESULT
  // when the class or service is missing (OfficeSoftwareProtectionProduct without Office
  // 2010: WBEM_E_INVALID_CLASS) or returns objects without the documented properties (Wine).
  virtual Result<std::vector<LicensingProduct>> Products(LicensingService service,
                                                         std::string_view application_id) const = 0;
};

}  // namespace cg::platform

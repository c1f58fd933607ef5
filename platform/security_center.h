// The antivirus products Windows knows about, as its three management APIs report them:
// Windows Security Center (IWSCProductList, Windows 8+ clients), the WMI class it has kept
// since Vista (root\SecurityCenter2 AntiVirusProduct) and Microsoft Defender's own status
// (root\Microsoft\Windows\Defender MSFT_MpComputerStatus, the only one on Windows Server).
// The implementations return what the API returned; collectors/antivirus judges it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace cg::platform {

// WSC_SECURITY_PRODUCT_STATE (iwscapi.h): 0 on, 1 off, 2 snoozed, 3 expired.
enum class AvProductState { kOn, kOff, kSnoozed, kExpired, kUnknown };
// WSC_SECURITY_SIGNATURE_STATUS: 0 out of date, 1 up to date.
enum class AvSignatureStatus { kUpToDate, kOutOfDate, kUnknown };

// One IWscProduct of the antivirus provider list.
struct WscProduct {
  std::string name;  // ProductName, UTF-8 ("Kaspersky Endpoint Security", "Bkav Pro")
  AvProductState state = AvProductState::kUnknown;
  uint32_t raw_state = 0;  // the enum value as returned
  AvSignatureStatus signatures = AvSignatureStatus::kUnknown;
  uint32_t raw_signatures = 0;
  std::string state_timestamp;  // ProductStateTimestamp, as Windows formats it
};

// One instance of root\SecurityCenter2 AntiVirusProduct.
struct WmiAntivirusProduct {
  std::string name;            // displayName
  uint32_t product_state = 0;  // productState, an undocumented bit field (collectors decode it)
  std::string timestamp;       // timestamp
  std::string exe_path;        // pathToSignedProductExe
};

// MSFT_MpComputerStatus (Defender's WMI provider). Absent properties stay nullopt.
struct DefenderStatus {
  std::optional<bool> service_enabled;         // AMServiceEnabled
  std::optional<bool> antivirus_enabled;       // AntivirusEnabled
  std::optional<bool> realtime_enabled;        // RealTimeProtectionEnabled
  std::optional<uint32_t> signature_age_days;  // AntivirusSignatureAge
  std::optional<std::chrono::system_clock::time_point> signature_updated;  // ...LastUpdated
  std::string signature_version;         // AntivirusSignatureVersion
  std::string product_version;           // AMProductVersion
  std::optional<bool> tamper_protected;  // IsTamperProtected
};

class SecurityCenter {
 public:
  virtual ~SecurityCenter() = default;
  // The antivirus products registered with Security Center. Fails with the HRESULT where the
  // API is missing (Windows Server, Wine) or refuses.
  virtual Result<std::vector<WscProduct>> Products() const = 0;
  // The same products through WMI root\SecurityCenter2 (the fallback when the COM API fails).
  virtual Result<std::vector<WmiAntivirusProduct>> WmiProducts() const = 0;
  // Defender's status; nullopt when its namespace exists but reports no instance. Fails with
  // the HRESULT when the namespace is missing (Defender removed, Wine).
  virtual Result<std::optional<DefenderStatus>> Defender() const = 0;
};

}  // namespace cg::platform

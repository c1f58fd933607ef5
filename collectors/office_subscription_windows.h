// office_license on Windows: the Microsoft 365 (subscription) licensing state that Software
// Licensing does not report, read the way Microsoft's own diagnostic script vNextDiag.ps1
// reads it (the script Office installs beside its programs, in
// "Program Files\Microsoft Office\Office16", version 1.0.0; docs/windows.md says which values
// it documents and which it does not):
// - Shared Computer Licensing: the value SharedComputerLicensing in three HKLM keys,
//   "SOFTWARE\Microsoft\Office\ClickToRun\Configuration",
//   "SOFTWARE\Microsoft\Office\16.0\Common\Licensing" and the policy key
//   "SOFTWARE\Policies\Microsoft\Office\16.0\Common\Licensing"; 1 in any of them is
//   "Enabled", 0 "Disabled".
// - The licensing mode per ProductReleaseId, per user: in each user hive,
//   "Software\Microsoft\Office\16.0\Common\Licensing\LicensingNext", a value named after
//   the release id: 2 "vNext", 3 "Device", anything else "Legacy".
// - The vNext licence files: %LOCALAPPDATA%\Microsoft\Office\Licenses (per user) and
//   %PROGRAMDATA%\Microsoft\Office\Licenses (per device), UTF-16 JSON whose "License" is
//   base64 of a UTF-8 JSON licence; its state at a time is the script's: after
//   Metadata.NotAfter "RFM" (reduced functionality), else before ExpiresOn (or without one)
//   "Licensed", else "Grace".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "platform/platform.h"
#include "platform/registry.h"

namespace cg::collectors {

// One vNext licence file, decoded and judged at a time.
struct VNextLicence {
  std::string file;
  std::string scope;  // "user" or "device"
  std::string owner;  // the profile folder's name (user scope)
  std::string product_release_id;
  std::string licence_type;
  std::string entitlement_status;  // "Status", shown as the script shows it, not interpreted
  std::string expires_on;          // "ExpiresOn", as written ("" when absent)
  std::string not_after;           // "Metadata.NotAfter"
  std::string state;               // "Licensed", "Grace" or "RFM"; "" when undecided
  std::string undecided;           // why there is no state
  nlohmann::json Facts() const;
};

// Decodes one licence file's bytes as they are on disk and judges it at `now`. Dates must be
// RFC 3339 ("2026-01-31T00:00:00Z", fractions allowed); any other form leaves it undecided.
VNextLicence DecodeVNextLicence(std::string_view bytes, SysTime now);

// UTF-16LE (with or without a byte-order mark) to UTF-8; unpaired surrogates and an odd
// length are errors.
Result<std::string> Utf16LeToUtf8(std::string_view bytes);

struct OfficeSubscription {
  std::optional<bool> shared_computer_licensing;  // unset: no value, or none understood
  std::vector<VNextLicence> licences;             // every licence file found
  nlohmann::json facts = nlohmann::json::object();
};

// Reads all of the above for the subscription release ids Click-to-Run lists: every user
// profile in HKLM\...\ProfileList (logged on or not) and the machine's ProgramData.
OfficeSubscription ReadOfficeSubscription(const platform::Registry& registry,
                                          const platform::FileSystem& files,
                                          const std::vector<std::string>& release_ids, SysTime now);

// The verdict the licence files give for these release ids: true (a licence is Licensed and
// none is in Grace/RFM), false (one is in Grace or RFM), unset (none, or one undecided).
// `detail` says which licence decided, or why none did.
std::optional<bool> SubscriptionVerdict(const OfficeSubscription& s,
                                        const std::vector<std::string>& release_ids,
                                        std::string& detail);

}  // namespace cg::collectors

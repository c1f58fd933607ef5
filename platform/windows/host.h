// Host identity on Windows: computer name, MachineGuid, and the Windows version identified
// by build number and edition (never by the marketing ProductName alone, which still says
// "Windows 10" on Windows 11).
#pragma once

#include <cstdint>
#include <string>

#include "platform/platform.h"
#include "platform/registry.h"

namespace cg::platform::windows {

// What Windows reports about itself: RtlGetVersion (which, unlike GetVersionEx, is not
// subject to the application-manifest compatibility shim) and HKLM\SOFTWARE\Microsoft\Windows
// NT\CurrentVersion.
struct WindowsVersion {
  uint32_t major = 0;  // 10 on Windows 10, 11, Server 2016-2025
  uint32_t minor = 0;
  uint32_t build = 0;           // 19045 (10 22H2), 22631 (11 23H2), 20348 (Server 2022)
  uint32_t ubr = 0;             // update build revision ("UBR"), the monthly patch level
  bool server = false;          // ProductType != VER_NT_WORKSTATION
  std::string product_name;     // "Windows 10 Pro" (even on Windows 11)
  std::string edition_id;       // "Professional", "Enterprise", "Core", "ServerStandard"
  std::string display_version;  // "23H2"; empty before 20H2 (then ReleaseId)
};

// The first Windows 11 build.
inline constexpr uint32_t kFirstWindows11Build = 22000;

// "Windows 11 Pro" from the version: ProductName with "Windows 10" corrected to "Windows 11"
// on client builds >= 22000 (Microsoft left ProductName unchanged; its documented way to tell
// them apart is the build number).
std::string WindowsDisplayName(const WindowsVersion& version);

// The HostIdentity of a Windows machine: os_id "windows", os_version "10.0.<build>", kernel
// "10.0.<build>.<ubr>", os_name from WindowsDisplayName.
HostIdentity IdentityFromVersion(const WindowsVersion& version, std::string hostname,
                                 std::string machine_guid, std::string arch);

// Reads the version of the running system (RtlGetVersion + the CurrentVersion key).
Result<WindowsVersion> ReadWindowsVersion(const Registry& registry);

class WindowsHost final : public Host {
 public:
  explicit WindowsHost(const Registry& registry) : registry_(registry) {}
  Result<HostIdentity> Identity() const override;

 private:
  const Registry& registry_;
};

}  // namespace cg::platform::windows

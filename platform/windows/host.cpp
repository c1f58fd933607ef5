// Host identity from the computer name, the registry and RtlGetVersion.
#include "platform/windows/host.h"

#include <windows.h>

#include <string>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

extern "C" NTSYSAPI LONG NTAPI RtlGetVersion(PRTL_OSVERSIONINFOW info);

namespace cg::platform::windows {

namespace {

constexpr std::string_view kCurrentVersion = R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion)";
constexpr std::string_view kCryptography = R"(SOFTWARE\Microsoft\Cryptography)";

std::string ArchName(WORD arch) {
  switch (arch) {
    case PROCESSOR_ARCHITECTURE_AMD64:
      return "x86_64";
    case PROCESSOR_ARCHITECTURE_ARM64:
      return "arm64";
    case PROCESSOR_ARCHITECTURE_INTEL:
      return "x86";
    default:
      return "unknown";
  }
}

// An optional string value: absent is "", any other failure is an error.
Result<std::string> OptionalString(const Registry& registry, std::string_view name) {
  Result<std::string> value =
      registry.GetString(RegistryHive::kLocalMachine, kCurrentVersion, name);
  if (!value.ok() && value.error().code == ErrorCode::kNotFound) {
    return std::string();
  }
  return value;
}

}  // namespace

std::string WindowsDisplayName(const WindowsVersion& version) {
  std::string name = version.product_name;
  if (name.empty()) {
    name = version.server ? "Windows Server" : "Windows";
  }
  constexpr std::string_view kTen = "Windows 10";
  if (!version.server && version.build >= kFirstWindows11Build && name.starts_with(kTen)) {
    name.replace(0, kTen.size(), "Windows 11");
  }
  return name;
}

HostIdentity IdentityFromVersion(const WindowsVersion& version, std::string hostname,
                                 std::string machine_guid, std::string arch) {
  HostIdentity id;
  id.hostname = std::move(hostname);
  id.machine_id = std::move(machine_guid);
  id.os_name = WindowsDisplayName(version);
  id.os_id = "windows";
  const std::string base = std::to_string(version.major) + "." + std::to_string(version.minor) +
                           "." + std::to_string(version.build);
  id.os_version = base;
  id.kernel = base + "." + std::to_string(version.ubr);
  id.arch = std::move(arch);
  return id;
}

Result<WindowsVersion> ReadWindowsVersion(const Registry& registry) {
  RTL_OSVERSIONINFOEXW info{};
  info.dwOSVersionInfoSize = sizeof info;
  const LONG status = RtlGetVersion(reinterpret_cast<PRTL_OSVERSIONINFOW>(&info));
  if (status != 0) {
    return MakeError(ErrorCode::kIo, "RtlGetVersion: NTSTATUS " + std::to_string(status));
  }
  WindowsVersion v;
  v.major = info.dwMajorVersion;
  v.minor = info.dwMinorVersion;
  v.build = info.dwBuildNumber;
  v.server = info.wProductType != VER_NT_WORKSTATION;

  Result<uint64_t> ubr = registry.GetNumber(RegistryHive::kLocalMachine, kCurrentVersion, "UBR");
  if (ubr.ok()) {
    v.ubr = static_cast<uint32_t>(*ubr);
  } else if (ubr.error().code != ErrorCode::kNotFound) {
    return ubr.error();
  }
  CG_ASSIGN_OR_RETURN(v.product_name, OptionalString(registry, "ProductName"));
  CG_ASSIGN_OR_RETURN(v.edition_id, OptionalString(registry, "EditionID"));
  CG_ASSIGN_OR_RETURN(v.display_version, OptionalString(registry, "DisplayVersion"));
  return v;
}

Result<HostIdentity> WindowsHost::Identity() const {
  CG_ASSIGN_OR_RETURN(WindowsVersion version, ReadWindowsVersion(registry_));

  std::wstring name(256, L'\0');
  DWORD length = static_cast<DWORD>(name.size());
  if (!GetComputerNameExW(ComputerNameDnsHostname, name.data(), &length)) {
    return LastWin32Error("GetComputerNameExW");
  }
  CG_ASSIGN_OR_RETURN(std::string hostname, WideToUtf8(std::wstring_view(name.data(), length)));

  // MachineGuid is created at setup and survives renames; a missing one is a broken install.
  Result<std::string> guid =
      registry_.GetString(RegistryHive::kLocalMachine, kCryptography, "MachineGuid");
  if (!guid.ok()) {
    return guid.error().Wrap("machine id");
  }

  SYSTEM_INFO system{};
  GetNativeSystemInfo(&system);
  return IdentityFromVersion(version, std::move(hostname), std::move(*guid),
                             ArchName(system.wProcessorArchitecture));
}

}  // namespace cg::platform::windows

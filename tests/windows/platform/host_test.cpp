// Windows identified by build number and edition; the live identity read under Wine or
// Windows.
#include "platform/windows/host.h"

#include <gtest/gtest.h>

#include <regex>

#include "platform/windows/registry.h"

namespace cg::platform::windows {
namespace {

struct NameCase {
  const char* what;
  WindowsVersion version;
  const char* expected;
};

// Values as real installations report them: RtlGetVersion's build and ProductType, and the
// CurrentVersion key's ProductName/EditionID/DisplayVersion (Windows 11 keeps "Windows 10"
// in ProductName: Microsoft's documented way to tell 11 from 10 is build >= 22000).
TEST(WindowsDisplayNameTest, BuildNumberDecidesTenOrEleven) {
  const NameCase cases[] = {
      {"Windows 11 Pro 23H2",
       {10, 0, 22631, 3007, false, "Windows 10 Pro", "Professional", "23H2"},
       "Windows 11 Pro"},
      {"Windows 11 Home 21H2 (first 11 build)",
       {10, 0, 22000, 194, false, "Windows 10 Home", "Core", "21H2"},
       "Windows 11 Home"},
      {"Windows 10 Pro 22H2",
       {10, 0, 19045, 3930, false, "Windows 10 Pro", "Professional", "22H2"},
       "Windows 10 Pro"},
      {"Windows 10 Enterprise LTSC 2021",
       {10, 0, 19044, 4046, false, "Windows 10 Enterprise LTSC 2021", "EnterpriseS", "21H2"},
       "Windows 10 Enterprise LTSC 2021"},
      {"Server 2022: ProductName is right and must not be rewritten",
       {10, 0, 20348, 2227, true, "Windows Server 2022 Standard", "ServerStandard", "21H2"},
       "Windows Server 2022 Standard"},
      {"Server 2025 has a build above 22000",
       {10, 0, 26100, 1742, true, "Windows Server 2025 Standard", "ServerStandard", "24H2"},
       "Windows Server 2025 Standard"},
      {"no ProductName", {10, 0, 19045, 0, false, "", "", ""}, "Windows"},
  };
  for (const NameCase& c : cases) {
    EXPECT_EQ(WindowsDisplayName(c.version), c.expected) << c.what;
  }
}

TEST(WindowsDisplayNameTest, IdentityCarriesBuildAndPatchLevel) {
  const WindowsVersion v{10, 0, 22631, 3007, false, "Windows 10 Pro", "Professional", "23H2"};
  const HostIdentity id =
      IdentityFromVersion(v, "may-tinh-mot-cua", "3f1c2e4a-0000-4000-8000-000000000001", "x86_64");
  EXPECT_EQ(id.os_id, "windows");
  EXPECT_EQ(id.os_name, "Windows 11 Pro");
  EXPECT_EQ(id.os_version, "10.0.22631");
  EXPECT_EQ(id.kernel, "10.0.22631.3007");
  EXPECT_EQ(id.hostname, "may-tinh-mot-cua");
  EXPECT_EQ(id.machine_id, "3f1c2e4a-0000-4000-8000-000000000001");
}

TEST(WindowsHostTest, LiveIdentity) {
  WindowsRegistry registry;
  Result<WindowsVersion> version = ReadWindowsVersion(registry);
  ASSERT_TRUE(version.ok()) << version.error().ToString();
  EXPECT_EQ(version->major, 10u);  // Wine, like the agent's supported systems, says 10.0

  WindowsHost host(registry);
  Result<HostIdentity> id = host.Identity();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->os_id, "windows");
  EXPECT_FALSE(id->hostname.empty());
  EXPECT_TRUE(std::regex_match(id->machine_id,
                               std::regex("[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")))
      << id->machine_id;
  EXPECT_EQ(id->os_version,
            "10." + std::to_string(version->minor) + "." + std::to_string(version->build));
  EXPECT_EQ(id->arch, "x86_64");
  std::printf("identity: %s | %s | %s | %s | edition %s\n", id->os_name.c_str(),
              id->os_version.c_str(), id->kernel.c_str(), id->machine_id.c_str(),
              version->edition_id.c_str());
}

}  // namespace
}  // namespace cg::platform::windows

// Which HKEY_USERS subkeys are people's hives; the live list under Wine/Windows.
#include "platform/windows/user_hives.h"

#include <gtest/gtest.h>

#include "platform/windows/registry.h"

namespace cg::platform::windows {
namespace {

TEST(UserHivesTest, OnlyUserSids) {
  // HKEY_USERS of a Windows 11 PC with one local and one Entra ID user logged on.
  struct Case {
    const char* name;
    bool user;
  };
  const Case cases[] = {
      {".DEFAULT", false},
      {"S-1-5-18", false},  // SYSTEM
      {"S-1-5-19", false},  // LOCAL SERVICE
      {"S-1-5-20", false},  // NETWORK SERVICE
      {"S-1-5-21-3623811015-3361044348-30300820-1001", true},
      {"S-1-5-21-3623811015-3361044348-30300820-1001_Classes", false},
      {"S-1-12-1-1234567890-1234567890-1234567890-1234567890", true},
      {"S-1-5-21-", false},
      {"S-1-5-21-12x", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsUserHiveName(c.name), c.user) << c.name;
  }
}

TEST(UserHivesTest, LiveHivesIncludeTheCurrentUser) {
  WindowsRegistry registry;
  Result<std::vector<std::string>> hives = LoadedUserHives(registry);
  ASSERT_TRUE(hives.ok()) << hives.error().ToString();
  ASSERT_FALSE(hives->empty());
  for (const std::string& sid : *hives) {
    EXPECT_TRUE(IsUserHiveName(sid)) << sid;
    // Each is a hive with the per-user desktop settings key the screen-lock check reads.
    EXPECT_TRUE(registry.ListSubkeys(RegistryHive::kUsers, sid + "\\Control Panel").ok()) << sid;
  }
}

}  // namespace
}  // namespace cg::platform::windows

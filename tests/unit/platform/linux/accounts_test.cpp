// LinuxAccounts: the account files read through a FileSystem (here the in-memory fake) and
// merged into the OS-neutral AccountDatabase; their problems are issues, an unreadable shadow
// file is the error.
#include "platform/linux/accounts.h"

#include <gtest/gtest.h>

#include "platform/fake/fake_platform.h"

namespace cg::platform::linux_ {
namespace {

TEST(LinuxAccounts, ReadsTheAccountFilesThroughTheFileSystem) {
  fake::FakeFileSystem fs;
  fs.AddFile("/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n");
  fs.AddFile("/etc/shadow", "alice:$6$s$h:20700:0:90:7:::\n+::::::::\n", 0640);
  fs.AddFile("/etc/login.defs", "PASS_MAX_DAYS 90\nUID_MIN 1000\n");
  const LinuxAccounts accounts(fs);
  auto db = accounts.Read();
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  ASSERT_EQ(db->accounts.size(), 1u);
  EXPECT_EQ(db->accounts[0].max_days, 90);
  EXPECT_EQ(db->defaults.pass_max_days, 90);
  ASSERT_EQ(db->issues.size(), 1u);
  EXPECT_EQ(db->issues[0].source, "/etc/shadow:2");

  fs.SetError("/etc/shadow",
              MakeError(ErrorCode::kPermissionDenied, "read /etc/shadow: Permission denied"));
  auto denied = accounts.Read();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace cg::platform::linux_

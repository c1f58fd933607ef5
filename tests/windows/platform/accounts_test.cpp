// NetUser* results mapped to the OS-neutral account view, and the live read.
#include "platform/windows/accounts.h"

// clang-format off
#include <windows.h>
#include <lm.h>
// clang-format on

#include <gtest/gtest.h>

#include <algorithm>
#include <cwchar>

namespace cg::platform::windows {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;

// 2026-03-01T12:00:00Z = day 20513 since 1970-01-01.
const system_clock::time_point kNow = system_clock::time_point(std::chrono::seconds(1772366400));
constexpr int64_t kToday = 20513;
constexpr uint32_t kDay = 86400;

// A standalone Windows 10/11 as installed: NetUserModalsGet level 0 gives the default
// "Maximum password age" of 42 days and minimum 0 (learn.microsoft.com, security policy
// settings "Maximum password age": default 42 days on stand-alone servers and workstations).
// usri3_flags of the built-in accounts as `NetUserGetInfo` returns them on such a machine:
// Administrator 0x10203 (UF_SCRIPT | UF_ACCOUNTDISABLE | UF_NORMAL_ACCOUNT |
// UF_DONT_EXPIRE_PASSWD), Guest 0x10223 (+ UF_PASSWD_NOTREQD), the setup user 0x201.
const NetUserModalsRecord kDefaultModals{42 * kDay, 0};

TEST(AccountsFromNetUserTest, FreshInstallation) {
  const std::vector<NetUserRecord> users = {
      {"Administrator", 500, 0x10203, 30 * kDay, false, TIMEQ_FOREVER, ""},
      {"Guest", 501, 0x10223, 0, false, TIMEQ_FOREVER, ""},
      {"Nguyễn Văn Ánh", 1001, 0x201, 10 * kDay + 3600, false, TIMEQ_FOREVER,
       "C:\\Users\\Nguyễn Văn Ánh"},
  };
  const AccountDatabase db = AccountsFromNetUser(users, kDefaultModals, kNow);
  EXPECT_EQ(db.defaults.pass_max_days, 42);
  EXPECT_EQ(db.defaults.pass_min_days, 0);
  EXPECT_EQ(db.defaults.uid_min, 500);
  ASSERT_EQ(db.accounts.size(), 3u);

  const LocalAccount& admin = db.accounts[0];
  EXPECT_EQ(admin.uid, 500u);
  EXPECT_EQ(db.store, AccountStore::kWindowsSam);
  EXPECT_EQ(admin.password, PasswordState::kLocked);  // disabled
  EXPECT_FALSE(admin.max_days.has_value());           // UF_DONT_EXPIRE_PASSWD
  EXPECT_TRUE(admin.password_never_expires);
  EXPECT_EQ(admin.last_change_day, kToday - 30);

  EXPECT_EQ(db.accounts[1].password, PasswordState::kLocked);

  const LocalAccount& clerk = db.accounts[2];
  EXPECT_EQ(clerk.name, "Nguyễn Văn Ánh");
  EXPECT_EQ(clerk.uid, 1001u);
  EXPECT_EQ(clerk.password, PasswordState::kUsable);
  EXPECT_TRUE(clerk.login_shell);
  EXPECT_EQ(clerk.max_days, 42);
  EXPECT_FALSE(clerk.password_never_expires);
  EXPECT_EQ(clerk.last_change_day, kToday - 10);  // 10 d 1 h before noon: that morning
  EXPECT_EQ(clerk.home, "C:\\Users\\Nguyễn Văn Ánh");
  EXPECT_FALSE(clerk.expire_day.has_value());
}

TEST(AccountsFromNetUserTest, ExpiredPasswordLockoutAndAccountExpiry) {
  const NetUserModalsRecord modals{90 * kDay, kDay};
  const std::vector<NetUserRecord> users = {
      {"must-change", 1002, 0x201, 5 * kDay, true, TIMEQ_FOREVER, ""},
      {"locked-out", 1003, 0x201 | UF_LOCKOUT, kDay, false, TIMEQ_FOREVER, ""},
      {"contractor", 1004, 0x201, kDay, false, static_cast<uint32_t>(kToday - 2) * kDay, ""},
  };
  const AccountDatabase db = AccountsFromNetUser(users, modals, kNow);
  ASSERT_EQ(db.accounts.size(), 3u);
  EXPECT_EQ(db.accounts[0].last_change_day, 0);  // change at next logon
  EXPECT_EQ(db.accounts[0].max_days, 90);
  EXPECT_EQ(db.accounts[0].min_days, 1);
  // A lockout (too many wrong passwords) ends by itself: the password is still in use and
  // judged.
  EXPECT_EQ(db.accounts[1].password, PasswordState::kUsable);
  EXPECT_EQ(db.accounts[2].expire_day, kToday - 2);
}

TEST(AccountsFromNetUserTest, NoMachineMaximum) {
  // "Password never expires" as a machine policy: NetUserModalsGet gives TIMEQ_FOREVER.
  const AccountDatabase db =
      AccountsFromNetUser({{"clerk", 1001, 0x201, kDay, false, TIMEQ_FOREVER, ""}},
                          NetUserModalsRecord{TIMEQ_FOREVER, 0}, kNow);
  EXPECT_FALSE(db.defaults.pass_max_days.has_value());
  ASSERT_EQ(db.accounts.size(), 1u);
  EXPECT_FALSE(db.accounts[0].max_days.has_value());
}

// ProfileList of a domain-joined counter PC: the machine's own accounts (its account domain
// S-1-5-21-1004336348-1177238915-682003330), a domain user, an Entra ID user, and SYSTEM's
// profile (S-1-5-18, always in the list).
TEST(DirectoryAccountsFromProfilesTest, OnlyAccountsFromOtherDomainsAndEntra) {
  const std::string machine = "S-1-5-21-1004336348-1177238915-682003330";
  const std::vector<ProfileRecord> profiles = {
      {"S-1-5-18", "%systemroot%\\system32\\config\\systemprofile"},
      {machine + "-1001", "C:\\Users\\Nguyễn Văn Ánh"},
      {"S-1-5-21-3623811015-3361044348-30300820-1013", "C:\\Users\\tran.thi.bich"},
      {"S-1-12-1-1871212345-1234567890-987654321-1122334455", "C:\\Users\\LeVanCuong"},
  };
  const std::vector<DirectoryAccount> out = DirectoryAccountsFromProfiles(profiles, machine);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "tran.thi.bich");
  EXPECT_EQ(out[0].sid, "S-1-5-21-3623811015-3361044348-30300820-1013");
  EXPECT_EQ(out[0].directory, "Active Directory domain");
  EXPECT_EQ(out[1].name, "LeVanCuong");
  EXPECT_EQ(out[1].directory, "Microsoft Entra ID");
}

}  // namespace
}  // namespace cg::platform::windows

namespace cg::platform::windows {
namespace {

class FixedClock final : public Clock {
 public:
  system_clock::time_point Now() const override { return kNow; }
  std::chrono::minutes UtcOffset() const override { return std::chrono::minutes(420); }
};

std::string CurrentUserName() {
  wchar_t name[UNLEN + 1] = {};
  DWORD size = UNLEN + 1;
  EXPECT_TRUE(GetUserNameW(name, &size));
  return std::string(name, name + wcslen(name));  // ASCII in the test environment
}

TEST(WindowsAccountsTest, LocalUserNamesIncludeTheCurrentUser) {
  Result<std::vector<std::string>> names = ListLocalUserNames();
  ASSERT_TRUE(names.ok()) << names.error().ToString();
  if (RunningUnderWine()) {
    // Wine's SAM is the Unix user running it, as a local account.
    EXPECT_NE(std::find(names->begin(), names->end(), CurrentUserName()), names->end());
  } else {
    EXPECT_FALSE(names->empty());  // Administrator exists on every Windows
  }
}

// Wine 8 implements NetUserModalsGet for no level the agent needs and NetUserGetInfo only
// for levels 0, 1 and 10: both return NERR_InternalError (2140). The read must fail with the
// API and its code (the check then reports `error`), never return a database it guessed.
TEST(WindowsAccountsTest, LiveReadOrTheApisCode) {
  FixedClock clock;
  WindowsAccounts accounts(clock);
  Result<AccountDatabase> db = accounts.Read();
  if (RunningUnderWine()) {
    ASSERT_FALSE(db.ok());
    EXPECT_NE(db.error().message.find("NetUserModalsGet(level 0)"), std::string::npos)
        << db.error().message;
    EXPECT_NE(db.error().message.find("(Win32 error 2140)"), std::string::npos)
        << db.error().message;
  } else {
    ASSERT_TRUE(db.ok()) << db.error().ToString();
    EXPECT_FALSE(db->accounts.empty());
  }
}

// Enforcement never reaches Wine's netapi32: NetUserModalsSet is not there at all (calling it
// aborts the process) and NetUserSetInfo is not implemented. On Windows the calls are not
// made by this test either: it would change the machine's password policy.
TEST(WindowsAccountsTest, EnforcementUnderWineIsRefusedWithoutCallingTheApi) {
  if (!RunningUnderWine()) {
    GTEST_SKIP() << "changes the machine's password policy; tested under Wine only";
  }
  FixedClock clock;
  WindowsAccounts accounts(clock);
  const Status max = accounts.SetMaxPasswordDays(90);
  ASSERT_FALSE(max.ok());
  EXPECT_EQ(max.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(max.error().message.find("NetUserModalsSet"), std::string::npos);
  const Status flag = accounts.SetPasswordNeverExpires(CurrentUserName(), false);
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cg::platform::windows

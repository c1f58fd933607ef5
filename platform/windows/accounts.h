// Local accounts on Windows: NetUserEnum for the names, NetUserGetInfo (level 3) for each
// account's flags and password age, NetUserModalsGet (level 0) for the machine's maximum
// password age. Only the local SAM is judged: profiles of domain (and Entra ID) accounts, from
// the ProfileList, are reported as governed by their directory. Enforcement: NetUserModalsSet
// (level 1002, the maximum age) and NetUserSetInfo (level 1008, the flags).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/platform.h"
#include "platform/windows/registry.h"

namespace cg::platform::windows {

// The USER_INFO_3 fields the mapping uses.
struct NetUserRecord {
  std::string name;
  uint32_t rid = 0;                   // usri3_user_id: 500 Administrator, 501 Guest, >= 1000 users
  uint32_t flags = 0;                 // usri3_flags (UF_*)
  uint32_t password_age_seconds = 0;  // usri3_password_age
  bool password_expired = false;      // usri3_password_expired
  uint32_t account_expires = 0;       // usri3_acct_expires, seconds since 1970 or TIMEQ_FOREVER
  std::string home_dir;               // usri3_home_dir
};

// The USER_MODALS_INFO_0 fields the mapping uses (seconds, TIMEQ_FOREVER = no limit).
struct NetUserModalsRecord {
  uint32_t max_password_age = 0;
  uint32_t min_password_age = 0;
};

// Windows' lowest RID of an account a person logs on with (the built-in Administrator);
// Guest (501), DefaultAccount (503) and WDAGUtilityAccount (504) are disabled by default and
// so reported as locked, not judged.
inline constexpr int64_t kFirstInteractiveRid = 500;

// The OS-neutral view: uid = RID; a disabled account (UF_ACCOUNTDISABLE) is kLocked, any other
// kUsable — a locked-out one too: lockout ends by itself, the password stays in use (Windows
// does not reveal whether a password is empty); last_change_day from the password age (0 when
// the password has expired and must be changed at the next logon); max_days from the
// machine's maximum unless UF_DONT_EXPIRE_PASSWD (then none, password_never_expires);
// login_shell true (every normal account can log on interactively unless disabled).
AccountDatabase AccountsFromNetUser(const std::vector<NetUserRecord>& users,
                                    const NetUserModalsRecord& modals,
                                    std::chrono::system_clock::time_point now);

// A user profile from HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList.
struct ProfileRecord {
  std::string sid;
  std::string path;  // ProfileImagePath, "C:\Users\<name>"
};

// The profiles of accounts a directory governs: user SIDs (platform::IsUserHiveName) outside
// the machine's own account domain `machine_sid` ("S-1-5-21-a-b-c"), named after their
// profile folder. S-1-12-1-... is Microsoft Entra ID; any other domain an Active Directory one.
std::vector<DirectoryAccount> DirectoryAccountsFromProfiles(
    const std::vector<ProfileRecord>& profiles, std::string_view machine_sid);

// The names of the local SAM's normal accounts (NetUserEnum level 0).
Result<std::vector<std::string>> ListLocalUserNames();

// True when running under Wine (ntdll exports wine_get_version).
bool RunningUnderWine();

class WindowsAccounts final : public Accounts {
 public:
  explicit WindowsAccounts(const Clock& clock) : clock_(clock) {}
  // An error carries the failing API and its code (Wine stubs NetUserModalsGet level 0).
  // An account that disappears between NetUserEnum and NetUserGetInfo is left out; any
  // other per-account failure becomes an AccountIssue, as does a ProfileList that cannot be
  // read (the directory accounts would be missing).
  Result<AccountDatabase> Read() const override;
  // NetUserModalsSet level 1002. Under Wine kUnavailable without calling it: Wine 8 has no
  // NetUserModalsSet at all, calling it aborts the process.
  Status SetMaxPasswordDays(std::optional<int64_t> days) override;
  // NetUserGetInfo level 1 for the flags, NetUserSetInfo level 1008 with UF_DONT_EXPIRE_PASSWD
  // set or cleared. Under Wine kUnavailable without calling it (not implemented there).
  Status SetPasswordNeverExpires(std::string_view account, bool never_expires) override;

 private:
  const Clock& clock_;
  WindowsRegistry registry_;  // the ProfileList
};

}  // namespace cg::platform::windows

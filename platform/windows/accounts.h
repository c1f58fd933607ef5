// Local accounts on Windows: NetUserEnum for the names, NetUserGetInfo (level 3) for each
// account's flags and password age, NetUserModalsGet (level 0) for the machine's maximum
// password age. Only the local SAM: domain accounts are governed by the domain's policy.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/platform.h"

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

// The OS-neutral view: uid = RID; a disabled or locked-out account is kLocked, any other
// kUsable (Windows does not reveal whether a password is empty); last_change_day from the
// password age (0 when the password has expired and must be changed at the next logon);
// max_days from the machine's maximum unless UF_DONT_EXPIRE_PASSWD (then none);
// login_shell true (every normal account can log on interactively unless disabled).
AccountDatabase AccountsFromNetUser(const std::vector<NetUserRecord>& users,
                                    const NetUserModalsRecord& modals,
                                    std::chrono::system_clock::time_point now);

// The names of the local SAM's normal accounts (NetUserEnum level 0).
Result<std::vector<std::string>> ListLocalUserNames();

class WindowsAccounts final : public Accounts {
 public:
  explicit WindowsAccounts(const Clock& clock) : clock_(clock) {}
  // An error carries the failing API and its code (Wine stubs NetUserModalsGet level 0).
  // An account that disappears between NetUserEnum and NetUserGetInfo is left out; any
  // other per-account failure becomes an AccountIssue.
  Result<AccountDatabase> Read() const override;

 private:
  const Clock& clock_;
};

}  // namespace cg::platform::windows

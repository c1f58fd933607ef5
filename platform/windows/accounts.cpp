// NetUser* -> AccountDatabase.
#include "platform/windows/accounts.h"

// clang-format off
#include <windows.h>
#include <lm.h>
// clang-format on

#include <memory>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

namespace {

constexpr int64_t kSecondsPerDay = 86400;

struct NetBufferDeleter {
  void operator()(void* p) const { NetApiBufferFree(p); }
};
template <typename T>
using NetBuffer = std::unique_ptr<T, NetBufferDeleter>;

Result<std::string> Utf8(const wchar_t* text) {
  return text == nullptr ? Result<std::string>(std::string()) : WideToUtf8(text);
}

}  // namespace

AccountDatabase AccountsFromNetUser(const std::vector<NetUserRecord>& users,
                                    const NetUserModalsRecord& modals,
                                    std::chrono::system_clock::time_point now) {
  const int64_t now_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  auto days = [](uint32_t seconds) -> std::optional<int64_t> {
    if (seconds == TIMEQ_FOREVER) {
      return std::nullopt;
    }
    return static_cast<int64_t>(seconds) / kSecondsPerDay;
  };

  AccountDatabase db;
  db.defaults.pass_max_days = days(modals.max_password_age);
  db.defaults.pass_min_days = days(modals.min_password_age);
  db.defaults.uid_min = kFirstInteractiveRid;
  db.defaults.uid_max = INT32_MAX;
  for (const NetUserRecord& u : users) {
    LocalAccount a;
    a.name = u.name;
    a.uid = u.rid;
    a.home = u.home_dir;
    a.login_shell = true;
    a.password = (u.flags & (UF_ACCOUNTDISABLE | UF_LOCKOUT)) != 0 ? PasswordState::kLocked
                                                                   : PasswordState::kUsable;
    if (u.password_expired) {
      a.last_change_day = 0;
    } else {
      a.last_change_day =
          (now_seconds - static_cast<int64_t>(u.password_age_seconds)) / kSecondsPerDay;
    }
    if ((u.flags & UF_DONT_EXPIRE_PASSWD) == 0) {
      a.max_days = days(modals.max_password_age);
    }
    a.min_days = days(modals.min_password_age);
    if (u.account_expires != TIMEQ_FOREVER) {
      a.expire_day = static_cast<int64_t>(u.account_expires) / kSecondsPerDay;
    }
    db.accounts.push_back(std::move(a));
  }
  return db;
}

Result<std::vector<std::string>> ListLocalUserNames() {
  std::vector<std::string> names;
  DWORD resume = 0;
  NET_API_STATUS rc = ERROR_MORE_DATA;
  while (rc == ERROR_MORE_DATA) {
    LPBYTE raw = nullptr;
    DWORD read = 0;
    DWORD total = 0;
    rc = NetUserEnum(nullptr, 0, FILTER_NORMAL_ACCOUNT, &raw, MAX_PREFERRED_LENGTH, &read, &total,
                     &resume);
    NetBuffer<USER_INFO_0> buffer(reinterpret_cast<USER_INFO_0*>(raw));
    if (rc != NERR_Success && rc != ERROR_MORE_DATA) {
      return Win32Error("NetUserEnum", rc);
    }
    for (DWORD i = 0; i < read; ++i) {
      CG_ASSIGN_OR_RETURN(std::string name, Utf8(buffer.get()[i].usri0_name));
      names.push_back(std::move(name));
    }
  }
  return names;
}

Result<AccountDatabase> WindowsAccounts::Read() const {
  LPBYTE raw = nullptr;
  NET_API_STATUS rc = NetUserModalsGet(nullptr, 0, &raw);
  NetBuffer<USER_MODALS_INFO_0> modals_buffer(reinterpret_cast<USER_MODALS_INFO_0*>(raw));
  if (rc != NERR_Success) {
    return Win32Error("NetUserModalsGet(level 0)", rc);
  }
  const NetUserModalsRecord modals{modals_buffer->usrmod0_max_passwd_age,
                                   modals_buffer->usrmod0_min_passwd_age};

  CG_ASSIGN_OR_RETURN(std::vector<std::string> names, ListLocalUserNames());
  std::vector<NetUserRecord> users;
  std::vector<AccountIssue> issues;
  for (const std::string& name : names) {
    CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(name));
    raw = nullptr;
    rc = NetUserGetInfo(nullptr, wide.c_str(), 3, &raw);
    NetBuffer<USER_INFO_3> info(reinterpret_cast<USER_INFO_3*>(raw));
    if (rc == NERR_UserNotFound) {
      continue;  // deleted since NetUserEnum
    }
    if (rc != NERR_Success) {
      // Level 3 is what every Windows since NT answers; a system that cannot answer for one
      // account cannot be judged on it.
      issues.push_back(AccountIssue{"NetUserGetInfo", Win32Error(name, rc).message});
      continue;
    }
    NetUserRecord u;
    u.name = name;
    u.rid = info->usri3_user_id;
    u.flags = info->usri3_flags;
    u.password_age_seconds = info->usri3_password_age;
    u.password_expired = info->usri3_password_expired != 0;
    u.account_expires = info->usri3_acct_expires;
    CG_ASSIGN_OR_RETURN(u.home_dir, Utf8(info->usri3_home_dir));
    users.push_back(std::move(u));
  }
  AccountDatabase db = AccountsFromNetUser(users, modals, clock_.Now());
  db.issues = std::move(issues);
  return db;
}

}  // namespace cg::platform::windows

// NetUser* -> AccountDatabase.
#include "platform/windows/accounts.h"

// clang-format off
#include <windows.h>
#include <lm.h>
#include <ntsecapi.h>
#include <sddl.h>
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
  db.store = AccountStore::kWindowsSam;
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
    a.password =
        (u.flags & UF_ACCOUNTDISABLE) != 0 ? PasswordState::kLocked : PasswordState::kUsable;
    if (u.password_expired) {
      a.last_change_day = 0;
    } else {
      a.last_change_day =
          (now_seconds - static_cast<int64_t>(u.password_age_seconds)) / kSecondsPerDay;
    }
    a.password_never_expires = (u.flags & UF_DONT_EXPIRE_PASSWD) != 0;
    if (!a.password_never_expires) {
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

std::vector<DirectoryAccount> DirectoryAccountsFromProfiles(
    const std::vector<ProfileRecord>& profiles, std::string_view machine_sid) {
  std::vector<DirectoryAccount> out;
  const std::string local_prefix = std::string(machine_sid) + "-";
  for (const ProfileRecord& p : profiles) {
    if (!IsUserHiveName(p.sid) || (!machine_sid.empty() && p.sid.starts_with(local_prefix))) {
      continue;
    }
    const size_t slash = p.path.find_last_of("\\/");
    out.push_back(DirectoryAccount{
        slash == std::string::npos ? p.path : p.path.substr(slash + 1), p.sid,
        p.sid.starts_with("S-1-12-1-") ? "Microsoft Entra ID" : "Active Directory domain"});
  }
  return out;
}

bool RunningUnderWine() {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  return ntdll != nullptr && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

namespace {

struct LsaHandleCloser {
  void operator()(LSA_HANDLE h) const { LsaClose(h); }
};
struct LsaMemoryDeleter {
  void operator()(void* p) const { LsaFreeMemory(p); }
};
struct LocalMemoryDeleter {
  void operator()(void* p) const { LocalFree(p); }
};

// "S-1-5-21-a-b-c": the SID of the machine's own account domain (the local SAM).
Result<std::string> MachineAccountDomainSid() {
  LSA_OBJECT_ATTRIBUTES attributes = {};
  LSA_HANDLE raw = nullptr;
  NTSTATUS status = LsaOpenPolicy(nullptr, &attributes, POLICY_VIEW_LOCAL_INFORMATION, &raw);
  if (status != 0) {
    return Win32Error("LsaOpenPolicy", LsaNtStatusToWinError(status));
  }
  const std::unique_ptr<void, LsaHandleCloser> policy(raw);
  void* info_raw = nullptr;
  status = LsaQueryInformationPolicy(raw, PolicyAccountDomainInformation, &info_raw);
  if (status != 0) {
    return Win32Error("LsaQueryInformationPolicy(PolicyAccountDomainInformation)",
                      LsaNtStatusToWinError(status));
  }
  const std::unique_ptr<void, LsaMemoryDeleter> info(info_raw);
  LPWSTR text = nullptr;
  if (!ConvertSidToStringSidW(static_cast<POLICY_ACCOUNT_DOMAIN_INFO*>(info_raw)->DomainSid,
                              &text)) {
    return LastWin32Error("ConvertSidToStringSidW");
  }
  const std::unique_ptr<void, LocalMemoryDeleter> owned(text);
  return WideToUtf8(text);
}

constexpr std::string_view kProfileList =
    "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";

}  // namespace

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

  // Profiles of accounts from elsewhere (domain, Entra ID): reported, not judged. Without the
  // list they would silently go missing from the report, so a failure is an issue.
  Result<std::string> machine_sid = MachineAccountDomainSid();
  Result<std::vector<std::string>> sids =
      registry_.ListSubkeys(RegistryHive::kLocalMachine, kProfileList);
  if (!machine_sid.ok() || !sids.ok()) {
    issues.push_back(AccountIssue{
        "ProfileList", "the profiles of domain accounts cannot be listed: " +
                           (!machine_sid.ok() ? machine_sid.error() : sids.error()).message});
  } else {
    std::vector<ProfileRecord> profiles;
    for (const std::string& sid : *sids) {
      Result<std::string> path = registry_.GetString(
          RegistryHive::kLocalMachine, std::string(kProfileList) + "\\" + sid, "ProfileImagePath");
      profiles.push_back(ProfileRecord{sid, path.ok() ? *path : std::string()});
    }
    db.directory_accounts = DirectoryAccountsFromProfiles(profiles, *machine_sid);
  }
  db.issues = std::move(issues);
  return db;
}

Status WindowsAccounts::SetMaxPasswordDays(std::optional<int64_t> days) {
  if (RunningUnderWine()) {
    return MakeError(ErrorCode::kUnavailable,
                     "NetUserModalsSet is not implemented by Wine (calling it aborts the "
                     "process); not called");
  }
  if (days && (*days <= 0 || *days > 999)) {
    // The range Windows accepts for "Maximum password age" (0 there means never).
    return MakeError(ErrorCode::kInvalidArgument,
                     "maximum password age " + std::to_string(*days) + " days is outside 1-999");
  }
  USER_MODALS_INFO_1002 info = {};
  info.usrmod1002_max_passwd_age =
      days ? static_cast<DWORD>(*days * kSecondsPerDay) : TIMEQ_FOREVER;
  DWORD parm_err = 0;
  const NET_API_STATUS rc =
      NetUserModalsSet(nullptr, 1002, reinterpret_cast<LPBYTE>(&info), &parm_err);
  if (rc != NERR_Success) {
    return Win32Error("NetUserModalsSet(level 1002)", rc);
  }
  return OkStatus();
}

Status WindowsAccounts::SetPasswordNeverExpires(std::string_view account, bool never_expires) {
  if (RunningUnderWine()) {
    return MakeError(ErrorCode::kUnavailable,
                     "NetUserSetInfo is not implemented by Wine; not called");
  }
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(account));
  LPBYTE raw = nullptr;
  NET_API_STATUS rc = NetUserGetInfo(nullptr, wide.c_str(), 1, &raw);
  NetBuffer<USER_INFO_1> info(reinterpret_cast<USER_INFO_1*>(raw));
  if (rc != NERR_Success) {
    return Win32Error("NetUserGetInfo(" + std::string(account) + ", level 1)", rc);
  }
  USER_INFO_1008 flags = {};
  flags.usri1008_flags = never_expires
                             ? (info->usri1_flags | UF_DONT_EXPIRE_PASSWD)
                             : (info->usri1_flags & ~static_cast<DWORD>(UF_DONT_EXPIRE_PASSWD));
  DWORD parm_err = 0;
  rc = NetUserSetInfo(nullptr, wide.c_str(), 1008, reinterpret_cast<LPBYTE>(&flags), &parm_err);
  if (rc != NERR_Success) {
    return Win32Error("NetUserSetInfo(" + std::string(account) + ", level 1008)", rc);
  }
  return OkStatus();
}

}  // namespace cg::platform::windows

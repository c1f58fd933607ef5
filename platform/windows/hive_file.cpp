// WindowsRegistry::LoadHiveFile: a profile's NTUSER.DAT, loaded to read the screen saver
// values of a user who is not logged on.
//
// RegLoadAppKeyW, not RegLoadKeyW: an application hive is private to this process (it does not
// appear under HKEY_USERS, where another program or a check would take it for a logged-on
// user), needs no privilege, is opened with KEY_READ only, and Windows unloads it when its
// last handle closes or the process ends. A hive left loaded would make the user's next logon
// fail to load their profile (Windows then logs them on with a temporary one); RegLoadKeyW
// leaves it loaded until RegUnLoadKeyW or a reboot if the agent dies in between.
//
// Wine 8's RegLoadAppKeyW is a stub: it returns ERROR_SUCCESS and the handle 0xdeadbeef for any
// file, on which every call fails with ERROR_INVALID_HANDLE (seen here). A handle that does not
// work is therefore never read as an empty hive: under Wine the file is loaded with
// RegLoadKeyW into a private HKEY_USERS subkey (SeRestorePrivilege and SeBackupPrivilege,
// enabled for the load and the unload and then restored), which Wine implements for hive files
// in its own text format; elsewhere it is an error with the code.
#include <windows.h>

#include <atomic>
#include <string>

#include "platform/windows/accounts.h"
#include "platform/windows/registry.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

namespace {

Result<std::wstring> Expand(std::string_view path) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  std::wstring out(MAX_PATH, L'\0');
  for (int attempt = 0; attempt < 3; ++attempt) {
    const DWORD n =
        ExpandEnvironmentStringsW(wide.c_str(), out.data(), static_cast<DWORD>(out.size()));
    if (n == 0) {
      return LastWin32Error("expanding " + std::string(path));
    }
    if (n <= out.size()) {
      out.resize(n - 1);  // n counts the terminator
      return out;
    }
    out.resize(n);
  }
  return MakeError(ErrorCode::kInternal, "expanding " + std::string(path) + ": keeps growing");
}

class AppHive final : public RegistryHiveFile {
 public:
  AppHive(UniqueHkey root, std::string path) : root_(std::move(root)), path_(std::move(path)) {}
  Result<RegistryValue> GetValue(std::string_view key, std::string_view name) const override {
    return ReadValue(root_.get(), key, name,
                     path_ + ": " + std::string(key) + " [" + std::string(name) + "]");
  }
  std::string method() const override {
    return "RegLoadAppKeyW, KEY_READ, private to the agent, unloaded after reading";
  }

 private:
  UniqueHkey root_;
  std::string path_;
};

// Enables SeRestorePrivilege and SeBackupPrivilege on the process token (RegLoadKeyW and
// RegUnLoadKeyW need both) and puts back their previous state when destroyed.
class HivePrivileges {
 public:
  Status Enable() {
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token)) {
      return LastWin32Error("opening the agent's token");
    }
    token_ = token;
    struct {
      DWORD count;
      LUID_AND_ATTRIBUTES privileges[2];
    } wanted{};
    wanted.count = 2;
    const wchar_t* names[2] = {L"SeRestorePrivilege", L"SeBackupPrivilege"};
    for (int i = 0; i < 2; ++i) {
      if (!LookupPrivilegeValueW(nullptr, names[i], &wanted.privileges[i].Luid)) {
        return LastWin32Error("looking up the backup and restore privileges");
      }
      wanted.privileges[i].Attributes = SE_PRIVILEGE_ENABLED;
    }
    DWORD size = sizeof previous_;
    if (!AdjustTokenPrivileges(token_, FALSE, reinterpret_cast<TOKEN_PRIVILEGES*>(&wanted),
                               sizeof previous_, reinterpret_cast<TOKEN_PRIVILEGES*>(&previous_),
                               &size)) {
      return LastWin32Error("enabling the backup and restore privileges");
    }
    adjusted_ = true;
    if (GetLastError() == ERROR_NOT_ALL_ASSIGNED) {
      return Win32Error("enabling the backup and restore privileges (the agent runs as SYSTEM)",
                        ERROR_NOT_ALL_ASSIGNED);
    }
    return OkStatus();
  }
  ~HivePrivileges() {
    if (adjusted_) {
      AdjustTokenPrivileges(token_, FALSE, reinterpret_cast<TOKEN_PRIVILEGES*>(&previous_), 0,
                            nullptr, nullptr);
    }
    if (token_ != nullptr) {
      CloseHandle(token_);
    }
  }

 private:
  HANDLE token_ = nullptr;
  bool adjusted_ = false;
  struct {
    DWORD count;
    LUID_AND_ATTRIBUTES privileges[2];
  } previous_{};
};

// A hive file loaded with RegLoadKeyW under HKEY_USERS\<mount>; unloaded when destroyed.
class MountedHive final : public RegistryHiveFile {
 public:
  MountedHive(std::wstring mount, std::string mount_utf8, std::string path, uint32_t app_error)
      : mount_(std::move(mount)),
        mount_utf8_(std::move(mount_utf8)),
        path_(std::move(path)),
        app_error_(app_error) {}
  ~MountedHive() override {
    HivePrivileges privileges;
    (void)privileges.Enable();
    RegUnLoadKeyW(HKEY_USERS, mount_.c_str());
  }
  Result<RegistryValue> GetValue(std::string_view key, std::string_view name) const override {
    const std::string full = mount_utf8_ + (key.empty() ? "" : "\\" + std::string(key));
    return ReadValue(HKEY_USERS, full, name,
                     path_ + ": " + std::string(key) + " [" + std::string(name) + "]");
  }
  std::string method() const override {
    return "RegLoadKeyW into HKEY_USERS\\" + mount_utf8_ +
           ", read with KEY_QUERY_VALUE and unloaded after reading (Wine: RegLoadAppKeyW is a "
           "stub whose handle fails with Win32 error " +
           std::to_string(app_error_) + ")";
  }

 private:
  std::wstring mount_;
  std::string mount_utf8_;
  std::string path_;
  uint32_t app_error_;
};

Result<std::unique_ptr<RegistryHiveFile>> MountUnderWine(const std::wstring& file,
                                                         const std::string& path,
                                                         uint32_t app_error) {
  static std::atomic<unsigned> counter{0};
  const std::string mount = "CounterGuard-hive-" + std::to_string(GetCurrentProcessId()) + "-" +
                            std::to_string(counter.fetch_add(1));
  CG_ASSIGN_OR_RETURN(std::wstring wide_mount, Utf8ToWide(mount));
  HivePrivileges privileges;
  CG_RETURN_IF_ERROR(privileges.Enable());
  const LSTATUS rc = RegLoadKeyW(HKEY_USERS, wide_mount.c_str(), file.c_str());
  if (rc != ERROR_SUCCESS) {
    return Win32Error("loading the hive file " + path +
                          " (RegLoadKeyW; Wine's RegLoadAppKeyW is a stub whose handle fails "
                          "with Win32 error " +
                          std::to_string(app_error) + ")",
                      static_cast<uint32_t>(rc));
  }
  return std::unique_ptr<RegistryHiveFile>(
      std::make_unique<MountedHive>(std::move(wide_mount), mount, path, app_error));
}

}  // namespace

Result<std::unique_ptr<RegistryHiveFile>> WindowsRegistry::LoadHiveFile(
    std::string_view path) const {
  CG_ASSIGN_OR_RETURN(std::wstring file, Expand(path));
  CG_ASSIGN_OR_RETURN(std::string expanded, WideToUtf8(file));
  HKEY raw = nullptr;
  const LSTATUS rc = RegLoadAppKeyW(file.c_str(), &raw, KEY_READ, 0, 0);
  if (rc != ERROR_SUCCESS) {
    // 32 (ERROR_SHARING_VIOLATION): loaded by someone else, e.g. the user has just logged on;
    // 2: no such file; 5: the agent may not open it; 1017: not a registry hive.
    return Win32Error("loading the hive file " + expanded + " (RegLoadAppKeyW)",
                      static_cast<uint32_t>(rc));
  }
  UniqueHkey root(raw);
  // A handle that works answers RegQueryInfoKeyW, even for an empty hive.
  const LSTATUS probe = RegQueryInfoKeyW(root.get(), nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr, nullptr, nullptr, nullptr, nullptr);
  if (probe != ERROR_SUCCESS) {
    (void)root.release();  // not a handle Windows gave out: never close it
    if (probe == ERROR_INVALID_HANDLE && RunningUnderWine()) {
      return MountUnderWine(file, expanded, static_cast<uint32_t>(probe));
    }
    return Win32Error("loading the hive file " + expanded +
                          ": RegLoadAppKeyW succeeded but its handle does not work",
                      static_cast<uint32_t>(probe));
  }
  return std::unique_ptr<RegistryHiveFile>(std::make_unique<AppHive>(std::move(root), expanded));
}

}  // namespace cg::platform::windows

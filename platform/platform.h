// The OS boundary. Every capability a check or the agent needs from the machine is an
// interface here; platform/linux implements it for real (under a configurable root),
// platform/windows will, and platform/fake implements it in memory for unit tests.
// Nothing outside platform/ calls the OS for machine state.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "platform/licensing.h"
#include "platform/registry.h"
#include "platform/security_center.h"

namespace cg::platform {

enum class FileType { kRegular, kDirectory, kSymlink, kSocket, kFifo, kBlock, kChar, kOther };

struct FileInfo {
  FileType type = FileType::kOther;
  uint64_t size = 0;
  uint32_t mode = 0;  // permission bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::chrono::system_clock::time_point mtime;
};

struct DirEntry {
  std::string name;
  FileType type = FileType::kOther;
};

// Files of the machine being checked. Paths are the machine's absolute paths ("/etc/shadow");
// an implementation maps them under its root, so `cg-agent check --root DIR` evaluates a
// fixture tree exactly as it would the real machine. Symlinks inside the tree are resolved
// within the root, never escaping it.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<std::string> ReadFile(std::string_view path,
                                       size_t max_bytes = 16u << 20) const = 0;
  // Up to `length` bytes of a regular file from `offset` (fewer at its end), whatever the
  // file's size: the header of a 250 MB signature database.
  virtual Result<std::string> ReadFileRange(std::string_view path, uint64_t offset,
                                            size_t length) const = 0;
  // Entries sorted by name, without "." and "..".
  virtual Result<std::vector<DirEntry>> ListDir(std::string_view path) const = 0;
  // Stat without following a final symlink (lstat).
  virtual Result<FileInfo> Stat(std::string_view path) const = 0;
  bool Exists(std::string_view path) const { return Stat(path).ok(); }
  // Enforcement writes: atomic replace (temp + fsync + rename), creates parent directories.
  virtual Status WriteFileAtomic(std::string_view path, std::string_view data, uint32_t mode) = 0;
  virtual Status RemoveFile(std::string_view path) = 0;
  // The host path that `path` maps to (root prefix applied): for sockets and for commands
  // run against the root.
  virtual std::string HostPath(std::string_view path) const = 0;
  virtual const std::string& root() const = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Minutes east of UTC of the machine's local time now (schedules are in local time).
  virtual std::chrono::minutes UtcOffset() const = 0;
};

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs a program with a fixed argv (no shell), a clean environment (LC_ALL=C, PATH), a
// deadline, and output bounded to max_output bytes per stream.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  virtual Result<CommandResult> Run(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout,
                                    size_t max_output = 1u << 20) = 0;
  // Finds an executable on the standard system PATH (within the root); empty if absent.
  virtual std::string Which(std::string_view name) const = 0;
};

struct ProcessInfo {
  int64_t pid = 0;
  std::string name;  // comm
  std::string exe;   // resolved executable path when readable
  std::vector<std::string> cmdline;
};

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;
  virtual Result<std::vector<ProcessInfo>> List() const = 0;
};

// State of a system service (systemd unit on Linux, SCM service on Windows).
enum class ServiceState { kRunning, kStopped, kFailed, kNotFound, kUnknown };

class ServiceManager {
 public:
  virtual ~ServiceManager() = default;
  virtual Result<ServiceState> State(std::string_view unit) const = 0;
  // Installed and enabled at boot.
  virtual Result<bool> Enabled(std::string_view unit) const = 0;
};

// Request/response over a local stream socket (clamd's PING/PONG). The socket path is a
// machine path, mapped under the root like every other path.
class LocalSocket {
 public:
  virtual ~LocalSocket() = default;
  virtual Result<std::string> Exchange(std::string_view socket_path, std::string_view request,
                                       std::chrono::milliseconds timeout,
                                       size_t max_reply = 4096) = 0;
};

struct HostIdentity {
  std::string hostname;
  std::string machine_id;  // /etc/machine-id, MachineGuid on Windows
  std::string os_name;     // "Debian GNU/Linux"
  std::string os_id;       // "debian"
  std::string os_version;  // "12"
  std::string kernel;
  std::string arch;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual Result<HostIdentity> Identity() const = 0;
};

// Local user accounts and their password ageing, the OS-neutral view of /etc/passwd +
// /etc/shadow + /etc/login.defs (Linux) or NetUserEnum/NetUserModalsGet (Windows).
enum class PasswordState {
  kUsable,   // a hash that can be used to log in
  kLocked,   // "!..." or "*" style: locked or no password login
  kEmpty,    // empty hash: login without a password
  kUnknown,  // no shadow entry, or an entry we could not read
};

struct LocalAccount {
  std::string name;
  uint32_t uid = 0;
  std::string home;
  std::string shell;
  bool login_shell = false;  // shell is listed in /etc/shells and is not nologin/false
  PasswordState password = PasswordState::kUnknown;
  std::optional<int64_t> last_change_day;  // days since 1970-01-01; 0 = change at next login
  std::optional<int64_t> max_days;         // nullopt: no maximum
  std::optional<int64_t> min_days;
  std::optional<int64_t> warn_days;
  std::optional<int64_t> inactive_days;
  std::optional<int64_t> expire_day;  // account expiry, days since epoch
  // Windows: UF_DONT_EXPIRE_PASSWD ("Password never expires") on the account; the machine's
  // maximum then does not apply to it (max_days is nullopt).
  bool password_never_expires = false;
};

struct AccountDefaults {
  std::optional<int64_t> pass_max_days;  // PASS_MAX_DAYS for new accounts
  std::optional<int64_t> pass_min_days;
  std::optional<int64_t> pass_warn_age;
  int64_t uid_min = 1000;
  int64_t uid_max = 60000;
};

// One problem in the account databases that made an entry unusable (corrupt line, NIS
// reference): the check reports them; it never silently skips them.
struct AccountIssue {
  std::string source;  // "/etc/shadow:12"
  std::string message;
};

// Where the accounts and their ageing live, which decides how they are enforced.
enum class AccountStore {
  kShadowFiles,  // /etc/passwd, /etc/shadow, /etc/login.defs: files and chage
  kWindowsSam,   // the local SAM: the machine's maximum password age (pass_max_days) applies
                 // to every account without "Password never expires"; Accounts::Set* enforce
};

// An account that logs on here but whose password a directory governs (an Active Directory
// domain, Microsoft Entra ID): reported, never judged against the local policy.
struct DirectoryAccount {
  std::string name;       // the profile folder's name when the directory is not reachable
  std::string sid;        // S-1-5-21-<domain>-<rid>, S-1-12-1-...
  std::string directory;  // "Active Directory domain", "Microsoft Entra ID"
};

struct AccountDatabase {
  AccountStore store = AccountStore::kShadowFiles;
  std::vector<LocalAccount> accounts;
  AccountDefaults defaults;
  std::vector<AccountIssue> issues;
  std::vector<DirectoryAccount> directory_accounts;
};

class Accounts {
 public:
  virtual ~Accounts() = default;
  // kNotFound/kPermissionDenied when the databases themselves cannot be read.
  virtual Result<AccountDatabase> Read() const = 0;

  // Enforcement through the OS's account API (kWindowsSam: NetUserModalsSet and
  // NetUserSetInfo). Where ageing lives in files (kShadowFiles) enforcement edits them and
  // runs chage instead, and these are kUnavailable.
  // The machine's maximum password age (nullopt: passwords never expire).
  virtual Status SetMaxPasswordDays(std::optional<int64_t> days);
  // Sets or clears "Password never expires" on a local account.
  virtual Status SetPasswordNeverExpires(std::string_view account, bool never_expires);
};

// Everything a check or the agent may use, wired once (Santa's SantadDeps::Create).
struct Platform {
  std::unique_ptr<FileSystem> fs;
  std::unique_ptr<Clock> clock;
  std::unique_ptr<CommandRunner> commands;
  std::unique_ptr<ProcessTable> processes;
  std::unique_ptr<ServiceManager> services;
  std::unique_ptr<LocalSocket> sockets;
  std::unique_ptr<Host> host;
  std::unique_ptr<Accounts> accounts;
  // The Windows registry (64-bit view); nullptr on an OS that has none. Checks that read it
  // report `error` when it is missing, never `pass`.
  std::unique_ptr<Registry> registry;
  // Windows Security Center / Defender status and Software Licensing (WMI); nullptr on an OS
  // that has none. The checks fall back to their Linux sources when these are missing.
  std::unique_ptr<SecurityCenter> security_center;
  std::unique_ptr<Licensing> licensing;
};

// The real platform of this OS (linux/ or windows/, chosen by CMake). `root` is "/" on a
// live machine, or a fixture tree.
Result<Platform> CreateNativePlatform(const std::string& root = "/");

}  // namespace cg::platform

// In-memory implementations of every platform interface, for unit tests of collectors and the
// agent. Each fake is scripted up front and records what the code under test did with it.
// Not thread-safe: a test drives them from one thread.
//
//   auto fake = cg::platform::fake::MakeFakePlatform();
//   fake.fs().AddFile("/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n");
//   fake.fs().AddFile("/etc/shadow", "alice:$6$salt$hash:20700:0:90:7:::\n", 0640);
//   fake.clock().SetDay(20783);  // 2026-11-26
//   fake.commands().SetResult({"chage", "-M", "90", "alice"}, {.exit_code = 0});
//   fake.accounts().Set(database);  // the OS-neutral view, whatever the OS's files say
//   CheckContext ctx{fake.platform(), policy.Check("password_age")};
//
// Nothing here depends on one OS's implementation: the accounts are scripted, not parsed from
// the fake tree (a test of the Linux parser wires platform/linux/accounts.h over the
// FakeFileSystem itself). The accessors stay valid as long as the FakePlatform lives and its
// Platform members are not replaced.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/platform.h"

namespace cg::platform::fake {

using SysTime = std::chrono::system_clock::time_point;

// A tree of files, directories and symlinks keyed by normalised machine path. Symlinks are
// resolved like the rooted file system does (inside the tree, loop limit). Adding a path
// creates its missing parent directories (0755).
class FakeFileSystem final : public FileSystem {
 public:
  // `root` is only what root() and HostPath() report (e.g. "/srv/tree" to test code that
  // passes --root to a tool); paths given to the fake are always machine paths.
  explicit FakeFileSystem(std::string root = "/");

  void AddFile(std::string_view path, std::string content, uint32_t mode = 0644,
               SysTime mtime = {});
  void AddDir(std::string_view path, uint32_t mode = 0755);
  void AddSymlink(std::string_view path, std::string target);
  // Every operation that reaches `path` (after symlink resolution) fails with `error`, e.g.
  // MakeError(ErrorCode::kPermissionDenied, "open /etc/shadow: Permission denied").
  void SetError(std::string_view path, Error error);
  void ClearError(std::string_view path);

  // What the code under test wrote and removed, in order (writes also update the tree).
  struct Write {
    std::string path;  // resolved machine path
    std::string data;
    uint32_t mode = 0;
  };
  const std::vector<Write>& writes() const { return writes_; }
  const std::vector<std::string>& removals() const { return removals_; }

  Result<std::string> ReadFile(std::string_view path, size_t max_bytes = 16u << 20) const override;
  Result<std::string> ReadFileRange(std::string_view path, uint64_t offset,
                                    size_t length) const override;
  Result<std::vector<DirEntry>> ListDir(std::string_view path) const override;
  Result<FileInfo> Stat(std::string_view path) const override;
  Status WriteFileAtomic(std::string_view path, std::string_view data, uint32_t mode) override;
  Status RemoveFile(std::string_view path) override;
  std::string HostPath(std::string_view path) const override;
  const std::string& root() const override { return root_; }

 private:
  struct Node {
    FileType type = FileType::kRegular;
    std::string content;  // file content, or the symlink target
    uint32_t mode = 0644;
    SysTime mtime;
  };
  // The resolved path, or the error (an injected one, or the errno-style one the kernel
  // would give) for operation `what`.
  Result<std::string> Resolve(std::string_view path, bool follow_final, bool allow_missing,
                              std::string_view what) const;
  void EnsureParents(const std::string& path);

  std::string root_;
  std::map<std::string, Node> nodes_;
  std::map<std::string, Error> errors_;
  std::vector<Write> writes_;
  std::vector<std::string> removals_;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(SysTime now = {}) : now_(now) {}
  SysTime Now() const override { return now_; }
  std::chrono::minutes UtcOffset() const override { return utc_offset_; }
  void Set(SysTime now) { now_ = now; }
  void SetUtcOffset(std::chrono::minutes offset) { utc_offset_ = offset; }
  void Advance(std::chrono::system_clock::duration d) { now_ += d; }
  // Noon UTC of `day` days since 1970-01-01 (the unit of /etc/shadow dates).
  void SetDay(int64_t day);

 private:
  SysTime now_;
  std::chrono::minutes utc_offset_{0};
};

class FakeCommandRunner final : public CommandRunner {
 public:
  using Handler = std::function<Result<CommandResult>(const std::vector<std::string>& argv)>;

  // Every Run() with exactly this argv returns `result` / fails with `error`.
  void SetResult(std::vector<std::string> argv, CommandResult result);
  void SetError(std::vector<std::string> argv, Error error);
  // Answers argv that has no scripted result (e.g. to simulate a tool's side effects on a
  // FakeFileSystem). Without a handler such a Run() fails with kNotFound "unexpected command".
  void SetHandler(Handler handler) { handler_ = std::move(handler); }
  // Which(name) answers `machine_path`; unknown names answer "".
  void AddProgram(std::string name, std::string machine_path);

  // Every Run() argv, in order (unexpected ones included).
  const std::vector<std::vector<std::string>>& calls() const { return calls_; }

  // Output longer than max_output is cut, as the real runner does.
  Result<CommandResult> Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                            size_t max_output = 1u << 20) override;
  std::string Which(std::string_view name) const override;

 private:
  std::map<std::vector<std::string>, Result<CommandResult>> scripted_;
  std::map<std::string, std::string, std::less<>> programs_;
  Handler handler_;
  std::vector<std::vector<std::string>> calls_;
};

class FakeProcessTable final : public ProcessTable {
 public:
  void Add(ProcessInfo process) { processes_.push_back(std::move(process)); }
  void Clear() { processes_.clear(); }
  // List() fails with `error` until cleared with std::nullopt.
  void SetError(std::optional<Error> error) { error_ = std::move(error); }
  // Sorted by pid.
  Result<std::vector<ProcessInfo>> List() const override;

 private:
  std::vector<ProcessInfo> processes_;
  std::optional<Error> error_;
};

// Units are named as systemd names them; "clamav-daemon" means "clamav-daemon.service".
// An unknown unit is kNotFound and not enabled.
class FakeServiceManager final : public ServiceManager {
 public:
  void SetService(std::string_view unit, ServiceState state, bool enabled);
  void SetError(std::string_view unit, Error error);
  Result<ServiceState> State(std::string_view unit) const override;
  Result<bool> Enabled(std::string_view unit) const override;

 private:
  struct Service {
    ServiceState state = ServiceState::kNotFound;
    bool enabled = false;
  };
  std::map<std::string, Service, std::less<>> services_;
  std::map<std::string, Error, std::less<>> errors_;
};

// Scripted replies per socket path; an unscripted path is kNotFound (no such socket).
class FakeLocalSocket final : public LocalSocket {
 public:
  void SetReply(std::string_view socket_path, std::string reply);
  void SetError(std::string_view socket_path, Error error);

  struct Request {
    std::string socket_path;
    std::string request;
  };
  const std::vector<Request>& requests() const { return requests_; }

  // A reply longer than max_reply is cut, as the real socket does.
  Result<std::string> Exchange(std::string_view socket_path, std::string_view request,
                               std::chrono::milliseconds timeout, size_t max_reply = 4096) override;

 private:
  std::map<std::string, Result<std::string>, std::less<>> replies_;
  std::vector<Request> requests_;
};

// Starts as a Debian 12 amd64 counter PC ("counter-01"); replace with SetIdentity.
class FakeHost final : public Host {
 public:
  FakeHost();
  void SetIdentity(HostIdentity identity) { identity_ = std::move(identity); }
  void SetError(std::optional<Error> error) { error_ = std::move(error); }
  Result<HostIdentity> Identity() const override;

 private:
  HostIdentity identity_;
  std::optional<Error> error_;
};

// Scripted local accounts: an empty database until Set. On a kWindowsSam database the
// enforcement calls change it as Windows would (the machine maximum applies to every account
// without "password never expires"); on a kShadowFiles one they are kUnavailable, as on Linux.
class FakeAccounts final : public Accounts {
 public:
  void Set(AccountDatabase db) { db_ = std::move(db); }
  // Read() fails with `error` until cleared with std::nullopt.
  void SetError(std::optional<Error> error) { error_ = std::move(error); }
  // Every enforcement call fails with `error` (NetUserModalsSet refused) until cleared.
  void SetWriteError(std::optional<Error> error) { write_error_ = std::move(error); }
  Result<AccountDatabase> Read() const override;
  Status SetMaxPasswordDays(std::optional<int64_t> days) override;
  Status SetPasswordNeverExpires(std::string_view account, bool never_expires) override;
  // The enforcement calls made, in order ("max_days 90", "never_expires alice false").
  const std::vector<std::string>& calls() const { return calls_; }

 private:
  AccountDatabase db_;
  std::optional<Error> error_;
  std::optional<Error> write_error_;
  std::vector<std::string> calls_;
};

// An in-memory registry: keys and value names compare case-insensitively (ASCII) like
// Windows', and keep the case they were first written with. Empty until scripted with
// SetValue; SetError makes every call fail (an unreadable or stubbed registry).
class FakeRegistry final : public Registry {
 public:
  void SetError(std::optional<Error> error) { error_ = std::move(error); }
  Result<RegistryValue> GetValue(RegistryHive hive, std::string_view key,
                                 std::string_view name) const override;
  Result<std::vector<std::string>> ListSubkeys(RegistryHive hive,
                                               std::string_view key) const override;
  Status SetValue(RegistryHive hive, std::string_view key, std::string_view name,
                  const RegistryValue& value) override;
  Status DeleteValue(RegistryHive hive, std::string_view key, std::string_view name) override;
  // The writes made through SetValue/DeleteValue, in order ("set HKU\S-1-5-21-...\Control
  // Panel\Desktop [ScreenSaveTimeOut]"), for tests of enforcement.
  const std::vector<std::string>& writes() const { return writes_; }

  // Hive files (a profile's NTUSER.DAT when its user is not logged on): LoadHiveFile(path)
  // answers the values set here, or fails with the error set (e.g. the Win32Error message of
  // ERROR_SHARING_VIOLATION that Windows gives for a hive in use). A path never set is
  // kNotFound "(Win32 error 2)", as RegLoadAppKeyW on a missing file.
  void SetHiveFileValue(std::string_view path, std::string_view key, std::string_view name,
                        RegistryValue value);
  void SetHiveFileError(std::string_view path, Error error);
  Result<std::unique_ptr<RegistryHiveFile>> LoadHiveFile(std::string_view path) const override;
  // The paths LoadHiveFile was asked for, in order, and how many are loaded now.
  const std::vector<std::string>& hive_file_loads() const { return hive_file_loads_; }
  int hive_files_loaded() const { return *hive_files_loaded_; }

 private:
  struct HiveFile {
    std::map<std::string, std::map<std::string, RegistryValue>> values;  // folded key -> name ->
    std::optional<Error> error;
  };
  std::map<std::string, HiveFile> hive_files_;  // folded path ->
  mutable std::vector<std::string> hive_file_loads_;
  std::shared_ptr<int> hive_files_loaded_ = std::make_shared<int>(0);

  struct Key {
    std::string path;                                                     // as first written
    std::map<std::string, std::pair<std::string, RegistryValue>> values;  // folded name ->
  };
  std::map<std::pair<RegistryHive, std::string>, Key> keys_;  // folded path ->
  std::optional<Error> error_;
  std::vector<std::string> writes_;
};

// Which OS the fake stands for. Checks choose their sources by what the platform has, as on
// the real ones: only a Windows fake wires the registry into platform() (Linux has none).
enum class FakeOs { kLinux, kWindows };
// Scripted Security Center: each of the three sources answers what was set, or fails with the
// error set (an HRESULT-bearing message, as the Windows implementation gives). Until scripted,
// every source fails like Windows Server's missing API: REGDB_E_CLASSNOTREG /
// WBEM_E_INVALID_NAMESPACE.
class FakeSecurityCenter final : public SecurityCenter {
 public:
  FakeSecurityCenter();
  void SetProducts(Result<std::vector<WscProduct>> products) { products_ = std::move(products); }
  void SetWmiProducts(Result<std::vector<WmiAntivirusProduct>> products) {
    wmi_ = std::move(products);
  }
  void SetDefender(Result<std::optional<DefenderStatus>> status) { defender_ = std::move(status); }
  Result<std::vector<WscProduct>> Products() const override { return products_; }
  Result<std::vector<WmiAntivirusProduct>> WmiProducts() const override { return wmi_; }
  Result<std::optional<DefenderStatus>> Defender() const override { return defender_; }

 private:
  Result<std::vector<WscProduct>> products_;
  Result<std::vector<WmiAntivirusProduct>> wmi_;
  Result<std::optional<DefenderStatus>> defender_;
};

// Scripted Software Licensing products per service; Products() filters by application id like
// the WQL query does. A service set to an error fails with it.
class FakeLicensing final : public Licensing {
 public:
  void Add(LicensingService service, LicensingProduct product);
  void SetError(LicensingService service, std::optional<Error> error);
  Result<std::vector<LicensingProduct>> Products(LicensingService service,
                                                 std::string_view application_id) const override;
  // Every (service, application id) asked, in order.
  const std::vector<std::pair<LicensingService, std::string>>& queries() const { return queries_; }

 private:
  std::map<LicensingService, std::vector<LicensingProduct>> products_;
  std::map<LicensingService, Error> errors_;
  mutable std::vector<std::pair<LicensingService, std::string>> queries_;
};

// A Platform made of the fakes above, with accessors to script them.
class FakePlatform {
 public:
  explicit FakePlatform(std::string root = "/", FakeOs os = FakeOs::kLinux);

  Platform& platform() { return platform_; }
  FakeFileSystem& fs() { return *fs_; }
  FakeClock& clock() { return *clock_; }
  FakeCommandRunner& commands() { return *commands_; }
  FakeProcessTable& processes() { return *processes_; }
  FakeServiceManager& services() { return *services_; }
  FakeLocalSocket& sockets() { return *sockets_; }
  FakeHost& host() { return *host_; }
  FakeAccounts& accounts() { return *accounts_; }
  // On a Linux fake, a registry no check sees (platform().registry is nullptr).
  FakeRegistry& registry() { return *registry_; }
  // nullptr (as on Linux) until AddWindowsSources() (which a FakeOs::kWindows fake calls
  // itself); then the registry and the fakes of the Windows-only management APIs, which make
  // the checks take their Windows paths.
  void AddWindowsSources();
  FakeSecurityCenter& security_center() { return *security_center_; }
  FakeLicensing& licensing() { return *licensing_; }

 private:
  Platform platform_;
  FakeFileSystem* fs_ = nullptr;
  FakeClock* clock_ = nullptr;
  FakeCommandRunner* commands_ = nullptr;
  FakeProcessTable* processes_ = nullptr;
  FakeServiceManager* services_ = nullptr;
  FakeLocalSocket* sockets_ = nullptr;
  FakeHost* host_ = nullptr;
  FakeAccounts* accounts_ = nullptr;
  FakeRegistry* registry_ = nullptr;
  std::unique_ptr<FakeRegistry> unwired_registry_;  // a Linux fake's
  FakeSecurityCenter* security_center_ = nullptr;
  FakeLicensing* licensing_ = nullptr;
};

// An empty tree ("/" only), the clock at the epoch, no commands, processes, services,
// sockets, accounts or registry keys.
FakePlatform MakeFakePlatform(std::string root = "/", FakeOs os = FakeOs::kLinux);

}  // namespace cg::platform::fake

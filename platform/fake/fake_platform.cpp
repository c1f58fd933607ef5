// In-memory fakes (see fake_platform.h). The file tree resolves paths with the same
// platform::ResolvePath as the rooted file system, so links behave alike in both.
#include "platform/fake/fake_platform.h"

#include <algorithm>
#include <cerrno>

#include "platform/path.h"

namespace cg::platform::fake {
namespace {

std::string NormalizeUnit(std::string_view unit) {
  std::string name(unit);
  if (name.find('.') == std::string::npos) {
    name += ".service";
  }
  return name;
}

std::string Quote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += out.empty() ? "" : " ";
    out += a;
  }
  return out;
}

}  // namespace

// ---- FakeFileSystem ----

FakeFileSystem::FakeFileSystem(std::string root) : root_(std::move(root)) {
  nodes_["/"] = Node{FileType::kDirectory, {}, 0755, {}};
}

void FakeFileSystem::EnsureParents(const std::string& path) {
  auto parts = SplitPath(path);
  if (!parts.empty()) {
    parts.pop_back();
  }
  std::vector<std::string> prefix;
  for (auto& p : parts) {
    prefix.push_back(std::move(p));
    nodes_.try_emplace(JoinComponents(prefix), Node{FileType::kDirectory, {}, 0755, {}});
  }
}

void FakeFileSystem::AddFile(std::string_view path, std::string content, uint32_t mode,
                             SysTime mtime) {
  const std::string p = NormalizeMachinePath(path);
  EnsureParents(p);
  nodes_[p] = Node{FileType::kRegular, std::move(content), mode, mtime};
}

void FakeFileSystem::AddDir(std::string_view path, uint32_t mode) {
  const std::string p = NormalizeMachinePath(path);
  EnsureParents(p);
  nodes_[p] = Node{FileType::kDirectory, {}, mode, {}};
}

void FakeFileSystem::AddSymlink(std::string_view path, std::string target) {
  const std::string p = NormalizeMachinePath(path);
  EnsureParents(p);
  nodes_[p] = Node{FileType::kSymlink, std::move(target), 0777, {}};
}

void FakeFileSystem::SetError(std::string_view path, Error error) {
  errors_.insert_or_assign(NormalizeMachinePath(path), std::move(error));
}

void FakeFileSystem::ClearError(std::string_view path) {
  errors_.erase(NormalizeMachinePath(path));
}

Result<std::string> FakeFileSystem::Resolve(std::string_view path, bool follow_final,
                                            bool allow_missing, std::string_view what) const {
  const auto r = ResolvePath(path, follow_final ? FinalLink::kFollow : FinalLink::kNoFollow,
                             allow_missing ? MissingTail::kAppend : MissingTail::kError,
                             [this](const std::string& machine, PathNode& node) {
                               const auto it = nodes_.find(machine);
                               if (it == nodes_.end()) {
                                 node.kind = PathNode::Kind::kMissing;
                               } else if (it->second.type == FileType::kDirectory) {
                                 node.kind = PathNode::Kind::kDirectory;
                               } else if (it->second.type == FileType::kSymlink) {
                                 node.kind = PathNode::Kind::kSymlink;
                                 node.link_target = it->second.content;
                               } else {
                                 node.kind = PathNode::Kind::kOther;
                               }
                               return 0;
                             });
  if (r.err != 0) {
    return ErrnoError(std::string(what) + " " + std::string(path), r.err);
  }
  if (const auto it = errors_.find(r.path); it != errors_.end()) {
    return it->second;
  }
  return r.path;
}

Result<std::string> FakeFileSystem::ReadFile(std::string_view path, size_t max_bytes) const {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, true, false, "read"));
  const Node& n = nodes_.at(p);
  const std::string what = "read " + std::string(path);
  if (n.type == FileType::kDirectory) {
    return ErrnoError(what, EISDIR);
  }
  if (n.content.size() > max_bytes) {
    return MakeError(ErrorCode::kTooLarge,
                     what + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return n.content;
}

Result<std::string> FakeFileSystem::ReadFileRange(std::string_view path, uint64_t offset,
                                                  size_t length) const {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, true, false, "read"));
  const Node& n = nodes_.at(p);
  const std::string what = "read " + std::string(path);
  if (n.type == FileType::kDirectory) {
    return ErrnoError(what, EISDIR);
  }
  if (offset >= n.content.size()) {
    return std::string();
  }
  return n.content.substr(static_cast<size_t>(offset), length);
}

Result<std::vector<DirEntry>> FakeFileSystem::ListDir(std::string_view path) const {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, true, false, "list"));
  if (nodes_.at(p).type != FileType::kDirectory) {
    return ErrnoError("list " + std::string(path), ENOTDIR);
  }
  const std::string prefix = p == "/" ? "/" : p + "/";
  std::vector<DirEntry> out;
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) {
      break;
    }
    const std::string name = it->first.substr(prefix.size());
    if (!name.empty() && name.find('/') == std::string::npos) {
      out.push_back(DirEntry{name, it->second.type});
    }
  }
  return out;  // children share `prefix`, so map order is name order
}

Result<FileInfo> FakeFileSystem::Stat(std::string_view path) const {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, false, false, "stat"));
  const Node& n = nodes_.at(p);
  FileInfo info;
  info.type = n.type;
  info.size = n.content.size();
  info.mode = n.mode;
  info.mtime = n.mtime;
  return info;
}

Status FakeFileSystem::WriteFileAtomic(std::string_view path, std::string_view data,
                                       uint32_t mode) {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, true, true, "write"));
  if (const auto it = nodes_.find(p);
      it != nodes_.end() && it->second.type == FileType::kDirectory) {
    return ErrnoError("write " + std::string(path), EISDIR);
  }
  EnsureParents(p);
  nodes_[p] = Node{FileType::kRegular, std::string(data), mode, {}};
  writes_.push_back(Write{p, std::string(data), mode});
  return OkStatus();
}

Status FakeFileSystem::RemoveFile(std::string_view path) {
  CG_ASSIGN_OR_RETURN(const std::string p, Resolve(path, false, false, "remove"));
  if (nodes_.at(p).type == FileType::kDirectory) {
    return ErrnoError("remove " + std::string(path), EISDIR);
  }
  nodes_.erase(p);
  removals_.push_back(p);
  return OkStatus();
}

std::string FakeFileSystem::HostPath(std::string_view path) const {
  return JoinRoot(root_, NormalizeMachinePath(path));
}

// ---- FakeClock ----

void FakeClock::SetDay(int64_t day) {
  now_ = SysTime(std::chrono::seconds(day * 86400 + 12 * 3600));
}

// ---- FakeCommandRunner ----

void FakeCommandRunner::SetResult(std::vector<std::string> argv, CommandResult result) {
  scripted_.insert_or_assign(std::move(argv), Result<CommandResult>(std::move(result)));
}

void FakeCommandRunner::SetError(std::vector<std::string> argv, Error error) {
  scripted_.insert_or_assign(std::move(argv), Result<CommandResult>(std::move(error)));
}

void FakeCommandRunner::AddProgram(std::string name, std::string machine_path) {
  programs_.insert_or_assign(std::move(name), std::move(machine_path));
}

Result<CommandResult> FakeCommandRunner::Run(const std::vector<std::string>& argv,
                                             std::chrono::milliseconds, size_t max_output) {
  calls_.push_back(argv);
  Result<CommandResult> r = MakeError(ErrorCode::kNotFound, "unexpected command: " + Quote(argv));
  if (const auto it = scripted_.find(argv); it != scripted_.end()) {
    r = it->second;
  } else if (handler_) {
    r = handler_(argv);
  }
  if (r.ok()) {
    r->out.resize(std::min(r->out.size(), max_output));
    r->err.resize(std::min(r->err.size(), max_output));
  }
  return r;
}

std::string FakeCommandRunner::Which(std::string_view name) const {
  const auto it = programs_.find(name);
  return it == programs_.end() ? std::string() : it->second;
}

// ---- FakeProcessTable ----

Result<std::vector<ProcessInfo>> FakeProcessTable::List() const {
  if (error_) {
    return *error_;
  }
  auto out = processes_;
  std::sort(out.begin(), out.end(),
            [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });
  return out;
}

// ---- FakeServiceManager ----

void FakeServiceManager::SetService(std::string_view unit, ServiceState state, bool enabled) {
  services_.insert_or_assign(NormalizeUnit(unit), Service{state, enabled});
}

void FakeServiceManager::SetError(std::string_view unit, Error error) {
  errors_.insert_or_assign(NormalizeUnit(unit), std::move(error));
}

Result<ServiceState> FakeServiceManager::State(std::string_view unit) const {
  const std::string name = NormalizeUnit(unit);
  if (const auto e = errors_.find(name); e != errors_.end()) {
    return e->second;
  }
  const auto it = services_.find(name);
  return it == services_.end() ? ServiceState::kNotFound : it->second.state;
}

Result<bool> FakeServiceManager::Enabled(std::string_view unit) const {
  const std::string name = NormalizeUnit(unit);
  if (const auto e = errors_.find(name); e != errors_.end()) {
    return e->second;
  }
  const auto it = services_.find(name);
  return it != services_.end() && it->second.enabled;
}

// ---- FakeLocalSocket ----

void FakeLocalSocket::SetReply(std::string_view socket_path, std::string reply) {
  replies_.insert_or_assign(std::string(socket_path), Result<std::string>(std::move(reply)));
}

void FakeLocalSocket::SetError(std::string_view socket_path, Error error) {
  replies_.insert_or_assign(std::string(socket_path), Result<std::string>(std::move(error)));
}

Result<std::string> FakeLocalSocket::Exchange(std::string_view socket_path,
                                              std::string_view request, std::chrono::milliseconds,
                                              size_t max_reply) {
  requests_.push_back(Request{std::string(socket_path), std::string(request)});
  const auto it = replies_.find(socket_path);
  if (it == replies_.end()) {
    return ErrnoError("socket " + std::string(socket_path), ENOENT);
  }
  Result<std::string> r = it->second;
  if (r.ok()) {
    r->resize(std::min(r->size(), max_reply));
  }
  return r;
}

// ---- FakeHost ----

FakeHost::FakeHost() {
  identity_.hostname = "counter-01";
  identity_.machine_id = "0f3c6b0d2e8a4c1f9b7d5e3a1c2b4d6f";
  identity_.os_name = "Debian GNU/Linux";
  identity_.os_id = "debian";
  identity_.os_version = "12";
  identity_.kernel = "6.1.0-18-amd64";
  identity_.arch = "x86_64";
}

Result<HostIdentity> FakeHost::Identity() const {
  if (error_) {
    return *error_;
  }
  return identity_;
}

// ---- FakeAccounts ----

Result<AccountDatabase> FakeAccounts::Read() const {
  if (error_) {
    return *error_;
  }
  return db_;
}

Status FakeAccounts::SetMaxPasswordDays(std::optional<int64_t> days) {
  calls_.push_back("max_days " + (days ? std::to_string(*days) : std::string("none")));
  if (db_.store != AccountStore::kWindowsSam) {
    return Accounts::SetMaxPasswordDays(days);
  }
  if (write_error_) {
    return *write_error_;
  }
  db_.defaults.pass_max_days = days;
  for (LocalAccount& a : db_.accounts) {
    a.max_days = a.password_never_expires ? std::nullopt : days;
  }
  return OkStatus();
}

Status FakeAccounts::SetPasswordNeverExpires(std::string_view account, bool never_expires) {
  calls_.push_back("never_expires " + std::string(account) + (never_expires ? " true" : " false"));
  if (db_.store != AccountStore::kWindowsSam) {
    return Accounts::SetPasswordNeverExpires(account, never_expires);
  }
  if (write_error_) {
    return *write_error_;
  }
  for (LocalAccount& a : db_.accounts) {
    if (a.name == account) {
      a.password_never_expires = never_expires;
      a.max_days = never_expires ? std::nullopt : db_.defaults.pass_max_days;
      return OkStatus();
    }
  }
  return MakeError(ErrorCode::kNotFound, "NetUserSetInfo: " + std::string(account) +
                                             ": The user name could not be found (2221)");
}

// ---- FakeRegistry ----

namespace {

std::string FoldCase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string TrimSeparators(std::string_view key) {
  while (!key.empty() && key.front() == '\\') key.remove_prefix(1);
  while (!key.empty() && key.back() == '\\') key.remove_suffix(1);
  return std::string(key);
}

std::string DescribeKey(RegistryHive hive, std::string_view key, std::string_view name) {
  return std::string(hive == RegistryHive::kLocalMachine ? "HKLM\\" : "HKU\\") + std::string(key) +
         " [" + std::string(name) + "]";
}

}  // namespace

Result<RegistryValue> FakeRegistry::GetValue(RegistryHive hive, std::string_view key,
                                             std::string_view name) const {
  if (error_) return *error_;
  auto k = keys_.find({hive, FoldCase(TrimSeparators(key))});
  if (k == keys_.end()) {
    return MakeError(ErrorCode::kNotFound, DescribeKey(hive, key, name) + ": no such key");
  }
  auto v = k->second.values.find(FoldCase(name));
  if (v == k->second.values.end()) {
    return MakeError(ErrorCode::kNotFound, DescribeKey(hive, key, name) + ": no such value");
  }
  return v->second.second;
}

Result<std::vector<std::string>> FakeRegistry::ListSubkeys(RegistryHive hive,
                                                           std::string_view key) const {
  if (error_) return *error_;
  const std::string folded = FoldCase(TrimSeparators(key));
  const std::string prefix = folded.empty() ? std::string() : folded + "\\";
  if (!folded.empty() && !keys_.count({hive, folded})) {
    return MakeError(ErrorCode::kNotFound, DescribeKey(hive, key, "") + ": no such key");
  }
  std::map<std::string, std::string> children;  // folded -> as written
  for (const auto& [id, data] : keys_) {
    if (id.first != hive || id.second.size() <= prefix.size() ||
        id.second.compare(0, prefix.size(), prefix) != 0) {
      continue;
    }
    const size_t end = id.second.find('\\', prefix.size());
    const size_t len = (end == std::string::npos ? id.second.size() : end) - prefix.size();
    children.emplace(id.second.substr(prefix.size(), len), data.path.substr(prefix.size(), len));
  }
  std::vector<std::string> out;
  for (auto& [folded_name, name] : children) out.push_back(name);
  return out;
}

Status FakeRegistry::SetValue(RegistryHive hive, std::string_view key, std::string_view name,
                              const RegistryValue& value) {
  if (error_) return *error_;
  const std::string path = TrimSeparators(key);
  // Create the key and its parents, like RegCreateKeyEx.
  for (size_t pos = 0;;) {
    const size_t end = path.find('\\', pos);
    const std::string part = path.substr(0, end);
    keys_.try_emplace({hive, FoldCase(part)}, Key{part, {}});
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  keys_[{hive, FoldCase(path)}].values[FoldCase(name)] = {std::string(name), value};
  writes_.push_back("set " + DescribeKey(hive, path, name));
  return OkStatus();
}

Status FakeRegistry::DeleteValue(RegistryHive hive, std::string_view key, std::string_view name) {
  if (error_) return *error_;
  auto k = keys_.find({hive, FoldCase(TrimSeparators(key))});
  if (k != keys_.end()) k->second.values.erase(FoldCase(name));
  writes_.push_back("delete " + DescribeKey(hive, TrimSeparators(key), name));
  return OkStatus();
}

void FakeRegistry::SetHiveFileValue(std::string_view path, std::string_view key,
                                    std::string_view name, RegistryValue value) {
  hive_files_[FoldCase(path)].values[FoldCase(TrimSeparators(key))][FoldCase(name)] =
      std::move(value);
}

void FakeRegistry::SetHiveFileError(std::string_view path, Error error) {
  hive_files_[FoldCase(path)].error = std::move(error);
}

namespace {

class FakeHiveFile final : public RegistryHiveFile {
 public:
  FakeHiveFile(std::string path, std::map<std::string, std::map<std::string, RegistryValue>> values,
               std::shared_ptr<int> loaded)
      : path_(std::move(path)), values_(std::move(values)), loaded_(std::move(loaded)) {
    ++*loaded_;
  }
  ~FakeHiveFile() override { --*loaded_; }
  Result<RegistryValue> GetValue(std::string_view key, std::string_view name) const override {
    const std::string where = path_ + ": " + std::string(key) + " [" + std::string(name) + "]";
    auto k = values_.find(FoldCase(TrimSeparators(key)));
    if (k == values_.end()) {
      return MakeError(ErrorCode::kNotFound, where + ": no such key (Win32 error 2)");
    }
    auto v = k->second.find(FoldCase(name));
    if (v == k->second.end()) {
      return MakeError(ErrorCode::kNotFound, where + ": no such value (Win32 error 2)");
    }
    return v->second;
  }
  std::string method() const override { return "fake hive file"; }

 private:
  std::string path_;
  std::map<std::string, std::map<std::string, RegistryValue>> values_;
  std::shared_ptr<int> loaded_;
};

}  // namespace

Result<std::unique_ptr<RegistryHiveFile>> FakeRegistry::LoadHiveFile(std::string_view path) const {
  hive_file_loads_.emplace_back(path);
  if (error_) return *error_;
  auto it = hive_files_.find(FoldCase(path));
  if (it == hive_files_.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "loading the hive file " + std::string(path) +
                         " (RegLoadAppKeyW): The system cannot find the file specified "
                         "(Win32 error 2)");
  }
  if (it->second.error) return *it->second.error;
  return std::unique_ptr<RegistryHiveFile>(
      std::make_unique<FakeHiveFile>(std::string(path), it->second.values, hive_files_loaded_));
}

// ---- FakePlatform ----

FakePlatform::FakePlatform(std::string root, FakeOs os) {
  auto fs = std::make_unique<FakeFileSystem>(std::move(root));
  auto clock = std::make_unique<FakeClock>();
  auto commands = std::make_unique<FakeCommandRunner>();
  auto processes = std::make_unique<FakeProcessTable>();
  auto services = std::make_unique<FakeServiceManager>();
  auto sockets = std::make_unique<FakeLocalSocket>();
  auto host = std::make_unique<FakeHost>();
  auto accounts = std::make_unique<FakeAccounts>();
  auto registry = std::make_unique<FakeRegistry>();
  fs_ = fs.get();
  clock_ = clock.get();
  commands_ = commands.get();
  processes_ = processes.get();
  services_ = services.get();
  sockets_ = sockets.get();
  host_ = host.get();
  accounts_ = accounts.get();
  registry_ = registry.get();
  if (os == FakeOs::kWindows) {
    platform_.registry = std::move(registry);
  } else {
    unwired_registry_ = std::move(registry);
  }
  platform_.accounts = std::move(accounts);
  platform_.fs = std::move(fs);
  platform_.clock = std::move(clock);
  platform_.commands = std::move(commands);
  platform_.processes = std::move(processes);
  platform_.services = std::move(services);
  platform_.sockets = std::move(sockets);
  platform_.host = std::move(host);
  if (os == FakeOs::kWindows) {
    AddWindowsSources();
  }
}

FakePlatform MakeFakePlatform(std::string root, FakeOs os) {
  return FakePlatform(std::move(root), os);
}
FakeSecurityCenter::FakeSecurityCenter()
    : products_(MakeError(ErrorCode::kUnavailable,
                          "CoCreateInstance(WSCProductList): Class not registered (HRESULT "
                          "0x80040154)")),
      wmi_(MakeError(ErrorCode::kUnavailable,
                     "WMI root\\SecurityCenter2: Invalid namespace (HRESULT 0x8004100E)")),
      defender_(MakeError(ErrorCode::kUnavailable,
                          "WMI root\\Microsoft\\Windows\\Defender: Invalid namespace (HRESULT "
                          "0x8004100E)")) {}

void FakeLicensing::Add(LicensingService service, LicensingProduct product) {
  products_[service].push_back(std::move(product));
}

void FakeLicensing::SetError(LicensingService service, std::optional<Error> error) {
  if (error) {
    errors_[service] = std::move(*error);
  } else {
    errors_.erase(service);
  }
}

Result<std::vector<LicensingProduct>> FakeLicensing::Products(
    LicensingService service, std::string_view application_id) const {
  queries_.emplace_back(service, std::string(application_id));
  if (auto it = errors_.find(service); it != errors_.end()) {
    return it->second;
  }
  std::vector<LicensingProduct> out;
  if (auto it = products_.find(service); it != products_.end()) {
    for (const auto& p : it->second) {
      if (p.application_id == application_id && !p.partial_key.empty()) {
        out.push_back(p);
      }
    }
  }
  return out;
}

void FakePlatform::AddWindowsSources() {
  if (security_center_ != nullptr) {
    return;
  }
  if (unwired_registry_) {
    platform_.registry = std::move(unwired_registry_);
  }
  auto security_center = std::make_unique<FakeSecurityCenter>();
  auto licensing = std::make_unique<FakeLicensing>();
  security_center_ = security_center.get();
  licensing_ = licensing.get();
  platform_.security_center = std::move(security_center);
  platform_.licensing = std::move(licensing);
}

}  // namespace cg::platform::fake

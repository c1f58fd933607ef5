// Linux scanning I/O: the openat()/fstatat() walker, the single-open file reader, thread
// priority and CPU time, and the power supply state from sysfs (see platform/scan_io.h).
#include "platform/scan_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/text.h"
#include "platform/linux/fd.h"
#include "platform/os/files.h"
#include "platform/scan_walker.h"

namespace cg::platform {
namespace {

using linux_::DirPtr;
using linux_::Fd;

int64_t Nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + static_cast<int64_t>(ts.tv_nsec);
}

FileStamp StampOf(const struct stat& st) {
  return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<uint64_t>(st.st_size), Nanos(st.st_mtim), Nanos(st.st_ctim)};
}

// ---- walker ------------------------------------------------------------------------------

struct DevIno {
  uint64_t dev;
  uint64_t ino;
  bool operator==(const DevIno&) const = default;
};

struct DevInoHash {
  size_t operator()(const DevIno& d) const {
    return std::hash<uint64_t>()(d.dev * 0x9e3779b97f4a7c15ULL ^ d.ino);
  }
};

// File systems that hold no files worth scanning and can hang or mislead a walker (reading
// /proc/kcore, /sys attributes, device nodes, automount triggers).
const char* PseudoFsName(uint64_t magic) {
  switch (magic) {
    case PROC_SUPER_MAGIC:
      return "proc";
    case SYSFS_MAGIC:
      return "sysfs";
    case DEVPTS_SUPER_MAGIC:
      return "devpts";
    case CGROUP_SUPER_MAGIC:
      return "cgroup";
    case CGROUP2_SUPER_MAGIC:
      return "cgroup2";
    case DEBUGFS_MAGIC:
      return "debugfs";
    case TRACEFS_MAGIC:
      return "tracefs";
    case SECURITYFS_MAGIC:
      return "securityfs";
    case SELINUX_MAGIC:
      return "selinuxfs";
    case SMACK_MAGIC:
      return "smackfs";
    case BPF_FS_MAGIC:
      return "bpf";
    case PSTOREFS_MAGIC:
      return "pstore";
    case EFIVARFS_MAGIC:
      return "efivarfs";
    case BINFMTFS_MAGIC:
      return "binfmt_misc";
    case NSFS_MAGIC:
      return "nsfs";
    case AUTOFS_SUPER_MAGIC:
      return "autofs";
    default:
      return nullptr;
  }
}

bool IsPseudoFsType(std::string_view type) {
  static const std::vector<std::string_view> kTypes = {
      "devtmpfs", "proc",       "sysfs",      "devpts", "cgroup",   "cgroup2",     "debugfs",
      "tracefs",  "securityfs", "bpf",        "pstore", "efivarfs", "binfmt_misc", "configfs",
      "fusectl",  "mqueue",     "rpc_pipefs", "nsfs",   "autofs",   "selinuxfs",   "hugetlbfs"};
  return std::find(kTypes.begin(), kTypes.end(), type) != kTypes.end();
}

// st_dev -> file system type, from /proc/self/mountinfo: devtmpfs reports tmpfs's magic to
// statfs(), so only the mount table tells /dev apart from /dev/shm or a tmpfs /tmp.
std::unordered_map<uint64_t, std::string> ReadMountTypes() {
  std::unordered_map<uint64_t, std::string> types;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id;
    std::string parent;
    std::string majmin;
    fields >> id >> parent >> majmin;
    const size_t sep = line.find(" - ");
    const size_t colon = majmin.find(':');
    if (sep == std::string::npos || colon == std::string::npos) {
      continue;
    }
    std::istringstream tail(line.substr(sep + 3));
    std::string type;
    tail >> type;
    unsigned major = 0;
    unsigned minor = 0;
    if (std::sscanf(majmin.c_str(), "%u:%u", &major, &minor) != 2) {
      continue;
    }
    types[static_cast<uint64_t>(makedev(major, minor))] = type;
  }
  return types;
}

std::string JoinPath(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') {
    out.push_back('/');
  }
  out.append(name);
  return out;
}

const char* SpecialKind(mode_t mode) {
  if (S_ISFIFO(mode)) {
    return "fifo";
  }
  if (S_ISSOCK(mode)) {
    return "socket";
  }
  if (S_ISBLK(mode)) {
    return "block device";
  }
  if (S_ISCHR(mode)) {
    return "character device";
  }
  return "not a regular file";
}

class Walker {
 public:
  Walker(const WalkOptions& options, WalkVisitor& visitor)
      : o_(options), v_(visitor), filter_(options) {
    for (const char* p : {"/proc", "/sys", "/dev"}) {
      pseudo_paths_.push_back(filter_.machine_root() + p);
    }
  }

  // Returns false when the visitor asked to stop.
  bool WalkRoot(std::string root) {
    while (root.size() > 1 && root.back() == '/') {
      root.pop_back();
    }
    if (const char* why = PseudoPath(root)) {
      v_.OnSkip(root, SkipReason::kPseudoFilesystem, why);
      return true;
    }
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) {
      v_.OnError(root, ErrnoError("cannot examine scan root"));
      return true;
    }
    root_dev_ = static_cast<uint64_t>(st.st_dev);
    if (S_ISREG(st.st_mode)) {
      return VisitFile(root, Basename(root), st);
    }
    if (!S_ISDIR(st.st_mode)) {
      v_.OnSkip(root, SkipReason::kSpecialFile, SpecialKind(st.st_mode));
      return true;
    }
    if (filter_.ExcludedDir(root)) {
      v_.OnSkip(root, SkipReason::kExcluded, "");
      return true;
    }
    stack_.clear();
    if (!EnterDir(AT_FDCWD, root, root, root_dev_, 0, /*is_root=*/true)) {
      return false;
    }
    while (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.next >= top.subdirs.size()) {
        stack_.pop_back();
        continue;
      }
      const std::string name = top.subdirs[top.next++];
      const std::string path = JoinPath(top.path, name);
      const int depth = top.depth + 1;
      if (depth > o_.max_depth) {
        v_.OnError(path, MakeError(ErrorCode::kTooLarge,
                                   "nested deeper than " + std::to_string(o_.max_depth) +
                                       " directories below the scan root; not entered"));
        continue;
      }
      // EnterDir may push onto stack_: copy what is needed from `top` first.
      const int parent_fd = top.fd.get();
      const uint64_t parent_dev = top.dev;
      if (!EnterDir(parent_fd, name, path, parent_dev, depth, /*is_root=*/false)) {
        return false;
      }
    }
    return true;
  }

 private:
  struct Frame {
    Fd fd;  // kept open so that subdirectories are opened relative to it (no path races)
    std::string path;
    uint64_t dev = 0;
    int depth = 0;
    std::vector<std::string> subdirs;
    size_t next = 0;
  };

  static std::string_view Basename(std::string_view path) {
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
  }

  const char* PseudoPath(std::string_view path) const {
    for (size_t i = 0; i < pseudo_paths_.size(); ++i) {
      const std::string& p = pseudo_paths_[i];
      if (path == p ||
          (path.size() > p.size() && path.substr(0, p.size()) == p && path[p.size()] == '/')) {
        static const char* const kWhy[] = {"/proc is never scanned", "/sys is never scanned",
                                           "/dev is never scanned"};
        return kWhy[i];
      }
    }
    return nullptr;
  }

  // Filters for a regular file; returns false when the visitor asked to stop.
  bool VisitFile(const std::string& path, std::string_view name, const struct stat& st) {
    if (const auto skip = filter_.SkipFile(path, name)) {
      v_.OnSkip(path, *skip, "");
      return true;
    }
    if (o_.max_file_size > 0 && static_cast<uint64_t>(st.st_size) > o_.max_file_size) {
      v_.OnSkip(path, SkipReason::kTooLarge, std::to_string(st.st_size) + " bytes");
      return true;
    }
    if (o_.one_filesystem && static_cast<uint64_t>(st.st_dev) != root_dev_) {
      v_.OnSkip(path, SkipReason::kOtherFilesystem, "");
      return true;
    }
    return v_.OnFile(path, StampOf(st));
  }

  // Why a directory on another device must not be entered, or nullptr.
  const char* PseudoFs(int fd, uint64_t dev) {
    struct statfs sfs {};
    if (::fstatfs(fd, &sfs) == 0) {
      if (const char* name = PseudoFsName(static_cast<uint64_t>(sfs.f_type))) {
        return name;
      }
      if (static_cast<uint64_t>(sfs.f_type) != TMPFS_MAGIC) {
        return nullptr;
      }
    }
    if (!mount_types_) {
      mount_types_ = ReadMountTypes();
    }
    auto it = mount_types_->find(dev);
    if (it != mount_types_->end() && IsPseudoFsType(it->second)) {
      pseudo_names_.insert(it->second);
      return pseudo_names_.find(it->second)->c_str();
    }
    return nullptr;
  }

  // One directory entry; returns false when the visitor asked to stop.
  bool VisitEntry(int dfd, const char* name, unsigned char d_type, const std::string& dir,
                  Frame& frame) {
    const std::string_view entry(name);
    const std::string child = JoinPath(dir, entry);
    if (d_type == DT_LNK && !o_.follow_symlinks) {
      v_.OnSkip(child, SkipReason::kSymlink, "");
      return true;
    }
    if (d_type == DT_DIR) {
      // Its identity and file system are checked by fstat() once it is opened.
      AddSubdir(child, entry, frame);
      return true;
    }
    struct stat cst {};
    if (::fstatat(dfd, name, &cst, AT_SYMLINK_NOFOLLOW) != 0) {
      const int err = errno;
      if (err == ENOENT) {
        v_.OnSkip(child, SkipReason::kVanished, "");
      } else {
        v_.OnError(child, ErrnoError("cannot examine", err));
      }
      return true;
    }
    if (S_ISLNK(cst.st_mode)) {
      if (!o_.follow_symlinks) {
        v_.OnSkip(child, SkipReason::kSymlink, "");
        return true;
      }
      if (::fstatat(dfd, name, &cst, 0) != 0) {
        v_.OnSkip(child, SkipReason::kSymlink, errno == ELOOP ? "symlink loop" : "dangling");
        return true;
      }
    }
    if (S_ISDIR(cst.st_mode)) {
      AddSubdir(child, entry, frame);
      return true;
    }
    if (S_ISREG(cst.st_mode)) {
      return VisitFile(child, entry, cst);
    }
    v_.OnSkip(child, SkipReason::kSpecialFile, SpecialKind(cst.st_mode));
    return true;
  }

  void AddSubdir(const std::string& child, std::string_view name, Frame& frame) {
    if (const char* why = PseudoPath(child)) {
      v_.OnSkip(child, SkipReason::kPseudoFilesystem, why);
    } else if (filter_.ExcludedDir(child)) {
      v_.OnSkip(child, SkipReason::kExcluded, "");
    } else {
      frame.subdirs.emplace_back(name);
    }
  }

  // Opens and lists one directory, reports its files, and pushes it for its subdirectories.
  // Returns false when the visitor asked to stop.
  bool EnterDir(int parent_fd, const std::string& name, const std::string& path,
                uint64_t parent_dev, int depth, bool is_root) {
    if (!v_.KeepGoing()) {
      return false;
    }
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK;
    if (!is_root && !o_.follow_symlinks) {
      flags |= O_NOFOLLOW;
    }
    Fd fd(::openat(parent_fd, name.c_str(), flags));
    if (!fd.valid()) {
      const int err = errno;
      if (err == ENOENT || err == ENOTDIR) {
        v_.OnSkip(path, SkipReason::kVanished, "");
      } else if (err == ELOOP) {
        v_.OnSkip(path, SkipReason::kSymlink, "");
      } else {
        v_.OnError(path, ErrnoError("cannot open directory", err));
      }
      return true;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      v_.OnError(path, ErrnoError("cannot examine directory"));
      return true;
    }
    const uint64_t dev = static_cast<uint64_t>(st.st_dev);
    if (visited_.contains(DevIno{dev, static_cast<uint64_t>(st.st_ino)})) {
      v_.OnSkip(path, SkipReason::kAlreadyVisited, "symlink loop or second path to a directory");
      return true;
    }
    if (!is_root && o_.one_filesystem && dev != root_dev_) {
      v_.OnSkip(path, SkipReason::kOtherFilesystem, "");
      return true;
    }
    if (is_root || dev != parent_dev) {
      if (const char* fs = PseudoFs(fd.get(), dev)) {
        v_.OnSkip(path, SkipReason::kPseudoFilesystem, fs);
        return true;
      }
    }
    visited_.insert(DevIno{dev, static_cast<uint64_t>(st.st_ino)});

    Frame frame;
    frame.path = path;
    frame.dev = dev;
    frame.depth = depth;
    // Entries come straight from getdents64() into a buffer reused for every directory (no DIR
    // stream, no duplicate descriptor), and d_type spares an fstatat() for directories and for
    // symlinks that are not followed: on a rescan the walk is most of the work.
    const int dfd = fd.get();
    size_t count = 0;
    for (;;) {
      const ssize_t n = ::getdents64(dfd, dents_.data(), dents_.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        v_.OnError(path, ErrnoError("cannot read directory"));
        break;
      }
      if (n == 0) {
        break;
      }
      for (ssize_t off = 0; off < n;) {
        const auto* de = reinterpret_cast<const struct dirent64*>(dents_.data() + off);
        off += de->d_reclen;
        const std::string_view entry(de->d_name);
        if (entry == "." || entry == "..") {
          continue;
        }
        if (++count % 256 == 0 && !v_.KeepGoing()) {
          return false;
        }
        if (!VisitEntry(dfd, de->d_name, de->d_type, path, frame)) {
          return false;
        }
      }
    }
    if (!frame.subdirs.empty()) {
      frame.fd = std::move(fd);
      stack_.push_back(std::move(frame));
    }
    return true;
  }

  const WalkOptions& o_;
  WalkVisitor& v_;
  WalkFilter filter_;
  std::vector<std::string> pseudo_paths_;
  uint64_t root_dev_ = 0;
  std::vector<Frame> stack_;
  std::unordered_set<DevIno, DevInoHash> visited_;
  std::optional<std::unordered_map<uint64_t, std::string>> mount_types_;
  std::unordered_set<std::string> pseudo_names_;
  std::vector<char> dents_ = std::vector<char>(64 * 1024);
};

// ---- power supply ------------------------------------------------------------------------

std::string ReadTrimmed(const std::string& path) {
  auto text = ReadFileToString(path, 4096);
  if (!text.ok()) {
    return "";
  }
  std::string s = std::move(text).value();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) {
    s.pop_back();
  }
  return s;
}

}  // namespace

void WalkCheckedRoots(const WalkOptions& options, WalkVisitor& visitor) {
  Walker walker(options, visitor);
  for (const auto& root : options.roots) {
    if (!walker.WalkRoot(root)) {
      break;
    }
  }
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) {
      ::munmap(const_cast<uint8_t*>(data_), size_);
    }
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) {
    ::munmap(const_cast<uint8_t*>(data_), size_);
  }
}

Result<ScanFile> ScanFile::Open(const std::string& path, bool follow_symlinks) {
  // O_NOATIME is refused (EPERM) for files the caller does not own without CAP_FOWNER; after
  // the first refusal it is not tried again.
  static std::atomic<bool> try_noatime{true};
  const int flags =
      O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow_symlinks ? 0 : O_NOFOLLOW);
  int fd = -1;
  if (try_noatime.load(std::memory_order_relaxed)) {
    fd = ::open(path.c_str(), flags | O_NOATIME);
    if (fd < 0 && errno == EPERM) {
      try_noatime.store(false, std::memory_order_relaxed);
    }
  }
  if (fd < 0 && !try_noatime.load(std::memory_order_relaxed)) {
    fd = ::open(path.c_str(), flags);
  }
  if (fd < 0) {
    const int err = errno;
    if (err == ELOOP) {
      return MakeError(ErrorCode::kInvalidArgument, "replaced by a symlink");
    }
    if (err == ENXIO) {
      return MakeError(ErrorCode::kInvalidArgument, "replaced by a socket");
    }
    return ErrnoError("cannot open", err);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError("cannot examine", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("no longer a regular file (") + SpecialKind(st.st_mode) + ")");
  }
  return ScanFile(fd, StampOf(st));
}

ScanFile::ScanFile(ScanFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), stamp_(other.stamp_) {}

ScanFile& ScanFile::operator=(ScanFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    stamp_ = other.stamp_;
  }
  return *this;
}

ScanFile::~ScanFile() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

Result<ReadOutcome> ScanFile::ReadAll(ScanBuffer& buffer, size_t chunk) {
  if (chunk == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "read chunk must be positive");
  }
  const size_t want = static_cast<size_t>(stamp_.size);
  uint8_t* buf = buffer.Reserve(want + 1);
  size_t off = 0;
  while (off < want) {
    const ssize_t n = ::pread(fd_, buf + off, std::min(chunk, want - off), static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("cannot read");
    }
    if (n == 0) {
      return ReadOutcome{off, true};
    }
    off += static_cast<size_t>(n);
  }
  for (;;) {
    const ssize_t n = ::pread(fd_, buf + off, 1, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return ErrnoError("cannot read");
    }
    return ReadOutcome{off, n > 0};
  }
}

Result<MappedFile> ScanFile::Map() const {
  const size_t size = static_cast<size_t>(stamp_.size);
  if (size == 0) {
    return MappedFile();
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (p == MAP_FAILED) {
    return ErrnoError("cannot map");
  }
  // Advice only: a failure changes nothing but read-ahead.
  (void)::madvise(p, size, MADV_SEQUENTIAL);
  return MappedFile(static_cast<const uint8_t*>(p), size);
}

Result<size_t> ScanFile::ReadAt(uint64_t offset, uint8_t* out, size_t size) const {
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd_, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("cannot read");
    }
    if (n == 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  return got;
}

Result<FileStamp> ScanFile::Restat() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return ErrnoError("cannot examine");
  }
  return StampOf(st);
}

Status LowerThreadPriority() {
  const auto tid = static_cast<id_t>(::gettid());
  if (::setpriority(PRIO_PROCESS, tid, 19) != 0) {
    return ErrnoError("setpriority");
  }
  // <linux/ioprio.h> is not shipped by every libc's kernel headers: the ABI values.
  constexpr int kIoprioWhoProcess = 1;
  constexpr int kIoprioClassIdle = 3;
  constexpr int kIoprioClassShift = 13;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioClassIdle << kIoprioClassShift) != 0) {
    return ErrnoError("ioprio_set");
  }
  return OkStatus();
}

std::chrono::nanoseconds ThreadCpuTime() {
  struct timespec ts {};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
    // Cannot fail for the calling thread's own clock on Linux.
    std::abort();
  }
  return std::chrono::nanoseconds(Nanos(ts));
}

Result<PowerState> ReadPowerState(const std::string& power_supply_dir) {
  DirPtr dir(::opendir(power_supply_dir.c_str()));
  if (!dir) {
    if (errno == ENOENT) {
      return PowerState{false, "no power supply information"};
    }
    return ErrnoError("cannot list " + power_supply_dir);
  }
  std::vector<std::string> names;
  while (const struct dirent* de = ::readdir(dir.get())) {
    const std::string_view n(de->d_name);
    if (n != "." && n != "..") {
      names.emplace_back(n);
    }
  }
  std::sort(names.begin(), names.end());
  bool external_present = false;
  bool external_online = false;
  bool battery_present = false;
  bool discharging = false;
  std::string detail;
  for (const auto& name : names) {
    const std::string base = power_supply_dir + "/" + name;
    const std::string type = ReadTrimmed(base + "/type");
    if (type.empty()) {
      continue;
    }
    if (type == "Battery") {
      // A wireless mouse or keyboard battery reports scope "Device": not the machine's.
      if (ReadTrimmed(base + "/scope") == "Device") {
        continue;
      }
      battery_present = true;
      const std::string status = ReadTrimmed(base + "/status");
      discharging = discharging || status == "Discharging";
      detail += (detail.empty() ? "" : ", ") + name + " " +
                AsciiLower(status.empty() ? "unknown" : status);
    } else {
      const std::string online = ReadTrimmed(base + "/online");
      if (online.empty()) {
        continue;
      }
      external_present = true;
      external_online = external_online || online == "1";
      detail += (detail.empty() ? "" : ", ") + name + (online == "1" ? " online" : " offline");
    }
  }
  PowerState state;
  state.on_battery = discharging || (battery_present && external_present && !external_online);
  state.detail = detail.empty() ? "no power supply information" : detail;
  return state;
}

}  // namespace cg::platform

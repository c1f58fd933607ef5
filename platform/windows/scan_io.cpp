// Windows scanning I/O (platform/scan_io.h): the walker on directory handles and
// GetFileInformationByHandleEx(FileIdBothDirectoryInfo), which gives each entry's file id,
// size and times without opening it; the single-open file reader; background-mode priority;
// thread CPU time; the power state from GetSystemPowerStatus.
//
// Every open shares read, write and delete (a scan never blocks the clerk's program that has a
// document open, nor its save-by-rename), paths are extended-length (\\?\, no MAX_PATH limit).
// Paths handed to the visitor are the root as given followed by '\' and the names below it;
// globs are matched against the path with '/' separators ("C:/Users/*/AppData/**").
#include "platform/scan_io.h"

#include <fcntl.h>
#include <io.h>
#include <windows.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "platform/scan_walker.h"
#include "platform/windows/handle.h"
#include "platform/windows/long_path.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform {
namespace {

using windows::FiletimeToUnixNanos;
using windows::LastWin32Error;
using windows::ToLongPath;
using windows::UniqueHandle;
using windows::Valid;
using windows::WideToUtf8;
using windows::Win32Error;

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

int64_t Nanos(const LARGE_INTEGER& filetime) { return FiletimeToUnixNanos(filetime.QuadPart); }

// The stamp of an open file: volume serial + file id (dev/ino), size, last write and change
// times. The change time moves on any change of content or attributes, like st_ctime.
Result<FileStamp> StampOfHandle(HANDLE h) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(h, &info)) {
    return LastWin32Error("cannot examine");
  }
  FILE_BASIC_INFO basic{};
  if (!GetFileInformationByHandleEx(h, FileBasicInfo, &basic, sizeof basic)) {
    return LastWin32Error("cannot examine");
  }
  FileStamp s;
  s.dev = info.dwVolumeSerialNumber;
  s.ino = (static_cast<uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow;
  s.size = (static_cast<uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  s.mtime_ns = Nanos(basic.LastWriteTime);
  s.ctime_ns = Nanos(basic.ChangeTime);
  return s;
}

struct Identity {
  uint64_t dev;
  uint64_t ino;
  bool operator==(const Identity&) const = default;
};

struct IdentityHash {
  size_t operator()(const Identity& d) const {
    return std::hash<uint64_t>()(d.dev * 0x9e3779b97f4a7c15ULL ^ d.ino);
  }
};

// A file that is only a placeholder of a cloud file (OneDrive "files on demand"): reading it
// would download it, so it is not scanned.
// (mingw's headers lack the two RECALL attributes: the values of the Windows SDK's winnt.h.)
constexpr DWORD kRecallOnOpen = 0x00040000;
constexpr DWORD kRecallOnDataAccess = 0x00400000;
constexpr DWORD kCloudPlaceholder = FILE_ATTRIBUTE_OFFLINE | kRecallOnOpen | kRecallOnDataAccess;
// winerror.h's ERROR_THREAD_MODE_ALREADY_BACKGROUND, missing from mingw's.
constexpr DWORD kThreadModeAlreadyBackground = 400;

class Walker {
 public:
  Walker(const WalkOptions& options, WalkVisitor& visitor)
      : o_(options), v_(visitor), filter_(options, '\\') {}

  bool WalkRoot(std::string root) {
    while (root.size() > 3 && (root.back() == '\\' || root.back() == '/')) {
      root.pop_back();
    }
    if (!windows::IsWindowsAbsolutePath(root)) {
      v_.OnError(root, MakeError(ErrorCode::kInvalidArgument,
                                 "not a Windows path (\"C:\\...\"): not scanned"));
      return true;
    }
    auto wide = ToLongPath(root);
    if (!wide.ok()) {
      v_.OnError(root, wide.error());
      return true;
    }
    // The root itself is followed when it is a link (as on Linux).
    UniqueHandle h(CreateFileW(wide->c_str(), FILE_READ_ATTRIBUTES, kShareAll, nullptr,
                               OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, nullptr));
    if (!Valid(h)) {
      v_.OnError(root, LastWin32Error("cannot examine scan root"));
      return true;
    }
    BY_HANDLE_FILE_INFORMATION info{};
    if (!GetFileInformationByHandle(h.get(), &info)) {
      v_.OnError(root, LastWin32Error("cannot examine scan root"));
      return true;
    }
    root_dev_ = info.dwVolumeSerialNumber;
    if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      auto stamp = StampOfHandle(h.get());
      if (!stamp.ok()) {
        v_.OnError(root, stamp.error());
        return true;
      }
      const size_t sep = root.find_last_of("\\/");
      return VisitFile(root, sep == std::string::npos ? root : root.substr(sep + 1),
                       info.dwFileAttributes, *stamp);
    }
    if (filter_.ExcludedDir(root)) {
      v_.OnSkip(root, SkipReason::kExcluded, "");
      return true;
    }
    std::vector<std::pair<std::string, int>> stack;  // path, depth
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto [path, depth] = std::move(stack.back());
      stack.pop_back();
      std::vector<std::string> subdirs;
      if (!ListDirectory(path, depth == 0, subdirs)) {
        return false;
      }
      // Depth first, in name order: pushed in reverse.
      for (auto it = subdirs.rbegin(); it != subdirs.rend(); ++it) {
        if (depth + 1 > o_.max_depth) {
          v_.OnError(*it, MakeError(ErrorCode::kTooLarge,
                                    "nested deeper than " + std::to_string(o_.max_depth) +
                                        " directories below the scan root; not entered"));
          continue;
        }
        stack.emplace_back(std::move(*it), depth + 1);
      }
    }
    return true;
  }

 private:
  bool VisitFile(const std::string& path, std::string_view name, DWORD attributes,
                 const FileStamp& stamp) {
    if (const auto skip = filter_.SkipFile(path, name)) {
      v_.OnSkip(path, *skip, "");
      return true;
    }
    if ((attributes & kCloudPlaceholder) != 0) {
      v_.OnSkip(path, SkipReason::kSpecialFile, "cloud placeholder, not downloaded");
      return true;
    }
    if ((attributes & FILE_ATTRIBUTE_DEVICE) != 0) {
      v_.OnSkip(path, SkipReason::kSpecialFile, "device");
      return true;
    }
    if (o_.max_file_size != 0 && stamp.size > o_.max_file_size) {
      v_.OnSkip(path, SkipReason::kTooLarge, std::to_string(stamp.size) + " bytes");
      return true;
    }
    return v_.OnFile(path, stamp);
  }

  // Lists one directory: files go to the visitor, subdirectories to `subdirs`. Returns false
  // when the visitor asked to stop.
  bool ListDirectory(const std::string& path, bool is_root, std::vector<std::string>& subdirs) {
    if (!v_.KeepGoing()) {
      return false;
    }
    auto wide = ToLongPath(path);
    if (!wide.ok()) {
      v_.OnError(path, wide.error());
      return true;
    }
    DWORD flags = FILE_FLAG_BACKUP_SEMANTICS;
    if (!is_root && !o_.follow_symlinks) {
      flags |= FILE_FLAG_OPEN_REPARSE_POINT;
    }
    UniqueHandle dir(CreateFileW(wide->c_str(), FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES,
                                 kShareAll, nullptr, OPEN_EXISTING, flags, nullptr));
    if (!Valid(dir)) {
      const DWORD err = GetLastError();
      if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) {
        v_.OnSkip(path, SkipReason::kVanished, "");
      } else {
        v_.OnError(path, Win32Error("cannot open directory", err));
      }
      return true;
    }
    BY_HANDLE_FILE_INFORMATION info{};
    if (!GetFileInformationByHandle(dir.get(), &info)) {
      v_.OnError(path, LastWin32Error("cannot examine directory"));
      return true;
    }
    if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      v_.OnSkip(path, SkipReason::kVanished, "no longer a directory");
      return true;
    }
    const Identity id{info.dwVolumeSerialNumber,
                      (static_cast<uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow};
    if (visited_.contains(id)) {
      v_.OnSkip(path, SkipReason::kAlreadyVisited, "link loop or second path to a directory");
      return true;
    }
    if (!is_root && o_.one_filesystem && id.dev != root_dev_) {
      v_.OnSkip(path, SkipReason::kOtherFilesystem, "");
      return true;
    }
    visited_.insert(id);

    const std::string prefix = path.ends_with('\\') || path.ends_with('/') ? path : path + "\\";
    size_t count = 0;
    FILE_INFO_BY_HANDLE_CLASS klass = FileIdBothDirectoryRestartInfo;
    for (;;) {
      if (!GetFileInformationByHandleEx(dir.get(), klass, listing_.data(),
                                        static_cast<DWORD>(listing_.size() * sizeof(uint64_t)))) {
        const DWORD err = GetLastError();
        if (err != ERROR_NO_MORE_FILES) {
          v_.OnError(path, Win32Error("cannot read directory", err));
        }
        break;
      }
      klass = FileIdBothDirectoryInfo;
      for (size_t off = 0;;) {
        const auto* e = reinterpret_cast<const FILE_ID_BOTH_DIR_INFO*>(
            reinterpret_cast<const uint8_t*>(listing_.data()) + off);
        if (!VisitEntry(*e, prefix, id.dev, subdirs)) {
          return false;
        }
        if (++count % 256 == 0 && !v_.KeepGoing()) {
          return false;
        }
        if (e->NextEntryOffset == 0) {
          break;
        }
        off += e->NextEntryOffset;
      }
    }
    std::sort(subdirs.begin(), subdirs.end());
    return true;
  }

  bool VisitEntry(const FILE_ID_BOTH_DIR_INFO& e, const std::string& prefix, uint64_t dev,
                  std::vector<std::string>& subdirs) {
    const std::wstring_view wname(e.FileName, e.FileNameLength / sizeof(wchar_t));
    if (wname == L"." || wname == L"..") {
      return true;
    }
    auto name = WideToUtf8(wname);
    if (!name.ok()) {
      v_.OnError(prefix + "?", MakeError(ErrorCode::kInvalidArgument,
                                         "a name that is not valid UTF-16 (unpaired surrogate)"));
      return true;
    }
    const std::string child = prefix + *name;
    const DWORD attrs = e.FileAttributes;
    if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0 && !o_.follow_symlinks) {
      v_.OnSkip(child, SkipReason::kSymlink,
                (attrs & FILE_ATTRIBUTE_DIRECTORY) != 0 ? "junction or directory link" : "");
      return true;
    }
    if ((attrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      if (filter_.ExcludedDir(child)) {
        v_.OnSkip(child, SkipReason::kExcluded, "");
      } else {
        subdirs.push_back(child);
      }
      return true;
    }
    FileStamp stamp;
    stamp.dev = dev;
    stamp.ino = static_cast<uint64_t>(e.FileId.QuadPart);
    stamp.size = static_cast<uint64_t>(e.EndOfFile.QuadPart);
    stamp.mtime_ns = Nanos(e.LastWriteTime);
    stamp.ctime_ns = Nanos(e.ChangeTime);
    if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
      // A followed file link: the listing describes the link, the target is what is read.
      auto wide = ToLongPath(child);
      UniqueHandle h(wide.ok() ? CreateFileW(wide->c_str(), FILE_READ_ATTRIBUTES, kShareAll,
                                             nullptr, OPEN_EXISTING, 0, nullptr)
                               : INVALID_HANDLE_VALUE);
      auto target = Valid(h) ? StampOfHandle(h.get())
                             : Result<FileStamp>(MakeError(ErrorCode::kNotFound, "dangling"));
      if (!target.ok()) {
        v_.OnSkip(child, SkipReason::kSymlink, "dangling");
        return true;
      }
      stamp = *target;
    }
    return VisitFile(child, *name, attrs, stamp);
  }

  const WalkOptions& o_;
  WalkVisitor& v_;
  WalkFilter filter_;
  uint64_t root_dev_ = 0;
  std::unordered_set<Identity, IdentityHash> visited_;
  // The listing buffer, 8-byte aligned for FILE_ID_BOTH_DIR_INFO's LARGE_INTEGER members.
  std::vector<uint64_t> listing_ = std::vector<uint64_t>(64 * 1024 / sizeof(uint64_t));
};

HANDLE HandleOf(int fd) { return reinterpret_cast<HANDLE>(_get_osfhandle(fd)); }

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
      UnmapViewOfFile(data_);
    }
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) {
    UnmapViewOfFile(data_);
  }
}

// The HANDLE is kept in a C runtime descriptor (_open_osfhandle), so ScanFile is laid out the
// same on both systems; _close closes the handle. NTFS updates no last-access time by default
// (Windows 10 1803 and later on system volumes), so there is no O_NOATIME to ask for.
Result<ScanFile> ScanFile::Open(const std::string& path, bool follow_symlinks) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, ToLongPath(path));
  const DWORD flags =
      FILE_FLAG_SEQUENTIAL_SCAN | (follow_symlinks ? 0 : FILE_FLAG_OPEN_REPARSE_POINT);
  UniqueHandle h(
      CreateFileW(wide.c_str(), GENERIC_READ, kShareAll, nullptr, OPEN_EXISTING, flags, nullptr));
  if (!Valid(h)) {
    return LastWin32Error("cannot open");
  }
  const DWORD attrs = [&] {
    FILE_BASIC_INFO basic{};
    return GetFileInformationByHandleEx(h.get(), FileBasicInfo, &basic, sizeof basic)
               ? basic.FileAttributes
               : 0;
  }();
  if ((attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0 && !follow_symlinks) {
    return MakeError(ErrorCode::kInvalidArgument, "replaced by a symlink");
  }
  if ((attrs & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, "no longer a regular file (directory)");
  }
  CG_ASSIGN_OR_RETURN(FileStamp stamp, StampOfHandle(h.get()));
  const int fd = _open_osfhandle(reinterpret_cast<intptr_t>(h.get()), _O_RDONLY | _O_BINARY);
  if (fd < 0) {
    return MakeError(ErrorCode::kIo, "cannot open: no C runtime descriptor left");
  }
  (void)h.release();
  return ScanFile(fd, stamp);
}

ScanFile::ScanFile(ScanFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), stamp_(other.stamp_) {}

ScanFile& ScanFile::operator=(ScanFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      _close(fd_);
    }
    fd_ = std::exchange(other.fd_, -1);
    stamp_ = other.stamp_;
  }
  return *this;
}

ScanFile::~ScanFile() {
  if (fd_ >= 0) {
    _close(fd_);
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
    CG_ASSIGN_OR_RETURN(size_t n, ReadAt(off, buf + off, std::min(chunk, want - off)));
    if (n == 0) {
      return ReadOutcome{off, true};
    }
    off += n;
  }
  CG_ASSIGN_OR_RETURN(size_t more, ReadAt(off, buf + off, 1));
  return ReadOutcome{off, more > 0};
}

Result<MappedFile> ScanFile::Map() const {
  const size_t size = static_cast<size_t>(stamp_.size);
  if (size == 0) {
    return MappedFile();
  }
  // While the view exists Windows refuses to truncate the file (ERROR_USER_MAPPED_FILE), so
  // there is no SIGBUS to fear here.
  UniqueHandle mapping(CreateFileMappingW(HandleOf(fd_), nullptr, PAGE_READONLY, 0, 0, nullptr));
  if (!Valid(mapping)) {
    return LastWin32Error("cannot map");
  }
  const void* view = MapViewOfFile(mapping.get(), FILE_MAP_READ, 0, 0, size);
  if (view == nullptr) {
    return LastWin32Error("cannot map");
  }
  return MappedFile(static_cast<const uint8_t*>(view), size);
}

Result<size_t> ScanFile::ReadAt(uint64_t offset, uint8_t* out, size_t size) const {
  size_t got = 0;
  while (got < size) {
    OVERLAPPED at{};
    const uint64_t pos = offset + got;
    at.Offset = static_cast<DWORD>(pos & 0xffffffffu);
    at.OffsetHigh = static_cast<DWORD>(pos >> 32);
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(size - got, 1u << 30));
    DWORD n = 0;
    if (!::ReadFile(HandleOf(fd_), out + got, chunk, &n, &at)) {
      if (GetLastError() == ERROR_HANDLE_EOF) {
        break;
      }
      return LastWin32Error("cannot read");
    }
    if (n == 0) {
      break;
    }
    got += n;
  }
  return got;
}

Result<FileStamp> ScanFile::Restat() const { return StampOfHandle(HandleOf(fd_)); }

// Background mode lowers the thread's CPU priority and its I/O and memory priority to very
// low: only the scan's threads yield to the clerk's work, as ioprio idle + nice 19 do on Linux.
// Where background mode is refused as an invalid parameter (Wine 8 does not implement it) the
// CPU priority alone is lowered, to idle.
Status LowerThreadPriority() {
  if (SetThreadPriority(GetCurrentThread(), THREAD_MODE_BACKGROUND_BEGIN)) {
    return OkStatus();
  }
  const DWORD err = GetLastError();
  // A second call on the same thread.
  if (err == kThreadModeAlreadyBackground) {
    return OkStatus();
  }
  if (err == ERROR_INVALID_PARAMETER &&
      SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_IDLE)) {
    return OkStatus();
  }
  return Win32Error("SetThreadPriority(THREAD_MODE_BACKGROUND_BEGIN)", err);
}

std::chrono::nanoseconds ThreadCpuTime() {
  FILETIME creation{};
  FILETIME exit{};
  FILETIME kernel{};
  FILETIME user{};
  if (!GetThreadTimes(GetCurrentThread(), &creation, &exit, &kernel, &user)) {
    // Cannot fail for the calling thread's own pseudo handle.
    std::abort();
  }
  return std::chrono::nanoseconds((windows::FiletimeValue(kernel) + windows::FiletimeValue(user)) *
                                  100);
}

// `power_supply_dir` is Linux's sysfs layout and has no meaning here: the state comes from
// GetSystemPowerStatus. On battery when the AC line is offline and a battery is present.
Result<PowerState> ReadPowerState(const std::string& /*power_supply_dir*/) {
  SYSTEM_POWER_STATUS status{};
  if (!GetSystemPowerStatus(&status)) {
    return LastWin32Error("GetSystemPowerStatus");
  }
  PowerState state;
  const bool no_battery = (status.BatteryFlag & 128) != 0 || status.BatteryFlag == 255;
  state.on_battery = status.ACLineStatus == 0 && !no_battery;
  std::string ac = status.ACLineStatus == 1   ? "AC online"
                   : status.ACLineStatus == 0 ? "AC offline"
                                              : "AC unknown";
  std::string battery =
      no_battery ? "no battery" : "battery " + std::to_string(status.BatteryLifePercent) + "%";
  state.detail = battery + ", " + ac;
  return state;
}

}  // namespace cg::platform

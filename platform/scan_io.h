// File-system access for malware scanning: a directory walker that never leaves what it was
// asked to scan, a reader that opens a file once and reads it into a reused buffer (or maps
// it), and the knobs that keep a scan gentle (thread priority, thread CPU time, power state).
// The YARA engine (collectors/yara_engine) uses only this; platform/linux implements it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::platform {

// What identifies one version of a file: the incremental cache's key and the engine's check
// that a file did not change while it was read.
struct FileStamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool operator==(const FileStamp&) const = default;
};

struct WalkOptions {
  // Host paths to walk; a root may be a directory or a single file. The root itself is
  // followed when it is a symlink (as `find -H` and `yara` do); nothing below it is unless
  // follow_symlinks.
  std::vector<std::string> roots;
  // <machine_root>/proc, /sys and /dev are never entered (compared by path), nor is any
  // directory on a proc, sysfs, devtmpfs, devpts, cgroup, debugfs... mount (by file system).
  std::string machine_root = "/";
  bool follow_symlinks = false;
  // Stay on the file system of each root (compared by st_dev).
  bool one_filesystem = true;
  // Globs over machine paths (see GlobMatch). A file must match one include glob when any is
  // given; a file or directory matching an exclude glob is skipped (a directory with what is
  // below it).
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  // File name extensions, with or without the dot, compared without case: {".iso", "vmdk"}.
  std::vector<std::string> skip_extensions;
  // 0: no limit.
  uint64_t max_file_size = 0;
  // Directories nested deeper than this below a root are reported, not entered: the walker
  // keeps one descriptor open per level.
  int max_depth = 256;
};

enum class SkipReason {
  kExcluded,          // an exclude glob matched
  kNotIncluded,       // include globs given and none matched
  kExtension,         // listed in skip_extensions
  kTooLarge,          // above max_file_size
  kSymlink,           // a symlink, not followed (or a dangling one)
  kSpecialFile,       // FIFO, socket, block or character device
  kOtherFilesystem,   // one_filesystem and on another device
  kPseudoFilesystem,  // /proc, /sys, /dev or a pseudo file system mount
  kAlreadyVisited,    // a directory already walked: a symlink loop or a second path to it
  kVanished,          // removed between being listed and being opened
};

// Stable text of a reason, as reports and `cg-agent scan --json` print it ("too large").
std::string_view ToString(SkipReason reason);

// Receives what the walker finds. Called on the walker's thread only.
class WalkVisitor {
 public:
  virtual ~WalkVisitor() = default;
  // A regular file to scan, with its fstatat() stamp. Returning false stops the walk.
  virtual bool OnFile(std::string path, const FileStamp& stamp) = 0;
  // `detail` says more where there is more to say ("fifo", "proc", "/dev is never scanned").
  virtual void OnSkip(const std::string& path, SkipReason reason, std::string_view detail) = 0;
  // A directory that could not be opened or read, an entry that could not be examined. The
  // walk goes on.
  virtual void OnError(const std::string& path, const Error& error) = 0;
  // Asked before each directory and every few hundred entries; false stops the walk (used for
  // cancellation and for pacing the walker's own CPU use).
  virtual bool KeepGoing() { return true; }
};

// Walks options.roots depth-first. Paths handed to the visitor are the root as given followed
// by the raw names below it: bytes that are not valid UTF-8 are kept as they are (EscapePath
// makes them printable). Returns an error only for unusable options; everything the walk meets
// on the way goes to the visitor.
Status WalkFiles(const WalkOptions& options, WalkVisitor& visitor);

// Shell-style glob over a machine path: `*` matches within one path component, `**` across
// components ("a/**/b" also matches "a/b"), `?` one character, `[a-z]`/`[!a-z]` a class, `\`
// quotes the next character. A pattern without '/' is matched against the last component only
// ("*.iso" matches "/home/a/x.iso").
bool GlobMatch(std::string_view pattern, std::string_view path);

// A path made printable and unambiguous for reports: valid UTF-8 is kept, a backslash becomes
// "\\", and every other byte that is not printable (control characters, bytes that are not
// valid UTF-8) becomes "\xNN". "caf\xe9 one\n" -> "caf\\xe9 one\\x0a".
std::string EscapePath(std::string_view raw);

// A byte buffer reused across files by one worker: it grows to the largest file it has held
// and never shrinks, and its bytes are not zeroed on growth.
class ScanBuffer {
 public:
  // Makes room for at least `bytes` and returns the start.
  uint8_t* Reserve(size_t bytes);
  uint8_t* data() { return data_.get(); }
  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<uint8_t[]> data_;
  size_t capacity_ = 0;
};

// A read-only private mapping of a whole file; unmapped on destruction.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

struct ReadOutcome {
  size_t bytes = 0;      // bytes now in the buffer (at most stamp().size)
  bool changed = false;  // the file ended early or went on past stamp().size while being read
};

// One regular file opened for scanning: opened once (without following a final symlink unless
// asked, without blocking on a FIFO that replaced it, without updating its access time where the
// OS permits), identified by fstat() on the open descriptor.
class ScanFile {
 public:
  // kNotFound when it vanished, kInvalidArgument when it is no longer a regular file (a FIFO,
  // a symlink when not following...), kPermissionDenied/kIo otherwise. `follow_symlinks` lets a
  // final symlink (one the walker followed) be opened.
  static Result<ScanFile> Open(const std::string& path, bool follow_symlinks = false);

  ScanFile(ScanFile&& other) noexcept;
  ScanFile& operator=(ScanFile&& other) noexcept;
  ScanFile(const ScanFile&) = delete;
  ScanFile& operator=(const ScanFile&) = delete;
  ~ScanFile();

  // The stamp taken by fstat() right after opening.
  const FileStamp& stamp() const { return stamp_; }
  // Reads the file from its start into `buffer` with read() calls of at most `chunk` bytes,
  // up to stamp().size bytes, then probes one byte further to notice growth.
  Result<ReadOutcome> ReadAll(ScanBuffer& buffer, size_t chunk);
  // Maps stamp().size bytes read-only (sequential access advised). Truncating the file while
  // the mapping is read raises SIGBUS: read mappings only through code that handles it
  // (libyara's scan does).
  Result<MappedFile> Map() const;
  // Reads `size` bytes at `offset` (fewer at end of file).
  Result<size_t> ReadAt(uint64_t offset, uint8_t* out, size_t size) const;
  // fstat() again, to tell whether the file changed since stamp().
  Result<FileStamp> Restat() const;

 private:
  explicit ScanFile(int fd, const FileStamp& stamp) : fd_(fd), stamp_(stamp) {}
  int fd_ = -1;
  FileStamp stamp_;
};

// Lowers the calling thread's CPU priority (nice 19) and I/O priority (idle class). Linux
// applies both per thread, so only the scan's own threads yield to the counter's work.
Status LowerThreadPriority();

// CPU time (user + system) the calling thread has used.
std::chrono::nanoseconds ThreadCpuTime();

struct PowerState {
  bool on_battery = false;
  std::string detail;  // "BAT0 discharging, AC offline" / "no power supply information"
};

// Reads /sys/class/power_supply (or a fixture directory laid out the same way): on battery
// when a battery reports "Discharging", or when external supplies exist and none is online
// while a battery is present. A machine without power supply entries (a desktop) is on mains.
Result<PowerState> ReadPowerState(const std::string& power_supply_dir = "/sys/class/power_supply");

}  // namespace cg::platform

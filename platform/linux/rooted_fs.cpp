// Files under a root, every symlink resolved by platform::ResolvePath inside that root. The
// same code runs for root "/" (where it matches the kernel's own lookup) and for fixture
// trees, so tests exercise the production path.
#include "platform/linux/rooted_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "platform/linux/fd.h"
#include "platform/os/files.h"
#include "platform/path.h"

namespace cg::platform::linux_ {
namespace {

// readlink() of a host path into `out`; returns 0 or errno.
int ReadLinkAt(const std::string& host_path, std::string& out) {
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(host_path.c_str(), buf.data(), buf.size());
    if (n < 0) {
      return errno;
    }
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      out = std::move(buf);
      return 0;
    }
    buf.resize(buf.size() * 2);  // possibly truncated: retry with more room
  }
}

FileType TypeFromMode(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FileType::kRegular;
    case S_IFDIR:
      return FileType::kDirectory;
    case S_IFLNK:
      return FileType::kSymlink;
    case S_IFSOCK:
      return FileType::kSocket;
    case S_IFIFO:
      return FileType::kFifo;
    case S_IFBLK:
      return FileType::kBlock;
    case S_IFCHR:
      return FileType::kChar;
    default:
      return FileType::kOther;
  }
}

FileType TypeFromDirent(unsigned char d_type) {
  switch (d_type) {
    case DT_REG:
      return FileType::kRegular;
    case DT_DIR:
      return FileType::kDirectory;
    case DT_LNK:
      return FileType::kSymlink;
    case DT_SOCK:
      return FileType::kSocket;
    case DT_FIFO:
      return FileType::kFifo;
    case DT_BLK:
      return FileType::kBlock;
    case DT_CHR:
      return FileType::kChar;
    default:
      return FileType::kOther;
  }
}

ResolvedPath ResolveUnder(const std::string& root, std::string_view path, FinalLink final_link,
                          MissingTail missing) {
  return ResolvePath(
      path, final_link, missing, [&root](const std::string& machine, PathNode& node) {
        struct stat st {};
        const std::string host = JoinRoot(root, machine);
        if (::lstat(host.c_str(), &st) != 0) {
          if (errno == ENOENT) {
            node.kind = PathNode::Kind::kMissing;
            return 0;
          }
          return errno;
        }
        if (S_ISLNK(st.st_mode)) {
          node.kind = PathNode::Kind::kSymlink;
          return ReadLinkAt(host, node.link_target);
        }
        node.kind = S_ISDIR(st.st_mode) ? PathNode::Kind::kDirectory : PathNode::Kind::kOther;
        return 0;
      });
}

}  // namespace

Result<std::unique_ptr<RootedFileSystem>> RootedFileSystem::Create(const std::string& root) {
  std::error_code ec;
  const auto canonical = std::filesystem::canonical(root.empty() ? "/" : root, ec);
  if (ec) {
    return ErrnoError("root " + root, ec.value());
  }
  if (!std::filesystem::is_directory(canonical, ec)) {
    return MakeError(ErrorCode::kInvalidArgument, "root " + root + ": not a directory");
  }
  return std::unique_ptr<RootedFileSystem>(new RootedFileSystem(canonical.string()));
}

namespace {

// A regular file of the tree opened for reading, with its size.
struct OpenedFile {
  Fd fd;
  uint64_t size = 0;
};

Result<OpenedFile> OpenRegular(const std::string& root, std::string_view path,
                               const std::string& what) {
  const auto r = ResolveUnder(root, path, FinalLink::kFollow, MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  // O_NONBLOCK: opening a FIFO planted in a tree must not hang the agent. O_NOFOLLOW: the
  // final component was resolved above; a link appearing since then is refused.
  Fd fd(::open(JoinRoot(root, r.path).c_str(),
               O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    return ErrnoError(what);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError(what);
  }
  if (S_ISDIR(st.st_mode)) {
    return ErrnoError(what, EISDIR);
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument, what + ": not a regular file");
  }
  return OpenedFile{std::move(fd), static_cast<uint64_t>(st.st_size)};
}

}  // namespace

Result<std::string> RootedFileSystem::ReadFile(std::string_view path, size_t max_bytes) const {
  const std::string what = "read " + std::string(path);
  CG_ASSIGN_OR_RETURN(OpenedFile file, OpenRegular(root_, path, what));
  auto too_large = [&] {
    return MakeError(ErrorCode::kTooLarge,
                     what + ": larger than " + std::to_string(max_bytes) + " bytes");
  };
  if (file.size > max_bytes) {
    return too_large();
  }
  // /proc and /sys files report size 0, so read to EOF rather than trusting st_size.
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(file.fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(what);
    }
    if (n == 0) {
      return out;
    }
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return too_large();
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> RootedFileSystem::ReadFileRange(std::string_view path, uint64_t offset,
                                                    size_t length) const {
  const std::string what = "read " + std::string(path);
  CG_ASSIGN_OR_RETURN(OpenedFile file, OpenRegular(root_, path, what));
  std::string out(length, '\0');
  size_t got = 0;
  while (got < length) {
    const ssize_t n =
        ::pread(file.fd.get(), out.data() + got, length - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError(what);
    }
    if (n == 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

Result<std::vector<DirEntry>> RootedFileSystem::ListDir(std::string_view path) const {
  const std::string what = "list " + std::string(path);
  const auto r = ResolveUnder(root_, path, FinalLink::kFollow, MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  Fd fd(::open(JoinRoot(root_, r.path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    return ErrnoError(what);
  }
  DirPtr dir(::fdopendir(fd.get()));
  if (!dir) {
    return ErrnoError(what);
  }
  fd.Release();  // the DIR stream owns the descriptor now
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) {
        return ErrnoError(what);
      }
      break;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    FileType type = TypeFromDirent(e->d_type);
    if (e->d_type == DT_UNKNOWN) {
      // Some file systems (and overlay setups) leave d_type unset.
      struct stat st {};
      if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        type = TypeFromMode(st.st_mode);
      }
    }
    out.push_back(DirEntry{std::string(name), type});
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileInfo> RootedFileSystem::Stat(std::string_view path) const {
  const std::string what = "stat " + std::string(path);
  const auto r = ResolveUnder(root_, path, FinalLink::kNoFollow, MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  struct stat st {};
  if (::lstat(JoinRoot(root_, r.path).c_str(), &st) != 0) {
    return ErrnoError(what);
  }
  FileInfo info;
  info.type = TypeFromMode(st.st_mode);
  info.size = static_cast<uint64_t>(st.st_size);
  info.mode = static_cast<uint32_t>(st.st_mode & 07777);
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  info.mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  return info;
}

Status RootedFileSystem::WriteFileAtomic(std::string_view path, std::string_view data,
                                         uint32_t mode) {
  const std::string what = "write " + std::string(path);
  const auto r = ResolveUnder(root_, path, FinalLink::kFollow, MissingTail::kAppend);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  const auto components = SplitPath(r.path);
  if (components.empty()) {
    return ErrnoError(what, EISDIR);
  }
  // The resolved prefix holds no symlinks and its missing part consists of plain names, so
  // creating the directories one by one stays inside the root.
  std::vector<std::string> prefix;
  for (size_t i = 0; i + 1 < components.size(); ++i) {
    prefix.push_back(components[i]);
    const std::string dir = JoinRoot(root_, JoinComponents(prefix));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoError(what + ": create directory " + JoinComponents(prefix));
    }
  }
  const Status s = cg::WriteFileAtomic(JoinRoot(root_, r.path), data, mode);
  if (!s.ok()) {
    return s.error().Wrap(what);
  }
  return OkStatus();
}

Status RootedFileSystem::RemoveFile(std::string_view path) {
  const std::string what = "remove " + std::string(path);
  const auto r = ResolveUnder(root_, path, FinalLink::kNoFollow, MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  if (::unlink(JoinRoot(root_, r.path).c_str()) != 0) {
    return ErrnoError(what);
  }
  return OkStatus();
}

std::string RootedFileSystem::HostPath(std::string_view path) const {
  return JoinRoot(root_, NormalizeMachinePath(path));
}

Result<std::string> RootedFileSystem::ResolveHostPath(std::string_view path,
                                                      bool follow_final) const {
  const auto r = ResolveUnder(root_, path, follow_final ? FinalLink::kFollow : FinalLink::kNoFollow,
                              MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(std::string(path), r.err);
  }
  return JoinRoot(root_, r.path);
}

Result<std::string> RootedFileSystem::ReadLink(std::string_view path) const {
  const std::string what = "readlink " + std::string(path);
  const auto r = ResolveUnder(root_, path, FinalLink::kNoFollow, MissingTail::kError);
  if (r.err != 0) {
    return ErrnoError(what, r.err);
  }
  std::string target;
  if (const int err = ReadLinkAt(JoinRoot(root_, r.path), target); err != 0) {
    return ErrnoError(what, err);
  }
  return target;
}

}  // namespace cg::platform::linux_

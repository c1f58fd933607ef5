// The programs' own files on Linux: temp file + fsync + rename + fsync(dir).
#include "platform/os/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <utility>

namespace cg {
namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
};

Status FsyncDir(const std::string& dir) {
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) {
    return ErrnoError("open directory " + dir);
  }
  if (::fsync(d.fd) != 0) {
    return ErrnoError("fsync directory " + dir);
  }
  return OkStatus();
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    return ErrnoError("open " + path);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("read " + path);
    }
    if (n == 0) {
      break;
    }
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return MakeError(ErrorCode::kTooLarge,
                       path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status AppendFileDurable(const std::string& path, std::string_view data, unsigned mode) {
  Fd f{::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, static_cast<mode_t>(mode))};
  if (f.fd < 0) {
    return ErrnoError("open " + path + " for appending");
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(f.fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return ErrnoError("append to " + path);
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(f.fd) != 0) {
    return ErrnoError("fdatasync " + path);
  }
  const int fd = std::exchange(f.fd, -1);
  if (::close(fd) != 0) {
    return ErrnoError("close " + path);
  }
  return OkStatus();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  std::string tmpl = dir + "/." + p.filename().string() + ".tmpXXXXXX";
  Fd f{::mkostemp(tmpl.data(), O_CLOEXEC)};
  if (f.fd < 0) {
    return ErrnoError("create temporary file in " + dir);
  }
  auto fail = [&](std::string_view what) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    return ErrnoError(std::string(what) + " " + path, err);
  };
  if (::fchmod(f.fd, static_cast<mode_t>(mode)) != 0) {
    return fail("chmod");
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(f.fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0) {
    return fail("fsync");
  }
  if (::close(f.fd) != 0) {
    f.fd = -1;
    return fail("close");
  }
  f.fd = -1;
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    return fail("rename");
  }
  return FsyncDir(dir);
}

Status EnsureDirectory(const std::string& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "create directory " + path + ": " + ec.message());
  }
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) {
    return ErrnoError("chmod " + path);
  }
  return OkStatus();
}

Result<std::string> ReadStandardInput(size_t max_bytes) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == EBADF) {
        return MakeError(ErrorCode::kUnavailable, "no standard input");
      }
      return ErrnoError("read standard input");
    }
    if (n == 0) {
      return out;
    }
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return MakeError(ErrorCode::kTooLarge,
                       "standard input: larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<std::optional<std::string>> ReadableByOthers(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoError("stat " + path);
  }
  const unsigned mode = static_cast<unsigned>(st.st_mode) & 0777u;
  if ((mode & 077u) == 0) {
    return std::optional<std::string>();
  }
  char text[8];
  std::snprintf(text, sizeof(text), "%o", mode);
  return std::optional<std::string>("mode " + std::string(text));
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace cg

// platform/os/private_files.h on Linux: owners and mode bits by lstat(), the descriptor limit by
// getrlimit()/setrlimit().
#include "platform/os/private_files.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace cg {
namespace {

std::string Octal(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Owned by us or by root (a root-owned directory that we may use is the admin's choice).
bool TrustedOwner(uid_t owner) { return owner == ::geteuid() || owner == 0; }

Result<struct stat> Stat(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const int err = errno;
    return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     path + ": " + std::strerror(err));
  }
  return st;
}

}  // namespace

Status CheckPrivateDirectory(const std::string& dir) {
  CG_ASSIGN_OR_RETURN(auto st, Stat(dir));
  if (!S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied, dir +
                                                       " is not a directory (nor may it be a "
                                                       "symbolic link to one)");
  }
  if (!TrustedOwner(st.st_uid)) {
    return MakeError(ErrorCode::kPermissionDenied, dir + " belongs to user id " +
                                                       std::to_string(st.st_uid) +
                                                       ", not to this user; fix: chown -R " +
                                                       std::to_string(::geteuid()) + " " + dir);
  }
  if ((st.st_mode & 077) != 0) {
    return MakeError(ErrorCode::kPermissionDenied,
                     dir + " is accessible by group or others (mode " + Octal(st.st_mode) +
                         "); fix: chmod 700 " + dir);
  }
  return OkStatus();
}

Status CheckPrivateFile(const std::string& file, const std::string& what) {
  CG_ASSIGN_OR_RETURN(auto st, Stat(file));
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     what + " " + file + " is not a regular file (nor may it be a symbolic link)");
  }
  if (!TrustedOwner(st.st_uid)) {
    return MakeError(ErrorCode::kPermissionDenied, what + " " + file + " belongs to user id " +
                                                       std::to_string(st.st_uid) +
                                                       ", not to this user; fix: chown " +
                                                       std::to_string(::geteuid()) + " " + file);
  }
  if ((st.st_mode & 077) != 0) {
    return MakeError(ErrorCode::kPermissionDenied,
                     what + " " + file + " is readable or writable by group or others (mode " +
                         Octal(st.st_mode) + "); fix: chmod 600 " + file);
  }
  return OkStatus();
}

Result<size_t> RaiseFileDescriptorLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return MakeError(ErrorCode::kIo,
                     std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (limit.rlim_cur < limit.rlim_max) {
    struct rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      limit = raised;
    }
  }
  return limit.rlim_cur == RLIM_INFINITY ? static_cast<size_t>(1) << 20
                                         : static_cast<size_t>(limit.rlim_cur);
}

}  // namespace cg

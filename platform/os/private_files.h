// What the SOC and cgctl refuse to run with, as ssh does: a data dir, a key or a token file that
// other users could read or change, with the command that fixes it in the message. And the
// process's descriptor limit, raised at start so that the connection caps fit under it.
// POSIX owners and modes: platform/linux/os/private_files.cpp. The SOC and cgctl are built for
// Linux only, so Windows has no implementation (the agent's secrets use platform/os/secret_file).
#pragma once

#include <cstddef>
#include <string>

#include "common/result.h"

namespace cg {

// DIR must be a directory that only its owner (this user, or root) can enter, read or write:
// kPermissionDenied "DIR is accessible by group or others (mode 0755); fix: chmod 700 DIR".
Status CheckPrivateDirectory(const std::string& dir);

// FILE must be a regular file owned by this user (or root) that neither group nor others may
// read or write: kPermissionDenied "... fix: chmod 600 FILE". `what` names it ("CA key").
Status CheckPrivateFile(const std::string& file, const std::string& what);

// Raises the soft RLIMIT_NOFILE to the hard limit and returns the soft limit in force.
Result<size_t> RaiseFileDescriptorLimit();

}  // namespace cg

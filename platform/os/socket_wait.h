// Waiting for a socket a library owns (libpq's connection to PostgreSQL) to become readable,
// with a timeout, so that a thread can sleep until the server sends something.
#pragma once

#include <chrono>

#include "common/result.h"

namespace cg::os {

// True when `fd` became readable (or reports an error or hang-up, which a read then shows)
// within `timeout`, false when the time passed first. An interrupted wait counts as a timeout.
Result<bool> WaitReadable(int fd, std::chrono::milliseconds timeout);

}  // namespace cg::os

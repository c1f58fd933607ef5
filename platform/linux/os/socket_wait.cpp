// WaitReadable on Linux: poll(2) on one descriptor.
#include "platform/os/socket_wait.h"

#include <poll.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cg::os {

Result<bool> WaitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  const int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r < 0) {
    if (errno == EINTR) {
      return false;
    }
    return MakeError(ErrorCode::kIo, std::string("waiting for a socket: ") + std::strerror(errno));
  }
  return r > 0;
}

}  // namespace cg::os

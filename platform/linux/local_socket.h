// Request/response over an AF_UNIX stream socket of the machine (clamd's PING -> PONG).
#pragma once

#include "platform/linux/rooted_fs.h"
#include "platform/platform.h"

namespace cg::platform::linux_ {

class UnixLocalSocket final : public LocalSocket {
 public:
  // The socket path is resolved inside `fs`'s root, so a fixture tree's links (var/run ->
  // /run) never reach a real daemon of the host.
  explicit UnixLocalSocket(RootedFileSystem fs) : fs_(std::move(fs)) {}

  // Connects, writes `request`, half-closes (the peer sees EOF), and reads until the peer
  // closes, `max_reply` bytes arrived, or the deadline. Errors: kNotFound (no socket),
  // kNetwork (refused), kTimeout, kInvalidArgument (path too long for sockaddr_un).
  Result<std::string> Exchange(std::string_view socket_path, std::string_view request,
                               std::chrono::milliseconds timeout, size_t max_reply = 4096) override;

 private:
  RootedFileSystem fs_;
};

}  // namespace cg::platform::linux_

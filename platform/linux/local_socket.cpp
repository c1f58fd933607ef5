// AF_UNIX request/response with one deadline over connect, write and read.
#include "platform/linux/local_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "platform/linux/fd.h"

namespace cg::platform::linux_ {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for `events` on fd until the deadline: 0 when ready, else an errno value
// (ETIMEDOUT at the deadline).
int WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n > 0) {
      return 0;
    }
    if (n == 0) {
      return ETIMEDOUT;
    }
    if (errno != EINTR) {
      return errno;
    }
  }
}

}  // namespace

Result<std::string> UnixLocalSocket::Exchange(std::string_view socket_path,
                                              std::string_view request,
                                              std::chrono::milliseconds timeout, size_t max_reply) {
  const std::string what = "socket " + std::string(socket_path);
  const auto deadline = Clock::now() + timeout;
  auto host = fs_.ResolveHostPath(socket_path);
  if (!host.ok()) {
    return host.error().Wrap("socket");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (host->size() >= sizeof(addr.sun_path)) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        what + ": host path longer than " + std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, host->c_str(), host->size() + 1);

  Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    return ErrnoError(what);
  }
  // A blocking connect() on AF_UNIX only waits when the listener's backlog is full; the send
  // timeout bounds that wait (a non-blocking connect would fail with EAGAIN and could not be
  // waited for).
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int rc = 0;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EAGAIN || errno == EINPROGRESS) {
      return MakeError(ErrorCode::kTimeout, what + ": connect timed out");
    }
    return ErrnoError(what + ": connect");
  }
  ::fcntl(sock.get(), F_SETFL, ::fcntl(sock.get(), F_GETFL) | O_NONBLOCK);

  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n =
        ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoError(what + ": send");
    }
    if (const int err = WaitFor(sock.get(), POLLOUT, deadline); err != 0) {
      return err == ETIMEDOUT ? MakeError(ErrorCode::kTimeout, what + ": send timed out")
                              : ErrnoError(what + ": poll", err);
    }
  }
  // Half-close: servers that read a request to EOF answer now; ours keeps the read side.
  ::shutdown(sock.get(), SHUT_WR);

  std::string reply;
  char buf[4096];
  while (reply.size() < max_reply) {
    const ssize_t n = ::recv(sock.get(), buf, std::min(sizeof(buf), max_reply - reply.size()), 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      break;
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoError(what + ": recv");
    }
    if (const int err = WaitFor(sock.get(), POLLIN, deadline); err != 0) {
      return err == ETIMEDOUT
                 ? MakeError(ErrorCode::kTimeout, what + ": no complete reply within " +
                                                      std::to_string(timeout.count()) + " ms")
                 : ErrnoError(what + ": poll", err);
    }
  }
  return reply;
}

}  // namespace cg::platform::linux_

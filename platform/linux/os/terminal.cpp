// Terminal input without echo through termios on /dev/tty.
#include "platform/os/terminal.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cg::os {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return;
    }
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

bool StdinIsTerminal() { return ::isatty(STDIN_FILENO) == 1; }

Result<std::string> ReadSecretFromTerminal(std::string_view prompt) {
  Fd tty(::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY));
  if (tty.get() < 0) {
    return MakeError(ErrorCode::kUnavailable, "no terminal to read from (" +
                                                  std::string(std::strerror(errno)) +
                                                  "): give the secret in a file instead");
  }
  termios saved{};
  if (::tcgetattr(tty.get(), &saved) != 0) {
    return MakeError(ErrorCode::kUnavailable, "not a terminal: give the secret in a file instead");
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  WriteAll(tty.get(), prompt);
  if (::tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) {
    return MakeError(ErrorCode::kIo, std::string("turning echo off: ") + std::strerror(errno));
  }
  std::string line;
  bool ok = true;
  while (true) {
    char c = 0;
    const ssize_t n = ::read(tty.get(), &c, 1);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      ok = !line.empty();
      break;
    }
    if (c == '\n') {
      break;
    }
    if (line.size() < 4096) {
      line.push_back(c);
    }
  }
  ::tcsetattr(tty.get(), TCSAFLUSH, &saved);
  if (!ok) {
    return MakeError(ErrorCode::kIo, "nothing was typed");
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

}  // namespace cg::os

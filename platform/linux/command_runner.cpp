// posix_spawn-based command runner (see command_runner.h). posix_spawn rather than fork():
// the agent is multi-threaded, and glibc's posix_spawn reports exec failures synchronously.
#include "platform/linux/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "platform/linux/fd.h"
#include "platform/path.h"

namespace cg::platform::linux_ {
namespace {

using Clock = std::chrono::steady_clock;

// Slice used to notice the child's exit when pidfd_open is unavailable (kernels < 5.3).
constexpr std::chrono::milliseconds kExitPollSlice{10};

std::vector<std::string> PathDirs() {
  std::vector<std::string> dirs;
  size_t pos = 0;
  while (pos <= kSystemPath.size()) {
    const size_t colon = kSystemPath.find(':', pos);
    const size_t end = colon == std::string_view::npos ? kSystemPath.size() : colon;
    dirs.emplace_back(kSystemPath.substr(pos, end - pos));
    if (colon == std::string_view::npos) {
      break;
    }
    pos = colon + 1;
  }
  return dirs;
}

bool IsExecutableFile(const std::string& host_path) {
  struct stat st {};
  return ::stat(host_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// posix_spawn attributes and file actions are C objects with init/destroy pairs.
class SpawnAttr {
 public:
  SpawnAttr() { ::posix_spawnattr_init(&attr_); }
  ~SpawnAttr() { ::posix_spawnattr_destroy(&attr_); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  posix_spawnattr_t* get() { return &attr_; }

 private:
  posix_spawnattr_t attr_{};
};

class SpawnFileActions {
 public:
  SpawnFileActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

struct Stream {
  Fd fd;
  std::string* sink = nullptr;
};

// Reads what is available; returns false at EOF or on a read error.
bool ReadSome(Stream& s, size_t max_output) {
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(s.fd.get(), buf, sizeof(buf));
    if (n > 0) {
      // Past the bound, keep reading and discard so the child never blocks on a full pipe.
      const size_t room = max_output > s.sink->size() ? max_output - s.sink->size() : 0;
      s.sink->append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    }
    return false;
  }
}

int WaitBlocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

}  // namespace

Result<CommandResult> PosixCommandRunner::Run(const std::vector<std::string>& argv,
                                              std::chrono::milliseconds timeout,
                                              size_t max_output) {
  if (argv.empty() || argv[0].empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "run: empty argv");
  }
  std::string program = argv[0];
  if (program.find('/') == std::string::npos) {
    program.clear();
    for (const auto& dir : PathDirs()) {
      if (IsExecutableFile(dir + "/" + argv[0])) {
        program = dir + "/" + argv[0];
        break;
      }
    }
    if (program.empty()) {
      return MakeError(ErrorCode::kNotFound,
                       "run " + argv[0] + ": not found in " + std::string(kSystemPath));
    }
  } else if (program.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument,
                     "run " + program + ": program must be an absolute path or a bare name");
  }
  const std::string what = "run " + program;

  std::array<int, 2> out_pipe{-1, -1};
  std::array<int, 2> err_pipe{-1, -1};
  if (::pipe2(out_pipe.data(), O_CLOEXEC) != 0) {
    return ErrnoError(what + ": pipe");
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe.data(), O_CLOEXEC) != 0) {
    return ErrnoError(what + ": pipe");
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  SpawnFileActions actions;
  ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(actions.get(), out_w.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(actions.get(), err_w.get(), STDERR_FILENO);
  // Descriptors some library opened without O_CLOEXEC must not leak into the child.
  ::posix_spawn_file_actions_addclosefrom_np(actions.get(), STDERR_FILENO + 1);

  SpawnAttr attr;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  // Own process group, so a timeout kills the program and everything it started; default
  // dispositions and an empty mask, whatever the agent itself ignores or blocks (SIGPIPE).
  ::posix_spawnattr_setflags(
      attr.get(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawnattr_setpgroup(attr.get(), 0);
  ::posix_spawnattr_setsigmask(attr.get(), &none);
  ::posix_spawnattr_setsigdefault(attr.get(), &all);

  std::vector<char*> c_argv;
  c_argv.push_back(program.data());
  for (size_t i = 1; i < argv.size(); ++i) {
    c_argv.push_back(const_cast<char*>(argv[i].c_str()));
  }
  c_argv.push_back(nullptr);
  static const std::string kEnvPath = "PATH=" + std::string(kSystemPath);
  std::array<char*, 4> c_env = {const_cast<char*>("LC_ALL=C"), const_cast<char*>("LANG=C"),
                                const_cast<char*>(kEnvPath.c_str()), nullptr};

  pid_t pid = -1;
  if (const int rc = ::posix_spawn(&pid, program.c_str(), actions.get(), attr.get(), c_argv.data(),
                                   c_env.data());
      rc != 0) {
    return ErrnoError(what, rc);
  }
  out_w.Reset();  // the child holds the write ends now; EOF arrives when it (and its children)
  err_w.Reset();  // close them

  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so call the system call directly. The
  // descriptor becomes readable when the child exits; without it we poll in slices.
  const Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  CommandResult result;
  std::array<Stream, 2> streams = {Stream{std::move(out_r), &result.out},
                                   Stream{std::move(err_r), &result.err}};
  for (auto& s : streams) {
    ::fcntl(s.fd.get(), F_SETFL, ::fcntl(s.fd.get(), F_GETFL) | O_NONBLOCK);
  }

  const auto deadline = Clock::now() + timeout;
  bool reaped = false;
  int status = 0;
  for (;;) {
    if (!reaped && ::waitpid(pid, &status, WNOHANG) == pid) {
      reaped = true;
    }
    if (reaped) {
      // Everything the child wrote is in the pipes already; a background descendant that
      // still holds them must not keep us waiting, so drain without blocking and stop.
      for (auto& s : streams) {
        if (s.fd.valid()) {
          ReadSome(s, max_output);
        }
      }
      break;
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      ::kill(-pid, SIGKILL);
      status = WaitBlocking(pid);
      result.timed_out = true;
      break;
    }
    std::array<pollfd, 3> fds{};
    nfds_t n = 0;
    for (auto& s : streams) {
      if (s.fd.valid()) {
        fds[n++] = pollfd{s.fd.get(), POLLIN, 0};
      }
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now) +
                std::chrono::milliseconds(1);
    if (exit_fd.valid()) {
      fds[n++] = pollfd{exit_fd.get(), POLLIN, 0};
    } else {
      wait = std::min(wait, kExitPollSlice);
    }
    if (::poll(fds.data(), n, static_cast<int>(wait.count())) < 0 && errno != EINTR) {
      const Error e = ErrnoError(what + ": poll");
      ::kill(-pid, SIGKILL);
      WaitBlocking(pid);
      return e;
    }
    for (auto& s : streams) {
      if (s.fd.valid() && !ReadSome(s, max_output)) {
        s.fd.Reset();
      }
    }
  }
  result.exit_code = !result.timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string PosixCommandRunner::Which(std::string_view name) const {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..") {
    return {};
  }
  for (const auto& dir : PathDirs()) {
    const std::string machine = dir + "/" + std::string(name);
    auto host = fs_.ResolveHostPath(machine);
    if (host.ok() && IsExecutableFile(*host)) {
      return machine;
    }
  }
  return {};
}

}  // namespace cg::platform::linux_

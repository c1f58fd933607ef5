// Process and server helpers for the integration tests.
#include "tests/integration/harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

namespace cg::testing {

std::string AgentBin() { return CG_AGENT_BIN; }
std::string SocBin() { return CG_SOC_BIN; }
std::string CtlBin() { return CG_CTL_BIN; }

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cg-it.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string CommandOutput::LastLine() const {
  std::string s = out;
  while (!s.empty() && s.back() == '\n') {
    s.pop_back();
  }
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

namespace {

// A copy of a running SOC's data dir (files, modes, folders) for a second node. The writer's
// temporaries (WriteFileAtomic's ".NAME.tmpXXXXXX", renamed or removed at any moment: a CRL
// being signed) are not the SOC's data and are left out; `cp -a` failed on one that vanished
// under it (seen in PostgresSocTest.TwoNodesServeOneSocEnrolledOnOneReportingThroughTheOther).
// "" on success, else why.
std::string CopyDataDir(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(to, ec);
  if (!ec) {
    fs::permissions(to, fs::status(from, ec).permissions(), ec);
  }
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') && name.find(".tmp") != std::string::npos) {
      continue;
    }
    const fs::path target = fs::path(to) / fs::relative(it->path(), from, ec);
    if (ec) {
      break;
    }
    if (it->is_directory(ec)) {
      fs::create_directory(target, ec);
      if (!ec) {
        fs::permissions(target, it->status(ec).permissions(), ec);
      }
    } else if (!ec) {
      fs::copy_file(it->path(), target, ec);  // the source's permissions come along
    }
  }
  return ec ? ec.message() : "";
}

std::vector<char*> Argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) {
    out.push_back(const_cast<char*>(a.c_str()));
  }
  out.push_back(nullptr);
  return out;
}

}  // namespace

CommandOutput RunCmd(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  CommandOutput result;
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    return result;
  }
  auto args = Argv(argv);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    const int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) {
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        char buf[8192];
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) {
      close(f.fd);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = (!killed && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

Child::Child(const std::vector<std::string>& argv, const std::string& log_file) {
  auto args = Argv(argv);
  pid_ = fork();
  if (pid_ == 0) {
    const int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(log, 1);
    dup2(log, 2);
    execv(args[0], args.data());
    _exit(127);
  }
}

Child::~Child() {
  if (pid_ > 0 && !status_) {
    kill(pid_, SIGKILL);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
}

Child::Child(Child&& other) noexcept : pid_(other.pid_), status_(other.status_) { other.pid_ = -1; }

Child& Child::operator=(Child&& other) noexcept {
  std::swap(pid_, other.pid_);
  std::swap(status_, other.status_);
  return *this;
}

bool Child::Running() {
  if (pid_ <= 0 || status_) {
    return false;
  }
  int st = 0;
  if (waitpid(pid_, &st, WNOHANG) == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

void Child::Signal(int sig) {
  if (Running()) {
    kill(pid_, sig);
  }
}

int Child::Wait(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      int st = 0;
      waitpid(pid_, &st, 0);
      status_ = st;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!status_) {
    return -1;
  }
  return WIFEXITED(*status_) ? WEXITSTATUS(*status_) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::unique_ptr<protocol::HttpsClient>> SocServer::AgentClient(
    const std::string& cert, const std::string& key) const {
  protocol::ClientOptions o;
  o.host = "localhost";
  o.port = agent_port_;
  o.ca_file = ca();
  o.cert_file = cert;
  o.key_file = key;
  o.timeout = std::chrono::seconds(10);
  return protocol::HttpsClient::Create(o);
}

SocServer::SocServer(const std::string& dir, const SocOptions& options) : dir_(dir) {
  if (!options.copy_of.empty()) {
    if (std::string why = CopyDataDir(options.copy_of, dir_); !why.empty()) {
      error_ = "copying " + options.copy_of + " failed: " + why;
      return;
    }
    ::unlink((dir_ + "/soc.log").c_str());
    database_ = ReadFile(dir_ + "/database.uri");
    while (!database_.empty() && database_.back() == '\n') {
      database_.pop_back();
    }
  } else {
    database_ = options.database;
    if (database_.empty() && OnPostgres()) {
      auto scratch = ScratchPgDatabase::Make();
      if (!scratch.ok()) {
        error_ = "a scratch PostgreSQL database: " + scratch.error().ToString();
        return;
      }
      scratch_ = std::move(scratch).value();
      database_ = scratch_->uri();
    }
    std::vector<std::string> init = {SocBin(), "init",       "--data-dir",
                                     dir_,     "--hostname", "localhost"};
    if (!database_.empty()) {
      init.insert(init.end(), {"--database", database_});
    }
    auto done = RunCmd(init);
    if (done.exit_code != 0) {
      error_ = "cg-soc init failed: " + done.err;
      return;
    }
  }
  // The PostgreSQL copy of a test must not pass on SQLite by mistake.
  if (OnPostgres() && (!std::filesystem::exists(dir_ + "/database.uri") ||
                       std::filesystem::exists(dir_ + "/soc.db"))) {
    error_ = "the PostgreSQL copy of this test has its SOC on " + dir_ + "/soc.db";
    return;
  }
  for (const auto& key : options.policy_keys) {
    auto added = RunCmd({SocBin(), "policy-key", "add", "--data-dir", dir_, key});
    if (added.exit_code != 0) {
      error_ = "cg-soc policy-key add failed: " + added.err;
      return;
    }
  }
  serve_args_ = options.serve_args;
  nofile_limit_ = options.nofile_limit;
  Serve();
}

bool SocServer::Serve() {
  const std::string ready = dir_ + "/ready.json";
  ::unlink(ready.c_str());
  agent_port_ = 0;
  operator_port_ = 0;
  std::vector<std::string> argv = {SocBin(),         "--log-level",  "debug",
                                   "serve",          "--data-dir",   dir_,
                                   "--agent-listen", "127.0.0.1:0",  "--operator-listen",
                                   "127.0.0.1:0",    "--ready-file", ready};
  argv.insert(argv.end(), serve_args_.begin(), serve_args_.end());
  if (nofile_limit_ != 0) {
    const std::string n = std::to_string(nofile_limit_);
    argv.insert(argv.begin(), {"/usr/bin/prlimit", "--nofile=" + n + ":" + n, "--"});
  }
  child_ = Child(argv, dir_ + "/soc.log");
  // Bounded wait for the listeners to be bound (the ready file is written after binding).
  for (int i = 0; i < 300 && child_.Running(); ++i) {
    const auto text = ReadFile(ready);
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
      agent_port_ = j.value("agent_port", uint16_t{0});
      operator_port_ = j.value("operator_port", uint16_t{0});
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  error_ = "cg-soc serve did not become ready: " + log();
  return false;
}

void SocServer::Kill9() {
  child_.Signal(SIGKILL);
  child_.Wait(std::chrono::seconds(10));
}

bool SocServer::Restart() {
  Kill9();
  return Serve();
}

SocServer::~SocServer() {
  child_.Signal(SIGTERM);
  child_.Wait(std::chrono::seconds(10));
}

std::string SocServer::log() const { return ReadFile(dir_ + "/soc.log"); }

std::vector<std::string> SocServer::Ctl(const std::vector<std::string>& args,
                                        const std::string& token_file) const {
  std::vector<std::string> argv = {
      CtlBin(), "--server",     "https://localhost:" + std::to_string(operator_port_), "--ca",
      ca(),     "--token-file", token_file.empty() ? admin_token_file() : token_file};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace cg::testing

// AF_UNIX exchange against a real server thread in a temporary root: reply after the
// half-close, symlinked socket directories, bounded replies, and the error codes.
#include "platform/linux/local_socket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

#include "platform/linux/fd.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

using std::chrono::milliseconds;

Fd Listen(const std::string& host_path, bool listen_now = true) {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  EXPECT_LT(host_path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, host_path.c_str(), host_path.size() + 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  if (listen_now) {
    EXPECT_EQ(::listen(fd.get(), 4), 0);
  }
  return fd;
}

// Accepts one connection (waiting at most 5 s), reads the request to EOF, answers
// reply_prefix + request, and records the request.
class OneShotServer {
 public:
  OneShotServer(Fd listener, std::string reply_prefix)
      : listener_(std::move(listener)), reply_prefix_(std::move(reply_prefix)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneShotServer() { Join(); }
  OneShotServer(const OneShotServer&) = delete;
  OneShotServer& operator=(const OneShotServer&) = delete;

  // Waits for the server to finish and returns the request it read.
  std::string Join() {
    if (thread_.joinable()) {
      thread_.join();
    }
    return received_;
  }

 private:
  void Serve() {
    pollfd p{listener_.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) {
      return;
    }
    Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) {
      return;
    }
    char buf[512];
    for (;;) {
      const ssize_t n = ::recv(conn.get(), buf, sizeof(buf), 0);
      if (n <= 0) {
        break;  // EOF: the client half-closed its side
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    const std::string reply = reply_prefix_ + received_;
    ::send(conn.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
  }

  Fd listener_;
  std::string reply_prefix_;
  std::string received_;
  std::thread thread_;
};

class LocalSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tree_.root();
    tree_.Dir("run/clamav");
    tree_.Link("var/run", "/run");  // as on Debian, absolute
    auto fs = RootedFileSystem::Create(root_);
    ASSERT_TRUE(fs.ok());
    socket_ = std::make_unique<UnixLocalSocket>(**fs);
  }

  testing::TempTree tree_{"cg-sock"};
  std::string root_;
  std::unique_ptr<UnixLocalSocket> socket_;
};

TEST_F(LocalSocketTest, PingPongThroughARootedSymlink) {
  OneShotServer server(Listen(root_ + "/run/clamav/clamd.ctl"), "PONG ");
  auto reply = socket_->Exchange("/var/run/clamav/clamd.ctl", "PING", milliseconds(5000));
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  // The server only answers after reading to EOF, so this also proves the half-close.
  EXPECT_EQ(*reply, "PONG PING");
  EXPECT_EQ(server.Join(), "PING");
}

TEST_F(LocalSocketTest, ReplyIsBounded) {
  OneShotServer server(Listen(root_ + "/run/big.sock"), std::string(10000, 'x'));
  auto reply = socket_->Exchange("/run/big.sock", "GET", milliseconds(5000), 100);
  ASSERT_TRUE(reply.ok()) << reply.error().ToString();
  EXPECT_EQ(*reply, std::string(100, 'x'));
}

TEST_F(LocalSocketTest, MissingSocketIsNotFound) {
  auto r = socket_->Exchange("/run/clamav/none.ctl", "PING", milliseconds(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/run/clamav/none.ctl"), std::string::npos);
}

TEST_F(LocalSocketTest, NobodyListeningIsRefused) {
  const Fd bound_only = Listen(root_ + "/run/dead.sock", /*listen_now=*/false);
  auto r = socket_->Exchange("/run/dead.sock", "PING", milliseconds(1000));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNetwork);
}

TEST_F(LocalSocketTest, SilentServerTimesOut) {
  // Listening but never accepting: the connection sits in the backlog and no reply comes.
  const Fd listener = Listen(root_ + "/run/silent.sock");
  auto r = socket_->Exchange("/run/silent.sock", "PING", milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout);
}

}  // namespace
}  // namespace cg::platform::linux_

// Loopback tests for soc/https_server.cpp together with protocol/https_client.cpp: certificates
// from a throw-away PKI, listeners on 127.0.0.1 port 0, raw OpenSSL/TCP clients for bad input.
#include "soc/https_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "soc/metrics.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using protocol::ClientOptions;
using protocol::HttpRequest;
using protocol::HttpResponse;
using protocol::HttpsClient;
using protocol::PeerCertificate;
using std::chrono::hours;
using testing::CertFiles;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing::TempDir;
using testing::TestCa;

// Bounded polling for state that changes on the server's threads.
bool Eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

// Records every request and answers 200 with what it saw, unless told to keep the Responder.
class Recorder {
 public:
  Handler handler() {
    return [this](HttpRequest request, Responder respond) {
      std::unique_lock lock(mu_);
      requests_.push_back(request);
      if (hold_) {
        held_.push_back(std::move(respond));
        cv_.notify_all();
        return;
      }
      lock.unlock();
      nlohmann::json body = {{"path", request.Path()}, {"peer", request.peer_address}};
      if (request.peer_cert) {
        body["cn"] = request.peer_cert->subject_cn;
        body["ou"] = request.peer_cert->subject_ou;
      }
      respond(HttpResponse::Json(200, body));
    };
  }

  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }

  // Waits for the next held Responder.
  Responder TakeHeld() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(20), [&] { return !held_.empty(); })) {
      ADD_FAILURE() << "no request reached the handler";
      return [](HttpResponse) {};
    }
    Responder respond = std::move(held_.front());
    held_.erase(held_.begin());
    return respond;
  }

  size_t count() {
    std::lock_guard lock(mu_);
    return requests_.size();
  }

  HttpRequest last() {
    std::lock_guard lock(mu_);
    return requests_.empty() ? HttpRequest{} : requests_.back();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpRequest> requests_;
  std::vector<Responder> held_;
  bool hold_ = false;
};

// Raw clients for input HttpsClient would never send.
struct RawConnection {
  explicit RawConnection(uint16_t port, SSL_CTX* tls_ctx = nullptr) {
    const std::string address = "127.0.0.1:" + std::to_string(port);
    bio = tls_ctx != nullptr ? BIO_new_ssl_connect(tls_ctx) : BIO_new_connect(address.c_str());
    if (tls_ctx != nullptr) {
      BIO_set_conn_hostname(bio, address.c_str());
    }
    if (BIO_do_connect(bio) != 1) {
      ADD_FAILURE() << "raw connect to " << address << " failed";
      return;
    }
    // A bug must fail the test, not hang it.
    int fd = -1;
    BIO_get_fd(bio, &fd);
    timeval limit{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    connected = tls_ctx == nullptr || BIO_do_handshake(bio) == 1;
  }
  ~RawConnection() { BIO_free_all(bio); }

  void Send(const std::string& bytes) {
    ASSERT_EQ(BIO_write(bio, bytes.data(), static_cast<int>(bytes.size())),
              static_cast<int>(bytes.size()));
  }

  // Reads until the peer closes, `stop` appears complete, or an error.
  std::string Read(const std::function<bool(const std::string&)>& stop) {
    std::string out;
    char buf[4096];
    while (!stop(out)) {
      const int n = BIO_read(bio, buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

  BIO* bio = nullptr;
  bool connected = false;
};

// True once `data` holds a whole HTTP response with a Content-Length body.
bool HasWholeResponse(const std::string& data) {
  const size_t end = data.find("\r\n\r\n");
  const size_t length_at = data.find("Content-Length: ");
  if (end == std::string::npos || length_at == std::string::npos) {
    return false;
  }
  const size_t length = std::stoul(data.substr(length_at + 16));
  return data.size() >= end + 4 + length;
}

class HttpsServerTest : public ::testing::Test {
 protected:
  ListenerOptions Options(bool verify, bool require) const {
    ListenerOptions options;
    options.cert_file = server_.cert_file;
    options.key_file = server_.key_file;
    options.ca_file = ca_.ca_file();
    options.verify_client_certs = verify;
    options.require_client_cert = require;
    return options;
  }

  uint16_t Listen(ListenerOptions options) {
    auto port = runtime_.AddListener(std::move(options), recorder_.handler());
    EXPECT_TRUE(port.ok()) << port.error().ToString();
    runtime_.Start();
    return port.ok() ? *port : 0;
  }

  struct ClientSetup {
    std::optional<CertFiles> cert;
    std::string ca_file;      // default: the SOC CA
    std::string server_name;  // default: the host
    std::chrono::seconds timeout{20};

    static ClientSetup Cert(CertFiles files) {
      ClientSetup setup;
      setup.cert = std::move(files);
      return setup;
    }
    static ClientSetup Ca(std::string file) {
      ClientSetup setup;
      setup.ca_file = std::move(file);
      return setup;
    }
    static ClientSetup Name(std::string name) {
      ClientSetup setup;
      setup.server_name = std::move(name);
      return setup;
    }
    static ClientSetup Timeout(std::chrono::seconds timeout) {
      ClientSetup setup;
      setup.timeout = timeout;
      return setup;
    }
  };

  std::unique_ptr<HttpsClient> Client(uint16_t port, ClientSetup setup) const {
    ClientOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.ca_file = setup.ca_file.empty() ? ca_.ca_file() : setup.ca_file;
    if (setup.cert) {
      options.cert_file = setup.cert->cert_file;
      options.key_file = setup.cert->key_file;
    }
    options.server_name = setup.server_name;
    options.timeout = setup.timeout;
    auto client = HttpsClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.error().ToString();
    return client.ok() ? std::move(client).value() : nullptr;
  }

  std::unique_ptr<HttpsClient> DeviceClient(uint16_t port) const {
    return Client(port, ClientSetup::Cert(device_));
  }

  static nlohmann::json BodyOf(const Result<HttpResponse>& response) {
    return response.ok() ? nlohmann::json::parse(response->body, nullptr, false) : nlohmann::json();
  }

  static std::string HeaderOf(const HttpResponse& response, std::string_view name) {
    HttpRequest as_request;
    as_request.headers = response.headers;
    return as_request.Header(name);
  }

  TempDir dir_;
  TestCa ca_{dir_, "soc"};
  TestCa foreign_{dir_, "foreign"};
  CertFiles server_ = ca_.IssueServer({"localhost", "127.0.0.1"});
  CertFiles device_ = ca_.IssueDevice("device-1", "laocai/bac-ha");
  Recorder recorder_;
  ServerRuntime runtime_{2};
};

TEST_F(HttpsServerTest, RoundTripWithClientCertificate) {
  const uint16_t port = Listen(Options(true, true));
  auto client = DeviceClient(port);
  auto response = client->Request("POST", "/v1/reports?dry=1", R"({"a":1})", {{"X-Trace", "t1"}});
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "application/json");
  EXPECT_EQ(HeaderOf(*response, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderOf(*response, "Server"), "cg-soc");
  EXPECT_EQ(BodyOf(response)["cn"], "device-1");
  EXPECT_EQ(BodyOf(response)["ou"], "laocai/bac-ha");

  const HttpRequest seen = recorder_.last();
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/reports?dry=1");
  EXPECT_EQ(seen.body, R"({"a":1})");
  EXPECT_EQ(seen.Header("x-trace"), "t1");
  EXPECT_EQ(seen.Header("content-type"), "application/json");
  EXPECT_THAT(seen.peer_address, StartsWith("127.0.0.1:"));
  ASSERT_TRUE(seen.peer_cert.has_value());
  const auto info = protocol::InspectCertificatePem(*ReadFileToString(device_.cert_file));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(seen.peer_cert->serial_hex, info->serial_hex);
}

TEST_F(HttpsServerTest, MissingClientCertificateIsRefusedWhenRequired) {
  const uint16_t port = Listen(Options(true, true));
  auto response = Client(port, {})->Request("GET", "/v1/policy");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kTls) << response.error().message;
  EXPECT_THAT(response.error().message, HasSubstr("client certificate"));
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpsServerTest, OptionalClientCertificate) {
  const uint16_t port = Listen(Options(true, false));
  auto anonymous = Client(port, {})->Request("POST", "/v1/enroll", "{}");
  ASSERT_TRUE(anonymous.ok()) << anonymous.error().ToString();
  EXPECT_EQ(anonymous->status, 200);
  EXPECT_FALSE(recorder_.last().peer_cert.has_value());

  auto device = DeviceClient(port)->Request("GET", "/v1/policy");
  ASSERT_TRUE(device.ok()) << device.error().ToString();
  ASSERT_TRUE(recorder_.last().peer_cert.has_value());
  EXPECT_EQ(recorder_.last().peer_cert->subject_cn, "device-1");
}

TEST_F(HttpsServerTest, ServerThatDoesNotAskSeesNoCertificate) {
  const uint16_t port = Listen(Options(false, false));
  auto response = DeviceClient(port)->Request("GET", "/v1/devices");
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_FALSE(recorder_.last().peer_cert.has_value());
}

TEST_F(HttpsServerTest, ClientCertificateFromAForeignCaIsRefusedEvenWhenOptional) {
  const uint16_t port = Listen(Options(true, false));
  const CertFiles impostor = foreign_.IssueDevice("device-1", "laocai/bac-ha");
  auto response = Client(port, ClientSetup::Cert(impostor))->Request("GET", "/v1/policy");
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("client certificate"));
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpsServerTest, ExpiredClientCertificateIsRefused) {
  const uint16_t port = Listen(Options(true, true));
  const CertFiles expired = ca_.IssueDevice(
      "device-old", "laocai/bac-ha", std::chrono::system_clock::now() - hours(48), hours(24));
  auto response = Client(port, ClientSetup::Cert(expired))->Request("GET", "/v1/policy");
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.error().message, HasSubstr("client certificate"));
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpsServerTest, RevokedClientCertificateIsRefused) {
  ListenerOptions options = Options(true, true);
  options.is_revoked = [](const PeerCertificate& peer) { return peer.subject_cn == "device-1"; };
  const uint16_t port = Listen(std::move(options));
  auto revoked = DeviceClient(port)->Request("GET", "/v1/policy");
  ASSERT_FALSE(revoked.ok());
  EXPECT_THAT(revoked.error().message, HasSubstr("client certificate"));
  EXPECT_EQ(recorder_.count(), 0u);

  const CertFiles other = ca_.IssueDevice("device-2", "laocai/bac-ha");
  auto allowed = Client(port, ClientSetup::Cert(other))->Request("GET", "/v1/policy");
  ASSERT_TRUE(allowed.ok()) << allowed.error().ToString();
  EXPECT_EQ(recorder_.count(), 1u);
}

TEST_F(HttpsServerTest, MetricsCountHandshakesAndRefusalsByReason) {
  SocMetrics& m = Metrics();
  const size_t agent = static_cast<size_t>(Port::kAgent);
  auto refused = [&](HandshakeRefusal r) {
    return m.handshake_refusals[agent][static_cast<size_t>(r)].Value();
  };
  const uint64_t ok_before = m.handshakes[agent].Value();
  const uint64_t revoked_before = refused(HandshakeRefusal::kCertificateRevoked);
  const uint64_t invalid_before = refused(HandshakeRefusal::kCertificateInvalid);
  ListenerOptions options = Options(true, false);
  options.is_revoked = [](const PeerCertificate& peer) { return peer.subject_cn == "device-1"; };
  const uint16_t port = Listen(std::move(options));
  EXPECT_FALSE(DeviceClient(port)->Request("GET", "/v1/policy").ok());
  const CertFiles impostor = foreign_.IssueDevice("device-9", "laocai/bac-ha");
  EXPECT_FALSE(Client(port, ClientSetup::Cert(impostor))->Request("GET", "/v1/policy").ok());
  EXPECT_TRUE(Client(port, {})->Request("POST", "/v1/enroll", "{}").ok());
  // The server counts a refusal after the client has seen it: wait (bounded) for its thread.
  for (int i = 0; i < 500 && (refused(HandshakeRefusal::kCertificateRevoked) == revoked_before ||
                              refused(HandshakeRefusal::kCertificateInvalid) == invalid_before);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(m.handshakes[agent].Value() - ok_before, 1u);
  EXPECT_EQ(refused(HandshakeRefusal::kCertificateRevoked) - revoked_before, 1u);
  EXPECT_EQ(refused(HandshakeRefusal::kCertificateInvalid) - invalid_before, 1u);
}

TEST_F(HttpsServerTest, ClientCertificatesForAnotherPurposeAreRefused) {
  const uint16_t port = Listen(Options(true, false));
  // Both chain to the trusted CA; neither is a client certificate.
  const CertFiles server_cert = ca_.IssueServer({"device-1"});  // EKU serverAuth only
  const CertFiles ca_cert{ca_.ca_file(), dir_.File("soc-ca.key")};
  ASSERT_TRUE(WriteFileAtomic(ca_cert.key_file, *ca_.ca().key_pem(), 0600).ok());
  for (const CertFiles& wrong : {server_cert, ca_cert}) {
    SCOPED_TRACE(wrong.cert_file);
    auto response = Client(port, ClientSetup::Cert(wrong))->Request("GET", "/v1/policy");
    ASSERT_FALSE(response.ok());
    EXPECT_THAT(response.error().message, HasSubstr("client certificate"));
  }
  EXPECT_EQ(recorder_.count(), 0u);
  // The device certificate of the same CA still gets through.
  auto allowed = DeviceClient(port)->Request("GET", "/v1/policy");
  ASSERT_TRUE(allowed.ok()) << allowed.error().ToString();
  EXPECT_EQ(recorder_.count(), 1u);
}

TEST_F(HttpsServerTest, AfterRunsLaterWithoutHoldingTheCaller) {
  Listen(Options(false, false));
  std::promise<std::thread::id> ran;
  auto future = ran.get_future();
  runtime_.After(std::chrono::milliseconds(1),
                 [&ran] { ran.set_value(std::this_thread::get_id()); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST_F(HttpsServerTest, ClientRefusesAServerCertificateForAnotherHostName) {
  server_ = ca_.IssueServer({"soc.laocai.gov.vn"});
  const uint16_t port = Listen(Options(false, false));
  auto by_ip = Client(port, {})->Request("GET", "/");
  ASSERT_FALSE(by_ip.ok());
  EXPECT_EQ(by_ip.error().code, ErrorCode::kTls);
  EXPECT_THAT(by_ip.error().message,
              HasSubstr("server certificate does not match host name '127.0.0.1'"));

  auto by_name = Client(port, ClientSetup::Name("localhost"))->Request("GET", "/");
  ASSERT_FALSE(by_name.ok());
  EXPECT_THAT(by_name.error().message,
              HasSubstr("server certificate does not match host name 'localhost'"));

  auto right_name = Client(port, ClientSetup::Name("soc.laocai.gov.vn"))->Request("GET", "/");
  EXPECT_TRUE(right_name.ok()) << right_name.error().ToString();
}

TEST_F(HttpsServerTest, ClientPinnedToAnotherCaRefusesTheServer) {
  const uint16_t port = Listen(Options(false, false));
  auto response = Client(port, ClientSetup::Ca(foreign_.ca_file()))->Request("GET", "/");
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.error().code, ErrorCode::kTls);
  EXPECT_THAT(response.error().message,
              HasSubstr("TLS handshake with 127.0.0.1:" + std::to_string(port) +
                        " failed: server certificate is not signed by the pinned CA"));
  EXPECT_EQ(recorder_.count(), 0u);
}

TEST_F(HttpsServerTest, OversizedBodyGets413AndTheServerCarriesOn) {
  ListenerOptions options = Options(true, true);
  options.max_body_bytes = 1024;
  const uint16_t port = Listen(std::move(options));
  auto client = DeviceClient(port);
  auto too_big = client->Request("POST", "/v1/reports", std::string(256 * 1024, 'x'));
  ASSERT_TRUE(too_big.ok()) << too_big.error().ToString();
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(BodyOf(too_big)["error"]["code"], "payload_too_large");
  EXPECT_EQ(recorder_.count(), 0u);

  // The same client (the server closed that connection) and a new one both get through.
  auto next = client->Request("POST", "/v1/reports", std::string(1024, 'x'));
  ASSERT_TRUE(next.ok()) << next.error().ToString();
  EXPECT_EQ(next->status, 200);
  auto other = DeviceClient(port)->Request("GET", "/v1/policy");
  ASSERT_TRUE(other.ok()) << other.error().ToString();
  EXPECT_EQ(recorder_.count(), 2u);
}

TEST_F(HttpsServerTest, OversizedHeadersGet431) {
  ListenerOptions options = Options(false, false);
  options.max_header_bytes = 1024;
  const uint16_t port = Listen(std::move(options));
  auto response =
      Client(port, {})->Request("GET", "/", {}, {{"X-Padding", std::string(4096, 'p')}});
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 431);
}

TEST_F(HttpsServerTest, MalformedHttpGets400AndGarbageDoesNotHurtTheServer) {
  const uint16_t port = Listen(Options(false, false));
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  ASSERT_EQ(SSL_CTX_load_verify_locations(tls.get(), ca_.ca_file().c_str(), nullptr), 1);
  SSL_CTX_set_verify(tls.get(), SSL_VERIFY_PEER, nullptr);

  {
    RawConnection malformed(port, tls.get());
    ASSERT_TRUE(malformed.connected);
    malformed.Send("GET /\x01 nonsense\r\n\r\n");
    const std::string answer = malformed.Read(HasWholeResponse);
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 400"));
    EXPECT_THAT(answer, HasSubstr("\"bad_request\""));
    EXPECT_THAT(answer, HasSubstr("Cache-Control: no-store"));
  }
  {
    RawConnection binary(port, tls.get());
    ASSERT_TRUE(binary.connected);
    binary.Send(std::string("\x00\xff\x13\x37 garbage\r\n\r\n", 16));
    EXPECT_THAT(binary.Read(HasWholeResponse), StartsWith("HTTP/1.1 400"));
  }
  {
    // Not TLS at all: the handshake fails and the server hangs up.
    RawConnection plain(port);
    plain.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(2048, '\x16'));
    plain.Read([](const std::string&) { return false; });
  }
  EXPECT_EQ(recorder_.count(), 0u);
  auto response = Client(port, {})->Request("GET", "/still-alive");
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 200);
}

// A client that sends its headers a line at a time, each line well within any per-read
// timeout, is still cut off: the deadline covers the whole request, not each read.
TEST_F(HttpsServerTest, ASlowClientTricklingHeadersIsCutOffAtTheRequestDeadline) {
  signal(SIGPIPE, SIG_IGN);
  ListenerOptions options = Options(false, false);
  options.read_timeout = std::chrono::seconds(1);
  const uint16_t port = Listen(std::move(options));
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  ASSERT_EQ(SSL_CTX_load_verify_locations(tls.get(), ca_.ca_file().c_str(), nullptr), 1);
  RawConnection slow(port, tls.get());
  ASSERT_TRUE(slow.connected);
  int fd = -1;
  BIO_get_fd(slow.bio, &fd);
  slow.Send("GET /slow HTTP/1.1\r\nHost: x\r\n");
  constexpr int kLines = 100;  // 10 s of trickling against a 1 s deadline
  int sent = 0;
  for (; sent < kLines; ++sent) {
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (poll(&p, 1, 100) > 0) {
      break;  // the server hung up (close_notify or FIN)
    }
    if (BIO_write(slow.bio, "X-Slow: y\r\n", 11) != 11) {
      break;
    }
  }
  EXPECT_LT(sent, kLines) << "the server kept the trickling connection open";
  EXPECT_EQ(slow.Read([](const std::string&) { return false; }), "");
  EXPECT_EQ(recorder_.count(), 0u);
}

// Issue 13, finding 3: a connection beyond a cap is closed before any TLS work, and its slot
// comes back when a held connection goes.
TEST_F(HttpsServerTest, ConnectionsBeyondTheCapsAreClosedAtOnce) {
  struct Case {
    std::string name;
    size_t total;
    size_t per_address;
  };
  for (const Case& c : {Case{"in all", 2, 0}, Case{"per address", 0, 2}}) {
    SCOPED_TRACE(c.name);
    ListenerOptions options = Options(false, false);
    options.max_connections = c.total;
    options.max_connections_per_address = c.per_address;
    const uint16_t port = Listen(std::move(options));
    // The previous case's connections close asynchronously: start from none, or a connection
    // still closing is counted in `before` and gone a moment later (seen failing under load).
    for (int i = 0; i < 200 && runtime_.ConnectionCount() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(runtime_.ConnectionCount(), 0u);
    const size_t before = 0;
    auto held_a = std::make_unique<RawConnection>(port);  // TCP only: never starts TLS
    RawConnection held_b(port);
    for (int i = 0; i < 200 && runtime_.ConnectionCount() < before + 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(runtime_.ConnectionCount(), before + 2);
    auto refused = Client(port, {})->Request("GET", "/full", "");
    EXPECT_FALSE(refused.ok());
    held_a.reset();
    bool served = false;
    for (int i = 0; i < 200 && !served; ++i) {
      auto response = Client(port, {})->Request("GET", "/again", "");
      served = response.ok() && response->status == 200;
      if (!served) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    EXPECT_TRUE(served);
  }
}

TEST_F(HttpsServerTest, KeepAliveReusesOneConnection) {
  const uint16_t port = Listen(Options(true, true));
  auto client = DeviceClient(port);
  ASSERT_TRUE(client->Request("GET", "/one").ok());
  const std::string first = recorder_.last().peer_address;
  ASSERT_TRUE(client->Request("GET", "/two").ok());
  EXPECT_EQ(recorder_.last().peer_address, first);
  EXPECT_EQ(runtime_.ConnectionCount(), 1u);

  ASSERT_TRUE(DeviceClient(port)->Request("GET", "/three").ok());
  EXPECT_NE(recorder_.last().peer_address, first);
}

TEST_F(HttpsServerTest, HeadGetsHeadersOnlyAndTheConnectionStaysUsable) {
  const uint16_t port = Listen(Options(false, false));
  auto client = Client(port, {});
  auto head = client->Request("HEAD", "/v1/devices");
  ASSERT_TRUE(head.ok()) << head.error().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_NE(HeaderOf(*head, "Content-Length"), "0");
  auto get = client->Request("GET", "/v1/devices");
  ASSERT_TRUE(get.ok()) << get.error().ToString();
  EXPECT_EQ(BodyOf(get)["path"], "/v1/devices");
  EXPECT_EQ(HeaderOf(*get, "Content-Length"), HeaderOf(*head, "Content-Length"));
}

TEST_F(HttpsServerTest, ConnectionCloseFromTheClientIsHonoured) {
  const uint16_t port = Listen(Options(false, false));
  auto client = Client(port, {});
  auto response = client->Request("GET", "/bye", {}, {{"Connection", "close"}});
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(HeaderOf(*response, "Connection"), "close");
  const std::string first = recorder_.last().peer_address;
  EXPECT_TRUE(Eventually([&] { return runtime_.ConnectionCount() == 0; }));
  ASSERT_TRUE(client->Request("GET", "/again").ok());
  EXPECT_NE(recorder_.last().peer_address, first);
}

TEST_F(HttpsServerTest, ResponderCompletedLaterFromAnotherThread) {
  recorder_.Hold();
  const uint16_t port = Listen(Options(true, true));
  auto client = DeviceClient(port);
  auto pending = std::async(std::launch::async, [&] { return client->Request("GET", "/poll"); });
  Responder respond = recorder_.TakeHeld();
  std::thread([respond] {
    respond(HttpResponse::Json(202, {{"task", "inspect"}}));
    respond(HttpResponse::Json(500, {{"second", "call is ignored"}}));
  }).join();
  auto response = pending.get();
  ASSERT_TRUE(response.ok()) << response.error().ToString();
  EXPECT_EQ(response->status, 202);
  EXPECT_EQ(BodyOf(response)["task"], "inspect");

  // The connection carries on; a stale call from the old Responder changes nothing.
  auto next = std::async(std::launch::async, [&] { return client->Request("GET", "/next"); });
  Responder second = recorder_.TakeHeld();
  respond(HttpResponse::Json(500, {{"stale", true}}));
  second(HttpResponse::Json(200, {{"fresh", true}}));
  auto fresh = next.get();
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->status, 200);
  EXPECT_EQ(BodyOf(fresh)["fresh"], true);
}

TEST_F(HttpsServerTest, DroppedResponderAndThrowingHandlerGive500) {
  std::atomic<bool> throw_now{false};
  ListenerOptions options = Options(false, false);
  auto port = runtime_.AddListener(std::move(options), [&](HttpRequest, Responder) {
    if (throw_now) {
      throw std::runtime_error("boom");
    }
  });
  ASSERT_TRUE(port.ok());
  runtime_.Start();
  auto client = Client(*port, {});
  auto dropped = client->Request("GET", "/");
  ASSERT_TRUE(dropped.ok()) << dropped.error().ToString();
  EXPECT_EQ(dropped->status, 500);
  EXPECT_EQ(BodyOf(dropped)["error"]["code"], "internal");

  throw_now = true;
  auto thrown = client->Request("GET", "/");
  ASSERT_TRUE(thrown.ok()) << thrown.error().ToString();
  EXPECT_EQ(thrown->status, 500);
}

TEST_F(HttpsServerTest, CloseConnectionsClosesMatchingKeptAliveConnections) {
  std::atomic<bool> revoked{false};
  ListenerOptions options = Options(true, true);
  options.is_revoked = [&](const PeerCertificate& peer) {
    return revoked.load() && peer.subject_cn == "device-1";
  };
  const uint16_t port = Listen(std::move(options));
  auto client = DeviceClient(port);
  ASSERT_TRUE(client->Request("GET", "/one").ok());
  const std::string first = recorder_.last().peer_address;

  runtime_.CloseConnections([](const PeerCertificate& peer) { return peer.subject_cn == "other"; });
  ASSERT_TRUE(client->Request("GET", "/two").ok());
  EXPECT_EQ(recorder_.last().peer_address, first) << "a non-matching connection was closed";

  runtime_.CloseConnections(
      [](const PeerCertificate& peer) { return peer.subject_cn == "device-1"; });
  ASSERT_TRUE(Eventually([&] { return runtime_.ConnectionCount() == 0; }));
  // The client notices the closed connection and reconnects once.
  auto reconnected = client->Request("GET", "/three");
  ASSERT_TRUE(reconnected.ok()) << reconnected.error().ToString();
  EXPECT_NE(recorder_.last().peer_address, first);

  // Revocation: mark first, then close; the reconnect is refused.
  revoked = true;
  runtime_.CloseConnections(
      [](const PeerCertificate& peer) { return peer.subject_cn == "device-1"; });
  ASSERT_TRUE(Eventually([&] { return runtime_.ConnectionCount() == 0; }));
  const size_t served = recorder_.count();
  auto refused = client->Request("GET", "/four");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("client certificate"));
  EXPECT_EQ(recorder_.count(), served);
}

TEST_F(HttpsServerTest, StopClosesIdleConnectionsAndReturns) {
  const uint16_t port = Listen(Options(true, true));
  auto client = DeviceClient(port);
  ASSERT_TRUE(client->Request("GET", "/").ok());
  ASSERT_EQ(runtime_.ConnectionCount(), 1u);
  runtime_.Stop();
  runtime_.Wait();
  // Closed, not abandoned after the grace period.
  EXPECT_EQ(runtime_.ConnectionCount(), 0u);
  runtime_.Stop();  // idempotent

  auto after = client->Request("GET", "/");
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, ErrorCode::kNetwork) << after.error().message;
}

TEST_F(HttpsServerTest, StopFromAHandlerClosesEverythingWithoutDeadlock) {
  auto port = runtime_.AddListener(Options(false, false), [&](HttpRequest, Responder respond) {
    runtime_.Stop();
    respond(HttpResponse::Json(200, {}));
  });
  ASSERT_TRUE(port.ok());
  runtime_.Start();
  auto response = Client(*port, {})->Request("POST", "/v1/admin/shutdown");
  EXPECT_FALSE(response.ok()) << "the connection is closed by the stop, not answered";
  runtime_.Wait();
  EXPECT_EQ(runtime_.ConnectionCount(), 0u);
}

TEST(HttpsServerLifetimeTest, StopWithAPendingResponderAndAResponderOutlivingTheRuntime) {
  TempDir dir;
  TestCa ca(dir, "soc");
  const CertFiles server = ca.IssueServer({"127.0.0.1"});
  Recorder recorder;
  recorder.Hold();
  Responder survivor;
  {
    ServerRuntime runtime(2);
    ListenerOptions options;
    options.cert_file = server.cert_file;
    options.key_file = server.key_file;
    auto port = runtime.AddListener(options, recorder.handler());
    ASSERT_TRUE(port.ok());
    runtime.Start();
    ClientOptions client_options;
    client_options.host = "127.0.0.1";
    client_options.port = *port;
    client_options.ca_file = ca.ca_file();
    auto client = HttpsClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    auto pending = std::async(std::launch::async, [&] { return (*client)->Request("GET", "/"); });
    survivor = recorder.TakeHeld();
    runtime.Stop();
    EXPECT_EQ(runtime.ConnectionCount(), 0u);
    auto result = pending.get();
    EXPECT_FALSE(result.ok());
    survivor(HttpResponse::Json(200, {}));  // connection gone: a no-op
  }
  Responder another = survivor;  // copies and destruction after the runtime are harmless
  another = nullptr;
  survivor = nullptr;
}

TEST_F(HttpsServerTest, ClientReportsTimeoutsAndRefusedConnections) {
  recorder_.Hold();
  const uint16_t port = Listen(Options(false, false));
  auto slow = Client(port, ClientSetup::Timeout(std::chrono::seconds(1)))->Request("GET", "/slow");
  ASSERT_FALSE(slow.ok());
  EXPECT_EQ(slow.error().code, ErrorCode::kTimeout);
  EXPECT_EQ(slow.error().message,
            "timed out after 1 s waiting for response from 127.0.0.1:" + std::to_string(port));
  recorder_.TakeHeld()(HttpResponse::Json(200, {}));

  runtime_.Stop();
  auto refused = Client(port, {})->Request("GET", "/");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kNetwork);
  EXPECT_EQ(refused.error().message,
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST_F(HttpsServerTest, AddListenerErrorsAreClear) {
  const uint16_t port = Listen(Options(false, false));

  ListenerOptions in_use = Options(false, false);
  in_use.port = port;
  auto taken = runtime_.AddListener(in_use, recorder_.handler());
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(taken.error().message,
              HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(taken.error().message, HasSubstr("in use"));

  ListenerOptions missing = Options(false, false);
  missing.cert_file = dir_.File("missing.pem");
  auto no_file = runtime_.AddListener(missing, recorder_.handler());
  ASSERT_FALSE(no_file.ok());
  EXPECT_THAT(no_file.error().message, HasSubstr(missing.cert_file));

  ListenerOptions mismatched = Options(false, false);
  mismatched.key_file = device_.key_file;
  auto wrong_key = runtime_.AddListener(mismatched, recorder_.handler());
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_THAT(wrong_key.error().message, HasSubstr("does not belong"));

  ListenerOptions no_ca = Options(true, true);
  no_ca.ca_file.clear();
  EXPECT_FALSE(runtime_.AddListener(no_ca, recorder_.handler()).ok());

  ListenerOptions bad_address = Options(false, false);
  bad_address.address = "localhost";
  EXPECT_FALSE(runtime_.AddListener(bad_address, recorder_.handler()).ok());
}

}  // namespace
}  // namespace cg::soc

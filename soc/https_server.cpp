// ServerRuntime: Beast HTTP/1.1 over TLS on Asio, one C++20 coroutine per connection on its own
// strand; shutdown follows Beast's advanced_server_flex_awaitable (cancel all, bounded wait, stop).
#include "soc/https_server.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <condition_variable>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/pki.h"
#include "protocol/tls.h"
#include "soc/http_codec.h"
#include "soc/http_codec_beast.h"
#include "soc/metrics.h"

namespace cg::soc {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using protocol::HttpRequest;
using protocol::HttpResponse;
using protocol::PeerCertificate;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kStopGrace{5};
constexpr size_t kReadChunk = 4096;
// Lingering close after refusing a request: read (and drop) what the client is still sending,
// for at most this long and this much.
constexpr std::chrono::seconds kMaxDrainTime{5};
constexpr size_t kMaxDrainBytes = 8u << 20;
constexpr std::chrono::seconds kMaxLingerTime{2};
constexpr std::chrono::milliseconds kAcceptErrorPause{100};

HttpLimits Limits(const ListenerOptions& options) {
  return HttpLimits{options.max_body_bytes, options.max_header_bytes};
}

PeerCertificate ToPeer(const protocol::CertificateInfo& info) {
  return PeerCertificate{info.subject_cn, info.subject_ou, info.serial_hex};
}

// Completion handler for co_spawn: a coroutine that throws is a bug; log it instead of taking
// the whole server down from inside io_context::run().
auto LogIfThrown(std::string what) {
  return [what = std::move(what)](const std::exception_ptr& e) {
    if (!e) {
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{}: unexpected exception: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{}: unexpected non-standard exception", what);
    }
  };
}

// A completion handler for (error_code, size_t) behind one concrete type, carrying the
// original handler's executor (asio::any_completion_handler would do, but in Boost 1.81 its
// executor cannot be required to be non-blocking, which Asio's SSL operations need).
class IoHandler {
 public:
  using executor_type = asio::any_io_executor;

  template <typename Handler>
  explicit IoHandler(Handler handler, const executor_type& fallback)
      : executor_(asio::get_associated_executor(handler, fallback)),
        impl_(std::make_unique<Model<Handler>>(std::move(handler))) {}

  executor_type get_executor() const noexcept { return executor_; }

  void operator()(error_code ec, size_t n) {
    std::unique_ptr<Concept> impl = std::move(impl_);
    impl->Invoke(ec, n);
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual void Invoke(error_code ec, size_t n) = 0;
  };
  template <typename Handler>
  struct Model final : Concept {
    explicit Model(Handler h) : handler(std::move(h)) {}
    void Invoke(error_code ec, size_t n) override { std::move(handler)(ec, n); }
    Handler handler;
  };

  executor_type executor_;
  std::unique_ptr<Concept> impl_;
};

// The TLS stream behind one concrete completion handler type: every Beast operation then
// shares a single instantiation of Asio's SSL read and write machinery instead of one per
// composed operation, which cuts this file's compile time substantially. Like ssl::stream
// itself, each call reads into or writes from the first non-empty buffer only.
class TlsStream {
 public:
  using executor_type = asio::any_io_executor;

  TlsStream(tcp::socket socket, ssl::context& ctx) : stream_(std::move(socket), ctx) {}

  executor_type get_executor() noexcept { return stream_.get_executor(); }
  ssl::stream<beast::tcp_stream>& tls() { return stream_; }
  beast::tcp_stream& lowest() { return stream_.next_layer(); }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, size_t)>(
        [this](auto handler, asio::mutable_buffer buffer) {
          StartRead(buffer, IoHandler(std::move(handler), get_executor()));
        },
        token, First<asio::mutable_buffer>(buffers));
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, size_t)>(
        [this](auto handler, asio::const_buffer buffer) {
          StartWrite(buffer, IoHandler(std::move(handler), get_executor()));
        },
        token, First<asio::const_buffer>(buffers));
  }

 private:
  template <typename Buffer, typename Sequence>
  static Buffer First(const Sequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      Buffer buffer(*it);
      if (buffer.size() != 0) {
        return buffer;
      }
    }
    return Buffer();
  }

  void StartRead(asio::mutable_buffer buffer, IoHandler handler) {
    stream_.async_read_some(buffer, std::move(handler));
  }
  void StartWrite(asio::const_buffer buffer, IoHandler handler) {
    stream_.async_write_some(buffer, std::move(handler));
  }

  ssl::stream<beast::tcp_stream> stream_;
};

struct Listener {
  Listener(asio::io_context& io, ListenerOptions o, Handler h)
      : options(std::move(o)),
        handler(std::move(h)),
        ssl_ctx(ssl::context::tls_server),
        io_executor(io.get_executor()),
        acceptor(asio::make_strand(io)) {}

  ListenerOptions options;
  Handler handler;
  ssl::context ssl_ctx;
  asio::io_context::executor_type io_executor;
  tcp::acceptor acceptor;  // on its own strand: Stop() posts the close there
  std::string name;        // "127.0.0.1:8443", for logs

  // Takes a connection slot for `address`, or says which cap refuses it.
  const char* TryAcquire(const std::string& address) {
    std::lock_guard lock(slots_mu);
    if (options.max_connections != 0 && open_total >= options.max_connections) {
      return "listener";
    }
    size_t& from_address = open_per_address[address];
    if (options.max_connections_per_address != 0 &&
        from_address >= options.max_connections_per_address) {
      if (from_address == 0) {
        open_per_address.erase(address);
      }
      return "address";
    }
    ++from_address;
    ++open_total;
    return nullptr;
  }

  void Release(const std::string& address) {
    std::lock_guard lock(slots_mu);
    --open_total;
    if (auto it = open_per_address.find(address);
        it != open_per_address.end() && --it->second == 0) {
      open_per_address.erase(it);
    }
  }

  // One warning per 10 s at most: a flood must not flood the log as well. Returns the number of
  // refusals not logged since the last warning, or nullopt when this one is not to be logged.
  std::optional<size_t> ShouldLogRefusal(std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(slots_mu);
    if (last_refusal_log.time_since_epoch().count() != 0 &&
        now - last_refusal_log < std::chrono::seconds(10)) {
      ++refused_since_log;
      return std::nullopt;
    }
    last_refusal_log = now;
    return std::exchange(refused_since_log, 0);
  }

  std::mutex slots_mu;
  size_t open_total = 0;
  std::unordered_map<std::string, size_t> open_per_address;
  std::chrono::steady_clock::time_point last_refusal_log{};
  size_t refused_since_log = 0;
};

// The listener's is_revoked hook; a hook that throws refuses (fail closed).
bool IsRevoked(const Listener& listener, const PeerCertificate& peer) {
  if (!listener.options.is_revoked) {
    return false;
  }
  try {
    return listener.options.is_revoked(peer);
  } catch (const std::exception& e) {
    spdlog::error("{}: revocation check failed: {}", listener.name, e.what());
  } catch (...) {
    spdlog::error("{}: revocation check failed", listener.name);
  }
  return true;
}

class Session;

// Book-keeping shared by the runtime, its sessions and every Responder: which connections are
// open (and with which client certificate), and whether the io_context may still be posted to.
class Registry {
 public:
  // 0 once the runtime is stopping: the connection is then dropped.
  uint64_t Add(std::weak_ptr<Session> session) {
    std::lock_guard lock(mu_);
    if (closing_all_) {
      return 0;
    }
    const uint64_t id = next_id_++;
    entries_.emplace(id, Entry{std::move(session), std::nullopt});
    return id;
  }

  void SetPeer(uint64_t id, const PeerCertificate& peer) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(id); it != entries_.end()) {
      it->second.peer = peer;
    }
  }

  void Remove(uint64_t id) {
    {
      std::lock_guard lock(mu_);
      entries_.erase(id);
    }
    cv_.notify_all();
  }

  size_t Count() const {
    std::lock_guard lock(mu_);
    return entries_.size();
  }

  // Refuses new connections from now on and returns the open ones.
  std::vector<std::shared_ptr<Session>> CloseAll() {
    std::vector<std::weak_ptr<Session>> weak;
    {
      std::lock_guard lock(mu_);
      closing_all_ = true;
      for (const auto& [id, entry] : entries_) {
        weak.push_back(entry.session);
      }
    }
    return Lock(weak);
  }

  std::vector<std::shared_ptr<Session>> Matching(
      const std::function<bool(const PeerCertificate&)>& match) {
    std::vector<std::pair<std::weak_ptr<Session>, PeerCertificate>> candidates;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, entry] : entries_) {
        if (entry.peer) {
          candidates.emplace_back(entry.session, *entry.peer);
        }
      }
    }
    // `match` runs without the lock: it may be slow or call back into the runtime.
    std::vector<std::weak_ptr<Session>> weak;
    for (const auto& [session, peer] : candidates) {
      if (match(peer)) {
        weak.push_back(session);
      }
    }
    return Lock(weak);
  }

  bool WaitEmpty(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return entries_.empty(); });
  }

  // Runs fn(session) if the session is alive and the io_context still exists (Seal() is called
  // before it goes): a Responder may be called, copied or dropped at any time, from any thread,
  // even after the runtime is gone, and must then touch no executor. A separate mutex, because
  // dropping the last reference to a session here ends up in Remove().
  template <typename S, typename Fn>
  void IfOpen(const std::weak_ptr<S>& weak, Fn&& fn) {
    std::lock_guard lock(gate_mu_);
    if (!open_) {
      return;
    }
    if (std::shared_ptr<S> session = weak.lock()) {
      fn(*session);
    }
  }

  void Seal() {
    std::lock_guard lock(gate_mu_);
    open_ = false;
  }

 private:
  struct Entry {
    std::weak_ptr<Session> session;
    std::optional<PeerCertificate> peer;
  };

  static std::vector<std::shared_ptr<Session>> Lock(const std::vector<std::weak_ptr<Session>>& w) {
    std::vector<std::shared_ptr<Session>> out;
    for (const auto& session : w) {
      if (auto locked = session.lock()) {
        out.push_back(std::move(locked));
      }
    }
    return out;
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closing_all_ = false;
  std::mutex gate_mu_;
  bool open_ = true;  // guarded by gate_mu_
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Entry> entries_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `slot_address`: the connection slot taken for it (Listener::TryAcquire), released with it.
  Session(tcp::socket socket, std::shared_ptr<Listener> listener,
          std::shared_ptr<Registry> registry, std::string slot_address)
      : listener_(std::move(listener)),
        registry_(std::move(registry)),
        executor_(socket.get_executor()),
        stream_(std::move(socket), listener_->ssl_ctx),
        response_timer_(executor_),
        slot_address_(std::move(slot_address)),
        started_(std::chrono::steady_clock::now()) {
    error_code ec;
    const tcp::endpoint peer = stream_.lowest().socket().remote_endpoint(ec);
    peer_address_ =
        ec ? "unknown" : protocol::JoinHostPort(peer.address().to_string(), peer.port());
    Metrics().open_connections[PortSlot()].Add(1);
  }

  ~Session() {
    Metrics().open_connections[PortSlot()].Add(-1);
    listener_->Release(slot_address_);
    if (id_ != 0) {
      registry_->Remove(id_);
    }
  }

  // The metrics' port label: the agent port is the one that verifies client certificates.
  size_t PortSlot() const {
    return static_cast<size_t>(listener_->options.verify_client_certs ? Port::kAgent
                                                                      : Port::kOperator);
  }

  bool Register() {
    id_ = registry_->Add(weak_from_this());
    return id_ != 0;
  }

  const asio::any_io_executor& executor() const { return executor_; }

  static asio::awaitable<void> Run(std::shared_ptr<Session> self) { co_await self->Serve(); }

  // On the strand. Ends the connection now, whatever it is doing.
  void Close() {
    closing_ = true;
    response_timer_.cancel();
    stream_.lowest().close();
  }

  // On the strand. The answer to request number `seq` (stale answers are dropped).
  void Deliver(uint64_t seq, HttpResponse response) {
    if (seq != seq_ || response_ || closing_) {
      return;
    }
    response_ = std::move(response);
    response_timer_.cancel();
  }

 private:
  // One per request; shared by every copy of its Responder.
  class ResponseSlot {
   public:
    ResponseSlot(std::shared_ptr<Registry> registry, std::weak_ptr<Session> session, uint64_t seq)
        : registry_(std::move(registry)), session_(std::move(session)), seq_(seq) {}
    ResponseSlot(const ResponseSlot&) = delete;
    ResponseSlot& operator=(const ResponseSlot&) = delete;

    ~ResponseSlot() {
      if (!done_.load()) {
        Complete(HttpResponse::Error(500, "internal", "the request was not answered"));
      }
    }

    void Complete(HttpResponse response) {
      if (done_.exchange(true)) {
        return;
      }
      // Holds no executor or session of its own: either could outlive the io_context.
      registry_->IfOpen(session_, [&](Session& session) {
        asio::post(session.executor(),
                   [weak = session_, seq = seq_, response = std::move(response)]() mutable {
                     if (auto s = weak.lock()) {
                       s->Deliver(seq, std::move(response));
                     }
                   });
      });
    }

   private:
    std::shared_ptr<Registry> registry_;
    std::weak_ptr<Session> session_;
    uint64_t seq_;
    std::atomic<bool> done_{false};
  };

  asio::awaitable<void> Serve() {
    const ListenerOptions& options = listener_->options;
    auto& tcp_layer = stream_.lowest();
    spdlog::debug("{}: connection from {}", listener_->name, peer_address_);

    // The first request must be complete within read_timeout of the accept; the handshake has
    // its own, shorter bound within that.
    auto request_deadline = started_ + options.read_timeout;
    tcp_layer.expires_at(std::min(started_ + options.handshake_timeout, request_deadline));
    auto [handshake_ec] =
        co_await stream_.tls().async_handshake(ssl::stream_base::server, kNoThrow);
    if (handshake_ec) {
      const long verify = SSL_get_verify_result(stream_.tls().native_handle());
      Metrics().HandshakeRefused(
          static_cast<Port>(PortSlot()),
          handshake_ec == beast::error::timeout ? HandshakeRefusal::kTimeout
          : verify == X509_V_ERR_CERT_REVOKED   ? HandshakeRefusal::kCertificateRevoked
          : verify != X509_V_OK                 ? HandshakeRefusal::kCertificateInvalid
          : handshake_ec.category() == asio::error::get_ssl_category() ? HandshakeRefusal::kTlsError
                                                                       : HandshakeRefusal::kClosed);
      Fail(handshake_ec, verify == X509_V_OK ? "TLS handshake"
                                             : std::string("TLS handshake (client certificate: ") +
                                                   X509_verify_cert_error_string(verify) + ")");
      // An OpenSSL error means we refused the client and sent it an alert.
      if (handshake_ec.category() == asio::error::get_ssl_category() && !closing_) {
        co_await LingerAfterRefusal();
      }
      co_return;
    }
    if (!AdmitPeer()) {
      Metrics().HandshakeRefused(static_cast<Port>(PortSlot()),
                                 HandshakeRefusal::kCertificateRevoked);
      co_return;
    }
    Metrics().handshakes[PortSlot()].Inc();

    bool first = true;
    bool close_notify = false;  // end with a TLS close_notify rather than just closing
    while (!closing_) {
      if (buffer_.size() == 0) {
        // Between requests the connection is idle; the first request should come promptly.
        if (first) {
          tcp_layer.expires_at(request_deadline);
        } else {
          tcp_layer.expires_after(options.idle_timeout);
        }
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kNoThrow);
        if (ec) {
          close_notify = Fail(ec, "waiting for a request");
          break;
        }
        buffer_.commit(n);
      }
      // A later request's deadline runs from its first byte; none restarts with progress.
      if (!first) {
        request_deadline = std::chrono::steady_clock::now() + options.read_timeout;
      }
      first = false;

      codec::RequestParser parser;
      codec::ApplyLimits(parser, Limits(options));
      tcp_layer.expires_at(request_deadline);
      auto [header_ec, header_n] =
          co_await http::async_read_header(stream_, buffer_, parser, kNoThrow);
      error_code ec = header_ec;
      if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        // Clients that ask (curl does for large bodies) otherwise wait a second before sending.
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        tcp_layer.expires_after(options.write_timeout);
        auto [write_ec, write_n] =
            co_await asio::async_write(stream_, asio::buffer(kContinue), kNoThrow);
        if (write_ec) {
          Fail(write_ec, "writing 100 Continue");
          break;
        }
      }
      if (!ec) {
        tcp_layer.expires_at(request_deadline);
        auto [body_ec, body_n] = co_await http::async_read(stream_, buffer_, parser, kNoThrow);
        ec = body_ec;
      }
      if (ec) {
        std::optional<HttpResponse> rejection = codec::RejectionFor(ec, Limits(options));
        if (!rejection) {
          close_notify = Fail(ec, "reading a request");
          break;
        }
        spdlog::debug("{}: {}: refusing request: {}", listener_->name, peer_address_, ec.message());
        if (co_await Write(std::move(*rejection), 11, false)) {
          co_await Drain();
          close_notify = true;
        }
        break;
      }

      http::request<http::string_body> message = parser.release();
      if (buffer_.size() == 0) {
        // Nothing read ahead: give the read buffer back while the answer is awaited (a held
        // long-poll waits up to 55 s; the buffer grew to the largest request, e.g. a batch).
        buffer_.shrink_to_fit();
      }
      const bool keep_alive = message.keep_alive();
      const unsigned version = message.version();
      const bool head = message.method() == http::verb::head;
      const std::string method(message.method_string());
      const std::string path(message.target().substr(0, message.target().find('?')));
      Invoke(ToHttpRequest(std::move(message)));
      if (!response_ && !closing_) {
        response_timer_.expires_at(asio::steady_timer::time_point::max());
        co_await response_timer_.async_wait(kNoThrow);
      }
      if (closing_ || !response_) {
        break;
      }
      HttpResponse response = std::move(*response_);
      response_.reset();
      spdlog::debug("{}: {}: {} {} -> {}", listener_->name, peer_address_, method, path,
                    response.status);
      if (!co_await Write(std::move(response), version, keep_alive, head)) {
        break;
      }
      if (!keep_alive) {
        close_notify = true;
        break;
      }
    }

    if (close_notify && !closing_) {
      tcp_layer.expires_after(options.write_timeout);
      auto [ec] = co_await stream_.tls().async_shutdown(kNoThrow);
      if (ec) {
        Fail(ec, "TLS shutdown");
      }
    }
    tcp_layer.close();
    spdlog::debug("{}: {}: connection closed", listener_->name, peer_address_);
  }

  // Records the verified client certificate, if any. False: drop the connection.
  bool AdmitPeer() {
    SSL* ssl = stream_.tls().native_handle();
    const X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) {
      return true;
    }
    auto info = protocol::InspectCertificate(*cert);
    if (!info.ok()) {
      spdlog::debug("{}: {}: unreadable client certificate: {}", listener_->name, peer_address_,
                    info.error().message);
      return false;
    }
    peer_ = ToPeer(*info);
    registry_->SetPeer(id_, *peer_);
    // Asked again now that the certificate is registered: a device revoked after the handshake
    // verified it but before CloseConnections() could see this connection is still cut off.
    if (IsRevoked(*listener_, *peer_)) {
      spdlog::debug("{}: {}: client certificate {} revoked", listener_->name, peer_address_,
                    peer_->serial_hex);
      return false;
    }
    return true;
  }

  HttpRequest ToHttpRequest(http::request<http::string_body> message) const {
    HttpRequest request = codec::ToHttpRequest(std::move(message));
    request.peer_address = peer_address_;
    request.peer_cert = peer_;
    return request;
  }

  void Invoke(HttpRequest request) {
    auto slot = std::make_shared<ResponseSlot>(registry_, weak_from_this(), ++seq_);
    Responder respond = [slot](HttpResponse response) { slot->Complete(std::move(response)); };
    try {
      listener_->handler(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("{}: handler threw: {}", listener_->name, e.what());
      slot->Complete(HttpResponse::Error(500, "internal", "internal error"));
    } catch (...) {
      spdlog::error("{}: handler threw a non-standard exception", listener_->name);
      slot->Complete(HttpResponse::Error(500, "internal", "internal error"));
    }
  }

  asio::awaitable<bool> Write(HttpResponse response, unsigned version, bool keep_alive,
                              bool head = false) {
    // Serialized up front: one buffer, so one TLS record for small answers, and the same
    // asio::async_write instantiation as "100 Continue" (http::async_write would add another).
    if (listener_->options.decorate) {
      listener_->options.decorate(response);
    }
    const std::string wire = SerializeHttpResponse(std::move(response), version, keep_alive, head);
    stream_.lowest().expires_after(listener_->options.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(wire), kNoThrow);
    if (ec) {
      Fail(ec, "writing a response");
      co_return false;
    }
    co_return true;
  }

  // Lingering close after a refused request: the client may still be sending the body we will
  // not read, and closing with unread data makes the kernel answer with a TCP reset that can
  // destroy our error response before the client has read it.
  asio::awaitable<void> Drain() {
    stream_.lowest().expires_after(kMaxDrainTime);
    size_t drained = buffer_.size();
    buffer_.consume(buffer_.size());
    while (drained < kMaxDrainBytes && !closing_) {
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kNoThrow);
      if (ec) {
        break;
      }
      drained += n;  // never committed: dropped
    }
  }

  // After a refused handshake OpenSSL has already sent its alert ("certificate required",
  // "unknown ca", "certificate revoked"). Closing at once, with the client's first request still
  // unread, makes the kernel send a reset, and a Windows client drops the alert it has not read
  // yet on a reset: the agent would report "connection reset" instead of why it was refused. So
  // hang up our side only and give the client a moment to hang up too.
  asio::awaitable<void> LingerAfterRefusal() {
    auto& lowest = stream_.lowest();
    error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest.expires_after(kMaxLingerTime);
    size_t drained = 0;
    while (drained < kMaxDrainBytes && !closing_) {
      auto [ec, n] = co_await lowest.async_read_some(buffer_.prepare(kReadChunk), kNoThrow);
      if (ec) {
        break;
      }
      drained += n;  // never committed: dropped
    }
  }

  // The one place connection errors end up. Returns whether a TLS close_notify still makes sense.
  bool Fail(const error_code& ec, std::string_view what) {
    // Three errors are the normal life of a connection rather than failures, so they are only
    // traced: end_of_stream/eof is the client closing between requests (it sent close_notify,
    // we answer with ours); stream_truncated is a client dropping TCP without close_notify,
    // which most HTTP clients do and which cannot truncate anything because HTTP's own framing
    // (Content-Length) delimits every message; operation_aborted is Stop() or
    // CloseConnections() cancelling us.
    if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      spdlog::trace("{}: {}: client closed the connection", listener_->name, peer_address_);
      return true;
    }
    if (ec == ssl::error::stream_truncated || ec == asio::error::operation_aborted) {
      spdlog::trace("{}: {}: {}: {}", listener_->name, peer_address_, what, ec.message());
      return false;
    }
    if (ec == beast::error::timeout) {
      spdlog::debug("{}: {}: timed out {}", listener_->name, peer_address_, what);
      return false;
    }
    spdlog::debug("{}: {}: {} failed: {}", listener_->name, peer_address_, what, ec.message());
    return false;
  }

  std::shared_ptr<Listener> listener_;
  std::shared_ptr<Registry> registry_;
  uint64_t id_ = 0;
  asio::any_io_executor executor_;  // the connection's strand; declared before stream_
  TlsStream stream_;
  asio::steady_timer response_timer_;  // "wakes" the coroutine when the Responder is called
  beast::flat_buffer buffer_;
  std::string peer_address_;
  std::optional<PeerCertificate> peer_;
  std::optional<HttpResponse> response_;
  uint64_t seq_ = 0;
  bool closing_ = false;
  std::string slot_address_;
  std::chrono::steady_clock::time_point started_;  // accepted
};

asio::awaitable<void> AcceptLoop(std::shared_ptr<Listener> listener,
                                 std::shared_ptr<Registry> registry) {
  for (;;) {
    auto [ec, socket] = co_await listener->acceptor.async_accept(
        asio::make_strand(listener->io_executor), kNoThrow);
    if (ec == asio::error::operation_aborted || !listener->acceptor.is_open()) {
      co_return;
    }
    if (ec) {
      spdlog::warn("{}: accept failed: {}", listener->name, ec.message());
      // Out of descriptors (EMFILE) fails at once and again: pause instead of spinning.
      asio::steady_timer pause(listener->acceptor.get_executor(), kAcceptErrorPause);
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    // Without TCP_NODELAY the handshake's last flight and the first answer wait for the
    // client's delayed ACK (Nagle): ~40 ms per new connection, measured by
    // tests/bench/ingest_bench.sh (21 full handshakes/s against 192 for openssl s_server).
    // The caps are checked before any TLS work: a refused connection costs one accept and one
    // close, and its descriptor is back at once.
    error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    const std::string address = peer_ec ? std::string("unknown") : peer.address().to_string();
    if (const char* cap = listener->TryAcquire(address)) {
      Metrics().HandshakeRefused(
          listener->options.verify_client_certs ? Port::kAgent : Port::kOperator,
          std::string_view(cap) == "listener" ? HandshakeRefusal::kListenerFull
                                              : HandshakeRefusal::kAddressFull);
      if (auto unlogged = listener->ShouldLogRefusal(std::chrono::steady_clock::now())) {
        spdlog::warn(
            "{}: connection from {} refused: {} (at most {} connections{}); {} more "
            "refused since the last such warning",
            listener->name, address,
            std::string_view(cap) == "listener" ? "the listener is full"
                                                : "too many from this address",
            std::string_view(cap) == "listener" ? listener->options.max_connections
                                                : listener->options.max_connections_per_address,
            std::string_view(cap) == "listener" ? "" : " per address", *unlogged);
      }
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    auto session =
        std::make_shared<Session>(tcp::socket(std::move(socket)), listener, registry, address);
    if (!session->Register()) {
      continue;  // stopping
    }
    asio::co_spawn(session->executor(), Session::Run(session), LogIfThrown(listener->name));
  }
}

}  // namespace

struct ServerRuntime::Impl {
  explicit Impl(int requested_threads)
      : io(std::max(requested_threads, 1)),
        work(io.get_executor()),
        thread_count(std::max(requested_threads, 1)) {}

  ~Impl() {
    Stop();
    Wait();
    // Responders that outlive us must not post into a destroyed io_context.
    registry->Seal();
    listeners.clear();
  }

  void Stop() {
    std::vector<std::shared_ptr<Listener>> to_close;
    bool running = false;
    {
      std::lock_guard lock(mu);
      if (stopping) {
        return;
      }
      stopping = true;
      running = started;
      to_close = listeners;
    }
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    std::vector<std::future<void>> closed;
    for (const auto& listener : to_close) {
      if (!running) {
        error_code ignored;  // no thread runs: nothing else touches the acceptor
        listener->acceptor.close(ignored);
        continue;
      }
      auto done = std::make_shared<std::promise<void>>();
      closed.push_back(done->get_future());
      asio::post(listener->acceptor.get_executor(), [listener, done] {
        error_code ignored;
        listener->acceptor.close(ignored);
        done->set_value();
      });
    }
    for (const auto& session : registry->CloseAll()) {
      asio::post(session->executor(), [session] { session->Close(); });
    }
    if (running && io.get_executor().running_in_this_thread()) {
      // Called from a handler: waiting here would hold up the very work it waits for.
      std::lock_guard lock(mu);
      stopper = std::thread(
          [this, closed = std::move(closed), deadline]() mutable { FinishStop(closed, deadline); });
      return;
    }
    FinishStop(closed, deadline);
  }

  void FinishStop(std::vector<std::future<void>>& closed,
                  std::chrono::steady_clock::time_point deadline) {
    for (auto& f : closed) {
      f.wait_until(deadline);
    }
    if (!registry->WaitEmpty(deadline)) {
      spdlog::warn("{} connection(s) still open after {} s; stopping anyway", registry->Count(),
                   kStopGrace.count());
    }
    work.reset();
    io.stop();
    {
      std::lock_guard lock(mu);
      stopped = true;
    }
    cv.notify_all();
  }

  void Wait() {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopped; });
    }
    std::lock_guard lock(join_mu);
    if (stopper.joinable()) {
      stopper.join();
    }
    for (auto& thread : threads) {
      if (thread.joinable() && thread.get_id() != std::this_thread::get_id()) {
        thread.join();
      }
    }
  }

  asio::io_context io;  // first: destroyed last, after everything that uses it
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  int thread_count;
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::vector<std::shared_ptr<Listener>> listeners;  // guarded by mu
  std::vector<std::thread> threads;                  // guarded by mu (start) / join_mu (join)
  std::thread stopper;                               // Stop() called from a handler
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool stopping = false;
  bool stopped = false;
  std::mutex join_mu;
};

ServerRuntime::ServerRuntime(int threads) : impl_(std::make_unique<Impl>(threads)) {}

ServerRuntime::~ServerRuntime() = default;

Result<uint16_t> ServerRuntime::AddListener(ListenerOptions options, Handler handler) {
  auto invalid = [](std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
  };
  if (!handler) {
    return invalid("listener needs a handler");
  }
  if (options.cert_file.empty() || options.key_file.empty()) {
    return invalid("listener needs a certificate and a key file");
  }
  if (options.require_client_cert) {
    options.verify_client_certs = true;
  }
  if (options.verify_client_certs && options.ca_file.empty()) {
    return invalid("verifying client certificates needs a CA file");
  }
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return invalid("invalid listen address '" + options.address + "'");
  }
  const tcp::endpoint endpoint(address, options.port);
  const std::string where = protocol::JoinHostPort(options.address, options.port);

  std::shared_ptr<Listener> listener;
  try {
    listener = std::make_shared<Listener>(impl_->io, std::move(options), std::move(handler));
  } catch (const boost::system::system_error& e) {
    return MakeError(ErrorCode::kTls, std::string("creating TLS context: ") + e.what());
  }
  const ListenerOptions& o = listener->options;
  SSL_CTX* ctx = listener->ssl_ctx.native_handle();
  CG_RETURN_IF_ERROR(protocol::HardenTlsContext(ctx, /*server=*/true));
  CG_RETURN_IF_ERROR(protocol::LoadCertificateAndKey(ctx, o.cert_file, o.key_file));
  if (o.verify_client_certs) {
    CG_RETURN_IF_ERROR(protocol::LoadTrustAnchors(ctx, o.ca_file, /*advertise_to_clients=*/true));
    listener->ssl_ctx.set_verify_mode(
        ssl::verify_peer | (o.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
    // The callback owns the final word on every certificate of the chain; returning anything
    // but `preverified` for a failed chain would accept a certificate from any CA.
    listener->ssl_ctx.set_verify_callback(
        [l = listener.get()](bool preverified, ssl::verify_context& vctx) {
          if (!preverified) {
            return false;
          }
          X509_STORE_CTX* store = vctx.native_handle();
          if (X509_STORE_CTX_get_error_depth(store) > 0) {
            return true;
          }
          auto info = protocol::InspectCertificate(*X509_STORE_CTX_get_current_cert(store));
          if (!info.ok()) {
            X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
            return false;
          }
          // A client certificate is a leaf made for client authentication: a CA certificate or
          // one whose extendedKeyUsage lacks clientAuth (a server certificate of the same CA)
          // is refused even though its chain verifies.
          if (info->is_ca || !info->client_auth) {
            X509_STORE_CTX_set_error(store, X509_V_ERR_INVALID_PURPOSE);
            return false;
          }
          if (IsRevoked(*l, ToPeer(*info))) {
            X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
            return false;
          }
          return true;
        },
        ec);
    if (ec) {
      return MakeError(ErrorCode::kTls, "setting verify callback: " + ec.message());
    }
  } else {
    listener->ssl_ctx.set_verify_mode(ssl::verify_none);
  }

  tcp::acceptor& acceptor = listener->acceptor;
  auto fail = [&](std::string_view step) {
    return MakeError(ErrorCode::kNetwork, "cannot listen on " + where + ": " + ec.message() + " (" +
                                              std::string(step) + ")");
  };
  if (acceptor.open(endpoint.protocol(), ec)) {
    return fail("socket");
  }
  if (acceptor.set_option(asio::socket_base::reuse_address(true), ec)) {
    return fail("SO_REUSEADDR");
  }
  if (acceptor.bind(endpoint, ec)) {
    return fail("bind");
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    return fail("listen");
  }
  const uint16_t port = acceptor.local_endpoint(ec).port();
  if (ec) {
    return fail("getsockname");
  }
  listener->name = protocol::JoinHostPort(address.to_string(), port);
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) {
      return MakeError(ErrorCode::kUnavailable, "server is stopping");
    }
    impl_->listeners.push_back(listener);
  }
  spdlog::info("listening on {}{}", listener->name,
               o.require_client_cert   ? " (client certificate required)"
               : o.verify_client_certs ? " (client certificate verified if presented)"
                                       : "");
  asio::co_spawn(acceptor.get_executor(), AcceptLoop(listener, impl_->registry),
                 LogIfThrown(listener->name + " accept loop"));
  return port;
}

void ServerRuntime::Start() {
  std::lock_guard lock(impl_->mu);
  if (impl_->started || impl_->stopping) {
    return;
  }
  impl_->started = true;
  for (int i = 0; i < impl_->thread_count; ++i) {
    impl_->threads.emplace_back([impl = impl_.get()] {
      // A handler that throws is a bug; log it and keep serving the other connections.
      for (;;) {
        try {
          impl->io.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("HTTPS server thread: unexpected exception: {}", e.what());
        }
      }
    });
  }
}

void ServerRuntime::Wait() { impl_->Wait(); }

void ServerRuntime::Stop() { impl_->Stop(); }

void ServerRuntime::CloseConnections(std::function<bool(const protocol::PeerCertificate&)> match) {
  if (!match) {
    return;
  }
  for (const auto& session : impl_->registry->Matching(match)) {
    asio::post(session->executor(), [session] { session->Close(); });
  }
}

void ServerRuntime::After(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, delay);
  timer->async_wait([timer, fn = std::move(fn)](const error_code&) { fn(); });
}

size_t ServerRuntime::ConnectionCount() const { return impl_->registry->Count(); }

}  // namespace cg::soc

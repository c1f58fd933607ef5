// SyslogConnection over Asio: plain TCP or TLS (OpenSSL, TLS 1.2 at least, peer verified).
#include "soc/syslog_client.h"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <optional>

#include "protocol/tls.h"

namespace cg::soc {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

Error NetError(std::string_view what, const error_code& ec) {
  const ErrorCode code = ec == asio::error::timed_out                       ? ErrorCode::kTimeout
                         : ec.category() == asio::error::get_ssl_category() ? ErrorCode::kTls
                                                                            : ErrorCode::kNetwork;
  return MakeError(code, std::string(what) + ": " + ec.message());
}

class Connection final : public SyslogConnection {
 public:
  explicit Connection(const SyslogTarget& target)
      : target_(target), ctx_(ssl::context::tls_client), socket_(io_) {}

  Status Open() {
    tcp::resolver resolver(io_);
    error_code ec;
    const auto endpoints = resolver.resolve(target_.host, std::to_string(target_.port), ec);
    if (ec) {
      return NetError("resolving " + Where(), ec);
    }
    ec = Run([&](auto done) {
      asio::async_connect(socket_, endpoints,
                          [done](error_code e, const tcp::endpoint&) { done(e); });
    });
    if (ec) {
      return NetError("connecting to " + Where(), ec);
    }
    socket_.set_option(tcp::no_delay(true), ec);
    if (!target_.tls) {
      return OkStatus();
    }
    // The project's TLS policy: TLS 1.3, or 1.2 with ECDHE and AEAD only (protocol/tls.h).
    CG_RETURN_IF_ERROR(protocol::HardenTlsContext(ctx_.native_handle(), /*server=*/false));
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.load_verify_file(target_.ca_file, ec);
    if (ec) {
      return MakeError(ErrorCode::kTls,
                       "loading the syslog CA " + target_.ca_file + ": " + ec.message());
    }
    if (!target_.cert_file.empty()) {
      ctx_.use_certificate_chain_file(target_.cert_file, ec);
      if (!ec) {
        ctx_.use_private_key_file(target_.key_file, ssl::context::pem, ec);
      }
      if (ec) {
        return MakeError(ErrorCode::kTls, "loading the syslog client certificate: " + ec.message());
      }
    }
    const std::string name = target_.server_name.empty() ? target_.host : target_.server_name;
    tls_.emplace(std::move(socket_), ctx_);
    tls_->set_verify_callback(ssl::host_name_verification(name));
    // SNI (SSL_set_tlsext_host_name spelled out: the macro's C cast trips -Wold-style-cast).
    SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
    ec = Run([&](auto done) {
      tls_->async_handshake(ssl::stream_base::client, [done](error_code e) { done(e); });
    });
    if (ec) {
      const long verify = SSL_get_verify_result(tls_->native_handle());
      return MakeError(ErrorCode::kTls,
                       "TLS handshake with " + Where() + ": " + ec.message() +
                           (verify != X509_V_OK ? std::string(" (certificate: ") +
                                                      X509_verify_cert_error_string(verify) + ")"
                                                : ""));
    }
    return OkStatus();
  }

  bool Alive() override {
    tcp::socket& s = Lowest();
    error_code ec;
    s.non_blocking(true, ec);
    std::array<char, 512> buf{};
    bool alive = true;
    if (tls_) {
      // Through OpenSSL, so that a TLS 1.3 session ticket is consumed as such; a receiver sends
      // no application data, so anything else is its close_notify or the connection's end.
      const size_t n = tls_->read_some(asio::buffer(buf), ec);
      alive = n == 0 && ec == asio::error::would_block;
    } else {
      const size_t n = s.receive(asio::buffer(buf), tcp::socket::message_peek, ec);
      alive = (ec == asio::error::would_block) || (!ec && n > 0);
    }
    s.non_blocking(false, ec);
    return alive;
  }

  Status Write(std::string_view data) override {
    error_code ec = Run([&](auto done) {
      auto handler = [done](error_code e, size_t) { done(e); };
      if (tls_) {
        asio::async_write(*tls_, asio::buffer(data), handler);
      } else {
        asio::async_write(socket_, asio::buffer(data), handler);
      }
    });
    if (ec) {
      return NetError("writing to " + Where(), ec);
    }
    return OkStatus();
  }

 private:
  std::string Where() const {
    return (target_.tls ? "syslog-tls " : "syslog ") + target_.host + ":" +
           std::to_string(target_.port);
  }
  tcp::socket& Lowest() { return tls_ ? tls_->next_layer() : socket_; }

  // Starts one asynchronous operation and runs it to completion or to the deadline (then the
  // socket is closed, which cancels it).
  template <typename Start>
  error_code Run(Start start) {
    std::optional<error_code> result;
    io_.restart();
    start([&result](error_code ec) { result = ec; });
    io_.run_for(target_.timeout);
    if (!result) {
      error_code ignored;
      Lowest().close(ignored);
      io_.restart();
      io_.run();
      return asio::error::timed_out;
    }
    return *result;
  }

  SyslogTarget target_;
  asio::io_context io_;
  ssl::context ctx_;
  tcp::socket socket_;
  std::optional<ssl::stream<tcp::socket>> tls_;
};

}  // namespace

Result<std::unique_ptr<SyslogConnection>> SyslogConnection::Connect(const SyslogTarget& target) {
  auto c = std::make_unique<Connection>(target);
  CG_RETURN_IF_ERROR(c->Open());
  return std::unique_ptr<SyslogConnection>(std::move(c));
}

}  // namespace cg::soc

// HttpsClient on Beast: each operation is started asynchronously with a tcp_stream deadline and
// driven to completion by running the client's own io_context, so a blocking API still times out.
#include "protocol/https_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
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
#include <charconv>
#include <optional>
#include <sstream>

#include "protocol/pki.h"
#include "protocol/tls.h"

namespace cg::protocol {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
// Asio's own TLS stream: beast::ssl_stream adds a write-coalescing layer we do not need (requests
// are serialized into one buffer) and a lot of template code.
using Stream = ssl::stream<beast::tcp_stream>;

constexpr uint32_t kMaxResponseHeaderBytes = 64u << 10;
// Shutting down is a courtesy to the server (and keeps its session resumable); never wait long.
constexpr std::chrono::seconds kMaxShutdownWait{5};

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool IsValidTarget(std::string_view s) {
  return !s.empty() && s.front() == '/' && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
  });
}

// The peer went away: on a reused keep-alive connection this means the server closed it
// while idle, and the request can be sent again on a new connection.
bool IsPeerClosed(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

bool IsSslError(const error_code& ec) { return ec.category() == asio::error::get_ssl_category(); }

// What the server's TLS alert (or our own TLS failure) means to an admin.
std::string DescribeTlsFailure(const error_code& ec) {
  if (ec == ssl::error::stream_truncated) {
    return "the server closed the connection without a TLS close";
  }
  if (!IsSslError(ec)) {
    return ec.message();
  }
  const auto code = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(code) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(code)) {
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the server requires a client certificate (is this device enrolled?)";
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
        return std::string(kCertificateRevokedText) + " (" + ec.message() + ")";
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        return "the server rejected the client certificate (" + ec.message() + ")";
      case SSL_R_WRONG_VERSION_NUMBER:
        return "the server does not speak TLS on this port (" + ec.message() + ")";
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
      case SSL_R_NO_SHARED_CIPHER:
        return "no TLS version or cipher in common with the server (" + ec.message() + ")";
      default:
        break;
    }
  }
  return ec.message();
}

std::string DescribeServerCertificateFailure(long result, const std::string& server_name) {
  const std::string detail = X509_verify_cert_error_string(result);
  switch (result) {
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "server certificate does not match host name '" + server_name + "'";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "server certificate has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "server certificate is not valid yet (is this computer's clock right?)";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "server certificate is not signed by the pinned CA (" + detail + ")";
    case X509_V_ERR_INVALID_PURPOSE:
      return "server certificate is not meant for TLS servers (" + detail + ")";
    default:
      return "server certificate rejected (" + detail + ")";
  }
}

}  // namespace

struct HttpsClient::Impl {
  explicit Impl(ClientOptions o)
      : options(std::move(o)), endpoint(JoinHostPort(options.host, options.port)) {}
  ~Impl() { Disconnect(true); }

  // Runs the io_context until the started operations (and their deadline timers) are done.
  void Drive() {
    io.restart();
    io.run();
  }

  std::string Seconds() const { return std::to_string(options.timeout.count()) + " s"; }

  Error Timeout(std::string_view doing) const {
    return MakeError(ErrorCode::kTimeout,
                     "timed out after " + Seconds() + " " + std::string(doing) + " " + endpoint);
  }

  Status Connect() {
    tcp::resolver resolver(io);
    asio::steady_timer timer(io);
    tcp::resolver::results_type endpoints;
    error_code ec;
    bool timed_out = false;
    timer.expires_after(options.timeout);
    timer.async_wait([&](error_code e) {
      if (!e) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(options.host, std::to_string(options.port),
                           [&](error_code e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             timer.cancel();
                           });
    Drive();
    if (timed_out) {
      return MakeError(ErrorCode::kTimeout,
                       "timed out after " + Seconds() + " resolving '" + options.host + "'");
    }
    if (ec) {
      return MakeError(ErrorCode::kNetwork,
                       "cannot resolve '" + options.host + "': " + ec.message());
    }

    auto fresh = std::make_unique<Stream>(io, *ctx);
    SSL* ssl = fresh->native_handle();
    // SNI carries names only (RFC 6066). SSL_set_tlsext_host_name, spelled out: the macro's C
    // cast trips -Wold-style-cast.
    if (!IsIpLiteral(options.server_name) &&
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(options.server_name.c_str())) != 1) {
      return OpenSslError("setting TLS server name", ErrorCode::kTls);
    }
    fresh->set_verify_mode(ssl::verify_peer);
    // host_name_verification fails without saying why; record the mismatch so that the error
    // can tell a wrong host name from a wrong CA.
    fresh->set_verify_callback(
        [name = options.server_name](bool preverified, ssl::verify_context& vctx) {
          if (ssl::host_name_verification(name)(preverified, vctx)) {
            return true;
          }
          if (preverified) {
            X509_STORE_CTX_set_error(vctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
          }
          return false;
        });

    auto& lowest = beast::get_lowest_layer(*fresh);
    lowest.expires_after(options.timeout);
    lowest.async_connect(endpoints, [&](error_code e, const tcp::endpoint&) { ec = e; });
    Drive();
    if (ec == beast::error::timeout) {
      return Timeout("connecting to");
    }
    if (ec) {
      return MakeError(ErrorCode::kNetwork, "cannot connect to " + endpoint + ": " + ec.message());
    }

    lowest.expires_after(options.timeout);
    fresh->async_handshake(ssl::stream_base::client, [&](error_code e) { ec = e; });
    Drive();
    if (ec == beast::error::timeout) {
      return Timeout("in the TLS handshake with");
    }
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);
      const std::string why = verify != X509_V_OK
                                  ? DescribeServerCertificateFailure(verify, options.server_name)
                                  : DescribeTlsFailure(ec);
      return MakeError(ErrorCode::kTls, "TLS handshake with " + endpoint + " failed: " + why);
    }
    lowest.expires_never();
    stream = std::move(fresh);
    return OkStatus();
  }

  void Disconnect(bool graceful) {
    if (!stream) {
      return;
    }
    auto& lowest = beast::get_lowest_layer(*stream);
    if (graceful) {
      lowest.expires_after(std::min<std::chrono::seconds>(options.timeout, kMaxShutdownWait));
      stream->async_shutdown([](error_code) {});
      Drive();
    }
    error_code ignored;
    lowest.socket().close(ignored);
    stream.reset();
    buffer.consume(buffer.size());
  }

  Error TransferError(const error_code& ec, bool reading) const {
    if (ec == beast::error::timeout) {
      return Timeout(reading ? "waiting for response from" : "sending request to");
    }
    if (ec == http::error::body_limit) {
      return MakeError(ErrorCode::kTooLarge, "response from " + endpoint + " is larger than " +
                                                 std::to_string(options.max_response_bytes) +
                                                 " bytes");
    }
    if (ec == http::error::end_of_stream) {
      return MakeError(ErrorCode::kNetwork,
                       endpoint + " closed the connection without sending a response");
    }
    if (IsSslError(ec)) {
      return MakeError(ErrorCode::kTls,
                       "TLS connection with " + endpoint + " failed: " + DescribeTlsFailure(ec));
    }
    if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      return MakeError(ErrorCode::kParse,
                       "invalid HTTP response from " + endpoint + ": " + ec.message());
    }
    return MakeError(ErrorCode::kNetwork, "connection to " + endpoint + " failed while " +
                                              (reading ? "reading the response" : "sending") +
                                              ": " + DescribeTlsFailure(ec));
  }

  struct Attempt {
    Result<HttpResponse> result;
    bool retryable = false;
    bool keep_alive = false;
  };

  Attempt Exchange(const std::string& request, bool head) {
    auto& lowest = beast::get_lowest_layer(*stream);
    error_code ec;
    lowest.expires_after(options.timeout);
    asio::async_write(*stream, asio::buffer(request), [&](error_code e, size_t) { ec = e; });
    Drive();
    if (ec) {
      return {TransferError(ec, false), IsPeerClosed(ec)};
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxResponseHeaderBytes);
    parser.body_limit(options.max_response_bytes);
    parser.skip(head);  // a HEAD response announces a body it does not carry
    lowest.expires_after(options.timeout);
    http::async_read(*stream, buffer, parser, [&](error_code e, size_t) { ec = e; });
    Drive();
    if (ec) {
      return {TransferError(ec, true), !parser.got_some() && IsPeerClosed(ec)};
    }
    lowest.expires_never();

    auto& message = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.content_type = std::string(message[http::field::content_type]);
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    const bool keep_alive = message.keep_alive();
    response.body = std::move(message.body());
    return {std::move(response), false, keep_alive};
  }

  ClientOptions options;
  std::string endpoint;  // "host:port" for messages
  std::atomic<bool> interrupted{false};
  asio::io_context io;
  std::optional<ssl::context> ctx;
  std::unique_ptr<Stream> stream;
  beast::flat_buffer buffer;
};

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::~HttpsClient() = default;

Result<std::unique_ptr<HttpsClient>> HttpsClient::Create(ClientOptions options) {
  if (options.host.empty() || options.port == 0) {
    return Invalid("HTTPS client: server host and port are required");
  }
  if (options.ca_file.empty()) {
    return Invalid("HTTPS client: the SOC's CA certificate file is required");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Invalid("HTTPS client: a client certificate needs both a certificate and a key file");
  }
  if (options.timeout <= std::chrono::seconds{0}) {
    return Invalid("HTTPS client: the timeout must be positive");
  }
  if (options.server_name.empty()) {
    options.server_name = options.host;
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  try {
    impl->ctx.emplace(ssl::context::tls_client);
  } catch (const boost::system::system_error& e) {
    return MakeError(ErrorCode::kTls, std::string("creating TLS context: ") + e.what());
  }
  SSL_CTX* ctx = impl->ctx->native_handle();
  CG_RETURN_IF_ERROR(HardenTlsContext(ctx, /*server=*/false));
  CG_RETURN_IF_ERROR(LoadTrustAnchors(ctx, impl->options.ca_file, false));
  if (!impl->options.cert_file.empty()) {
    CG_RETURN_IF_ERROR(LoadCertificateAndKey(ctx, impl->options.cert_file, impl->options.key_file));
  }
  return std::unique_ptr<HttpsClient>(new HttpsClient(std::move(impl)));
}

Result<HttpResponse> HttpsClient::Request(
    std::string_view method, std::string_view target, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  if (!IsHttpToken(method)) {
    return Invalid("invalid HTTP method '" + std::string(method) + "'");
  }
  if (!IsValidTarget(target)) {
    return Invalid("invalid request target '" + std::string(target) + "'");
  }
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(target);
  request.version(11);
  request.set(http::field::host, JoinHostPort(impl_->options.server_name, impl_->options.port));
  request.set(http::field::user_agent, "counterguard/" CG_VERSION);
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (!IsHttpToken(name) || !IsSafeHeaderValue(value)) {
      return Invalid("invalid HTTP header '" + name + "'");
    }
    has_content_type = has_content_type || beast::iequals(name, "content-type");
    request.insert(name, value);
  }
  if (!body.empty() && !has_content_type) {
    request.set(http::field::content_type, "application/json");
  }
  request.body() = std::string(body);
  // HTTP/1.1 keeps the connection by default; a caller's "Connection: close" is left alone.
  request.prepare_payload();
  std::ostringstream wire;
  wire << request;
  const std::string serialized = std::move(wire).str();

  for (int attempt = 0;; ++attempt) {
    if (impl_->interrupted) {
      return MakeError(ErrorCode::kUnavailable, "interrupted");
    }
    const bool reused = impl_->stream != nullptr;
    if (!reused) {
      CG_RETURN_IF_ERROR(impl_->Connect());
    }
    Impl::Attempt result = impl_->Exchange(serialized, method == "HEAD");
    if (impl_->interrupted) {
      impl_->Disconnect(false);
      return MakeError(ErrorCode::kUnavailable, "interrupted");
    }
    if (result.result.ok()) {
      if (!result.keep_alive) {
        impl_->Disconnect(true);
      }
      return std::move(result.result);
    }
    impl_->Disconnect(false);
    if (!reused || attempt > 0 || !result.retryable) {
      return std::move(result.result);
    }
    spdlog::debug("{}: kept-alive connection was closed by the server, reconnecting",
                  impl_->endpoint);
  }
}

void HttpsClient::SetTimeout(std::chrono::seconds timeout) {
  if (timeout > std::chrono::seconds{0}) {
    impl_->options.timeout = timeout;
  }
}

void HttpsClient::Close() { impl_->Disconnect(true); }

void HttpsClient::Interrupt() {
  impl_->interrupted = true;
  // Runs on the thread driving the io_context (inside Request), or first thing in the next
  // Drive(): cancelling the stream's pending operation ends that Request's wait.
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->stream) {
      beast::get_lowest_layer(*impl->stream).cancel();
    }
  });
}

bool IsCertificateRevoked(const Error& e) {
  return e.code == ErrorCode::kTls && e.message.find(kCertificateRevokedText) != std::string::npos;
}

Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Invalid("bad server address '" + std::string(text) + "': " + std::string(why) +
                   " (expected HOST:PORT or https://HOST:PORT)");
  };
  std::string_view rest = text;
  const bool url = rest.substr(0, 8) == "https://";
  if (url) {
    rest.remove_prefix(8);
    if (!rest.empty() && rest.back() == '/') {
      rest.remove_suffix(1);
    }
  } else if (rest.find("://") != std::string_view::npos) {
    return bad("only https:// is supported");
  }
  if (rest.find_first_of("/?#@ \t\r\n") != std::string_view::npos) {
    return bad("unexpected path, query or user part");
  }
  std::string_view host;
  std::optional<std::string_view> port_text;
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return bad("missing ']'");
    }
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return bad("expected ':' after ']'");
      }
      port_text = after.substr(1);
    }
    if (!IsIpLiteral(std::string(host)) || host.find(':') == std::string_view::npos) {
      return bad("brackets must hold an IPv6 address");
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':') != colon) {
        return bad("an IPv6 address needs brackets, e.g. [::1]:8443");
      }
      port_text = rest.substr(colon + 1);
    }
    host = rest.substr(0, colon);
  }
  if (host.empty()) {
    return bad("missing host");
  }
  uint16_t port = 443;
  if (!port_text) {
    if (!url) {
      return bad("missing port");
    }
  } else {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text->data(), port_text->data() + port_text->size(), value);
    if (port_text->empty() || ec != std::errc() || end != port_text->data() + port_text->size() ||
        value == 0 || value > 65535) {
      return bad("port must be a number from 1 to 65535");
    }
    port = static_cast<uint16_t>(value);
  }
  return std::make_pair(std::string(host), port);
}

}  // namespace cg::protocol

// A small blocking HTTPS client for the agent and cgctl: pinned CA, host name verification,
// optional client certificate, keep-alive, a deadline on every network operation.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "protocol/http.h"

namespace cg::protocol {

struct ClientOptions {
  std::string host;
  uint16_t port = 0;
  std::string ca_file;  // the pinned CA (PEM); the only trust anchor, never the system store
  std::string cert_file, key_file;   // optional client certificate (mTLS)
  std::string server_name;           // SNI + host name verification; defaults to host
  std::chrono::seconds timeout{30};  // per operation (resolve, connect, handshake, write, read)
  size_t max_response_bytes = 64u << 20;
};

// Not thread-safe: one client per thread (or a lock around it). Transport failures are Errors
// (kNetwork, kTimeout, kTls, kParse, kTooLarge) with one-line messages an IT admin can act on;
// any HTTP status, 4xx and 5xx included, is a successful HttpResponse.
class HttpsClient {
 public:
  static Result<std::unique_ptr<HttpsClient>> Create(ClientOptions options);
  ~HttpsClient();
  HttpsClient(const HttpsClient&) = delete;
  HttpsClient& operator=(const HttpsClient&) = delete;

  // Keep-alive: reuses its connection; reconnects once if the reused connection turns out to
  // have been closed by the peer before any of the response arrived.
  Result<HttpResponse> Request(
      std::string_view method, std::string_view target, std::string_view body = {},
      const std::vector<std::pair<std::string, std::string>>& headers = {});

  // Deadline per operation for later requests (a long-poll needs more than the default).
  void SetTimeout(std::chrono::seconds timeout);
  // Shuts the connection down (TLS close_notify); the next Request connects again.
  void Close();
  // The one thread-safe call: makes a Request running in another thread (a long-poll) fail
  // soon with kUnavailable "interrupted", and every later Request fail at once. For stopping.
  void Interrupt();

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Every Error of a request whose client certificate the server refused as revoked (TLS alert
// certificate_revoked, which is how the SOC refuses a revoked device) carries this phrase;
// IsCertificateRevoked() tells that refusal from other failures, also once wrapped.
inline constexpr std::string_view kCertificateRevokedText =
    "the server refused the client certificate as revoked";
bool IsCertificateRevoked(const Error& e);

// "host:port", "[::1]:8443", "https://host:port[/]" (port 443 if omitted after https://) ->
// host (IPv6 without brackets) and port; kInvalidArgument with the reason otherwise.
Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text);

}  // namespace cg::protocol

// The SOC's HTTPS listeners (agent port with mTLS, operator port with server TLS): TLS policy,
// client certificate verification and revocation, HTTP/1.1 keep-alive, limits and deadlines.
// Handlers see plain protocol::HttpRequest/HttpResponse; Asio and Beast stay in the .cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "protocol/http.h"

namespace cg::soc {

// Completes a request. May be called from any thread, at any later time (long-poll). A second
// call, or a call after the connection died, is a harmless no-op. If the last copy is destroyed
// without being called, the client gets a 500.
using Responder = std::function<void(protocol::HttpResponse)>;
// Runs on one of the runtime's threads (the connection's strand): do not block it for long;
// keep the Responder and answer later instead.
using Handler = std::function<void(protocol::HttpRequest request, Responder respond)>;

struct ListenerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral
  std::string cert_file, key_file, ca_file;
  // Request client certificates and verify them against ca_file (and only ca_file). A
  // certificate that does not verify refuses the handshake even when one is not required.
  bool verify_client_certs = false;
  // Also refuse the handshake when no certificate is presented (implies verify_client_certs).
  bool require_client_cert = false;
  // Optional; consulted during the handshake for the verified leaf, from any runtime thread
  // (must be thread-safe). true => the handshake is refused.
  std::function<bool(const protocol::PeerCertificate&)> is_revoked;
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  // handshake_timeout bounds the TLS handshake. read_timeout is ONE deadline for a whole
  // request, never restarted by progress: for the first request of a connection it runs from
  // the accept (handshake included), for a later one from its first byte, which must come
  // within idle_timeout of the previous answer. A client trickling bytes is cut off at it.
  std::chrono::seconds handshake_timeout{10}, read_timeout{30}, write_timeout{30}, idle_timeout{60};
  // Connections open at once, in all and from one source address (0: no cap). Beyond them a new
  // connection is closed at once, before any TLS work, so that a flood cannot use up the
  // process's descriptors (which the other listener needs too).
  size_t max_connections = 0;
  size_t max_connections_per_address = 0;
  // Optional; applied to every answer this listener writes, its own refusals (400, 413, 431,
  // 500) included: the operator port's browser security headers.
  std::function<void(protocol::HttpResponse&)> decorate;
};

class ServerRuntime {
 public:
  explicit ServerRuntime(int threads = 2);
  ~ServerRuntime();  // Stop() + Wait()
  ServerRuntime(const ServerRuntime&) = delete;
  ServerRuntime& operator=(const ServerRuntime&) = delete;

  // Binds now (so the port is known) and accepts once Start() has been called. Errors name the
  // address ("... 127.0.0.1:8443: Address already in use") or the file that does not load.
  Result<uint16_t> AddListener(ListenerOptions options, Handler handler);

  void Start();  // starts the threads and returns
  // Blocks until Stop() has finished and joins the threads (call it from outside them).
  void Wait();
  // Thread-safe, idempotent: stops accepting, closes every connection, waits up to 5 s for the
  // listeners and connections to finish (no waiting when called from a handler), then stops
  // the threads.
  void Stop();

  // Closes every open connection whose verified client certificate matches (device revocation;
  // update the is_revoked source first so that a reconnect is refused).
  void CloseConnections(std::function<bool(const protocol::PeerCertificate&)> match);

  // Runs fn on one of the runtime's threads after `delay`, holding no thread meanwhile (an
  // answer that should come later, e.g. to a failed authentication). If the runtime stops first,
  // fn is dropped uncalled (a Responder it holds then answers nothing).
  void After(std::chrono::milliseconds delay, std::function<void()> fn);

  // Connections accepted and not yet finished (for tests and metrics).
  size_t ConnectionCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::soc

// HTTP requests and responses as the SOC's handlers and the agent's transport see them: plain
// structs, no Asio or Beast, so handler code compiles fast and tests need no sockets.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::protocol {

// The client certificate of a connection, set only when one was presented AND verified.
struct PeerCertificate {
  std::string subject_cn;  // device id
  std::string subject_ou;  // device group
  std::string serial_hex;  // lower-case hex, as in CertificateInfo
};

struct HttpRequest {
  std::string method;
  std::string target;  // includes the query string
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer_address;  // "127.0.0.1:54321", "[::1]:54321"
  std::optional<PeerCertificate> peer_cert;

  // Case-insensitive; the first occurrence, "" if absent.
  std::string Header(std::string_view name) const;
  // Target without the query string.
  std::string Path() const;
  // First value of `key` in the query string, percent-decoded ('+' is a space, as in HTML
  // forms); "" for "?key" without '='; nullopt if absent.
  std::optional<std::string> Query(std::string_view key) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Extra headers. Content-Length, Connection and Transfer-Encoding are the server's business
  // and are ignored here.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header of that name (case-insensitive), or "".
  std::string Header(std::string_view name) const;

  static HttpResponse Json(int status, const nlohmann::json& body);
  // {"error":{"code":code,"message":message}}
  static HttpResponse Error(int status, std::string_view code, std::string_view message);
};

// "host:port"; an IPv6 address gets brackets: "[::1]:8443".
std::string JoinHostPort(std::string_view host, uint16_t port);
// An RFC 9110 token: what a method or a header name may be.
bool IsHttpToken(std::string_view text);
// A header value without CR, LF or NUL, so it cannot smuggle in another header.
bool IsSafeHeaderValue(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters, for query values and path
// segments ("laocai/bac-ha" -> "laocai%2Fbac-ha").
std::string UrlEncode(std::string_view text);
// Decodes %XX (and '+' as a space when plus_is_space); malformed escapes are kept verbatim.
std::string UrlDecode(std::string_view text, bool plus_is_space = true);

}  // namespace cg::protocol

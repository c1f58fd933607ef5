// The HTTP/1.1 framing the SOC's listeners use, without sockets or TLS: request parsing with the
// listener's limits, the mapping of parse errors to answers, and response serialisation. The
// sessions in https_server.cpp call these, and so does the request-handler fuzz target, which
// feeds raw bytes through exactly this code.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/http.h"

namespace cg::soc {

struct HttpLimits {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
};

// One parsed request and what the connection needs to answer it.
struct ParsedRequest {
  protocol::HttpRequest request;
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
  size_t consumed = 0;  // bytes of the input this request took
};

// The input ended before a whole request (more bytes are needed).
struct NeedMore {};

// What a malformed or over-limit request gets: the answer, after which the connection closes.
struct Rejected {
  protocol::HttpResponse response;
};

// Parses the first request in `raw`, with the same parser, limits and rejections as a session.
std::variant<ParsedRequest, NeedMore, Rejected> ParseHttpRequest(std::string_view raw,
                                                                 const HttpLimits& limits);

// The bytes of the answer: the server's own headers and framing (a handler cannot set
// Content-Length, Connection or Transfer-Encoding, nor smuggle a header with CR/LF); an
// out-of-range status becomes 500. `head`: headers only.
std::string SerializeHttpResponse(protocol::HttpResponse response, unsigned version,
                                  bool keep_alive, bool head);

}  // namespace cg::soc

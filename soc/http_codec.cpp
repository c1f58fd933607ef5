// HTTP/1.1 request parsing and response serialisation for the SOC's listeners (Beast), shared by
// the sessions and the request-handler fuzz target.
#include "soc/http_codec.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <limits>
#include <sstream>

#include "soc/http_codec_beast.h"

namespace cg::soc {

namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using protocol::HttpRequest;
using protocol::HttpResponse;

namespace codec {

void ApplyLimits(RequestParser& parser, const HttpLimits& limits) {
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(limits.max_header_bytes, std::numeric_limits<uint32_t>::max())));
  parser.body_limit(limits.max_body_bytes);
}

std::optional<HttpResponse> RejectionFor(const error_code& ec, const HttpLimits& limits) {
  if (ec == http::error::body_limit) {
    return HttpResponse::Error(
        413, "payload_too_large",
        "request body is larger than " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  if (ec == http::error::header_limit) {
    return HttpResponse::Error(
        431, "headers_too_large",
        "request headers are larger than " + std::to_string(limits.max_header_bytes) + " bytes");
  }
  const bool not_parse_error =
      ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == http::error::need_more || ec == http::error::need_buffer ||
      ec == http::error::unexpected_body || ec == http::error::end_of_chunk ||
      ec == http::error::stale_parser || ec == http::error::short_read;
  if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
      !not_parse_error) {
    return HttpResponse::Error(400, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

HttpRequest ToHttpRequest(BeastRequest message) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
}

}  // namespace codec

std::variant<ParsedRequest, NeedMore, Rejected> ParseHttpRequest(std::string_view raw,
                                                                 const HttpLimits& limits) {
  codec::RequestParser parser;
  codec::ApplyLimits(parser, limits);
  parser.eager(true);
  size_t consumed = 0;
  while (!parser.is_done()) {
    error_code ec;
    const size_t n =
        parser.put(boost::asio::buffer(raw.data() + consumed, raw.size() - consumed), ec);
    consumed += n;
    if (ec == http::error::need_more || (!ec && n == 0 && !parser.is_done())) {
      if (consumed >= raw.size() || n == 0) {
        return NeedMore{};
      }
      continue;
    }
    if (ec) {
      if (auto rejection = codec::RejectionFor(ec, limits)) {
        return Rejected{std::move(*rejection)};
      }
      return NeedMore{};
    }
  }
  ParsedRequest parsed;
  codec::BeastRequest message = parser.release();
  parsed.keep_alive = message.keep_alive();
  parsed.version = message.version();
  parsed.head = message.method() == http::verb::head;
  parsed.request = codec::ToHttpRequest(std::move(message));
  parsed.consumed = consumed;
  return parsed;
}

std::string SerializeHttpResponse(HttpResponse r, unsigned version, bool keep_alive, bool head) {
  if (r.status < 200 || r.status > 599) {
    spdlog::error("handler returned HTTP status {}; sending 500", r.status);
    r = HttpResponse::Error(500, "internal", "the server produced an invalid response");
  }
  http::response<http::string_body> res;
  res.result(static_cast<unsigned>(r.status));
  res.version(version);
  res.set(http::field::server, "cg-soc");
  res.set(http::field::cache_control, "no-store");
  res.set(http::field::content_type,
          r.content_type.empty() ? "application/octet-stream" : r.content_type);
  for (const auto& [name, value] : r.headers) {
    // Framing belongs to the server: a handler's value could desynchronize the connection.
    if (beast::iequals(name, "content-length") || beast::iequals(name, "connection") ||
        beast::iequals(name, "transfer-encoding") || !protocol::IsHttpToken(name) ||
        !protocol::IsSafeHeaderValue(value)) {
      continue;
    }
    res.set(name, value);
  }
  // 204 and 304 carry no body by definition.
  if (r.status != 204 && r.status != 304) {
    res.body() = std::move(r.body);
  }
  res.keep_alive(keep_alive);
  res.prepare_payload();
  if (head) {
    res.body().clear();  // HEAD: the headers (Content-Length included) without the body
  }
  std::ostringstream out;
  out << res;
  return std::move(out).str();
}

}  // namespace cg::soc

// Beast-typed pieces of http_codec shared by http_codec.cpp and https_server.cpp only (keeps
// Beast out of every other translation unit).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <optional>
#include <string>

#include "protocol/http.h"
#include "soc/http_codec.h"

namespace cg::soc::codec {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Applies the header and body limits to a fresh parser.
void ApplyLimits(RequestParser& parser, const HttpLimits& limits);

// Parse errors get an HTTP answer; the others (peer gone, timeout, input ended) nullopt.
std::optional<protocol::HttpResponse> RejectionFor(const boost::system::error_code& ec,
                                                   const HttpLimits& limits);

// The handler's view of a parsed message (peer address and certificate left empty).
protocol::HttpRequest ToHttpRequest(BeastRequest message);

}  // namespace cg::soc::codec

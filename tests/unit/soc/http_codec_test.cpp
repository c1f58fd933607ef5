// Tests for soc/http_codec.cpp: the listener's request parsing and response framing, fed with
// raw bytes (no sockets), table-driven.
#include "soc/http_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace cg::soc {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(HttpCodecTest, ParsesARequestAndSaysHowMuchItTook) {
  const std::string first =
      "POST /v1/reports?x=1 HTTP/1.1\r\nHost: soc\r\nContent-Length: 4\r\n"
      "X-Two: a\r\nX-Two: b\r\n\r\nbody";
  const std::string pipelined = first + "GET / HTTP/1.1\r\nHost: soc\r\n\r\n";
  auto parsed = ParseHttpRequest(pipelined, HttpLimits{});
  ASSERT_TRUE(std::holds_alternative<ParsedRequest>(parsed));
  const auto& p = std::get<ParsedRequest>(parsed);
  EXPECT_EQ(p.consumed, first.size());
  EXPECT_EQ(p.request.method, "POST");
  EXPECT_EQ(p.request.target, "/v1/reports?x=1");
  EXPECT_EQ(p.request.Path(), "/v1/reports");
  EXPECT_EQ(p.request.body, "body");
  EXPECT_EQ(p.request.Header("x-two"), "a");
  EXPECT_TRUE(p.keep_alive);
  EXPECT_EQ(p.version, 11u);
  EXPECT_FALSE(p.head);
}

TEST(HttpCodecTest, ChunkedBodiesAndHttp10) {
  auto chunked = ParseHttpRequest(
      "POST /v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      HttpLimits{});
  ASSERT_TRUE(std::holds_alternative<ParsedRequest>(chunked));
  EXPECT_EQ(std::get<ParsedRequest>(chunked).request.body, "abcde");
  auto old = ParseHttpRequest("HEAD / HTTP/1.0\r\n\r\n", HttpLimits{});
  ASSERT_TRUE(std::holds_alternative<ParsedRequest>(old));
  EXPECT_FALSE(std::get<ParsedRequest>(old).keep_alive);
  EXPECT_TRUE(std::get<ParsedRequest>(old).head);
}

TEST(HttpCodecTest, IncompleteInputNeedsMore) {
  for (const char* partial : {"", "GET", "GET / HTTP/1.1\r\nHost: x\r\n",
                              "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"}) {
    EXPECT_TRUE(std::holds_alternative<NeedMore>(ParseHttpRequest(partial, HttpLimits{})))
        << partial;
  }
}

TEST(HttpCodecTest, MalformedAndOversizedRequestsAreRejectedWithTheirStatus) {
  HttpLimits limits;
  limits.max_body_bytes = 16;
  limits.max_header_bytes = 256;
  struct Case {
    std::string input;
    int status;
  };
  const Case cases[] = {
      {"GE T / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/9.9\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n", 413},
      {"GET / HTTP/1.1\r\nX-Pad: " + std::string(300, 'p') + "\r\n\r\n", 431},
  };
  for (const auto& c : cases) {
    auto parsed = ParseHttpRequest(c.input, limits);
    ASSERT_TRUE(std::holds_alternative<Rejected>(parsed)) << c.input.substr(0, 60);
    EXPECT_EQ(std::get<Rejected>(parsed).response.status, c.status) << c.input.substr(0, 60);
  }
}

TEST(HttpCodecTest, TheServerOwnsTheFramingOfAnswers) {
  protocol::HttpResponse r = protocol::HttpResponse::Json(200, {{"ok", true}});
  r.headers = {{"Content-Length", "999"},
               {"Connection", "keep-alive"},
               {"Retry-After", "2"},
               {"X-Bad", "a\r\nSet-Cookie: x"},
               {"bad name", "v"}};
  const std::string wire = SerializeHttpResponse(r, 11, /*keep_alive=*/false, /*head=*/false);
  EXPECT_THAT(wire, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(wire, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_THAT(wire, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(wire, HasSubstr("Retry-After: 2\r\n"));
  EXPECT_THAT(wire, Not(HasSubstr("Set-Cookie")));
  EXPECT_THAT(wire, Not(HasSubstr("bad name")));
  EXPECT_THAT(wire, HasSubstr("\r\n\r\n{\"ok\":true}"));

  r.status = 42;
  EXPECT_THAT(SerializeHttpResponse(r, 11, true, false), StartsWith("HTTP/1.1 500"));
  protocol::HttpResponse head = protocol::HttpResponse::Json(200, {{"ok", true}});
  const std::string head_wire = SerializeHttpResponse(head, 11, true, /*head=*/true);
  EXPECT_THAT(head_wire, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_TRUE(head_wire.ends_with("\r\n\r\n"));
}

}  // namespace
}  // namespace cg::soc

// Tests for protocol/http.cpp (request accessors, response builders, URL coding) and
// ParseHostPort from protocol/https_client.cpp.
#include "protocol/http.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/https_client.h"

namespace cg::protocol {
namespace {

using ::testing::HasSubstr;

TEST(HttpRequestTest, HeaderIsCaseInsensitiveAndEmptyWhenAbsent) {
  HttpRequest request;
  request.headers = {{"Content-Type", "application/json"}, {"X-Token", "a"}, {"x-token", "b"}};
  EXPECT_EQ(request.Header("content-type"), "application/json");
  EXPECT_EQ(request.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(request.Header("X-TOKEN"), "a");
  EXPECT_EQ(request.Header("Authorization"), "");
}

TEST(HttpRequestTest, PathDropsTheQuery) {
  HttpRequest request;
  request.target = "/v1/devices?group=a";
  EXPECT_EQ(request.Path(), "/v1/devices");
  request.target = "/v1/devices";
  EXPECT_EQ(request.Path(), "/v1/devices");
}

TEST(HttpRequestTest, QueryDecodesValues) {
  HttpRequest request;
  request.target =
      "/v1/devices?group=laocai%2Fbac-ha&status=stale&empty=&flag&plus=a+b&bad=%zz%4&dup=1&dup=2"
      "&na%6De=encoded-key&utf8=B%E1%BA%AFc%20H%C3%A0#frag";
  struct Case {
    std::string key;
    std::optional<std::string> value;
  };
  const std::vector<Case> cases = {
      {"group", "laocai/bac-ha"},
      {"status", "stale"},
      {"empty", ""},
      {"flag", ""},
      {"plus", "a b"},
      {"bad", "%zz%4"},
      {"dup", "1"},
      {"name", "encoded-key"},
      {"utf8",
       "B\xE1\xBA\xAF"
       "c H\xC3\xA0"},
      {"missing", std::nullopt},
      {"frag", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(request.Query(c.key), c.value) << c.key;
  }
}

TEST(HttpRequestTest, QueryWithoutQueryString) {
  HttpRequest request;
  request.target = "/v1/devices";
  EXPECT_EQ(request.Query("group"), std::nullopt);
  request.target = "/v1/devices?";
  EXPECT_EQ(request.Query("group"), std::nullopt);
}

TEST(HttpResponseTest, ErrorHasTheDocumentedShape) {
  HttpResponse response = HttpResponse::Error(404, "not_found", "no device 'x'");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  const auto body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body,
            (nlohmann::json{{"error", {{"code", "not_found"}, {"message", "no device 'x'"}}}}));
}

TEST(HttpResponseTest, JsonDoesNotThrowOnInvalidUtf8) {
  HttpResponse response = HttpResponse::Json(200, nlohmann::json{{"name", std::string("\xff")}});
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("name"));
}

TEST(UrlCodingTest, EncodeKeepsUnreservedAndRoundTrips) {
  EXPECT_EQ(UrlEncode("laocai/bac-ha"), "laocai%2Fbac-ha");
  EXPECT_EQ(UrlEncode("a b+c&d=e~_."), "a%20b%2Bc%26d%3De~_.");
  const std::string text = "Bắc Hà / 100% & more+";
  EXPECT_EQ(UrlDecode(UrlEncode(text)), text);
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
}

TEST(HttpHelpersTest, JoinHostPortTokensAndHeaderValues) {
  EXPECT_EQ(JoinHostPort("127.0.0.1", 8443), "127.0.0.1:8443");
  EXPECT_EQ(JoinHostPort("::1", 8443), "[::1]:8443");
  EXPECT_TRUE(IsHttpToken("X-Request-Id"));
  EXPECT_TRUE(IsHttpToken("GET"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("Bad Name"));
  EXPECT_FALSE(IsHttpToken("a:b"));
  EXPECT_TRUE(IsSafeHeaderValue("Bearer abc def"));
  EXPECT_FALSE(IsSafeHeaderValue("x\r\nSet-Cookie: y"));
  EXPECT_FALSE(IsSafeHeaderValue(std::string("a\0b", 3)));
}

TEST(ParseHostPortTest, Accepts) {
  struct Case {
    std::string text;
    std::string host;
    uint16_t port;
  };
  const std::vector<Case> cases = {
      {"localhost:8443", "localhost", 8443},
      {"127.0.0.1:1", "127.0.0.1", 1},
      {"https://soc.laocai.gov.vn:8444", "soc.laocai.gov.vn", 8444},
      {"https://soc.laocai.gov.vn:8444/", "soc.laocai.gov.vn", 8444},
      {"https://soc.laocai.gov.vn", "soc.laocai.gov.vn", 443},
      {"[::1]:8443", "::1", 8443},
      {"https://[::1]:65535/", "::1", 65535},
  };
  for (const Case& c : cases) {
    auto result = ParseHostPort(c.text);
    ASSERT_TRUE(result.ok()) << c.text << ": " << result.error().message;
    EXPECT_EQ(result->first, c.host) << c.text;
    EXPECT_EQ(result->second, c.port) << c.text;
  }
}

TEST(ParseHostPortTest, RefusesWithAReason) {
  struct Case {
    std::string text;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"", "missing"},
      {"localhost", "missing port"},
      {"localhost:", "port must be"},
      {"localhost:0", "port must be"},
      {"localhost:65536", "port must be"},
      {"localhost:84a3", "port must be"},
      {"localhost:+1", "port must be"},
      {"http://localhost:8443", "only https://"},
      {"https://localhost:8443/v1", "unexpected path"},
      {"user@localhost:8443", "unexpected path"},
      {"::1:8443", "needs brackets"},
      {"[::1:8443", "missing ']'"},
      {"[localhost]:8443", "IPv6"},
      {"[::1]8443", "expected ':'"},
      {":8443", "missing host"},
  };
  for (const Case& c : cases) {
    auto result = ParseHostPort(c.text);
    ASSERT_FALSE(result.ok()) << c.text;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << c.text;
    EXPECT_THAT(result.error().message, HasSubstr(c.reason)) << c.text;
  }
}

}  // namespace
}  // namespace cg::protocol

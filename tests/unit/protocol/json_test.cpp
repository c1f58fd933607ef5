#include "protocol/json.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::protocol {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonTest, ParsesUpToTheDepthBound) {
  auto ok = ParseJsonBounded(R"({"a": [1, {"b": "c"}]})");
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ((*ok)["a"][1]["b"], "c");
  // The top level is depth 0: 64 arrays around a number put it at depth 64.
  const std::string at_bound = std::string(64, '[') + "1" + std::string(64, ']');
  const std::string below_bound = std::string(65, '[') + "1" + std::string(65, ']');
  EXPECT_TRUE(ParseJsonBounded(at_bound).ok());
  auto deep = ParseJsonBounded(below_bound);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().code, ErrorCode::kParse);
  EXPECT_EQ(deep.error().message, "nested deeper than 64 levels");
  EXPECT_TRUE(ParseJsonBounded("[[[1]]]", 3).ok());
  EXPECT_FALSE(ParseJsonBounded("[[[[1]]]]", 3).ok());
}

TEST(JsonTest, AHugeNestingIsRefusedWithoutBuildingIt) {
  // 500 000 levels: building them would overflow the stack in the first copy or dump.
  auto deep = ParseJsonBounded(Nested(500'000));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().message, "nested deeper than 64 levels");
  EXPECT_TRUE(ParseJsonOrDiscarded(Nested(500'000)).is_discarded());
}

TEST(JsonTest, MalformedTextIsNotValidJson) {
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "nul", "{\"a\":1} x"}) {
    auto parsed = ParseJsonBounded(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.error().message, "not valid JSON") << bad;
    EXPECT_TRUE(ParseJsonOrDiscarded(bad).is_discarded()) << bad;
  }
  EXPECT_FALSE(ParseJsonOrDiscarded("{\"status\":\"update\"}").is_discarded());
}

}  // namespace
}  // namespace cg::protocol

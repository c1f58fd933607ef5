#include "protocol/api_paths.h"

#include <gtest/gtest.h>

namespace cg::protocol::api {
namespace {

TEST(ApiPathsTest, PathWithIdFillsTheIdSegmentPercentEncoded) {
  EXPECT_EQ(PathWithId(kDeviceHistory, "d-1"), "/api/v1/devices/d-1/history");
  EXPECT_EQ(PathWithId(kDevice, "a/b c"), "/api/v1/devices/a%2Fb%20c");
  EXPECT_EQ(PathWithId(kDevices, "x"), "/api/v1/devices");
}

}  // namespace
}  // namespace cg::protocol::api

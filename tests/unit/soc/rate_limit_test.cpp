// Tests for soc/rate_limit.cpp: token buckets and failure throttling with a clock of the test.
#include "soc/rate_limit.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace cg::soc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr SysTime kT0{seconds(1'790'000'000)};

TEST(AddressOfTest, DropsThePort) {
  struct Case {
    const char* peer;
    const char* address;
  };
  const std::vector<Case> cases = {
      {"10.0.0.5:51000", "10.0.0.5"}, {"[::1]:8443", "::1"},  {"::1", "::1"},
      {"10.0.0.5", "10.0.0.5"},       {"unknown", "unknown"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(AddressOf(c.peer), c.address) << c.peer;
  }
}

TEST(RateLimiterTest, BurstThenOnePerRefillPerAddress) {
  RateLimiter limiter(3, milliseconds(6000));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.Take("10.0.0.1", kT0), seconds(0)) << i;
  }
  // The fourth waits a whole refill interval; another address is not affected.
  EXPECT_EQ(limiter.Take("10.0.0.1", kT0), seconds(6));
  EXPECT_EQ(limiter.Take("10.0.0.2", kT0), seconds(0));
  // Half an interval later: still refused, with the remaining time rounded up.
  EXPECT_EQ(limiter.Take("10.0.0.1", kT0 + milliseconds(3000)), seconds(3));
  EXPECT_EQ(limiter.Take("10.0.0.1", kT0 + milliseconds(6000)), seconds(0));
  EXPECT_EQ(limiter.Take("10.0.0.1", kT0 + milliseconds(6000)), seconds(6));
  // A long pause refills the bucket up to the burst, not beyond.
  const SysTime later = kT0 + seconds(3600);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.Take("10.0.0.1", later), seconds(0)) << i;
  }
  EXPECT_GT(limiter.Take("10.0.0.1", later), seconds(0));
}

TEST(RateLimiterTest, RefusalsDoNotSpendTokens) {
  RateLimiter limiter(1, milliseconds(10000));
  EXPECT_EQ(limiter.Take("a", kT0), seconds(0));
  for (int i = 1; i < 10; ++i) {
    EXPECT_GT(limiter.Take("a", kT0 + seconds(i)), seconds(0));
  }
  EXPECT_EQ(limiter.Take("a", kT0 + seconds(10)), seconds(0));
}

TEST(RateLimiterTest, MemoryIsBoundedByMaxAddresses) {
  RateLimiter limiter(1, milliseconds(1000), /*max_addresses=*/2);
  EXPECT_EQ(limiter.Take("a", kT0), seconds(0));
  EXPECT_EQ(limiter.Take("b", kT0), seconds(0));
  // A third address pushes out the oldest; limits keep working for the rest.
  EXPECT_EQ(limiter.Take("c", kT0), seconds(0));
  EXPECT_GT(limiter.Take("c", kT0), seconds(0));
}

TEST(AuthFailureThrottleTest, DelayDoublesPerFailureUpToTheCap) {
  AuthFailureThrottle throttle(milliseconds(250), milliseconds(2000), seconds(900));
  const std::vector<milliseconds> expected = {milliseconds(250), milliseconds(500),
                                              milliseconds(1000), milliseconds(2000),
                                              milliseconds(2000)};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(throttle.Failure("10.0.0.9", kT0 + seconds(static_cast<int64_t>(i))), expected[i])
        << i;
  }
  // Another address starts from the beginning.
  EXPECT_EQ(throttle.Failure("10.0.0.10", kT0), milliseconds(250));
  // Many failures do not overflow.
  for (int i = 0; i < 100; ++i) {
    throttle.Failure("10.0.0.11", kT0);
  }
  EXPECT_EQ(throttle.Failure("10.0.0.11", kT0), milliseconds(2000));
}

TEST(AuthFailureThrottleTest, SuccessOrAQuietPeriodForgets) {
  AuthFailureThrottle throttle(milliseconds(100), milliseconds(10000), seconds(900));
  throttle.Failure("a", kT0);
  EXPECT_EQ(throttle.Failure("a", kT0), milliseconds(200));
  throttle.Success("a");
  EXPECT_EQ(throttle.Failure("a", kT0), milliseconds(100));
  EXPECT_EQ(throttle.Failure("a", kT0 + seconds(899)), milliseconds(200));
  EXPECT_EQ(throttle.Failure("a", kT0 + seconds(899 + 900)), milliseconds(100));
}

}  // namespace
}  // namespace cg::soc

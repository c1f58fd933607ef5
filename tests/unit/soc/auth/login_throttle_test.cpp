// Tests soc/auth/login_throttle.cpp with a hand-moved clock.
#include "soc/auth/login_throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::soc::auth {
namespace {

using std::chrono::seconds;

class LoginThrottleTest : public ::testing::Test {
 protected:
  SysTime now_ = FromUnixSeconds(1'700'000'000);
  void Advance(seconds s) { now_ += s; }
};

TEST_F(LoginThrottleTest, FreeFailuresThenDoublingDelayUpToTheCap) {
  LoginThrottleConfig config;
  config.account = {.free_failures = 3,
                    .base_delay = seconds(2),
                    .max_delay = seconds(60),
                    .forget_after = seconds(3600)};
  config.address.free_failures = 1000;  // only the account rule in play here
  LoginThrottle throttle(config);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.1", now_), seconds(0)) << i;
    throttle.RecordFailure("lan", "10.0.0.1", now_);
  }
  EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.1", now_), seconds(0));
  const int expected[] = {2, 4, 8, 16, 32, 60, 60};
  for (int want : expected) {
    throttle.RecordFailure("lan", "10.0.0.1", now_);
    EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.1", now_), seconds(want));
    // Another address does not escape the account's delay.
    EXPECT_EQ(throttle.RetryAfter("lan", "10.9.9.9", now_), seconds(want));
    // One second before the end still refused, at the end allowed.
    Advance(seconds(want - 1));
    EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.1", now_), seconds(1));
    Advance(seconds(1));
    EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.1", now_), seconds(0));
  }
  // Other accounts are untouched.
  EXPECT_EQ(throttle.RetryAfter("mai", "10.0.0.2", now_), seconds(0));
}

TEST_F(LoginThrottleTest, SuccessClearsTheAccountButNotTheAddress) {
  LoginThrottleConfig config;
  config.account = {.free_failures = 1, .base_delay = seconds(10)};
  config.address = {.free_failures = 2, .base_delay = seconds(10)};
  LoginThrottle throttle(config);
  throttle.RecordFailure("lan", "10.0.0.1", now_);
  throttle.RecordFailure("lan", "10.0.0.1", now_);
  EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.7", now_), seconds(10));
  throttle.RecordSuccess("lan");
  EXPECT_EQ(throttle.RetryAfter("lan", "10.0.0.7", now_), seconds(0));
  EXPECT_EQ(throttle.tracked_accounts(), 0u);
  // The address has 2 failures (free): the third starts its delay, whoever the account.
  throttle.RecordFailure("mai", "10.0.0.1", now_);
  EXPECT_EQ(throttle.RetryAfter("someone", "10.0.0.1", now_), seconds(10));
}

TEST_F(LoginThrottleTest, PerAddressGuessingAcrossAccountsIsThrottled) {
  LoginThrottleConfig config;
  config.address = {.free_failures = 5, .base_delay = seconds(1), .max_delay = seconds(900)};
  LoginThrottle throttle(config);
  // One failure for each of many names: no account is over its limit, the address is.
  for (int i = 0; i < 5; ++i) {
    throttle.RecordFailure("user" + std::to_string(i), "203.0.113.9", now_);
  }
  EXPECT_EQ(throttle.RetryAfter("user99", "203.0.113.9", now_), seconds(0));
  throttle.RecordFailure("user5", "203.0.113.9", now_);
  EXPECT_EQ(throttle.RetryAfter("user99", "203.0.113.9", now_), seconds(1));
  EXPECT_EQ(throttle.RetryAfter("user99", "203.0.113.10", now_), seconds(0));
}

TEST_F(LoginThrottleTest, QuietKeysAreForgotten) {
  LoginThrottleConfig config;
  config.account = {.free_failures = 0,
                    .base_delay = seconds(5),
                    .max_delay = seconds(60),
                    .forget_after = seconds(600)};
  LoginThrottle throttle(config);
  for (int i = 0; i < 4; ++i) {
    throttle.RecordFailure("lan", "a", now_);
  }
  EXPECT_EQ(throttle.RetryAfter("lan", "a", now_), seconds(40));
  Advance(seconds(600));
  EXPECT_EQ(throttle.RetryAfter("lan", "a", now_), seconds(0));
  // The next failure counts from one again.
  throttle.RecordFailure("lan", "a", now_);
  EXPECT_EQ(throttle.RetryAfter("lan", "a", now_), seconds(5));
}

TEST_F(LoginThrottleTest, MemoryIsBounded) {
  LoginThrottleConfig config;
  config.max_entries = 50;
  config.account = {.free_failures = 0, .base_delay = seconds(100), .max_delay = seconds(100)};
  LoginThrottle throttle(config);
  throttle.RecordFailure("victim", "x", now_);
  for (int i = 0; i < 1000; ++i) {
    Advance(seconds(1));
    throttle.RecordFailure("spray" + std::to_string(i), "addr" + std::to_string(i), now_);
    ASSERT_LE(throttle.tracked_accounts(), 50u);
    ASSERT_LE(throttle.tracked_addresses(), 50u);
  }
  // The oldest key went first.
  EXPECT_EQ(throttle.RetryAfter("victim", "y", now_), seconds(0));
  EXPECT_EQ(throttle.RetryAfter("spray999", "y", now_), seconds(100));
}

TEST_F(LoginThrottleTest, ManyFailuresDoNotOverflowTheDelay) {
  LoginThrottleConfig config;
  config.account = {.free_failures = 0, .base_delay = seconds(1), .max_delay = seconds(900)};
  LoginThrottle throttle(config);
  for (int i = 0; i < 5000; ++i) {
    throttle.RecordFailure("lan", "a", now_);
  }
  EXPECT_EQ(throttle.RetryAfter("lan", "a", now_), seconds(900));
}

}  // namespace
}  // namespace cg::soc::auth

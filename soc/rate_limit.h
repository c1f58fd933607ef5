// Per-address limits of the SOC's unauthenticated surfaces: a token bucket for enrollment
// attempts, and a growing answer delay for failed operator authentications. Time is passed in
// (the service's injected clock), so both are tested without waiting.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/timeutil.h"

namespace cg::soc {

// "10.0.0.5:51000" -> "10.0.0.5", "[::1]:8443" -> "::1": limits apply per host, not per
// connection.
std::string AddressOf(std::string_view peer_address);

// A token bucket per address: `burst` attempts at once, then one every `refill`. Thread-safe.
// Buckets that are full again are forgotten, so memory follows the addresses active recently
// (and is capped at max_addresses; beyond that the oldest-refilled are dropped first).
class RateLimiter {
 public:
  RateLimiter(int burst, std::chrono::milliseconds refill, size_t max_addresses = 100000);

  // Takes one token for `address`. Returns 0 when allowed, otherwise how long until the next
  // token (at least one second, for Retry-After).
  std::chrono::seconds Take(std::string_view address, SysTime now);

 private:
  struct Bucket {
    SysTime tat;  // see Take()
  };
  void Prune(SysTime now);

  const int burst_;
  const std::chrono::milliseconds refill_;
  const size_t max_addresses_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Counts failed authentications per address; each failure is answered after a delay that
// doubles with the address's recent failures (first `base`, capped at `max`). A failure-free
// `forget_after`, or a successful authentication, clears the address. Thread-safe.
class AuthFailureThrottle {
 public:
  AuthFailureThrottle(std::chrono::milliseconds base, std::chrono::milliseconds max,
                      std::chrono::seconds forget_after, size_t max_addresses = 100000);

  // Records a failure and returns the delay to answer it with.
  std::chrono::milliseconds Failure(std::string_view address, SysTime now);
  void Success(std::string_view address);

 private:
  struct Entry {
    int failures;
    SysTime last;
  };

  const std::chrono::milliseconds base_, max_;
  const std::chrono::seconds forget_after_;
  const size_t max_addresses_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace cg::soc

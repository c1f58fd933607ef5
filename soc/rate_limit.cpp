// Token buckets and failure throttling per address.
#include "soc/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace cg::soc {

std::string AddressOf(std::string_view peer_address) {
  if (!peer_address.empty() && peer_address.front() == '[') {
    const size_t close = peer_address.find(']');
    if (close != std::string_view::npos) {
      return std::string(peer_address.substr(1, close - 1));
    }
  }
  const size_t colon = peer_address.rfind(':');
  // A bare IPv6 address has several colons and no port.
  if (colon != std::string_view::npos && peer_address.find(':') == colon) {
    return std::string(peer_address.substr(0, colon));
  }
  return std::string(peer_address);
}

RateLimiter::RateLimiter(int burst, std::chrono::milliseconds refill, size_t max_addresses)
    : burst_(std::max(burst, 1)),
      refill_(std::max(refill, std::chrono::milliseconds(1))),
      max_addresses_(std::max<size_t>(max_addresses, 1)) {}

std::chrono::seconds RateLimiter::Take(std::string_view address, SysTime now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(address));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_addresses_) {
      Prune(now);
    }
    it = buckets_.emplace(std::string(address), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  if (now > b.updated) {
    const double elapsed_ms = std::chrono::duration<double, std::milli>(now - b.updated).count();
    b.tokens = std::min(burst_, b.tokens + elapsed_ms / static_cast<double>(refill_.count()));
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::chrono::seconds(0);
  }
  const double wait_ms = (1.0 - b.tokens) * static_cast<double>(refill_.count());
  return std::chrono::seconds(
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait_ms / 1000))));
}

void RateLimiter::Prune(SysTime now) {
  // Drop buckets that have refilled; if none has, drop the one untouched longest.
  const auto full_after = refill_ * static_cast<int64_t>(burst_);
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = now - it->second.updated >= full_after ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= max_addresses_) {
    auto oldest = std::min_element(
        buckets_.begin(), buckets_.end(),
        [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
    buckets_.erase(oldest);
  }
}

AuthFailureThrottle::AuthFailureThrottle(std::chrono::milliseconds base,
                                         std::chrono::milliseconds max,
                                         std::chrono::seconds forget_after, size_t max_addresses)
    : base_(base), max_(max), forget_after_(forget_after), max_addresses_(max_addresses) {}

std::chrono::milliseconds AuthFailureThrottle::Failure(std::string_view address, SysTime now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(address));
  if (it != entries_.end() && now - it->second.last >= forget_after_) {
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_addresses_) {
      for (auto e = entries_.begin(); e != entries_.end();) {
        e = now - e->second.last >= forget_after_ ? entries_.erase(e) : std::next(e);
      }
      if (entries_.size() >= max_addresses_) {
        entries_.erase(entries_.begin());
      }
    }
    it = entries_.emplace(std::string(address), Entry{0, now}).first;
  }
  Entry& e = it->second;
  ++e.failures;
  e.last = now;
  // base * 2^(failures-1), without overflowing for a long run of failures.
  const int doublings = std::min(e.failures - 1, 30);
  const auto delay = base_ * (int64_t{1} << doublings);
  return std::min(delay, max_);
}

void AuthFailureThrottle::Success(std::string_view address) {
  std::lock_guard lock(mu_);
  entries_.erase(std::string(address));
}

}  // namespace cg::soc

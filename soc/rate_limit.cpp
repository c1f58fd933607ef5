// Token buckets and failure throttling per address.
#include "soc/rate_limit.h"

#include <algorithm>

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

// GCRA, the token bucket in integer time: each address has a "theoretical arrival time" that
// every allowed attempt pushes one refill interval further; an attempt is allowed while that
// time is at most (burst - 1) intervals ahead of now.
std::chrono::seconds RateLimiter::Take(std::string_view address, SysTime now) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(address));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_addresses_) {
      Prune(now);
    }
    it = buckets_.emplace(std::string(address), Bucket{now}).first;
  }
  SysTime& tat = it->second.tat;
  tat = std::max(tat, now);
  const auto allowance = refill_ * static_cast<int64_t>(burst_ - 1);
  const auto ahead = tat - now;
  if (ahead > allowance) {
    const auto wait = std::chrono::ceil<std::chrono::seconds>(ahead - allowance);
    return std::max(wait, std::chrono::seconds(1));
  }
  tat += refill_;
  return std::chrono::seconds(0);
}

void RateLimiter::Prune(SysTime now) {
  // Buckets that are full again carry no state; if none is, drop the one refilling soonest.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    it = it->second.tat <= now ? buckets_.erase(it) : std::next(it);
  }
  if (buckets_.size() >= max_addresses_) {
    auto oldest =
        std::min_element(buckets_.begin(), buckets_.end(),
                         [](const auto& a, const auto& b) { return a.second.tat < b.second.tat; });
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

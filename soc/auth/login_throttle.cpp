// Login throttle; see login_throttle.h.
#include "soc/auth/login_throttle.h"

#include <algorithm>

namespace cg::soc::auth {

LoginThrottle::LoginThrottle(LoginThrottleConfig config) : config_(config) {}

std::chrono::seconds LoginThrottle::Wait(const ThrottleRule& rule, const Table& table,
                                         std::string_view key, SysTime now) {
  auto it = table.find(std::string(key));
  if (it == table.end() || now - it->second.last >= rule.forget_after) {
    return std::chrono::seconds(0);
  }
  int beyond = it->second.failures - rule.free_failures;
  if (beyond <= 0) {
    return std::chrono::seconds(0);
  }
  std::chrono::seconds delay = rule.max_delay;
  if (beyond <= 30) {
    delay = std::min(rule.max_delay, rule.base_delay * (int64_t{1} << (beyond - 1)));
  }
  auto until = it->second.last + delay;
  if (until <= now) {
    return std::chrono::seconds(0);
  }
  // Rounded up: "retry after 0 s" while still refused would make clients spin.
  return std::chrono::ceil<std::chrono::seconds>(until - now);
}

std::chrono::seconds LoginThrottle::RetryAfter(std::string_view account, std::string_view address,
                                               SysTime now) const {
  std::lock_guard lock(mu_);
  return std::max(Wait(config_.account, accounts_, account, now),
                  Wait(config_.address, addresses_, address, now));
}

void LoginThrottle::Count(const ThrottleRule& rule, Table& table, std::string_view key,
                          SysTime now) {
  std::string k(key);
  auto it = table.find(k);
  if (it == table.end()) {
    if (table.size() >= config_.max_entries) {
      std::erase_if(table,
                    [&](const auto& kv) { return now - kv.second.last >= rule.forget_after; });
    }
    if (table.size() >= config_.max_entries && !table.empty()) {
      auto oldest = std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
        return a.second.last < b.second.last;
      });
      table.erase(oldest);
    }
    it = table.emplace(std::move(k), Entry{}).first;
  } else if (now - it->second.last >= rule.forget_after) {
    it->second.failures = 0;
  }
  if (it->second.failures < 1000) {
    ++it->second.failures;
  }
  it->second.last = std::max(it->second.last, now);
}

void LoginThrottle::RecordFailure(std::string_view account, std::string_view address, SysTime now) {
  std::lock_guard lock(mu_);
  Count(config_.account, accounts_, account, now);
  Count(config_.address, addresses_, address, now);
}

void LoginThrottle::RecordSuccess(std::string_view account) {
  std::lock_guard lock(mu_);
  accounts_.erase(std::string(account));
}

size_t LoginThrottle::tracked_accounts() const {
  std::lock_guard lock(mu_);
  return accounts_.size();
}

size_t LoginThrottle::tracked_addresses() const {
  std::lock_guard lock(mu_);
  return addresses_.size();
}

}  // namespace cg::soc::auth

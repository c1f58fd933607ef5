// Slows password and code guessing at staff login, per account and per client address: after
// a few free failures each further failure doubles the wait before the next attempt (up to a
// cap), a success clears the account, and quiet keys are forgotten. Time is passed in, so it is
// tested without waiting. Thread-safe.
//
// Why a capped delay and not a permanent lockout: a lockout lets anyone who knows an admin's
// account name lock the admin out. With the defaults, 5 free failures then 1 s, 2 s, 4 s ... up
// to 15 min, an attacker gets about 100 guesses a day per account, against 10^6 TOTP codes and
// a 12-character password.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/timeutil.h"

namespace cg::soc::auth {

struct ThrottleRule {
  int free_failures = 5;                            // failures answered without a wait
  std::chrono::seconds base_delay{1};               // wait after the first failure beyond those
  std::chrono::seconds max_delay{15 * 60};          // cap of the doubling
  std::chrono::seconds forget_after{24 * 60 * 60};  // a key quiet this long starts afresh
};

struct LoginThrottleConfig {
  ThrottleRule account;
  // An office behind one NAT address has many staff: more free failures per address.
  ThrottleRule address{.free_failures = 20};
  // Per kind (accounts, addresses). When full, forgotten-by-age keys go first, then the key
  // with the oldest last failure: memory stays bounded whatever an attacker sends.
  size_t max_entries = 10000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleConfig config = {});

  // How long before `account` from `address` may try again; zero = now. Call before checking
  // the password: a refused attempt does no hashing and is not counted again.
  std::chrono::seconds RetryAfter(std::string_view account, std::string_view address,
                                  SysTime now) const;

  // A wrong password, TOTP code or recovery code (also for an account that does not exist,
  // so probing names is throttled the same way).
  void RecordFailure(std::string_view account, std::string_view address, SysTime now);

  // Clears the account's failures. The address keeps its count: otherwise a guesser with one
  // valid account of their own could reset their address between guesses at others.
  void RecordSuccess(std::string_view account);

  size_t tracked_accounts() const;
  size_t tracked_addresses() const;

 private:
  struct Entry {
    int failures = 0;
    SysTime last;
  };
  using Table = std::unordered_map<std::string, Entry>;

  static std::chrono::seconds Wait(const ThrottleRule& rule, const Table& table,
                                   std::string_view key, SysTime now);
  void Count(const ThrottleRule& rule, Table& table, std::string_view key, SysTime now);

  const LoginThrottleConfig config_;
  mutable std::mutex mu_;
  Table accounts_;
  Table addresses_;
};

}  // namespace cg::soc::auth

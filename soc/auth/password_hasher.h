// Staff account passwords: Argon2id (libargon2, the reference implementation) in PHC strings,
// "$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>", so every hash carries its own parameters
// and old hashes keep verifying after the defaults change (NeedsRehash says when to upgrade).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "soc/auth/random.h"

namespace cg::soc::auth {

// Defaults: RFC 9106 section 4, second recommended option ("if much less memory is
// available"): Argon2id, t=3 passes, m=64 MiB, p=1 lane (the RFC says p=4; one lane here because
// the SOC box has 2 cores shared with ingestion, and p only divides the same work), 128-bit
// salt, 256-bit tag. Measured on the shared 2-core build machine: 0.17 to 0.22 s per hash at
// load average ~3, up to 0.58 s at ~8 (docs/accounts.md), which a login can afford and an
// offline guesser pays per guess.
struct Argon2Params {
  uint32_t t_cost = 3;          // passes over memory
  uint32_t m_cost_kib = 65536;  // memory in KiB (64 MiB)
  uint32_t parallelism = 1;     // lanes (threads)
  uint32_t salt_bytes = 16;
  uint32_t hash_bytes = 32;
};

// What a new password must look like. The minimum counts Unicode code points of the UTF-8 text
// (a Vietnamese "ơ" is one character, two bytes); the byte bound caps the work an
// unauthenticated caller can make us do and catches pasted files.
struct PasswordPolicy {
  size_t min_chars = 12;
  size_t max_bytes = 1024;
};

// The parameters a PHC string was made with.
struct Argon2Encoded {
  uint32_t version = 0;
  uint32_t m_cost_kib = 0;
  uint32_t t_cost = 0;
  uint32_t parallelism = 0;
  size_t salt_bytes = 0;
  size_t hash_bytes = 0;
};

// Parses "$argon2id$v=19$m=..,t=..,p=..$salt$hash" (unpadded standard base64). Only argon2id
// is accepted; parameters far outside anything we produce (m > 4 GiB, t > 64, p > 64) are
// refused so a tampered store cannot make a login allocate unbounded memory.
Result<Argon2Encoded> ParseArgon2Encoded(std::string_view encoded);

class PasswordHasher {
 public:
  // Refuses parameters libargon2 would refuse (m < 8*p, t < 1, salt < 8 bytes, tag < 4 bytes).
  static Result<PasswordHasher> Create(Argon2Params params = {}, PasswordPolicy policy = {});

  // Checks `password` against the policy: not empty, no NUL, not longer than max_bytes, valid
  // UTF-8, and at least min_chars code points after NFKC normalization. The message says
  // which rule failed, never the password.
  Status CheckNewPassword(std::string_view password) const;

  // A new PHC string of NormalizePassword(password) with a fresh random salt. Applies
  // CheckNewPassword first.
  Result<std::string> Hash(std::string_view password) const;
  // Same with a given salt: for known-answer tests and nothing else.
  Result<std::string> HashWithSalt(std::string_view password, const Bytes& salt) const;

  // True when `password` matches `encoded` (libargon2's argon2id_verify, which compares in
  // constant time), false when it does not. An error when `encoded` is malformed or the
  // password is over max_bytes or not UTF-8: the caller must treat that as a failed login
  // too. The minimum length is not applied: a password set under an older policy still logs
  // in.
  Result<bool> Verify(std::string_view password, std::string_view encoded) const;

  // True when `encoded` was made with other parameters than this hasher's (or cannot be
  // parsed): after a successful Verify, hash the password again and store the new string.
  bool NeedsRehash(std::string_view encoded) const;

  const Argon2Params& params() const { return params_; }
  const PasswordPolicy& policy() const { return policy_; }

 private:
  PasswordHasher(Argon2Params params, PasswordPolicy policy) : params_(params), policy_(policy) {}

  Argon2Params params_;
  PasswordPolicy policy_;
};

// What is hashed: the password in Unicode NFKC (ICU), as NIST SP 800-63B section 5.1.1.2
// recommends. Vietnamese has two ways to write most letters ("ầ" as U+1EA7, or "a" + U+0302 +
// U+0300, which some keyboards and macOS produce); without this the same password typed on
// another machine would not match. An error for invalid UTF-8.
Result<std::string> NormalizePassword(std::string_view password);

// Number of code points if `text` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
Result<size_t> Utf8Length(std::string_view text);

}  // namespace cg::soc::auth

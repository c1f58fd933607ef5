// One-use recovery codes for a staff member who lost the authenticator: shown once when made,
// stored only as salted SHA-256 hashes.
//
// Why SHA-256 and not Argon2id: a code is 16 characters from a 32-symbol alphabet, 80 bits
// drawn by RAND_bytes, so guessing one from a leaked hash costs ~2^80 hashes whatever the hash
// is (a slow hash only helps secrets people choose). A slow hash would also make each recovery
// attempt check up to 10 hashes at 0.5 s each. The per-code salt keeps equal codes of two
// accounts (which do not happen at 80 bits) from being seen as equal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::soc::auth {

// Symbols without the look-alikes 0/O and 1/I: A-Z minus I and O, 2-9.
constexpr std::string_view kRecoveryAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
constexpr size_t kRecoveryCodeChars = 16;  // 80 bits
constexpr size_t kDefaultRecoveryCodes = 10;

struct RecoveryCodeSet {
  // "ABCD-EFGH-JKLM-NPQR": give these to the person once, never store or log them.
  std::vector<std::string> codes;
  // "sha256$<salt hex>$<hash hex>", same order: store these.
  std::vector<std::string> hashes;
};

// `count` (1..100) fresh codes and their hashes.
Result<RecoveryCodeSet> GenerateRecoveryCodes(size_t count = kDefaultRecoveryCodes);

// "abcd efgh-jklm nPQR" -> "ABCDEFGHJKLMNPQR": upper case, spaces and '-' dropped. An error
// for other characters or the wrong length.
Result<std::string> NormalizeRecoveryCode(std::string_view typed);

struct StoredRecoveryCode {
  std::string hash;
  bool used = false;
};

// The index in `stored` of the unused code that `typed` is; the caller marks it used in the same
// transaction as the login. Every unused hash is compared (in constant time), so the time does
// not tell which one matched. kUnauthenticated when none matches, including a used one (the
// message says "already used" then, for the audit log); kInvalidArgument when `typed` is not
// shaped like a code; kParse when a stored hash is corrupt.
Result<size_t> MatchRecoveryCode(std::string_view typed,
                                 const std::vector<StoredRecoveryCode>& stored);

}  // namespace cg::soc::auth

// Cryptographically secure random bytes for salts, TOTP secrets and recovery codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.h"

namespace cg::soc::auth {

using Bytes = std::vector<uint8_t>;

// `n` bytes from OpenSSL's RAND_bytes (the OS entropy source behind a DRBG). An error when the
// generator is not seeded: never a weaker fallback.
Result<Bytes> RandomBytes(size_t n);

}  // namespace cg::soc::auth

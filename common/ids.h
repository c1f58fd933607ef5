// Identifiers and secrets: random UUIDs, random tokens, hashes, constant-time compare.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg {

// A random (version 4) UUID in canonical lower-case form.
std::string NewUuid();
bool IsUuid(std::string_view text);

// `bytes` random bytes from the OS CSPRNG (OpenSSL RAND_bytes), base64url without padding.
std::string RandomToken(size_t bytes = 32);

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
std::string HexEncode(std::string_view bytes);

bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace cg

namespace cg {

// Standard base64 with padding (RFC 4648 §4); Decode refuses anything else.
std::string Base64Encode(std::string_view bytes);
Result<std::string> Base64Decode(std::string_view text);

}  // namespace cg

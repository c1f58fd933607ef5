// RFC 4648 section 6 base32 (alphabet A-Z 2-7), the encoding of TOTP secrets in otpauth:// URIs
// and authenticator apps.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "soc/auth/random.h"

namespace cg::soc::auth {

// Upper case, without '=' padding (what the Key Uri Format asks for).
std::string Base32Encode(const Bytes& data);

// Accepts what people type or paste: either case, spaces (and tabs) anywhere, trailing '='
// padding or none. Refuses other characters, '=' in the middle, and lengths no encoding
// produces (1, 3 or 6 characters in the last group).
Result<Bytes> Base32Decode(std::string_view text);

}  // namespace cg::soc::auth

// Recovery codes; see recovery_codes.h.
#include "soc/auth/recovery_codes.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <memory>
#include <optional>

#include "protocol/pki.h"
#include "soc/auth/random.h"

namespace cg::soc::auth {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr std::string_view kPrefix = "sha256$";

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0F]);
  }
  return out;
}

Result<Bytes> Unhex(std::string_view text) {
  if (text.size() % 2 != 0) {
    return MakeError(ErrorCode::kParse, "recovery code hash: odd hex length");
  }
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  Bytes out;
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]);
    int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) {
      return MakeError(ErrorCode::kParse, "recovery code hash: bad hex");
    }
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

Result<std::array<unsigned char, 32>> Sha256(const Bytes& salt, std::string_view code) {
  std::array<unsigned char, 32> digest{};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), code.data(), code.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1 || len != digest.size()) {
    return protocol::OpenSslError("recovery code: SHA-256");
  }
  return digest;
}

struct ParsedHash {
  Bytes salt;
  Bytes digest;
};

Result<ParsedHash> ParseHash(std::string_view stored) {
  if (stored.substr(0, kPrefix.size()) != kPrefix) {
    return MakeError(ErrorCode::kParse, "recovery code hash: unknown scheme");
  }
  std::string_view rest = stored.substr(kPrefix.size());
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos) {
    return MakeError(ErrorCode::kParse, "recovery code hash: expected sha256$salt$hash");
  }
  ParsedHash out;
  CG_ASSIGN_OR_RETURN(out.salt, Unhex(rest.substr(0, dollar)));
  CG_ASSIGN_OR_RETURN(out.digest, Unhex(rest.substr(dollar + 1)));
  if (out.salt.size() != kSaltBytes || out.digest.size() != 32) {
    return MakeError(ErrorCode::kParse, "recovery code hash: bad lengths");
  }
  return out;
}

}  // namespace

Result<RecoveryCodeSet> GenerateRecoveryCodes(size_t count) {
  if (count < 1 || count > 100) {
    return MakeError(ErrorCode::kInvalidArgument, "recovery codes: count must be 1..100");
  }
  RecoveryCodeSet set;
  for (size_t n = 0; n < count; ++n) {
    // One random byte per symbol, low 5 bits: 256 is a multiple of 32, so no bias.
    CG_ASSIGN_OR_RETURN(Bytes random, RandomBytes(kRecoveryCodeChars));
    std::string code;
    std::string grouped;
    for (size_t i = 0; i < kRecoveryCodeChars; ++i) {
      char c = kRecoveryAlphabet[random[i] & 0x1F];
      code.push_back(c);
      if (i > 0 && i % 4 == 0) {
        grouped.push_back('-');
      }
      grouped.push_back(c);
    }
    OPENSSL_cleanse(random.data(), random.size());
    CG_ASSIGN_OR_RETURN(Bytes salt, RandomBytes(kSaltBytes));
    CG_ASSIGN_OR_RETURN(auto digest, Sha256(salt, code));
    set.hashes.push_back(std::string(kPrefix) + Hex(salt.data(), salt.size()) + "$" +
                         Hex(digest.data(), digest.size()));
    OPENSSL_cleanse(code.data(), code.size());
    set.codes.push_back(std::move(grouped));
  }
  return set;
}

Result<std::string> NormalizeRecoveryCode(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == ' ' || c == '-' || c == '\t') {
      continue;
    }
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    if (kRecoveryAlphabet.find(c) == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, "recovery code: invalid character");
    }
    if (out.size() == kRecoveryCodeChars) {
      return MakeError(ErrorCode::kInvalidArgument, "recovery code: too long");
    }
    out.push_back(c);
  }
  if (out.size() != kRecoveryCodeChars) {
    return MakeError(ErrorCode::kInvalidArgument, "recovery code: too short");
  }
  return out;
}

Result<size_t> MatchRecoveryCode(std::string_view typed,
                                 const std::vector<StoredRecoveryCode>& stored) {
  CG_ASSIGN_OR_RETURN(std::string code, NormalizeRecoveryCode(typed));
  std::optional<size_t> found;
  bool used_match = false;
  for (size_t i = 0; i < stored.size(); ++i) {
    CG_ASSIGN_OR_RETURN(ParsedHash parsed, ParseHash(stored[i].hash));
    CG_ASSIGN_OR_RETURN(auto digest, Sha256(parsed.salt, code));
    bool match = CRYPTO_memcmp(digest.data(), parsed.digest.data(), digest.size()) == 0;
    if (match && stored[i].used) {
      used_match = true;
    } else if (match && !found.has_value()) {
      found = i;
    }
  }
  OPENSSL_cleanse(code.data(), code.size());
  if (found.has_value()) {
    return *found;
  }
  return MakeError(ErrorCode::kUnauthenticated,
                   used_match ? "recovery code already used" : "wrong recovery code");
}

}  // namespace cg::soc::auth

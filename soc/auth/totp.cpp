// RFC 6238 TOTP with HMAC from OpenSSL 3 (EVP_Q_mac); see totp.h.
#include "soc/auth/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

#include "protocol/pki.h"

namespace cg::soc::auth {
namespace {

constexpr int64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

}  // namespace

const char* TotpAlgorithmName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

Result<Bytes> GenerateTotpSecret() { return RandomBytes(kTotpSecretBytes); }

Status ValidateTotpParams(const TotpParams& params) {
  if (params.digits < 6 || params.digits > 8) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: digits must be 6, 7 or 8");
  }
  if (params.period_seconds < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: period must be at least 1 s");
  }
  if (params.drift_steps < 0 || params.drift_steps > 10) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: drift window must be 0..10 steps");
  }
  return OkStatus();
}

Result<int64_t> TotpTimeStep(SysTime now, const TotpParams& params) {
  return TotpTimeStepAtUnix(ToUnixSeconds(now), params);
}

Result<int64_t> TotpTimeStepAtUnix(int64_t seconds, const TotpParams& params) {
  CG_RETURN_IF_ERROR(ValidateTotpParams(params));
  if (seconds < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: time before 1970");
  }
  return seconds / params.period_seconds;
}

Result<std::string> TotpCode(const Bytes& secret, int64_t step, const TotpParams& params) {
  CG_RETURN_IF_ERROR(ValidateTotpParams(params));
  if (secret.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: empty secret");
  }
  if (step < 0) {
    return MakeError(ErrorCode::kInvalidArgument, "totp: negative time step");
  }
  std::array<unsigned char, 8> counter{};
  auto value = static_cast<uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[static_cast<size_t>(i)] = static_cast<unsigned char>(value & 0xFF);
    value >>= 8;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, TotpAlgorithmName(params.algorithm), nullptr,
                secret.data(), secret.size(), counter.data(), counter.size(), mac.data(),
                mac.size(), &mac_len) == nullptr ||
      mac_len < 20) {
    return protocol::OpenSslError("totp: HMAC");
  }
  // RFC 4226 section 5.3 dynamic truncation.
  size_t offset = mac[mac_len - 1] & 0x0F;
  uint32_t binary = (static_cast<uint32_t>(mac[offset] & 0x7F) << 24) |
                    (static_cast<uint32_t>(mac[offset + 1]) << 16) |
                    (static_cast<uint32_t>(mac[offset + 2]) << 8) |
                    static_cast<uint32_t>(mac[offset + 3]);
  OPENSSL_cleanse(mac.data(), mac.size());
  int64_t code = static_cast<int64_t>(binary) % kPow10[params.digits];
  std::string text = std::to_string(code);
  return std::string(static_cast<size_t>(params.digits) - text.size(), '0') + text;
}

Result<TotpMatch> VerifyTotp(const Bytes& secret, std::string_view code, SysTime now,
                             std::optional<int64_t> last_used_step, const TotpParams& params) {
  CG_RETURN_IF_ERROR(ValidateTotpParams(params));
  if (code.size() != static_cast<size_t>(params.digits)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "totp: the code must have " + std::to_string(params.digits) + " digits");
  }
  for (char c : code) {
    if (c < '0' || c > '9') {
      return MakeError(ErrorCode::kInvalidArgument, "totp: the code must be digits only");
    }
  }
  CG_ASSIGN_OR_RETURN(int64_t current, TotpTimeStep(now, params));
  std::optional<int64_t> fresh;
  bool replayed = false;
  // Every step of the window is computed and compared, matched or not, so the time taken does
  // not say which step matched.
  for (int64_t step = current - params.drift_steps; step <= current + params.drift_steps; ++step) {
    if (step < 0) {
      continue;
    }
    CG_ASSIGN_OR_RETURN(std::string expected, TotpCode(secret, step, params));
    bool match = CRYPTO_memcmp(expected.data(), code.data(), expected.size()) == 0;
    OPENSSL_cleanse(expected.data(), expected.size());
    if (!match) {
      continue;
    }
    if (last_used_step.has_value() && step <= *last_used_step) {
      replayed = true;
    } else if (!fresh.has_value()) {
      fresh = step;
    }
  }
  if (fresh.has_value()) {
    return TotpMatch{*fresh};
  }
  if (replayed) {
    return MakeError(ErrorCode::kUnauthenticated, "totp: code already used");
  }
  return MakeError(ErrorCode::kUnauthenticated, "totp: wrong code");
}

}  // namespace cg::soc::auth

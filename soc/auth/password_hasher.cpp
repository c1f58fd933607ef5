// Argon2id password hashing through libargon2; see password_hasher.h.
#include "soc/auth/password_hasher.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <charconv>
#include <vector>

namespace cg::soc::auth {
namespace {

constexpr uint32_t kMaxMemoryKib = 4u * 1024 * 1024;  // 4 GiB
constexpr uint32_t kMaxTimeCost = 64;
constexpr uint32_t kMaxLanes = 64;

Error Argon2Error(std::string_view what, int rc) {
  return MakeError(ErrorCode::kCrypto, std::string(what) + ": " + argon2_error_message(rc));
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Byte length of an unpadded standard base64 field, or an error.
Result<size_t> Base64FieldBytes(std::string_view field, std::string_view name) {
  if (field.empty() || field.size() % 4 == 1) {
    return MakeError(ErrorCode::kParse, "argon2id hash: bad " + std::string(name) + " length");
  }
  for (char c : field) {
    if (!IsBase64Char(c)) {
      return MakeError(ErrorCode::kParse, "argon2id hash: bad character in " + std::string(name));
    }
  }
  return field.size() * 3 / 4;
}

// "name=123" -> 123.
Result<uint32_t> ParseParam(std::string_view item, std::string_view name) {
  if (item.size() <= name.size() + 1 || item.substr(0, name.size()) != name ||
      item[name.size()] != '=') {
    return MakeError(ErrorCode::kParse, "argon2id hash: expected " + std::string(name) + "=");
  }
  std::string_view digits = item.substr(name.size() + 1);
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      (digits.size() > 1 && digits[0] == '0')) {
    return MakeError(ErrorCode::kParse, "argon2id hash: bad " + std::string(name) + " value");
  }
  return value;
}

// Wipes a buffer that held a password when it goes out of scope.
template <typename T>
struct Wiped {
  T value;
  ~Wiped() { OPENSSL_cleanse(value.data(), value.size() * sizeof(value[0])); }
};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

}  // namespace

Result<size_t> Utf8Length(std::string_view text) {
  size_t count = 0;
  size_t i = 0;
  while (i < text.size()) {
    auto b0 = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (b0 < 0x80) {
      len = 1;
      cp = b0;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return MakeError(ErrorCode::kInvalidArgument, "not valid UTF-8");
    }
    if (i + len > text.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "not valid UTF-8 (truncated sequence)");
    }
    for (size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) {
        return MakeError(ErrorCode::kInvalidArgument, "not valid UTF-8");
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return MakeError(ErrorCode::kInvalidArgument, "not valid UTF-8 (overlong or out of range)");
    }
    i += len;
    ++count;
  }
  return count;
}

Result<std::string> NormalizePassword(std::string_view password) {
  CG_RETURN_IF_ERROR(Utf8Length(password));
  if (password.size() > static_cast<size_t>(INT32_MAX / 4)) {
    return MakeError(ErrorCode::kInvalidArgument, "password is too long");
  }
  auto in_len = static_cast<int32_t>(password.size());
  UErrorCode status = U_ZERO_ERROR;
  int32_t utf16_len = 0;
  u_strFromUTF8(nullptr, 0, &utf16_len, password.data(), in_len, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return MakeError(ErrorCode::kInvalidArgument, "password: not valid UTF-8");
  }
  Wiped<std::u16string> utf16{std::u16string(static_cast<size_t>(utf16_len), u'\0')};
  status = U_ZERO_ERROR;
  u_strFromUTF8(utf16.value.data(), utf16_len, nullptr, password.data(), in_len, &status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInvalidArgument, "password: not valid UTF-8");
  }
  status = U_ZERO_ERROR;
  const UNormalizer2* nfkc = unorm2_getNFKCInstance(&status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal,
                     std::string("password: ICU NFKC unavailable: ") + u_errorName(status));
  }
  int32_t norm_len = unorm2_normalize(nfkc, utf16.value.data(), utf16_len, nullptr, 0, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal,
                     std::string("password: NFKC normalization: ") + u_errorName(status));
  }
  Wiped<std::u16string> normalized{std::u16string(static_cast<size_t>(norm_len), u'\0')};
  status = U_ZERO_ERROR;
  unorm2_normalize(nfkc, utf16.value.data(), utf16_len, normalized.value.data(), norm_len, &status);
  if (U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal,
                     std::string("password: NFKC normalization: ") + u_errorName(status));
  }
  status = U_ZERO_ERROR;
  int32_t out_len = 0;
  u_strToUTF8(nullptr, 0, &out_len, normalized.value.data(), norm_len, &status);
  if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) {
    return MakeError(ErrorCode::kInternal, "password: UTF-16 to UTF-8");
  }
  std::string out(static_cast<size_t>(out_len), '\0');
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), out_len, nullptr, normalized.value.data(), norm_len, &status);
  if (U_FAILURE(status)) {
    OPENSSL_cleanse(out.data(), out.size());
    return MakeError(ErrorCode::kInternal, "password: UTF-16 to UTF-8");
  }
  return out;
}

Result<Argon2Encoded> ParseArgon2Encoded(std::string_view encoded) {
  // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
  std::vector<std::string_view> parts = Split(encoded, '$');
  if (parts.size() != 6 || !parts[0].empty()) {
    return MakeError(ErrorCode::kParse, "argon2id hash: expected $argon2id$v=..$m=..$salt$hash");
  }
  if (parts[1] != "argon2id") {
    return MakeError(ErrorCode::kParse, "argon2id hash: not an argon2id hash");
  }
  Argon2Encoded out;
  CG_ASSIGN_OR_RETURN(out.version, ParseParam(parts[2], "v"));
  std::vector<std::string_view> params = Split(parts[3], ',');
  if (params.size() != 3) {
    return MakeError(ErrorCode::kParse, "argon2id hash: expected m=..,t=..,p=..");
  }
  CG_ASSIGN_OR_RETURN(out.m_cost_kib, ParseParam(params[0], "m"));
  CG_ASSIGN_OR_RETURN(out.t_cost, ParseParam(params[1], "t"));
  CG_ASSIGN_OR_RETURN(out.parallelism, ParseParam(params[2], "p"));
  CG_ASSIGN_OR_RETURN(out.salt_bytes, Base64FieldBytes(parts[4], "salt"));
  CG_ASSIGN_OR_RETURN(out.hash_bytes, Base64FieldBytes(parts[5], "hash"));
  if (out.version != ARGON2_VERSION_13) {
    return MakeError(ErrorCode::kParse, "argon2id hash: unsupported version");
  }
  if (out.m_cost_kib > kMaxMemoryKib || out.t_cost < 1 || out.t_cost > kMaxTimeCost ||
      out.parallelism < 1 || out.parallelism > kMaxLanes) {
    return MakeError(ErrorCode::kParse, "argon2id hash: parameters out of the accepted range");
  }
  return out;
}

Result<PasswordHasher> PasswordHasher::Create(Argon2Params params, PasswordPolicy policy) {
  if (params.t_cost < 1 || params.t_cost > kMaxTimeCost || params.parallelism < 1 ||
      params.parallelism > kMaxLanes || params.m_cost_kib < 8 * params.parallelism ||
      params.m_cost_kib > kMaxMemoryKib) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "argon2id: need 1 <= t <= 64, 1 <= p <= 64, 8*p KiB <= m <= 4 GiB");
  }
  if (params.salt_bytes < ARGON2_MIN_SALT_LENGTH || params.salt_bytes > 64 ||
      params.hash_bytes < ARGON2_MIN_OUTLEN || params.hash_bytes > 64) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "argon2id: need 8..64 salt bytes and 4..64 hash bytes");
  }
  if (policy.max_bytes == 0 || policy.max_bytes > ARGON2_MAX_PWD_LENGTH) {
    return MakeError(ErrorCode::kInvalidArgument, "password policy: bad maximum length");
  }
  return PasswordHasher(params, policy);
}

Status PasswordHasher::CheckNewPassword(std::string_view password) const {
  if (password.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "password is empty");
  }
  if (password.size() > policy_.max_bytes) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "password is too long (at most " + std::to_string(policy_.max_bytes) + " bytes)");
  }
  if (password.find('\0') != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, "password contains a NUL character");
  }
  Result<std::string> normalized = NormalizePassword(password);
  if (!normalized.ok()) {
    return normalized.error().Wrap("password");
  }
  Wiped<std::string> wipe{std::move(*normalized)};
  Result<size_t> chars = Utf8Length(wipe.value);
  if (!chars.ok()) {
    return chars.error().Wrap("password");
  }
  if (*chars < policy_.min_chars) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "password is too short (at least " + std::to_string(policy_.min_chars) + " characters)");
  }
  return OkStatus();
}

Result<std::string> PasswordHasher::Hash(std::string_view password) const {
  CG_RETURN_IF_ERROR(CheckNewPassword(password));
  CG_ASSIGN_OR_RETURN(Bytes salt, RandomBytes(params_.salt_bytes));
  return HashWithSalt(password, salt);
}

Result<std::string> PasswordHasher::HashWithSalt(std::string_view password,
                                                 const Bytes& salt) const {
  if (password.size() > policy_.max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "password is too long");
  }
  if (salt.size() < ARGON2_MIN_SALT_LENGTH) {
    return MakeError(ErrorCode::kInvalidArgument, "argon2id: salt too short");
  }
  CG_ASSIGN_OR_RETURN(std::string normalized_text, NormalizePassword(password));
  Wiped<std::string> normalized{std::move(normalized_text)};
  size_t len = argon2_encodedlen(params_.t_cost, params_.m_cost_kib, params_.parallelism,
                                 static_cast<uint32_t>(salt.size()), params_.hash_bytes, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(params_.t_cost, params_.m_cost_kib, params_.parallelism,
                                 normalized.value.data(), normalized.value.size(), salt.data(),
                                 salt.size(), params_.hash_bytes, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) {
    return Argon2Error("argon2id hash", rc);
  }
  if (size_t nul = encoded.find('\0'); nul != std::string::npos) {
    encoded.resize(nul);
  }
  return encoded;
}

Result<bool> PasswordHasher::Verify(std::string_view password, std::string_view encoded) const {
  if (password.size() > policy_.max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument, "password is too long");
  }
  CG_RETURN_IF_ERROR(ParseArgon2Encoded(encoded));
  CG_ASSIGN_OR_RETURN(std::string normalized_text, NormalizePassword(password));
  Wiped<std::string> normalized{std::move(normalized_text)};
  std::string encoded_z(encoded);  // argon2id_verify wants a C string
  int rc = argon2id_verify(encoded_z.c_str(), normalized.value.data(), normalized.value.size());
  if (rc == ARGON2_OK) {
    return true;
  }
  if (rc == ARGON2_VERIFY_MISMATCH) {
    return false;
  }
  return Argon2Error("argon2id verify", rc);
}

bool PasswordHasher::NeedsRehash(std::string_view encoded) const {
  Result<Argon2Encoded> parsed = ParseArgon2Encoded(encoded);
  if (!parsed.ok()) {
    return true;
  }
  return parsed->m_cost_kib != params_.m_cost_kib || parsed->t_cost != params_.t_cost ||
         parsed->parallelism != params_.parallelism || parsed->salt_bytes != params_.salt_bytes ||
         parsed->hash_bytes != params_.hash_bytes;
}

}  // namespace cg::soc::auth

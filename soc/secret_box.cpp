// AES-256-GCM sealing with OpenSSL's EVP interface.
#include "soc/secret_box.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <utility>

#include "common/ids.h"
#include "platform/os/files.h"
#include "platform/os/private_files.h"

namespace cg::soc {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr std::string_view kPrefix = "v1:";

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Error CryptoError(std::string_view what) {
  return MakeError(ErrorCode::kInternal, std::string("secret box: ") + std::string(what));
}

}  // namespace

Result<SecretBox> SecretBox::FromKey(std::string key) {
  if (key.size() != kSecretBoxKeyBytes) {
    return MakeError(ErrorCode::kInvalidArgument, "the secret key must be 32 bytes");
  }
  return SecretBox(std::move(key));
}

Result<SecretBox> SecretBox::FromKeyFile(const std::string& path, bool create) {
  if (!FileExists(path)) {
    if (!create) {
      return MakeError(ErrorCode::kNotFound, path + ": no such key file");
    }
    std::string key(kSecretBoxKeyBytes, '\0');
    if (RAND_bytes(U(key), static_cast<int>(key.size())) != 1) {
      return CryptoError("the random generator failed");
    }
    CG_RETURN_IF_ERROR(WriteFileAtomic(path, Base64Encode(key) + "\n", 0600));
  }
  CG_RETURN_IF_ERROR(CheckPrivateFile(path, "the TOTP secret key"));
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 4096));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  auto key = Base64Decode(text);
  if (!key.ok() || key->size() != kSecretBoxKeyBytes) {
    return MakeError(ErrorCode::kParse, path + ": not a 32-byte key in base64");
  }
  return SecretBox(std::move(key).value());
}

Result<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view bound_to) const {
  std::string nonce(kNonceBytes, '\0');
  if (RAND_bytes(U(nonce), static_cast<int>(nonce.size())) != 1) {
    return CryptoError("the random generator failed");
  }
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size(), '\0');
  std::string tag(kTagBytes, '\0');
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(bound_to), static_cast<int>(bound_to.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), U(out), &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), U(out) + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, U(tag)) != 1) {
    return CryptoError("sealing failed");
  }
  return std::string(kPrefix) + Base64Encode(nonce + out + tag);
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view bound_to) const {
  const auto refused = [] {
    return MakeError(ErrorCode::kPermissionDenied,
                     "a sealed secret does not open with this SOC's key (was the key file "
                     "replaced, or the database copied from another SOC?)");
  };
  if (!sealed.starts_with(kPrefix)) {
    return refused();
  }
  auto raw = Base64Decode(sealed.substr(kPrefix.size()));
  if (!raw.ok() || raw->size() < kNonceBytes + kTagBytes) {
    return refused();
  }
  const std::string_view all(*raw);
  const std::string_view nonce = all.substr(0, kNonceBytes);
  const std::string_view body = all.substr(kNonceBytes, all.size() - kNonceBytes - kTagBytes);
  std::string tag(all.substr(all.size() - kTagBytes));
  std::string out(body.size(), '\0');
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key_), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(bound_to), static_cast<int>(bound_to.size())) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), U(out), &len, U(body), static_cast<int>(body.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, U(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), U(out) + len, &len) != 1) {
    return refused();
  }
  return out;
}

}  // namespace cg::soc

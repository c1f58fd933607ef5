// Sealing of the secrets the SOC must be able to read back (TOTP secrets): AES-256-GCM under a
// key kept in a file of the data dir (0600), so that a copy of the database alone does not
// give them. Each sealed value is bound to what it belongs to (an account id), so a value
// copied to another row does not open.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::soc {

inline constexpr size_t kSecretBoxKeyBytes = 32;

class SecretBox {
 public:
  // A key of exactly 32 bytes.
  static Result<SecretBox> FromKey(std::string key);
  // Reads the key file (which must be private: platform/os/private_files.h), creating it with a
  // random key (0600) when `create` and it does not exist.
  static Result<SecretBox> FromKeyFile(const std::string& path, bool create);

  // "v1:" + base64(nonce 12 | ciphertext | tag 16).
  Result<std::string> Seal(std::string_view plaintext, std::string_view bound_to) const;
  // kPermissionDenied when the value was not sealed by this key for `bound_to` (or altered).
  Result<std::string> Open(std::string_view sealed, std::string_view bound_to) const;

 private:
  explicit SecretBox(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

}  // namespace cg::soc

// platform/os/secret_file.h on Linux: the file mode (0600, root-only state dir) is the
// protection; the bytes on disk are the secret.
#include "platform/os/secret_file.h"

#include "platform/os/files.h"

namespace cg {

Status WriteSecretFile(const std::string& path, std::string_view secret) {
  return WriteFileAtomic(path, secret, 0600);
}

Result<std::string> ReadSecretFile(const std::string& path, size_t max_bytes) {
  return ReadFileToString(path, max_bytes);
}

Result<bool> SecretFileIsProtected(const std::string& path) {
  if (!FileExists(path)) {
    return MakeError(ErrorCode::kNotFound, path + ": no such file");
  }
  return false;
}

}  // namespace cg

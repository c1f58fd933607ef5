// A secret of the program's own (the device's private key) at rest. On Linux the file is the
// secret itself, mode 0600 in a root-only directory; on Windows it is additionally encrypted
// with DPAPI in machine scope (CryptProtectData with CRYPTPROTECT_LOCAL_MACHINE), so that a
// copy of the disk or of the file taken to another machine does not give the key away.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace cg {

// WriteFileAtomic(path, protect(secret), 0600).
Status WriteSecretFile(const std::string& path, std::string_view secret);

// The secret WriteSecretFile stored. On Windows a file that is not a DPAPI blob (a key
// written before keys were protected, or put there by hand) is returned as it is.
Result<std::string> ReadSecretFile(const std::string& path, size_t max_bytes = 1u << 20);

// Whether the file holds the secret protected by the OS (always false on Linux, where the
// file mode is the protection).
Result<bool> SecretFileIsProtected(const std::string& path);

}  // namespace cg

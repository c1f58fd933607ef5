// platform/os/secret_file.h on Windows: DPAPI in machine scope. The file is a header line
// naming the format, then the blob CryptProtectData made; it also gets the protected SYSTEM +
// Administrators ACL (mode 0600, platform/windows/os/files.cpp). Machine scope because the
// key belongs to the device, not to an account: the service runs as LocalSystem and the
// administrator's `cg-agent enroll` writes the same key. Any process on the machine may ask
// DPAPI to decrypt a machine-scope blob, so the ACL keeps other users out and DPAPI keeps the
// key bound to this machine (a copied disk or file is useless elsewhere).
#include "platform/os/secret_file.h"

// clang-format off
#include <windows.h>
#include <dpapi.h>
// clang-format on

#include <memory>

#include "platform/os/files.h"
#include "platform/windows/win32_error.h"

namespace cg {
namespace {

using platform::windows::LastWin32Error;

constexpr std::string_view kHeader = "CounterGuard DPAPI machine v1\n";
// Optional entropy: another program's machine-scope blob is not accepted as ours, nor ours
// decrypted by a program that does not name it.
constexpr std::string_view kEntropy = "CounterGuard device secret";

struct LocalFreer {
  void operator()(void* p) const { LocalFree(p); }
};

DATA_BLOB Blob(std::string_view bytes) {
  return DATA_BLOB{static_cast<DWORD>(bytes.size()),
                   reinterpret_cast<BYTE*>(const_cast<char*>(bytes.data()))};
}

}  // namespace

Status WriteSecretFile(const std::string& path, std::string_view secret) {
  if (secret.size() > (1u << 20)) {
    return MakeError(ErrorCode::kTooLarge, path + ": secret larger than 1 MiB");
  }
  DATA_BLOB in = Blob(secret);
  DATA_BLOB entropy = Blob(kEntropy);
  DATA_BLOB out{};
  if (!CryptProtectData(&in, L"CounterGuard", &entropy, nullptr, nullptr,
                        CRYPTPROTECT_LOCAL_MACHINE | CRYPTPROTECT_UI_FORBIDDEN, &out)) {
    return LastWin32Error("CryptProtectData for " + path);
  }
  std::unique_ptr<void, LocalFreer> owned(out.pbData);
  std::string file(kHeader);
  file.append(reinterpret_cast<const char*>(out.pbData), out.cbData);
  return WriteFileAtomic(path, file, 0600);
}

Result<std::string> ReadSecretFile(const std::string& path, size_t max_bytes) {
  CG_ASSIGN_OR_RETURN(std::string file, ReadFileToString(path, max_bytes + 4096));
  if (!file.starts_with(kHeader)) {
    if (file.size() > max_bytes) {
      return MakeError(ErrorCode::kTooLarge, path + ": larger than " + std::to_string(max_bytes));
    }
    return file;  // not protected (yet): written before protection or by hand
  }
  DATA_BLOB in = Blob(std::string_view(file).substr(kHeader.size()));
  DATA_BLOB entropy = Blob(kEntropy);
  DATA_BLOB out{};
  if (!CryptUnprotectData(&in, nullptr, &entropy, nullptr, nullptr, CRYPTPROTECT_UI_FORBIDDEN,
                          &out)) {
    // A blob of another machine, or a damaged file: the key is unusable here.
    return LastWin32Error(path +
                          ": CryptUnprotectData (a key protected on another machine, "
                          "or a damaged file)");
  }
  std::unique_ptr<void, LocalFreer> owned(out.pbData);
  std::string secret(reinterpret_cast<const char*>(out.pbData), out.cbData);
  SecureZeroMemory(out.pbData, out.cbData);
  return secret;
}

Result<bool> SecretFileIsProtected(const std::string& path) {
  CG_ASSIGN_OR_RETURN(std::string file, ReadFileToString(path, 1u << 21));
  return file.starts_with(kHeader);
}

}  // namespace cg

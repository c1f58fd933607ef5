// Local accounts of a Linux machine, read through a FileSystem (the rooted one in production,
// the in-memory fake in unit tests) and parsed by account_files.h.
#pragma once

#include <memory>

#include "platform/platform.h"

namespace cg::platform::linux_ {

class LinuxAccounts final : public Accounts {
 public:
  // Borrows `fs`, which must outlive this object (the fake platform's wiring).
  explicit LinuxAccounts(const FileSystem& fs) : fs_(&fs) {}
  // Owns its file system (the native wiring, so replacing Platform::fs leaves this intact).
  explicit LinuxAccounts(std::unique_ptr<const FileSystem> fs) : owned_(std::move(fs)) {
    fs_ = owned_.get();
  }

  // /etc/passwd and /etc/shadow must be readable (a missing or unreadable file is its error,
  // e.g. kPermissionDenied for /etc/shadow when not root); /etc/login.defs and /etc/shells
  // are optional (missing: defaults, and any shell outside the no-login list counts).
  Result<AccountDatabase> Read() const override;

 private:
  std::unique_ptr<const FileSystem> owned_;
  const FileSystem* fs_ = nullptr;
};

}  // namespace cg::platform::linux_

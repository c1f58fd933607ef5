// The machine's files under a root directory: "/" on a live machine, a fixture tree in tests
// and for `cg-agent check --root DIR`. Symlinks are resolved here, inside the root, so a
// fixture tree may contain links (absolute ones included) and nothing read escapes it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "platform/platform.h"

namespace cg::platform::linux_ {

class RootedFileSystem final : public FileSystem {
 public:
  // `root` must be an existing directory; it is canonicalised (realpath) once here so that
  // host paths are stable. Copies are cheap and independent (the object is just the root).
  static Result<std::unique_ptr<RootedFileSystem>> Create(const std::string& root);

  Result<std::string> ReadFile(std::string_view path, size_t max_bytes = 16u << 20) const override;
  Result<std::string> ReadFileRange(std::string_view path, uint64_t offset,
                                    size_t length) const override;
  Result<std::vector<DirEntry>> ListDir(std::string_view path) const override;
  Result<FileInfo> Stat(std::string_view path) const override;
  // Parent directories are created (0755); the file gets `mode` whatever the umask. A final
  // symlink is followed (inside the root), so a linked config file stays linked.
  Status WriteFileAtomic(std::string_view path, std::string_view data, uint32_t mode) override;
  Status RemoveFile(std::string_view path) override;
  // Lexical join of the root and the normalised path; symlinks are NOT resolved. Use
  // ResolveHostPath before handing a path to the kernel for anything but display.
  std::string HostPath(std::string_view path) const override;
  const std::string& root() const override { return root_; }

  // The host path of `path` with every symlink resolved inside the root (the final one too
  // when `follow_final`), for connect()/exec()/stat() by the other Linux components.
  // kNotFound when a component is missing.
  Result<std::string> ResolveHostPath(std::string_view path, bool follow_final = true) const;
  // The raw target of the symlink at `path` (as the machine would see it: an absolute target
  // is a machine path).
  Result<std::string> ReadLink(std::string_view path) const;

 private:
  explicit RootedFileSystem(std::string root) : root_(std::move(root)) {}

  std::string root_;
};

}  // namespace cg::platform::linux_

// The machine's files on Windows. Machine paths are Windows paths in UTF-8
// ("C:\ProgramData\CounterGuard", '/' accepted too). With the root "/" (a live machine) they are
// used as they are; with another root (a fixture tree, `cg-agent check --root DIR`) a path is
// looked up below it, its drive letter becoming a directory ("C:\Windows\x" ->
// "<root>\C\Windows\x"), so a fixture holds paths of several drives. Every open shares read, write
// and delete: reading a file never blocks the clerk's program that has it open, nor its rename or
// deletion.
#pragma once

#include <string>
#include <string_view>

#include "platform/platform.h"

namespace cg::platform::windows {

class WindowsFileSystem final : public FileSystem {
 public:
  // `root` "/" (or empty) for the live machine, otherwise an existing directory.
  static Result<std::unique_ptr<WindowsFileSystem>> Create(const std::string& root);

  Result<std::string> ReadFile(std::string_view path, size_t max_bytes = 16u << 20) const override;
  Result<std::string> ReadFileRange(std::string_view path, uint64_t offset,
                                    size_t length) const override;
  Result<std::vector<DirEntry>> ListDir(std::string_view path) const override;
  // A reparse point (symlink, junction) is reported as kSymlink and not followed. `mode` is
  // 0444/0644 (read-only attribute) or 0755 for directories; uid/gid are 0 (Windows has SIDs).
  Result<FileInfo> Stat(std::string_view path) const override;
  // Parent directories are created; temp file + FlushFileBuffers + MoveFileExW(REPLACE_EXISTING
  // | WRITE_THROUGH). A mode without group/other bits gets the SYSTEM + Administrators ACL.
  Status WriteFileAtomic(std::string_view path, std::string_view data, uint32_t mode) override;
  Status RemoveFile(std::string_view path) override;
  std::string HostPath(std::string_view path) const override;
  const std::string& root() const override { return root_; }

 private:
  explicit WindowsFileSystem(std::string root) : root_(std::move(root)) {}

  std::string root_;  // "/" or a directory
};

}  // namespace cg::platform::windows

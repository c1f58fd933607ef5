// Between WalkFiles (platform/scan_io.cpp) and the per-OS walkers: WalkFiles checks its options
// once, the same way on every OS, and hands them to the walker of platform/linux or
// platform/windows; both walkers filter what they find with the same WalkFilter. Not for use
// outside platform/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/scan_io.h"

namespace cg::platform {

// Walks options.roots in order until the visitor asks to stop. WalkFiles has checked the
// options: at least one root, none empty, max_depth >= 1.
void WalkCheckedRoots(const WalkOptions& options, WalkVisitor& visitor);

// What WalkOptions' include and exclude globs and skip_extensions decide, the same on every OS.
// Globs see machine paths: '/' separators, without the machine root.
class WalkFilter {
 public:
  // `separator` is the host's: with '\' (Windows), host paths and the machine root have their
  // '\' turned into '/' before globs see them.
  explicit WalkFilter(const WalkOptions& options, char separator = '/');

  // The machine root with '/' separators and without a trailing '/': "" when it is "/".
  const std::string& machine_root() const { return machine_root_; }

  // `host` (with '/' separators) as the policy names it: without the machine root
  // ("/mnt/pc/home/a" -> "/home/a" under "/mnt/pc"; the machine root itself -> "/"). A path
  // that is not below the machine root ("/mnt/pc2/x") is returned unchanged.
  std::string_view MachinePath(std::string_view host) const;

  // Why a regular file is not scanned under these options, in this order: an exclude glob
  // matches it (kExcluded), include globs are given and none matches (kNotIncluded), its
  // extension is listed (kExtension, compared without ASCII case). nullopt: it is scanned.
  // `name` is the file's last path component.
  std::optional<SkipReason> SkipFile(std::string_view host, std::string_view name) const;

  // A directory not to enter: an exclude glob matches it, or a glob "<pattern>/**" whose
  // <pattern> matches it (nothing below it could be scanned).
  bool ExcludedDir(std::string_view host) const;

 private:
  // `host` with '/' separators (a copy in `storage` when the host's are '\').
  std::string_view Slashed(std::string_view host, std::string& storage) const;
  bool MatchesAny(const std::vector<std::string>& globs, std::string_view host) const;
  bool SkippedExtension(std::string_view name) const;

  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  std::vector<std::string> extensions_;  // lower case, without the dot
  std::string machine_root_;
  char separator_;
};

}  // namespace cg::platform

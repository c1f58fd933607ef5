// Machine-path arithmetic shared by the rooted file system (platform/linux) and the in-memory
// fake (platform/fake): lexical normalisation and symlink resolution that never leaves a root.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cg::platform {

// The kernel's own limit on symlinks followed during one lookup (MAXSYMLINKS); beyond it a
// lookup is a loop (ELOOP).
inline constexpr int kMaxSymlinkFollows = 40;

// Components of a path, without empty and "." components ("/a//./b/" -> {"a", "b"}).
std::vector<std::string> SplitPath(std::string_view path);

// Lexical normalisation to an absolute machine path: "a/./b/../c" -> "/a/c". ".." at the top
// stays at "/", as the kernel does for "/..".
std::string NormalizeMachinePath(std::string_view path);

// "/" + components joined by "/".
std::string JoinComponents(const std::vector<std::string>& components);

// The host path of a normalised machine path under `root` ("/" maps a path to itself).
std::string JoinRoot(const std::string& root, const std::string& machine_path);

// What a lookup found at one (already resolved) machine path.
struct PathNode {
  enum class Kind { kMissing, kDirectory, kSymlink, kOther };
  Kind kind = Kind::kMissing;
  std::string link_target;  // raw readlink() text for kSymlink
};

// Looks one resolved machine path up (lstat semantics) and returns 0 or an errno value.
using PathLookup = std::function<int(const std::string& machine_path, PathNode& node)>;

enum class FinalLink { kFollow, kNoFollow };
enum class MissingTail { kError, kAppend };

struct ResolvedPath {
  std::string path;  // machine path free of symlinks (except a final one kept by kNoFollow)
  int err = 0;       // errno value when resolution failed: ENOENT, ENOTDIR, ELOOP, EACCES...
};

// Resolves `path` component by component the way the kernel would if `root` were the
// process's root directory: an absolute link target restarts at the root, ".." never climbs
// above it, more than kMaxSymlinkFollows links is ELOOP. With MissingTail::kAppend a missing
// component ends the lookup and the rest of the path is appended lexically (for creating
// files and directories); with kError it is ENOENT.
ResolvedPath ResolvePath(std::string_view path, FinalLink final_link, MissingTail missing,
                         const PathLookup& lookup);

}  // namespace cg::platform

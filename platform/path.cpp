// Lexical path handling and in-root symlink resolution (see path.h).
#include "platform/path.h"

#include <cerrno>
#include <deque>

namespace cg::platform {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t slash = path.find('/', pos);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    const std::string_view part = path.substr(pos, end - pos);
    if (!part.empty() && part != ".") {
      out.emplace_back(part);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    pos = slash + 1;
  }
  return out;
}

std::string JoinComponents(const std::vector<std::string>& components) {
  if (components.empty()) {
    return "/";
  }
  std::string out;
  for (const auto& c : components) {
    out += '/';
    out += c;
  }
  return out;
}

std::string NormalizeMachinePath(std::string_view path) {
  std::vector<std::string> out;
  for (auto& c : SplitPath(path)) {
    if (c == "..") {
      if (!out.empty()) {
        out.pop_back();
      }
    } else {
      out.push_back(std::move(c));
    }
  }
  return JoinComponents(out);
}

std::string JoinRoot(const std::string& root, const std::string& machine_path) {
  if (root == "/") {
    return machine_path;
  }
  if (machine_path == "/") {
    return root;
  }
  return root + machine_path;
}

ResolvedPath ResolvePath(std::string_view path, FinalLink final_link, MissingTail missing,
                         const PathLookup& lookup) {
  const auto parts = SplitPath(path);
  std::deque<std::string> pending(parts.begin(), parts.end());
  // Invariant: `resolved` names an existing directory free of symlinks (or, once
  // `tail_missing`, such a directory followed by names to be created), so ".." can be
  // applied lexically and can never rise above the root.
  std::vector<std::string> resolved;
  int follows = 0;
  bool tail_missing = false;
  while (!pending.empty()) {
    std::string component = std::move(pending.front());
    pending.pop_front();
    if (component == "..") {
      if (!resolved.empty()) {
        resolved.pop_back();
      }
      continue;
    }
    resolved.push_back(std::move(component));
    if (tail_missing) {
      continue;
    }
    const bool is_final = pending.empty();
    PathNode node;
    if (const int err = lookup(JoinComponents(resolved), node); err != 0) {
      return {JoinComponents(resolved), err};
    }
    switch (node.kind) {
      case PathNode::Kind::kMissing:
        if (missing == MissingTail::kError) {
          return {JoinComponents(resolved), ENOENT};
        }
        tail_missing = true;
        break;
      case PathNode::Kind::kDirectory:
        break;
      case PathNode::Kind::kSymlink: {
        if (is_final && final_link == FinalLink::kNoFollow) {
          break;
        }
        if (++follows > kMaxSymlinkFollows) {
          return {JoinComponents(resolved), ELOOP};
        }
        resolved.pop_back();
        if (!node.link_target.empty() && node.link_target.front() == '/') {
          resolved.clear();  // an absolute target is re-rooted, not taken from the host
        }
        const auto target = SplitPath(node.link_target);
        pending.insert(pending.begin(), target.begin(), target.end());
        break;
      }
      case PathNode::Kind::kOther:
        if (!is_final) {
          return {JoinComponents(resolved), ENOTDIR};
        }
        break;
    }
  }
  return {JoinComponents(resolved), 0};
}

}  // namespace cg::platform

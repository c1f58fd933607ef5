// A temporary directory tree for tests of the rooted Linux platform: files, links and
// directories are created relative to its root, and the whole tree is removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace cg::testing {

class TempTree {
 public:
  explicit TempTree(std::string_view prefix = "cg-tree") {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    root_ = std::filesystem::canonical(tmpl).string();
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return root_; }
  // Host path of a path relative to the root ("etc/shadow" or "/etc/shadow").
  std::string Host(std::string_view rel) const {
    while (!rel.empty() && rel.front() == '/') {
      rel.remove_prefix(1);
    }
    return root_ + "/" + std::string(rel);
  }
  void Put(std::string_view rel, std::string_view content,
           std::filesystem::perms mode = std::filesystem::perms(0644)) const {
    const std::filesystem::path p = Host(rel);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    std::filesystem::permissions(p, mode);
  }
  void Link(std::string_view rel, std::string_view target) const {
    const std::filesystem::path p = Host(rel);
    std::filesystem::create_directories(p.parent_path());
    std::filesystem::create_symlink(std::string(target), p);
  }
  void Dir(std::string_view rel) const { std::filesystem::create_directories(Host(rel)); }
  // Copies a directory tree (e.g. a fixture) into the root.
  void CopyFrom(const std::string& source) const {
    std::filesystem::copy(
        source, root_,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  }

 private:
  std::string root_;
};

}  // namespace cg::testing

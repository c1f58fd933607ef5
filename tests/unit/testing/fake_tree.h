// A fixture directory loaded into a FakeFileSystem: collector tests judge fixture trees through
// the fake platform, and only platform tests go through the real Linux file system.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "platform/fake/fake_platform.h"

namespace cg::testing {

// Every file (content and permission bits), directory and symlink (its target as written)
// under `host_dir`, at the same machine path under "/".
inline void LoadFakeTree(platform::fake::FakeFileSystem& fs, const std::string& host_dir) {
  namespace stdfs = std::filesystem;
  std::error_code ec;
  for (stdfs::recursive_directory_iterator it(host_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const stdfs::path& host = it->path();
    const std::string path = "/" + stdfs::relative(host, host_dir).generic_string();
    const auto status = it->symlink_status();
    const auto mode = static_cast<uint32_t>(status.permissions() & stdfs::perms::mask);
    if (stdfs::is_symlink(status)) {
      fs.AddSymlink(path, stdfs::read_symlink(host).string());
    } else if (stdfs::is_directory(status)) {
      fs.AddDir(path, mode);
    } else if (stdfs::is_regular_file(status)) {
      std::ifstream in(host, std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      fs.AddFile(path, content.str(), mode);
    }
  }
  if (ec) {
    ADD_FAILURE() << "loading " << host_dir << ": " << ec.message();
  }
}

}  // namespace cg::testing

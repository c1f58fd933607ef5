// platform/os/private_files.h on Linux: what the SOC and cgctl refuse to run with (a data dir or
// a secret file that group or others may use, or that is not what it should be), with the fix
// in the message; and the descriptor limit raised to the hard limit.
#include "platform/os/private_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cg {
namespace {

namespace stdfs = std::filesystem;
using ::testing::HasSubstr;

class PrivateFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (stdfs::temp_directory_path() / "cg-private.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ignored;
    stdfs::remove_all(dir_, ignored);
  }
  // A file with `mode`, set after creation so that the umask does not matter.
  std::string File(const std::string& name, stdfs::perms mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "secret";
    stdfs::permissions(path, mode);
    return path;
  }

  std::string dir_;
};

TEST_F(PrivateFilesTest, ADirectoryOnlyItsOwnerMayUse) {
  stdfs::permissions(dir_, stdfs::perms::owner_all);
  EXPECT_TRUE(CheckPrivateDirectory(dir_).ok());

  stdfs::permissions(dir_, stdfs::perms::owner_all | stdfs::perms::group_read |
                               stdfs::perms::group_exec | stdfs::perms::others_read |
                               stdfs::perms::others_exec);
  const Status open = CheckPrivateDirectory(dir_);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(open.error().message, HasSubstr("(mode 0755); fix: chmod 700 " + dir_));

  // A symbolic link to a directory is not the directory.
  stdfs::permissions(dir_, stdfs::perms::owner_all);
  const std::string sub = dir_ + "/data";
  stdfs::create_directory(sub);
  stdfs::permissions(sub, stdfs::perms::owner_all);
  stdfs::create_directory_symlink(sub, dir_ + "/link");
  EXPECT_TRUE(CheckPrivateDirectory(sub).ok());
  EXPECT_THAT(CheckPrivateDirectory(dir_ + "/link").error().message,
              HasSubstr("is not a directory"));
  EXPECT_EQ(CheckPrivateDirectory(dir_ + "/missing").error().code, ErrorCode::kNotFound);
}

TEST_F(PrivateFilesTest, ASecretFileNeitherGroupNorOthersMayReadOrWrite) {
  const std::string key = File("ca.key", stdfs::perms::owner_read | stdfs::perms::owner_write);
  EXPECT_TRUE(CheckPrivateFile(key, "the CA key").ok());

  const std::string shared = File(
      "token", stdfs::perms::owner_read | stdfs::perms::owner_write | stdfs::perms::group_read);
  const Status readable = CheckPrivateFile(shared, "the admin token");
  ASSERT_FALSE(readable.ok());
  EXPECT_EQ(readable.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(readable.error().message,
            "the admin token " + shared +
                " is readable or writable by group or others (mode 0640); fix: chmod 600 " +
                shared);

  EXPECT_THAT(CheckPrivateFile(dir_, "the CA key").error().message,
              HasSubstr("is not a regular file"));
  stdfs::create_symlink(key, dir_ + "/key-link");
  EXPECT_THAT(CheckPrivateFile(dir_ + "/key-link", "the CA key").error().message,
              HasSubstr("nor may it be a symbolic link"));
  EXPECT_EQ(CheckPrivateFile(dir_ + "/missing", "the CA key").error().code, ErrorCode::kNotFound);
}

TEST_F(PrivateFilesTest, AFileOfAnotherUserIsRefusedWithTheChownThatFixesIt) {
  const std::string key = File("server.key", stdfs::perms::owner_read | stdfs::perms::owner_write);
  if (geteuid() != 0) {
    GTEST_SKIP() << "giving a file to another user needs root";
  }
  ASSERT_EQ(chown(key.c_str(), 65534, 65534), 0);
  const Status foreign = CheckPrivateFile(key, "the server key");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(
      foreign.error().message,
      "the server key " + key + " belongs to user id 65534, not to this user; fix: chown 0 " + key);
}

TEST(FileDescriptorLimitTest, RaisedToTheHardLimit) {
  auto limit = RaiseFileDescriptorLimit();
  ASSERT_TRUE(limit.ok()) << limit.error().ToString();
  struct rlimit now {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, now.rlim_max);
  if (now.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(*limit, static_cast<size_t>(now.rlim_cur));
  }
}

}  // namespace
}  // namespace cg

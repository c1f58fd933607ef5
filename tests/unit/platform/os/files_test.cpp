// Durable writes: content, mode regardless of umask, no temporary files left behind.
#include "platform/os/files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace cg {
namespace {

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cg-files.XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FilesTest, AtomicWriteReplacesContentWithMode) {
  const std::string path = dir_ + "/key.pem";
  const mode_t old = umask(0);
  ASSERT_TRUE(WriteFileAtomic(path, "first", 0600).ok());
  umask(old);
  ASSERT_TRUE(WriteFileAtomic(path, "second", 0600).ok());
  EXPECT_EQ(*ReadFileToString(path), "second");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);  // no temporary file left behind
}

TEST_F(FilesTest, ReadRefusesOversizedAndMissingFiles) {
  const std::string path = dir_ + "/big";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(1000, 'x')).ok());
  auto r = ReadFileToString(path, 999);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kTooLarge);
  auto missing = ReadFileToString(dir_ + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);
}

TEST_F(FilesTest, EnsureDirectorySetsMode) {
  const std::string path = dir_ + "/a/b/state";
  ASSERT_TRUE(EnsureDirectory(path, 0700).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(EnsureDirectory(path, 0700).ok());  // idempotent
}

TEST_F(FilesTest, ReadableByOthersFollowsTheGroupAndOtherBits) {
  const std::string path = dir_ + "/enroll.token";
  ASSERT_TRUE(WriteFileAtomic(path, "tok\n", 0600).ok());
  auto private_file = ReadableByOthers(path);
  ASSERT_TRUE(private_file.ok()) << private_file.error().ToString();
  EXPECT_EQ(*private_file, std::nullopt);
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  auto group = ReadableByOthers(path);
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(*group, std::optional<std::string>("mode 640"));
  EXPECT_EQ(ReadableByOthers(dir_ + "/nope").error().code, ErrorCode::kNotFound);
}

TEST_F(FilesTest, WriteIntoMissingDirectoryFailsClearly) {
  auto s = WriteFileAtomic(dir_ + "/no/such/dir/file", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no/such/dir"), std::string::npos);
}

}  // namespace
}  // namespace cg

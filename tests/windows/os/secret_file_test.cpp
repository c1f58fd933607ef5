// platform/os/secret_file.h on Windows: the device key is stored as a DPAPI machine-scope blob
// (Wine implements CryptProtectData; its machine key lives in the prefix), read back
// transparently; a damaged blob is an error, never a wrong key; a plain PEM written before
// protection still reads.
#include "platform/os/secret_file.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <filesystem>

#include "platform/os/files.h"

namespace cg {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cg-secret-" + std::to_string(GetCurrentProcessId()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

constexpr std::string_view kPem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc2VjcmV0IGtleSBt\n"
    "-----END PRIVATE KEY-----\n";

TEST_F(SecretFileTest, KeyIsDpapiProtectedOnDiskAndReadsBack) {
  const std::string path = Path("device.key");
  const Status written = WriteSecretFile(path, kPem);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  const std::string on_disk = *ReadFileToString(path);
  EXPECT_EQ(on_disk.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(on_disk.find("MIGHAgEAMBMG"), std::string::npos);
  EXPECT_TRUE(*SecretFileIsProtected(path));
  auto read = ReadSecretFile(path);
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(*read, kPem);
}

TEST_F(SecretFileTest, DamagedBlobIsAnErrorWithTheWin32Code) {
  const std::string path = Path("device.key");
  ASSERT_TRUE(WriteSecretFile(path, kPem).ok());
  std::string blob = *ReadFileToString(path);
  blob[blob.size() - 5] ^= 0x5a;  // inside the blob's MAC-protected data
  ASSERT_TRUE(WriteFileAtomic(path, blob, 0600).ok());
  auto read = ReadSecretFile(path);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("CryptUnprotectData"), std::string::npos)
      << read.error().message;
  EXPECT_NE(read.error().message.find("(Win32 error "), std::string::npos) << read.error().message;
}

TEST_F(SecretFileTest, PlainPemFromBeforeProtectionStillReads) {
  const std::string path = Path("old.key");
  ASSERT_TRUE(WriteFileAtomic(path, kPem, 0600).ok());
  EXPECT_FALSE(*SecretFileIsProtected(path));
  EXPECT_EQ(*ReadSecretFile(path), kPem);
}

TEST_F(SecretFileTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadSecretFile(Path("missing.key")).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cg

// platform/os/secret_file.h on Linux: the bytes on disk are the secret and the file is 0600
// (the Windows DPAPI form is tested under Wine, tests/windows/os/secret_file_test.cpp).
#include "platform/os/secret_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "platform/os/files.h"

namespace cg {
namespace {

TEST(SecretFileTest, LinuxKeepsTheSecretAsIsWithMode0600) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cg-secret.XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string path = tmpl + "/device.key";
  const std::string pem = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
  const mode_t old = umask(0);
  const Status written = WriteSecretFile(path, pem);
  umask(old);
  ASSERT_TRUE(written.ok()) << written.error().ToString();
  EXPECT_EQ(*ReadFileToString(path), pem);
  EXPECT_EQ(*ReadSecretFile(path), pem);
  EXPECT_FALSE(*SecretFileIsProtected(path));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadSecretFile(tmpl + "/missing").error().code, ErrorCode::kNotFound);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace cg

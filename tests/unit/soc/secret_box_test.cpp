// Tests for soc/secret_box.cpp: AES-256-GCM sealing of TOTP secrets under the data dir's key.
#include "soc/secret_box.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using testing::TempDir;

TEST(SecretBoxTest, SealedSecretsOpenOnlyWithTheKeyAndForWhatTheyWereSealedFor) {
  TempDir dir;
  auto box = SecretBox::FromKeyFile(dir.File("secrets.key"), /*create=*/true);
  ASSERT_TRUE(box.ok()) << box.error().ToString();
  struct stat st {};
  ASSERT_EQ(stat(dir.File("secrets.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const std::string secret("\x01\x02totp secret bytes\x00\xff", 22);
  auto sealed = box->Seal(secret, "account-1");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->rfind("v1:", 0), 0u);
  EXPECT_EQ(sealed->find("totp secret"), std::string::npos);
  EXPECT_NE(*sealed, *box->Seal(secret, "account-1")) << "a fresh nonce each time";
  auto opened = box->Open(*sealed, "account-1");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, secret);

  // Copied to another account's row: refused.
  EXPECT_EQ(box->Open(*sealed, "account-2").error().code, ErrorCode::kPermissionDenied);
  // Altered: refused.
  std::string altered = *sealed;
  altered[10] = altered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->Open(altered, "account-1").ok());
  EXPECT_FALSE(box->Open("v1:", "account-1").ok());
  EXPECT_FALSE(box->Open("plain", "account-1").ok());
  // Another SOC's key (or a replaced key file): refused, with the likely reason.
  auto other = SecretBox::FromKey(std::string(32, 'k'));
  ASSERT_TRUE(other.ok());
  auto foreign = other->Open(*sealed, "account-1");
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("key"), std::string::npos);

  // The same key file, read again, opens it.
  auto reread = SecretBox::FromKeyFile(dir.File("secrets.key"), /*create=*/false);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(*reread->Open(*sealed, "account-1"), secret);
}

TEST(SecretBoxTest, AKeyFileOthersCanReadOrThatIsMissingOrMalformedIsRefused) {
  TempDir dir;
  EXPECT_EQ(SecretBox::FromKeyFile(dir.File("none.key"), /*create=*/false).error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(SecretBox::FromKeyFile(dir.File("secrets.key"), /*create=*/true).ok());
  ASSERT_EQ(chmod(dir.File("secrets.key").c_str(), 0644), 0);
  auto readable = SecretBox::FromKeyFile(dir.File("secrets.key"), /*create=*/false);
  ASSERT_FALSE(readable.ok());
  EXPECT_NE(readable.error().message.find("chmod 600"), std::string::npos)
      << readable.error().message;
  ASSERT_TRUE(WriteFileAtomic(dir.File("short.key"), "c2hvcnQ=\n", 0600).ok());
  EXPECT_EQ(SecretBox::FromKeyFile(dir.File("short.key"), false).error().code, ErrorCode::kParse);
  EXPECT_FALSE(SecretBox::FromKey("short").ok());
}

}  // namespace
}  // namespace cg::soc

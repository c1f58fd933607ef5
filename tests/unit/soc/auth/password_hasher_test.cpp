// Tests soc/auth/password_hasher.cpp: Argon2id PHC strings, verification, parameters, rehash.
#include "soc/auth/password_hasher.h"

#include <gtest/gtest.h>

#include <string>

namespace cg::soc::auth {
namespace {

// Light parameters keep the tests fast; the defaults are exercised once below.
Argon2Params Light() {
  Argon2Params p;
  p.t_cost = 1;
  p.m_cost_kib = 64;
  p.parallelism = 1;
  return p;
}

PasswordHasher MakeHasher(Argon2Params params = Light(), PasswordPolicy policy = {}) {
  auto h = PasswordHasher::Create(params, policy);
  EXPECT_TRUE(h.ok()) << h.error().ToString();
  return std::move(h).value();
}

TEST(PasswordHasherTest, VerifiesTheRightPasswordAndRefusesWrongOnes) {
  PasswordHasher hasher = MakeHasher();
  auto encoded = hasher.Hash("correct horse battery");
  ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
  auto right = hasher.Verify("correct horse battery", *encoded);
  ASSERT_TRUE(right.ok());
  EXPECT_TRUE(*right);
  for (const char* wrong : {"correct horse batterY", "correct horse battery ", "", "x"}) {
    auto r = hasher.Verify(wrong, *encoded);
    ASSERT_TRUE(r.ok()) << wrong;
    EXPECT_FALSE(*r) << wrong;
  }
}

TEST(PasswordHasherTest, VietnamesePasswordsAreHashedAsUtf8) {
  PasswordHasher hasher = MakeHasher();
  auto encoded = hasher.Hash("Mật khẩu đủ dài ơi");
  ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
  EXPECT_TRUE(hasher.Verify("Mật khẩu đủ dài ơi", *encoded).value());
  // Same letters without diacritics are another password.
  EXPECT_FALSE(hasher.Verify("Mat khau du dai oi", *encoded).value());
}

TEST(PasswordHasherTest, SaltIsFreshForEveryHash) {
  PasswordHasher hasher = MakeHasher();
  auto a = hasher.Hash("the same password");
  auto b = hasher.Hash("the same password");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST(PasswordHasherTest, DefaultParametersAreEncodedInThePhcString) {
  PasswordHasher hasher = MakeHasher(Argon2Params{});
  auto encoded = hasher.Hash("correct horse battery");
  ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
  EXPECT_EQ(encoded->rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << *encoded;
  auto parsed = ParseArgon2Encoded(*encoded);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->salt_bytes, 16u);
  EXPECT_EQ(parsed->hash_bytes, 32u);
  EXPECT_FALSE(hasher.NeedsRehash(*encoded));
}

TEST(PasswordHasherTest, ConfiguredParametersAreEncoded) {
  Argon2Params p = Light();
  p.t_cost = 2;
  p.m_cost_kib = 128;
  p.parallelism = 2;
  p.salt_bytes = 24;
  p.hash_bytes = 48;
  PasswordHasher hasher = MakeHasher(p);
  auto encoded = hasher.Hash("correct horse battery");
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->rfind("$argon2id$v=19$m=128,t=2,p=2$", 0), 0u) << *encoded;
  auto parsed = ParseArgon2Encoded(*encoded);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->salt_bytes, 24u);
  EXPECT_EQ(parsed->hash_bytes, 48u);
}

// libargon2's own test vector: src/test.c of the reference implementation
// (github.com/P-H-C/phc-winner-argon2, function main, "Test Argon2id", version 0x13):
//   hashtest(version, 2, 16, 1, "password", "somesalt",
//            "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7",
//            "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ"
//            "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", Argon2_id);
constexpr const char* kReferenceEncoded =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

TEST(PasswordHasherTest, KnownAnswerFromLibargon2TestVectors) {
  Argon2Params p;
  p.t_cost = 2;
  p.m_cost_kib = 1u << 16;
  p.parallelism = 1;
  p.salt_bytes = 8;
  p.hash_bytes = 32;
  PasswordHasher hasher = MakeHasher(p, PasswordPolicy{.min_chars = 1, .max_bytes = 1024});
  std::string salt = "somesalt";
  auto encoded = hasher.HashWithSalt("password", Bytes(salt.begin(), salt.end()));
  ASSERT_TRUE(encoded.ok()) << encoded.error().ToString();
  EXPECT_EQ(*encoded, kReferenceEncoded);
  // And a hash made elsewhere verifies here (any hasher: the string carries its parameters).
  EXPECT_TRUE(MakeHasher().Verify("password", kReferenceEncoded).value());
  EXPECT_FALSE(MakeHasher().Verify("passwore", kReferenceEncoded).value());
}

TEST(PasswordHasherTest, NeedsRehashWhenParametersChange) {
  PasswordHasher old_hasher = MakeHasher();
  auto encoded = old_hasher.Hash("correct horse battery");
  ASSERT_TRUE(encoded.ok());
  EXPECT_FALSE(old_hasher.NeedsRehash(*encoded));

  struct Case {
    const char* name;
    void (*change)(Argon2Params&);
  };
  const Case cases[] = {
      {"memory", [](Argon2Params& p) { p.m_cost_kib = 128; }},
      {"time", [](Argon2Params& p) { p.t_cost = 2; }},
      {"lanes", [](Argon2Params& p) { p.parallelism = 2; }},
      {"salt", [](Argon2Params& p) { p.salt_bytes = 32; }},
      {"tag", [](Argon2Params& p) { p.hash_bytes = 64; }},
  };
  for (const Case& c : cases) {
    Argon2Params p = Light();
    c.change(p);
    PasswordHasher new_hasher = MakeHasher(p);
    EXPECT_TRUE(new_hasher.NeedsRehash(*encoded)) << c.name;
    // The old hash still verifies under the new hasher: upgrade happens after a good login.
    EXPECT_TRUE(new_hasher.Verify("correct horse battery", *encoded).value()) << c.name;
  }
  EXPECT_TRUE(old_hasher.NeedsRehash("not a hash"));
  EXPECT_TRUE(old_hasher.NeedsRehash("$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMa"));
}

TEST(PasswordHasherTest, NewPasswordsAreCheckedWithClearErrors) {
  PasswordHasher hasher = MakeHasher(Light(), PasswordPolicy{.min_chars = 12, .max_bytes = 64});
  struct Case {
    std::string password;
    const char* message_part;  // empty: accepted
  };
  const Case cases[] = {
      {"", "empty"},
      {"abc12", "too short"},
      {"elevenchars", "too short"},
      {"twelve chars", ""},
      // 12 characters, 17 bytes: the minimum counts characters, not bytes.
      {"Nguyễn Văn Aa", ""},
      {"Nguyễn Văn ", "too short"},
      {std::string(65, 'a'), "too long"},
      {std::string(64, 'a'), ""},
      {std::string("abcdefghijkl\xff"), "UTF-8"},
      {std::string("abcdefghijkl\xc0\xaf"), "UTF-8"},  // overlong '/'
  };
  for (const Case& c : cases) {
    Status s = hasher.CheckNewPassword(c.password);
    auto encoded = hasher.Hash(c.password);
    if (std::string(c.message_part).empty()) {
      EXPECT_TRUE(s.ok()) << c.password << ": " << s.error().ToString();
      EXPECT_TRUE(encoded.ok()) << c.password;
    } else {
      ASSERT_FALSE(s.ok()) << c.password;
      EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(s.error().message.find(c.message_part), std::string::npos) << s.error().message;
      // The password itself never appears in the message.
      if (c.password.size() > 3) {
        EXPECT_EQ(s.error().message.find(c.password), std::string::npos);
      }
      EXPECT_FALSE(encoded.ok()) << c.password;
    }
  }
}

TEST(PasswordHasherTest, VerifyRefusesOverlongPasswordsWithoutHashing) {
  PasswordHasher hasher = MakeHasher(Light(), PasswordPolicy{.min_chars = 1, .max_bytes = 16});
  auto encoded = hasher.Hash("short enough");
  ASSERT_TRUE(encoded.ok());
  auto r = hasher.Verify(std::string(17, 'a'), *encoded);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(PasswordHasherTest, MalformedOrHostileHashesAreErrorsNotMatches) {
  PasswordHasher hasher = MakeHasher();
  const char* bad[] = {
      "",
      "plaintext",
      "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=65536,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=65536,t=2,p=1$c29t!XNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$",
      "$argon2id$v=19$m=065536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
  };
  for (const char* encoded : bad) {
    auto r = hasher.Verify("password", encoded);
    EXPECT_FALSE(r.ok()) << encoded;
  }
}

TEST(PasswordHasherTest, CreateRefusesUnusableParameters) {
  Argon2Params p = Light();
  p.t_cost = 0;
  EXPECT_FALSE(PasswordHasher::Create(p).ok());
  p = Light();
  p.m_cost_kib = 8;
  p.parallelism = 2;  // needs 16 KiB
  EXPECT_FALSE(PasswordHasher::Create(p).ok());
  p = Light();
  p.salt_bytes = 4;
  EXPECT_FALSE(PasswordHasher::Create(p).ok());
}

}  // namespace
}  // namespace cg::soc::auth

namespace cg::soc::auth {
namespace {

// "Trần Bình" with precomposed letters (NFC, what Windows and most keyboards send) and
// decomposed ones (NFD: base letter + combining marks, what macOS and some Vietnamese input
// methods send). The same password to the person typing it.
const std::string kNfc = "Tr\xe1\xba\xa7n B\xc3\xacnh 2024!";        // U+1EA7, U+00EC
const std::string kNfd = "Tra\xcc\x82\xcc\x80n Bi\xcc\x80nh 2024!";  // a+U+0302+U+0300, i+U+0300

TEST(PasswordNormalizationTest, ComposedAndDecomposedVietnameseAreTheSamePassword) {
  ASSERT_NE(kNfc, kNfd);
  EXPECT_EQ(NormalizePassword(kNfd).value(), kNfc);
  EXPECT_EQ(NormalizePassword(kNfc).value(), kNfc);
  PasswordHasher hasher = MakeHasher();
  auto from_nfc = hasher.Hash(kNfc);
  ASSERT_TRUE(from_nfc.ok()) << from_nfc.error().ToString();
  EXPECT_TRUE(hasher.Verify(kNfd, *from_nfc).value());
  auto from_nfd = hasher.Hash(kNfd);
  ASSERT_TRUE(from_nfd.ok());
  EXPECT_TRUE(hasher.Verify(kNfc, *from_nfd).value());
  // Diacritics still matter: without them it is another password.
  EXPECT_FALSE(hasher.Verify("Tran Binh 2024!", *from_nfc).value());
}

TEST(PasswordNormalizationTest, CompatibilityFormsFoldAndLengthCountsTheNormalForm) {
  // Full-width digits (an IME in full-width mode) are the ASCII digits under NFKC.
  EXPECT_EQ(NormalizePassword("\xef\xbc\x91\xef\xbc\x92").value(), "12");
  // 12 code points in NFD ("a" + two marks counts 3) but 10 in NFC: too short.
  PasswordHasher hasher = MakeHasher(Light(), PasswordPolicy{.min_chars = 12, .max_bytes = 64});
  const std::string nfd10 = "Tra\xcc\x82\xcc\x80n Binh!";
  ASSERT_EQ(Utf8Length(nfd10).value(), 12u);
  EXPECT_FALSE(hasher.CheckNewPassword(nfd10).ok());
}

TEST(PasswordNormalizationTest, NulAndInvalidUtf8AreRefused) {
  PasswordHasher hasher = MakeHasher();
  Status s = hasher.CheckNewPassword(std::string("twelve chars\0x", 14));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("NUL"), std::string::npos);
  auto encoded = hasher.Hash("correct horse battery");
  ASSERT_TRUE(encoded.ok());
  EXPECT_FALSE(hasher.Verify("correct horse\xff", *encoded).ok());
  EXPECT_FALSE(NormalizePassword("\xc3").ok());
}

}  // namespace
}  // namespace cg::soc::auth

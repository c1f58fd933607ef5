// Random ids, tokens and hashes.
#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace cg {
namespace {

TEST(Ids, UuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto u = NewUuid();
    ASSERT_TRUE(IsUuid(u)) << u;
    EXPECT_EQ(u[14], '4');
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_FALSE(IsUuid("0D4F5C1E-8D2B-4D4A-9C55-2F1B3A4C5D6E"));
  EXPECT_FALSE(IsUuid("0d4f5c1e-8d2b-4d4a-9c55-2f1b3a4c5d6"));
  EXPECT_FALSE(IsUuid("0d4f5c1e+8d2b-4d4a-9c55-2f1b3a4c5d6e"));
}

TEST(Ids, TokensCarryTheRequestedEntropy) {
  const auto t = RandomToken(32);
  EXPECT_EQ(t.size(), 43u);  // 256 bits in base64url without padding
  for (char c : t) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  }
  EXPECT_NE(RandomToken(32), RandomToken(32));
  EXPECT_EQ(RandomToken(16).size(), 22u);
}

TEST(Ids, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Ids, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace cg

namespace cg {
namespace {

TEST(Base64, KnownAnswersAndRoundTrip) {
  struct Case {
    const char* raw;
    const char* b64;
  };
  for (const auto& c : std::vector<Case>{
           {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}}) {
    EXPECT_EQ(Base64Encode(c.raw), c.b64);
    auto d = Base64Decode(c.b64);
    ASSERT_TRUE(d.ok()) << c.b64;
    EXPECT_EQ(*d, c.raw);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all.push_back(static_cast<char>(i));
  }
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

TEST(Base64, RefusesMalformedInput) {
  for (const char* bad : {"Zg=", "Zm9v!A==", "Z===", "Zg==Zg==", "Zm 9v"}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cg

// Tests soc/auth/recovery_codes.cpp: format, hashing, one use each, typing leniency.
#include "soc/auth/recovery_codes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace cg::soc::auth {
namespace {

std::vector<StoredRecoveryCode> Store(const RecoveryCodeSet& set) {
  std::vector<StoredRecoveryCode> stored;
  for (const std::string& h : set.hashes) {
    stored.push_back({h, false});
  }
  return stored;
}

TEST(RecoveryCodesTest, TenGroupedCodesByDefaultAndOnlyHashesToStore) {
  auto set = GenerateRecoveryCodes();
  ASSERT_TRUE(set.ok()) << set.error().ToString();
  ASSERT_EQ(set->codes.size(), 10u);
  ASSERT_EQ(set->hashes.size(), 10u);
  std::set<std::string> distinct;
  for (size_t i = 0; i < 10; ++i) {
    const std::string& code = set->codes[i];
    ASSERT_EQ(code.size(), 19u) << code;  // XXXX-XXXX-XXXX-XXXX
    for (size_t k = 0; k < code.size(); ++k) {
      if (k % 5 == 4) {
        EXPECT_EQ(code[k], '-') << code;
      } else {
        EXPECT_NE(kRecoveryAlphabet.find(code[k]), std::string_view::npos) << code;
      }
    }
    const std::string& hash = set->hashes[i];
    EXPECT_EQ(hash.rfind("sha256$", 0), 0u);
    EXPECT_EQ(hash.size(), 7u + 32 + 1 + 64);
    std::string bare = *NormalizeRecoveryCode(code);
    EXPECT_EQ(hash.find(bare), std::string::npos);  // the code is not in its stored form
    distinct.insert(code);
  }
  EXPECT_EQ(distinct.size(), 10u);
}

TEST(RecoveryCodesTest, EachCodeMatchesItsOwnIndex) {
  auto set = GenerateRecoveryCodes(5);
  ASSERT_TRUE(set.ok());
  auto stored = Store(*set);
  for (size_t i = 0; i < 5; ++i) {
    auto m = MatchRecoveryCode(set->codes[i], stored);
    ASSERT_TRUE(m.ok()) << m.error().ToString();
    EXPECT_EQ(*m, i);
  }
}

TEST(RecoveryCodesTest, OneUseEach) {
  auto set = GenerateRecoveryCodes(3);
  ASSERT_TRUE(set.ok());
  auto stored = Store(*set);
  auto first = MatchRecoveryCode(set->codes[1], stored);
  ASSERT_TRUE(first.ok());
  stored[*first].used = true;  // what the caller does
  auto again = MatchRecoveryCode(set->codes[1], stored);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(again.error().message, "recovery code already used");
  // The others still work.
  EXPECT_EQ(MatchRecoveryCode(set->codes[0], stored).value(), 0u);
  EXPECT_EQ(MatchRecoveryCode(set->codes[2], stored).value(), 2u);
}

TEST(RecoveryCodesTest, WrongCodesAndOtherAccountsCodesAreRefused) {
  auto mine = GenerateRecoveryCodes(4);
  auto theirs = GenerateRecoveryCodes(4);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  auto stored = Store(*mine);
  for (const std::string& code : theirs->codes) {
    auto m = MatchRecoveryCode(code, stored);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(m.error().message, "wrong recovery code");
    EXPECT_EQ(m.error().message.find(code), std::string::npos);
  }
  // One symbol changed.
  std::string near = mine->codes[0];
  near[0] = near[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(MatchRecoveryCode(near, stored).ok());
  // Nothing stored: nothing matches.
  EXPECT_FALSE(MatchRecoveryCode(mine->codes[0], {}).ok());
}

TEST(RecoveryCodesTest, TypingIsForgiving) {
  auto set = GenerateRecoveryCodes(1);
  ASSERT_TRUE(set.ok());
  auto stored = Store(*set);
  std::string code = set->codes[0];
  std::string lower;
  std::string spaced;
  for (char c : code) {
    lower.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    spaced.push_back(c == '-' ? ' ' : c);
  }
  std::string bare = *NormalizeRecoveryCode(code);
  for (const std::string& typed : {code, lower, spaced, bare, " " + bare + " "}) {
    auto m = MatchRecoveryCode(typed, stored);
    EXPECT_TRUE(m.ok()) << typed;
  }
}

TEST(RecoveryCodesTest, MisshapenInputIsInvalidNotWrong) {
  for (const char* typed : {"", "ABCD-EFGH", "ABCD-EFGH-JKLM-NPQR-S", "ABCD-EFGH-JKLM-NPQ0",
                            "ABCD-EFGH-JKLM-NPQI", "ABCD_EFGH_JKLM_NPQR"}) {
    auto m = MatchRecoveryCode(typed, {});
    ASSERT_FALSE(m.ok()) << typed;
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument) << typed;
  }
}

TEST(RecoveryCodesTest, CorruptStoredHashIsAnErrorNotAMatch) {
  auto set = GenerateRecoveryCodes(1);
  ASSERT_TRUE(set.ok());
  for (std::string bad :
       {std::string("plain"), std::string("sha256$00$00"),
        set->hashes[0].substr(0, set->hashes[0].size() - 2), "md5" + set->hashes[0].substr(6)}) {
    auto m = MatchRecoveryCode(set->codes[0], {{bad, false}});
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().code, ErrorCode::kParse) << bad;
  }
}

TEST(RecoveryCodesTest, CountIsBounded) {
  EXPECT_FALSE(GenerateRecoveryCodes(0).ok());
  EXPECT_FALSE(GenerateRecoveryCodes(101).ok());
  EXPECT_EQ(GenerateRecoveryCodes(1)->codes.size(), 1u);
}

}  // namespace
}  // namespace cg::soc::auth

// Tests soc/auth/totp.cpp: RFC 6238 Appendix B, the drift window, replay refusal, bad input.
#include "soc/auth/totp.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "soc/auth/base32.h"

namespace cg::soc::auth {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }
SysTime At(int64_t unix_seconds) { return FromUnixSeconds(unix_seconds); }

// RFC 6238 Appendix B: the seeds are the ASCII strings below (20, 32 and 64 bytes: the reference
// code's seed, seed32 and seed64), 8 digits, X = 30 s, T0 = 0.
const Bytes kSeed20 = B("12345678901234567890");
const Bytes kSeed32 = B("12345678901234567890123456789012");
const Bytes kSeed64 = B("1234567890123456789012345678901234567890123456789012345678901234");

struct AppendixB {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};
constexpr AppendixB kAppendixB[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TotpParams Params(TotpAlgorithm algorithm, int digits = 8) {
  TotpParams p;
  p.algorithm = algorithm;
  p.digits = digits;
  return p;
}

TEST(TotpTest, Rfc6238AppendixBVectors) {
  struct Alg {
    TotpAlgorithm algorithm;
    const Bytes* seed;
    const char* AppendixB::*expected;
  };
  const Alg algs[] = {
      {TotpAlgorithm::kSha1, &kSeed20, &AppendixB::sha1},
      {TotpAlgorithm::kSha256, &kSeed32, &AppendixB::sha256},
      {TotpAlgorithm::kSha512, &kSeed64, &AppendixB::sha512},
  };
  for (const AppendixB& row : kAppendixB) {
    for (const Alg& alg : algs) {
      TotpParams params = Params(alg.algorithm);
      auto step = TotpTimeStepAtUnix(row.time, params);
      ASSERT_TRUE(step.ok());
      EXPECT_EQ(*step, row.time / 30);
      auto code = TotpCode(*alg.seed, *step, params);
      ASSERT_TRUE(code.ok()) << code.error().ToString();
      EXPECT_EQ(*code, row.*alg.expected) << TotpAlgorithmName(alg.algorithm) << " at " << row.time;
      // And the verifier accepts exactly that code at that time (SysTime ends in 2262: the
      // last row, in 2603, is checked as a code only).
      if (row.time > 10000000000) {
        continue;
      }
      EXPECT_EQ(TotpTimeStep(At(row.time), params).value(), *step);
      auto match = VerifyTotp(*alg.seed, row.*alg.expected, At(row.time), std::nullopt, params);
      ASSERT_TRUE(match.ok()) << match.error().ToString();
      EXPECT_EQ(match->step, *step);
    }
  }
}

TEST(TotpTest, SixDigitCodesAreTheLastSixOfTheEightDigitOnes) {
  // Dynamic truncation modulo 10^6 instead of 10^8 (RFC 4226 section 5.3).
  for (const AppendixB& row : kAppendixB) {
    auto code = TotpCode(kSeed20, row.time / 30, Params(TotpAlgorithm::kSha1, 6));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, std::string(row.sha1).substr(2));
  }
}

class TotpWindowTest : public ::testing::Test {
 protected:
  // now = the middle of step 1000 (t = 30000..30029).
  const SysTime now_ = At(30015);
  const TotpParams params_ = Params(TotpAlgorithm::kSha1, 6);
  std::string CodeAt(int64_t step) { return TotpCode(kSeed20, step, params_).value(); }
};

TEST_F(TotpWindowTest, AcceptsOneStepEitherSideByDefault) {
  for (int64_t step : {999, 1000, 1001}) {
    auto m = VerifyTotp(kSeed20, CodeAt(step), now_, std::nullopt, params_);
    ASSERT_TRUE(m.ok()) << step << ": " << m.error().ToString();
    EXPECT_EQ(m->step, step);
  }
  for (int64_t step : {997, 998, 1002, 1003}) {
    auto m = VerifyTotp(kSeed20, CodeAt(step), now_, std::nullopt, params_);
    ASSERT_FALSE(m.ok()) << step;
    EXPECT_EQ(m.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(m.error().message, "totp: wrong code");
  }
}

TEST_F(TotpWindowTest, WindowEdgesFollowTheClockToTheSecond) {
  // At t = 30000 (first second of step 1000) step 999 is still accepted, 998 is not; at 30029
  // (last second) 1001 is accepted, 1002 is not.
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(999), At(30000), std::nullopt, params_).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(998), At(30000), std::nullopt, params_).ok());
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(1001), At(30029), std::nullopt, params_).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(1002), At(30029), std::nullopt, params_).ok());
  // One second later the window has moved: 999 is gone, 1002 is in.
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(999), At(30030), std::nullopt, params_).ok());
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(1002), At(30030), std::nullopt, params_).ok());
}

TEST_F(TotpWindowTest, DriftWindowIsConfigurable) {
  TotpParams strict = params_;
  strict.drift_steps = 0;
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(1000), now_, std::nullopt, strict).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(999), now_, std::nullopt, strict).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(1001), now_, std::nullopt, strict).ok());
  TotpParams loose = params_;
  loose.drift_steps = 3;
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(997), now_, std::nullopt, loose).ok());
  EXPECT_TRUE(VerifyTotp(kSeed20, CodeAt(1003), now_, std::nullopt, loose).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(996), now_, std::nullopt, loose).ok());
  EXPECT_FALSE(VerifyTotp(kSeed20, CodeAt(1004), now_, std::nullopt, loose).ok());
}

TEST_F(TotpWindowTest, ReplayOfAUsedCodeIsRefused) {
  std::string code = CodeAt(1000);
  auto first = VerifyTotp(kSeed20, code, now_, std::nullopt, params_);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->step, 1000);
  // The caller stores first->step; the same code within its window is refused...
  auto again = VerifyTotp(kSeed20, code, now_, first->step, params_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(again.error().message, "totp: code already used");
  // ...also 20 s later, still inside the drift window.
  EXPECT_FALSE(VerifyTotp(kSeed20, code, At(30045), first->step, params_).ok());
  // An older code (the previous step) is refused once a newer one was used.
  auto older = VerifyTotp(kSeed20, CodeAt(999), now_, first->step, params_);
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().message, "totp: code already used");
  // The next step's code is fresh.
  auto next = VerifyTotp(kSeed20, CodeAt(1001), At(30035), first->step, params_);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->step, 1001);
}

TEST_F(TotpWindowTest, MalformedCodesAreRefusedBeforeAnyComparison) {
  std::string good = CodeAt(1000);
  for (std::string bad : {std::string(""), good.substr(0, 5), good + "0", std::string(" ") + good,
                          good.substr(0, 3) + " " + good.substr(3, 2), std::string("12345a"),
                          std::string("-12345"), std::string("１２３４５６")}) {
    auto m = VerifyTotp(kSeed20, bad, now_, std::nullopt, params_);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(TotpTest, ErrorsNeverContainTheCode) {
  auto m = VerifyTotp(kSeed20, "123456", At(30015), std::nullopt, Params(TotpAlgorithm::kSha1, 6));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message.find("123456"), std::string::npos);
}

TEST(TotpTest, BadParametersAndInputsAreErrors) {
  TotpParams p;
  p.digits = 5;
  EXPECT_FALSE(ValidateTotpParams(p).ok());
  p.digits = 9;
  EXPECT_FALSE(ValidateTotpParams(p).ok());
  p = TotpParams{};
  p.period_seconds = 0;
  EXPECT_FALSE(TotpCode(kSeed20, 1, p).ok());
  p = TotpParams{};
  p.drift_steps = -1;
  EXPECT_FALSE(VerifyTotp(kSeed20, "123456", At(30015), std::nullopt, p).ok());
  EXPECT_FALSE(TotpCode(Bytes{}, 1, TotpParams{}).ok());
  EXPECT_FALSE(TotpTimeStep(At(-1), TotpParams{}).ok());
}

TEST(TotpTest, GeneratedSecretsAre160BitsAndDiffer) {
  std::set<Bytes> seen;
  for (int i = 0; i < 20; ++i) {
    auto s = GenerateTotpSecret();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->size(), 20u);
    EXPECT_EQ(Base32Encode(*s).size(), 32u);  // 160 bits = 32 base32 characters, no padding
    seen.insert(*s);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(TotpTest, SecretsDecodedFromBase32GiveTheSameCodes) {
  // The RFC's SHA1 seed as an app would show it.
  auto secret = Base32Decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, kSeed20);
  EXPECT_EQ(TotpCode(*secret, 59 / 30, Params(TotpAlgorithm::kSha1)).value(), "94287082");
}

}  // namespace
}  // namespace cg::soc::auth

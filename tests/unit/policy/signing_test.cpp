// Signed policy: every refusal has its own reason; rotation only through a trusted key.
#include "policy/signing.h"

#include <gtest/gtest.h>

namespace cg::policy {
namespace {

using nlohmann::json;

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = GenerateSigningKey();
    ASSERT_TRUE(k.ok()) << k.error().ToString();
    key_ = *k;
    auto other = GenerateSigningKey();
    ASSERT_TRUE(other.ok());
    other_ = *other;
    auto trusted = ParseTrustedKeys({key_.public_pem});
    ASSERT_TRUE(trusted.ok());
    trusted_ = *trusted;
    now_ = *ParseRfc3339("2026-11-26T12:00:00Z");
  }

  json Doc(int64_t version) {
    return {{"version", version},
            {"name", "laocai-baseline"},
            {"target", {{"groups", {"laocai/"}}}},
            {"not_before", "2026-11-01T00:00:00Z"},
            {"expires_at", "2027-11-01T00:00:00Z"},
            {"checks", {{"password_age", {{"max_days", 60}, {"enforce", true}}}}}};
  }

  json Sign(const json& doc, const KeyPair& k) {
    auto env = SignPolicy(doc, k.private_pem);
    EXPECT_TRUE(env.ok()) << env.error().ToString();
    return env.ok() ? *env : json();
  }

  std::variant<VerifiedPolicy, RefusedPolicy> Verify(const json& env, int64_t current = 3,
                                                     const std::string& group = "laocai/bac-ha") {
    AcceptanceContext ctx{&trusted_, current, group, now_};
    return VerifyEnvelope(env, ctx);
  }

  KeyPair key_;
  KeyPair other_;
  TrustedKeys trusted_;
  SysTime now_;
};

TEST_F(SigningTest, AcceptsANewerPolicyForItsGroup) {
  auto r = Verify(Sign(Doc(4), key_));
  ASSERT_TRUE(std::holds_alternative<VerifiedPolicy>(r)) << std::get<RefusedPolicy>(r).message;
  const auto& v = std::get<VerifiedPolicy>(r);
  EXPECT_EQ(v.policy.version, 4);
  EXPECT_EQ(v.policy.Check("password_age").Int("max_days"), 60);
  EXPECT_EQ(v.key_id, key_.key_id);
  EXPECT_EQ(v.hash.size(), 64u);
  EXPECT_FALSE(v.next_trusted_keys.has_value());
}

TEST_F(SigningTest, EveryRefusalHasItsOwnReason) {
  struct Case {
    const char* name;
    std::function<json()> envelope;
    Refusal reason;
    int64_t current = 3;
    std::string group = "laocai/bac-ha";
  };
  const std::vector<Case> cases = {
      {"tampered body",
       [&] {
         json e = Sign(Doc(4), key_);
         e["policy"]["checks"]["password_age"]["max_days"] = 3650;
         return e;
       },
       Refusal::kBadSignature},
      {"tampered signature",
       [&] {
         json e = Sign(Doc(4), key_);
         std::string s = e["signature"];
         s[0] = s[0] == 'A' ? 'B' : 'A';
         e["signature"] = s;
         return e;
       },
       Refusal::kBadSignature},
      {"signed by a key that is not trusted", [&] { return Sign(Doc(4), other_); },
       Refusal::kUnknownKey},
      {"wrong key claims a trusted key id",
       [&] {
         json e = Sign(Doc(4), other_);
         e["key_id"] = key_.key_id;
         return e;
       },
       Refusal::kBadSignature},
      {"older version", [&] { return Sign(Doc(2), key_); }, Refusal::kNotNewer},
      {"equal version (replay)", [&] { return Sign(Doc(3), key_); }, Refusal::kNotNewer},
      {"expired",
       [&] {
         json d = Doc(4);
         d["expires_at"] = "2026-11-26T11:59:59Z";
         return Sign(d, key_);
       },
       Refusal::kExpired},
      {"not yet valid",
       [&] {
         json d = Doc(4);
         d["not_before"] = "2026-11-27T00:00:00Z";
         return Sign(d, key_);
       },
       Refusal::kNotYetValid},
      {"other group", [&] { return Sign(Doc(4), key_); }, Refusal::kOtherGroup, 3,
       "sonla/moc-chau"},
      {"truncated envelope",
       [&] {
         json e = Sign(Doc(4), key_);
         e.erase("signature");
         return e;
       },
       Refusal::kMalformed},
      {"not an envelope",
       [&] {
         return json::array({1, 2});
       },
       Refusal::kMalformed},
      {"signature not base64",
       [&] {
         json e = Sign(Doc(4), key_);
         e["signature"] = "!!!";
         return e;
       },
       Refusal::kMalformed},
      // Found by fuzzing: a "format" of another type threw out of VerifyEnvelope.
      {"format is not a string",
       [&] {
         json e = Sign(Doc(4), key_);
         e["format"] = json::object({{"antivirus", 1}});
         return e;
       },
       Refusal::kMalformed},
  };
  for (const auto& c : cases) {
    auto r = Verify(c.envelope(), c.current, c.group);
    ASSERT_TRUE(std::holds_alternative<RefusedPolicy>(r)) << c.name;
    EXPECT_EQ(std::get<RefusedPolicy>(r).reason, c.reason)
        << c.name << ": " << std::get<RefusedPolicy>(r).message;
    EXPECT_FALSE(std::get<RefusedPolicy>(r).message.empty());
  }
}

TEST_F(SigningTest, TargetsMatchByGroupPrefixAtSegmentBoundaries) {
  const json doc = {{"target", {{"groups", {"laocai/bac-ha", "sonla/"}}}}};
  EXPECT_TRUE(TargetMatches(doc, "laocai/bac-ha"));
  EXPECT_TRUE(TargetMatches(doc, "laocai/bac-ha/xa-ta-chai"));
  EXPECT_FALSE(TargetMatches(doc, "laocai/bac-hai"));
  EXPECT_FALSE(TargetMatches(doc, "laocai"));
  EXPECT_TRUE(TargetMatches(doc, "sonla/moc-chau"));
  EXPECT_TRUE(TargetMatches(json::object(), "anything"));
}

TEST_F(SigningTest, KeyRotationComesOnlyFromATrustedSigner) {
  json d = Doc(4);
  d["trusted_keys"] = {key_.public_pem, other_.public_pem};
  auto r = Verify(Sign(d, key_));
  ASSERT_TRUE(std::holds_alternative<VerifiedPolicy>(r));
  const auto& next = std::get<VerifiedPolicy>(r).next_trusted_keys;
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->size(), 2u);
  EXPECT_TRUE(next->contains(other_.key_id));
  // The same rotation signed by the new key alone is refused: it is not trusted yet.
  auto refused = Verify(Sign(d, other_));
  ASSERT_TRUE(std::holds_alternative<RefusedPolicy>(refused));
  EXPECT_EQ(std::get<RefusedPolicy>(refused).reason, Refusal::kUnknownKey);
}

TEST_F(SigningTest, PassphraseProtectedKeys) {
  auto k = GenerateSigningKey("correct horse");
  ASSERT_TRUE(k.ok());
  EXPECT_NE(k->private_pem.find("ENCRYPTED"), std::string::npos);
  EXPECT_FALSE(SignPolicy(Doc(4), k->private_pem, "wrong").ok());
  EXPECT_FALSE(SignPolicy(Doc(4), k->private_pem).ok());
  EXPECT_TRUE(SignPolicy(Doc(4), k->private_pem, "correct horse").ok());
}

TEST_F(SigningTest, SigningRefusesInvalidPolicies) {
  json bad = Doc(4);
  bad["checks"]["password_age"]["max_days"] = "ninety";
  EXPECT_FALSE(SignPolicy(bad, key_.private_pem).ok());
  json zero = Doc(0);
  EXPECT_FALSE(SignPolicy(zero, key_.private_pem).ok());
  json flt = Doc(4);
  flt["checks"]["password_age"]["max_days"] = 60.5;
  EXPECT_FALSE(SignPolicy(flt, key_.private_pem).ok());
}

}  // namespace
}  // namespace cg::policy

// The agent's policy store on a real state directory: every refusal keeps the policy in force;
// a restart keeps the last good policy; a corrupt or replaced cache is detected and reported,
// and the floor still refuses rollbacks while letting the same policy come back.
#include "agent/policy_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;

const SysTime kNow = *ParseRfc3339("2026-11-27T03:00:00Z");

class PolicyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.Prepare().ok());
    key_ = *policy::GenerateSigningKey();
    other_ = *policy::GenerateSigningKey();
    ASSERT_TRUE(PolicyStore(state_, kGroup).InstallTrustedKeys({key_.public_pem}).ok());
  }

  static json Doc(int64_t version, int max_days = 60) {
    return {{"version", version},
            {"name", "v" + std::to_string(version)},
            {"target", {{"groups", {"laocai/"}}}},
            {"checks", {{"password_age", {{"max_days", max_days}}}}}};
  }
  json Sign(const json& doc, const policy::KeyPair* key = nullptr) {
    return *policy::SignPolicy(doc, (key != nullptr ? *key : key_).private_pem);
  }
  PolicyStore Loaded() {
    PolicyStore store(state_, kGroup);
    const Status s = store.Load(kNow);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return store;
  }
  static std::string Reason(const protocol::Event& e) { return e.details.value("reason", ""); }

  static constexpr const char* kGroup = "laocai/bac-ha";
  testing::TempDir dir_;
  StateDir state_{dir_.File("state")};
  policy::KeyPair key_;
  policy::KeyPair other_;
};

TEST_F(PolicyStoreTest, EveryRefusalKeepsThePolicyInForceAndSaysWhy) {
  PolicyStore store = Loaded();
  ASSERT_EQ(store.Offer(Sign(Doc(3)), kNow).type, "policy_applied");
  json tampered = Sign(Doc(4));
  tampered["policy"]["checks"]["password_age"]["max_days"] = 365;
  json truncated = Sign(Doc(4));
  truncated.erase("signature");
  json expired = Doc(4);
  expired["expires_at"] = "2026-11-01T00:00:00Z";
  json other_group = Doc(4);
  other_group["target"]["groups"] = {"hanoi/"};
  struct Case {
    const char* name;
    json envelope;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"tampered body", tampered, "bad_signature"},
      {"wrong key", Sign(Doc(4), &other_), "unknown_key"},
      {"older version", Sign(Doc(2)), "not_newer"},
      {"equal version", Sign(Doc(3, 30)), "not_newer"},
      {"expired", Sign(expired), "expired"},
      {"other group", Sign(other_group), "other_group"},
      {"truncated envelope", truncated, "malformed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const protocol::Event e = store.Offer(c.envelope, kNow);
    EXPECT_EQ(e.type, "policy_refused");
    EXPECT_EQ(Reason(e), c.reason);
    EXPECT_EQ(e.details.value("in_force", 0), 3);
    EXPECT_EQ(store.version(), 3);
    EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 60);
  }
  // And on disk: a restart still runs version 3.
  EXPECT_EQ(Loaded().version(), 3);
}

TEST_F(PolicyStoreTest, ARestartKeepsTheLastGoodPolicy) {
  std::string hash;
  {
    PolicyStore store = Loaded();
    EXPECT_EQ(store.version(), 0);
    ASSERT_EQ(store.Offer(Sign(Doc(5, 45)), kNow).type, "policy_applied");
    hash = store.hash();
  }
  PolicyStore again = Loaded();
  EXPECT_EQ(again.version(), 5);
  EXPECT_EQ(again.hash(), hash);
  EXPECT_EQ(again.current().Check("password_age").Int("max_days"), 45);
  EXPECT_TRUE(again.TakeEvents().empty());
}

TEST_F(PolicyStoreTest, ACorruptCacheIsReportedAndOnlyTheSamePolicyOrANewerOneComesBack) {
  std::string hash;
  {
    PolicyStore store = Loaded();
    ASSERT_EQ(store.Offer(Sign(Doc(5)), kNow).type, "policy_applied");
    ASSERT_EQ(store.Offer(Sign(Doc(6)), kNow).type, "policy_applied");
    hash = store.hash();
  }
  std::ofstream(state_.path() + "/policy.json", std::ios::trunc) << "{\"format\": \"counterg";
  PolicyStore store = Loaded();
  EXPECT_EQ(store.version(), 0);  // the built-in policy until a good one arrives
  auto events = store.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "policy_cache_corrupt");
  EXPECT_EQ(events[0].details.value("floor_version", 0), 6);

  // No rollback to 5, and not another policy under version 6; the same 6 comes back.
  EXPECT_EQ(Reason(store.Offer(Sign(Doc(5)), kNow)), "not_newer");
  EXPECT_EQ(Reason(store.Offer(Sign(Doc(6, 30)), kNow)), "not_newer");
  EXPECT_EQ(store.Offer(Sign(Doc(6)), kNow).type, "policy_applied");
  EXPECT_EQ(store.version(), 6);
  EXPECT_EQ(store.hash(), hash);
}

TEST_F(PolicyStoreTest, AnOlderSignedPolicyPutInPlaceOfTheCacheIsARollback) {
  json old_envelope;
  {
    PolicyStore store = Loaded();
    old_envelope = Sign(Doc(5));
    ASSERT_EQ(store.Offer(old_envelope, kNow).type, "policy_applied");
    ASSERT_EQ(store.Offer(Sign(Doc(6)), kNow).type, "policy_applied");
  }
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/policy.json", old_envelope.dump(), 0600).ok());
  PolicyStore store = Loaded();
  EXPECT_EQ(store.version(), 0);
  auto events = store.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "policy_cache_corrupt");
}

TEST_F(PolicyStoreTest, WithoutTrustedKeysEveryPolicyIsRefused) {
  testing::TempDir other_dir;
  StateDir bare(other_dir.File("state"));
  ASSERT_TRUE(bare.Prepare().ok());
  PolicyStore store(bare, kGroup);
  ASSERT_TRUE(store.Load(kNow).ok());
  const protocol::Event e = store.Offer(Sign(Doc(1)), kNow);
  EXPECT_EQ(e.type, "policy_refused");
  EXPECT_EQ(Reason(e), "unknown_key");
  EXPECT_EQ(store.version(), 0);
}

}  // namespace
}  // namespace cg::agent

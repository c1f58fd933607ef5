// The agent's policy store on a real state directory: every refusal keeps the policy in force;
// a restart keeps the last good policy; a corrupt or replaced cache is detected and reported,
// and the floor still refuses rollbacks while letting the same policy come back.
#include "agent/policy_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/ids.h"
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

// --- layers -------------------------------------------------------------------------------

json Layer(int64_t version, const std::string& target, json checks) {
  return {{"version", version},
          {"name", target + "-v" + std::to_string(version)},
          {"target", {{"groups", {target}}}},
          {"checks", std::move(checks)}};
}

TEST_F(PolicyStoreTest, LayersMergeNarrowestFirstAndATamperedLayerIsRefusedOnItsOwn) {
  const json baseline =
      Sign(Layer(4, "laocai/", {{"password_age", {{"max_days", 60}, {"include_root", true}}}}));
  const json district = Sign(Layer(1, "laocai/bac-ha", {{"password_age", {{"max_days", 30}}}}));
  const json elsewhere = Sign(Layer(1, "laocai/sa-pa", {{"password_age", {{"max_days", 20}}}}));
  std::string set_hash;
  {
    PolicyStore store = Loaded();
    auto events = store.OfferLayers({baseline, district}, kNow);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, "policy_applied");
    EXPECT_EQ(events[1].type, "policy_applied");
    EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 30);
    EXPECT_TRUE(store.current().Check("password_age").Bool("include_root"));
    ASSERT_EQ(store.layers().size(), 2u);
    EXPECT_EQ(store.layers()[0].target, "laocai");
    EXPECT_EQ(store.hash(), policy::LayerSetHash(store.layers()));
    set_hash = store.hash();
    // A layer for another district is refused; the set stays.
    auto refused = store.OfferLayers({elsewhere}, kNow);
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(Reason(refused[0]), "other_group");
    EXPECT_EQ(store.hash(), set_hash);
  }
  // A restart runs the same set.
  PolicyStore store = Loaded();
  EXPECT_EQ(store.hash(), set_hash);
  EXPECT_TRUE(store.TakeEvents().empty());

  // A newer set whose override was tampered with: the baseline's new version is applied, the
  // override stays at the version in force.
  const json baseline5 = Sign(Layer(5, "laocai/", {{"password_age", {{"max_days", 45}}}}));
  json tampered = Sign(Layer(2, "laocai/bac-ha", {{"password_age", {{"max_days", 10}}}}));
  tampered["policy"]["checks"]["password_age"]["max_days"] = 3650;
  auto events = store.OfferLayers({baseline5, tampered}, kNow);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, "policy_applied");
  EXPECT_EQ(events[0].details.value("target", ""), "laocai");
  EXPECT_EQ(events[1].type, "policy_refused");
  EXPECT_EQ(Reason(events[1]), "bad_signature");
  EXPECT_EQ(events[1].details.value("target", ""), "laocai/bac-ha");
  EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 30);      // override v1
  EXPECT_FALSE(store.current().Check("password_age").Bool("include_root"));  // baseline v5
  ASSERT_EQ(store.layers().size(), 2u);
  EXPECT_EQ(store.layers()[0].version, 5);
  EXPECT_EQ(store.layers()[1].version, 1);
  // Versions count per target: the override's version 1 is below the baseline's, and stays.
  EXPECT_EQ(store.floor("laocai"), 5);
  EXPECT_EQ(store.floor("laocai/bac-ha"), 1);
}

TEST_F(PolicyStoreTest, TheFilesOfAnAgentBeforeLayersAreReadAsOneLayer) {
  const json envelope = Sign(Doc(3, 45));
  const std::string hash = Sha256Hex(policy::CanonicalJson(envelope["policy"]));
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/policy.json", envelope.dump(), 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/policy_floor.json",
                              json{{"version", 3}, {"hash", hash}}.dump(), 0600)
                  .ok());
  PolicyStore store = Loaded();
  EXPECT_EQ(store.version(), 3);
  EXPECT_EQ(store.hash(), hash);
  EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 45);
  EXPECT_EQ(store.floor("laocai"), 3);
  EXPECT_TRUE(store.TakeEvents().empty());
  // The old floor still refuses a rollback of that target.
  EXPECT_EQ(Reason(store.Offer(Sign(Doc(2)), kNow)), "not_newer");
}

// --- expiry (issue 13, finding 9) ---------------------------------------------------------

TEST_F(PolicyStoreTest, AnExpiredLayerStopsApplyingAndStaysGoneAfterARestart) {
  json short_lived = Layer(3, "laocai/", {{"password_age", {{"max_days", 365}}}});
  short_lived["expires_at"] = FormatRfc3339(kNow + std::chrono::hours(1));
  const json district =
      Sign(Layer(1, "laocai/bac-ha", {{"screen_lock", {{"max_idle_seconds", 120}}}}));
  {
    PolicyStore store = Loaded();
    ASSERT_EQ(store.OfferLayers({Sign(short_lived), district}, kNow).size(), 2u);
    EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 365);
    EXPECT_TRUE(store.DropExpired(kNow + std::chrono::minutes(59)).empty());
    auto events = store.DropExpired(kNow + std::chrono::hours(1));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "policy_expired");
    EXPECT_EQ(events[0].details.value("target", ""), "laocai");
    EXPECT_EQ(events[0].details.value("version", 0), 3);
    // The built-in value again; the district layer stays.
    EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 90);
    EXPECT_EQ(store.current().Check("screen_lock").Int("max_idle_seconds"), 120);
    ASSERT_EQ(store.layers().size(), 1u);
    // The expired envelope is not taken back, nor an older one of its target.
    EXPECT_EQ(Reason(store.Offer(Sign(short_lived), kNow + std::chrono::hours(2))), "expired");
    EXPECT_EQ(Reason(store.Offer(Sign(Layer(2, "laocai/", json::object())),
                                 kNow + std::chrono::hours(2))),
              "not_newer");
  }
  PolicyStore store(state_, kGroup);
  ASSERT_TRUE(store.Load(kNow + std::chrono::hours(2)).ok());
  EXPECT_EQ(store.current().Check("password_age").Int("max_days"), 90);
  EXPECT_EQ(store.layers().size(), 1u);
  EXPECT_TRUE(store.TakeEvents().empty());  // dropped before, not missing
}

TEST_F(PolicyStoreTest, APolicyThatExpiredWhileTheAgentWasStoppedIsDroppedAtStart) {
  json short_lived = Doc(4, 365);
  short_lived["expires_at"] = FormatRfc3339(kNow + std::chrono::hours(1));
  {
    PolicyStore store = Loaded();
    ASSERT_EQ(store.Offer(Sign(short_lived), kNow).type, "policy_applied");
  }
  PolicyStore store(state_, kGroup);
  ASSERT_TRUE(store.Load(kNow + std::chrono::hours(3)).ok());
  EXPECT_EQ(store.version(), 0);
  EXPECT_EQ(store.hash(), policy::PolicyHash(policy::DefaultPolicy()));
  auto events = store.TakeEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "policy_expired");
}

// --- damaged state (issue 13, finding 6) --------------------------------------------------

TEST_F(PolicyStoreTest, DamagedTrustedKeysAreSetAsideAndReported) {
  {
    PolicyStore store = Loaded();
    ASSERT_EQ(store.Offer(Sign(Doc(2)), kNow).type, "policy_applied");
  }
  std::ofstream(state_.path() + "/trusted_keys.json", std::ios::trunc) << "\x01garbage{";
  PolicyStore store(state_, kGroup);
  const Status s = store.Load(kNow);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_FALSE(store.has_trusted_keys());
  EXPECT_EQ(store.version(), 0);
  auto events = store.TakeEvents();
  ASSERT_GE(events.size(), 1u);
  EXPECT_EQ(events[0].type, "state_file_damaged");
  EXPECT_EQ(events[0].details.value("file", ""), "trusted_keys.json");
  EXPECT_FALSE(FileExists(state_.path() + "/trusted_keys.json"));
  EXPECT_TRUE(FileExists(state_.path() + "/" + events[0].details.value("moved_to", "?")));
  EXPECT_EQ(Reason(store.Offer(Sign(Doc(3)), kNow)), "unknown_key");
}

TEST_F(PolicyStoreTest, ADamagedFloorIsAnErrorAndNothingSignedIsAcceptedUntilItIsRestored) {
  {
    PolicyStore store = Loaded();
    ASSERT_EQ(store.Offer(Sign(Doc(2)), kNow).type, "policy_applied");
  }
  std::string floor;
  ASSERT_TRUE(ReadFileToString(state_.path() + "/policy_floor.json", 1 << 20).ok());
  floor = *ReadFileToString(state_.path() + "/policy_floor.json", 1 << 20);
  std::ofstream(state_.path() + "/policy_floor.json", std::ios::trunc) << "garbage";
  PolicyStore store(state_, kGroup);
  EXPECT_FALSE(store.Load(kNow).ok());
  EXPECT_TRUE(store.floor_damaged());
  EXPECT_EQ(store.version(), 0);
  EXPECT_EQ(Reason(store.Offer(Sign(Doc(3)), kNow)), "state_fault");
  // Restored: loads again.
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/policy_floor.json", floor, 0600).ok());
  ASSERT_TRUE(store.Load(kNow).ok());
  EXPECT_EQ(store.version(), 2);
}

}  // namespace
}  // namespace cg::agent

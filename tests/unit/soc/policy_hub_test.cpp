// Tests for soc/policy_hub.cpp over a real SQLite database: what a push is refused for, which
// policy each group is served, and the long-poll (answered at once, woken by a push or a task,
// "no change" after the hold, never the refused policy again).
#include "soc/policy_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "policy/signing.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::HttpResponse;
using std::chrono::hours;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::TempDir;

const SysTime kNow = *ParseRfc3339("2026-11-27T03:00:00Z");

// Collects the one answer of a long-poll; waiting for it is bounded so that a broken wake-up
// fails the test instead of hanging it.
class Answer {
 public:
  Responder responder() {
    return [state = state_](HttpResponse r) {
      if (!state->set) {
        state->set = true;
        state->promise.set_value(std::move(r));
      }
    };
  }
  bool Ready() const {
    return future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }
  std::optional<json> Wait(std::chrono::seconds limit = std::chrono::seconds(20)) {
    if (future_.wait_for(limit) != std::future_status::ready) {
      return std::nullopt;
    }
    HttpResponse r = future_.get();
    json body = json::parse(r.body, nullptr, false);
    body["_status"] = r.status;
    return body;
  }

 private:
  struct State {
    bool set = false;
    std::promise<HttpResponse> promise;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
  std::future<HttpResponse> future_ = state_->promise.get_future();
};

class PolicyHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
    ASSERT_TRUE(storage.ok()) << storage.error().ToString();
    storage_ = std::move(storage).value();
    auto key = policy::GenerateSigningKey();
    auto other = policy::GenerateSigningKey();
    ASSERT_TRUE(key.ok() && other.ok());
    key_ = *key;
    other_ = *other;
    hub_ = MakeHub(milliseconds(60000));
  }

  std::unique_ptr<PolicyHub> MakeHub(milliseconds hold, bool with_key = true) {
    auto hub = std::make_unique<PolicyHub>(
        *storage_, [this] { return now_; }, hold);
    policy::TrustedKeys keys;
    if (with_key) {
      keys = *policy::ParseTrustedKeys({key_.public_pem});
    }
    const Status loaded = hub->Load(keys);
    EXPECT_TRUE(loaded.ok()) << loaded.error().ToString();
    return hub;
  }

  static json Doc(int64_t version, std::vector<std::string> groups = {}) {
    json doc = {{"version", version},
                {"name", "baseline-" + std::to_string(version)},
                {"checks", {{"password_age", {{"max_days", 60}}}}}};
    if (!groups.empty()) {
      doc["target"] = {{"groups", groups}};
    }
    return doc;
  }

  static json Renamed(json doc) {
    doc["name"] = "other";
    return doc;
  }

  json Sign(const json& doc, const policy::KeyPair* key = nullptr) {
    auto env = policy::SignPolicy(doc, (key != nullptr ? *key : key_).private_pem);
    EXPECT_TRUE(env.ok()) << env.error().ToString();
    return env.value_or(json());
  }

  // The pushed policy, or a failure naming the refusal.
  StoredPolicy MustPush(const json& envelope, const std::string& scope = "") {
    auto outcome = hub_->Push(envelope, scope, "admin");
    if (auto* refused = std::get_if<PushRefusal>(&outcome)) {
      ADD_FAILURE() << refused->message;
      return {};
    }
    return std::get<PushOutcome>(outcome).policy;
  }

  PushRefusal MustRefuse(const json& envelope, const std::string& scope = "") {
    auto outcome = hub_->Push(envelope, scope, "admin");
    if (!std::holds_alternative<PushRefusal>(outcome)) {
      ADD_FAILURE() << "accepted";
      return {};
    }
    return std::get<PushRefusal>(outcome);
  }

  std::string AddDevice(const std::string& group) {
    Device d;
    d.device_id = NewUuid();
    d.hostname = "pc";
    d.machine_id = "m";
    d.group = group;
    d.cert_serial = "01";
    d.cert_not_after = kNow + hours(24);
    d.enrolled_at = kNow;
    EXPECT_TRUE(storage_->AddDevice(d).ok());
    return d.device_id;
  }

  static PollRequest Poll(const std::string& device, const std::string& group,
                          int64_t version = 0) {
    PollRequest r;
    r.device_id = device;
    r.group = group;
    r.policy_version = version;
    return r;
  }

  TempDir dir_;
  SysTime now_ = kNow;
  std::unique_ptr<Storage> storage_;
  policy::KeyPair key_;
  policy::KeyPair other_;
  std::unique_ptr<PolicyHub> hub_;
};

TEST_F(PolicyHubTest, APushIsRefusedWithItsOwnReasonAndNothingIsStored) {
  MustPush(Sign(Doc(5, {"laocai/"})));
  json tampered = Sign(Doc(6));
  tampered["policy"]["checks"]["password_age"]["max_days"] = 365;
  json truncated = Sign(Doc(6));
  truncated.erase("signature");
  json expired_doc = Doc(6);
  expired_doc["expires_at"] = "2026-11-01T00:00:00Z";
  struct Case {
    const char* name;
    json envelope;
    std::string scope;
    int status;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"tampered body", tampered, "", 400, "bad_signature"},
      {"wrong key", Sign(Doc(6), &other_), "", 400, "unknown_key"},
      {"truncated envelope", truncated, "", 400, "malformed"},
      {"not an envelope", json{{"version", 6}}, "", 400, "malformed"},
      {"expired", Sign(expired_doc), "", 400, "expired"},
      {"older version", Sign(Doc(4, {"laocai/"})), "", 409, "not newer"},
      {"equal version, other content", Sign(Renamed(Doc(5, {"laocai/"}))), "", 409, "not newer"},
      {"group outside the signed target", Sign(Doc(6, {"laocai/"})), "hanoi", 400, "other_group"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const PushRefusal refused = MustRefuse(c.envelope, c.scope);
    EXPECT_EQ(refused.status, c.status);
    EXPECT_THAT(refused.message, HasSubstr(c.reason));
  }
  auto stored = storage_->ListPolicies();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].version, 5);

  // The same signed policy again is acknowledged as already stored.
  auto again = hub_->Push(Sign(Doc(5, {"laocai/"})), "", "admin");
  ASSERT_TRUE(std::holds_alternative<PushOutcome>(again));
  EXPECT_TRUE(std::get<PushOutcome>(again).already_stored);
}

TEST_F(PolicyHubTest, WithoutTrustedKeysNothingCanBePushed) {
  hub_ = MakeHub(milliseconds(1000), /*with_key=*/false);
  const PushRefusal refused = MustRefuse(Sign(Doc(1)));
  EXPECT_EQ(refused.code, "no_policy_keys");
  EXPECT_THAT(refused.message, HasSubstr("cg-soc policy-key add"));
}

TEST_F(PolicyHubTest, EachGroupIsServedTheNewestLayerOfEveryTargetOnItsPath) {
  MustPush(Sign(Doc(1)));                                     // every group
  MustPush(Sign(Doc(2, {"laocai/"})));                        // the province
  MustPush(Sign(Doc(3, {"laocai/"})), "laocai/bac-ha");       // one district, by scope
  MustPush(Sign(Doc(4, {"laocai/sa-pa", "hanoi/ba-dinh"})));  // two districts, by target
  auto targets = [&](const std::string& group) {
    std::vector<std::string> out;
    const auto expected = hub_->ExpectedFor(group, now_);
    if (!expected) {
      return out;
    }
    for (const auto& l : expected->layers) {
      out.push_back(l.target + ":" + std::to_string(l.version));
    }
    return out;
  };
  using ::testing::ElementsAre;
  EXPECT_THAT(targets("hanoi/dong-da"), ElementsAre(":1"));
  EXPECT_THAT(targets("laocai/bat-xat"), ElementsAre(":1", "laocai:2"));
  EXPECT_THAT(targets("laocai/bac-ha"), ElementsAre(":1", "laocai:3"));
  EXPECT_THAT(targets("laocai/bac-ha/xa-ta-chai"), ElementsAre(":1", "laocai:3"));
  EXPECT_THAT(targets("laocai/sa-pa"),
              ElementsAre(":1", "laocai:2", "hanoi/ba-dinh,laocai/sa-pa:4"));
  EXPECT_THAT(targets("hanoi/ba-dinh"), ElementsAre(":1", "hanoi/ba-dinh,laocai/sa-pa:4"));
  EXPECT_THAT(targets("laocai2"), ElementsAre(":1"));
  // The set's version is the narrowest layer's; its hash covers every layer.
  const auto sa_pa = hub_->ExpectedFor("laocai/sa-pa", now_);
  EXPECT_EQ(sa_pa->version, 4);
  EXPECT_NE(sa_pa->hash, sa_pa->layers.back().hash);
  EXPECT_EQ(hub_->ExpectedFor("laocai2", now_)->hash,
            hub_->ExpectedFor("laocai2", now_)->layers[0].hash);

  // A restarted SOC serves the same.
  hub_ = MakeHub(milliseconds(1000));
  EXPECT_THAT(targets("laocai/bac-ha"), ElementsAre(":1", "laocai:3"));
  EXPECT_EQ(hub_->ExpectedFor("laocai/sa-pa", now_)->hash, sa_pa->hash);
  EXPECT_EQ(hub_->Policies().size(), 4u);
}

TEST_F(PolicyHubTest, VersionsCountPerTargetAndTheEffectivePolicySaysWhereEachValueComesFrom) {
  json baseline = Doc(3, {"laocai/"});
  baseline["checks"]["antivirus"] = {{"max_signature_age_hours", 48}};
  MustPush(Sign(baseline));
  json district = Doc(1, {"laocai/sa-pa"});  // version 1: its own target's first
  district["checks"]["password_age"]["max_days"] = 30;
  const StoredPolicy d = MustPush(Sign(district));
  EXPECT_EQ(d.target, "laocai/sa-pa");
  EXPECT_EQ(MustRefuse(Sign(Renamed(Doc(1, {"laocai/sa-pa"})))).code, "not_newer");
  EXPECT_EQ(MustRefuse(Sign(Renamed(Doc(3, {"laocai/"})))).code, "not_newer");

  auto merged = hub_->EffectiveFor("laocai/sa-pa", now_);
  ASSERT_TRUE(merged.ok()) << merged.error().ToString();
  EXPECT_EQ(merged->policy.Check("password_age").Int("max_days"), 30);
  EXPECT_EQ(merged->origin.at("checks.password_age.max_days"), "laocai/sa-pa");
  EXPECT_EQ(merged->policy.Check("antivirus").Int("max_signature_age_hours"), 48);
  EXPECT_EQ(merged->origin.at("checks.antivirus.max_signature_age_hours"), "laocai");
  EXPECT_EQ(merged->hash, hub_->ExpectedFor("laocai/sa-pa", now_)->hash);
  auto bac_ha = hub_->EffectiveFor("laocai/bac-ha", now_);
  ASSERT_TRUE(bac_ha.ok());
  EXPECT_EQ(bac_ha->policy.Check("password_age").Int("max_days"), 60);
  EXPECT_EQ(bac_ha->hash, hub_->ExpectedFor("laocai/bac-ha", now_)->layers[0].hash);
}

TEST_F(PolicyHubTest, AnExpiredLayerIsNoLongerExpected) {
  json short_lived = Doc(2, {"laocai/"});
  short_lived["expires_at"] = FormatRfc3339(kNow + hours(1));
  MustPush(Sign(Doc(1)));
  MustPush(Sign(short_lived));
  EXPECT_EQ(hub_->ExpectedFor("laocai/sa-pa", kNow)->layers.size(), 2u);
  const auto later = hub_->ExpectedFor("laocai/sa-pa", kNow + hours(1));
  ASSERT_EQ(later->layers.size(), 1u);
  EXPECT_EQ(later->version, 1);
}

TEST_F(PolicyHubTest, AnExpiredLayerIsNotReplacedByAnOlderVersionOfItsTarget) {
  MustPush(Sign(Doc(1, {"laocai/"})));
  json short_lived = Doc(2, {"laocai/"});
  short_lived["expires_at"] = FormatRfc3339(kNow + hours(1));
  MustPush(Sign(short_lived));
  EXPECT_EQ(hub_->ExpectedFor("laocai/sa-pa", kNow)->version, 2);
  // Version 1 is below the agents' floor for the target: the target is left out instead.
  EXPECT_FALSE(hub_->ExpectedFor("laocai/sa-pa", kNow + hours(1)));
}

TEST_F(PolicyHubTest, APollWithTheExpectedSetIsHeldAndAnotherGetsTheLayersWhichAreRecordedServed) {
  const std::string device = AddDevice("laocai/sa-pa");
  MustPush(Sign(Doc(3, {"laocai/"})));
  MustPush(Sign(Doc(1, {"laocai/sa-pa"})));
  const auto expected = hub_->ExpectedFor("laocai/sa-pa", now_);
  ASSERT_TRUE(expected);
  PollRequest current = Poll(device, "laocai/sa-pa", 1);
  current.policy_hash = expected->hash;
  Answer held;
  hub_->Poll(current, held.responder());
  EXPECT_FALSE(held.Ready());

  PollRequest behind = Poll(device, "laocai/sa-pa", 3);
  behind.policy_hash = expected->layers[0].hash;  // only the baseline
  Answer answered;
  hub_->Poll(behind, answered.responder());
  auto body = answered.Wait();
  ASSERT_TRUE(body);
  EXPECT_TRUE((*body)["policy"].is_null());  // two layers: no single-policy form
  ASSERT_EQ((*body)["policy_set"]["layers"].size(), 2u);
  EXPECT_EQ((*body)["policy_set"]["hash"], expected->hash);
  EXPECT_EQ((*body)["policy_set"]["layers"][0]["target"], "laocai");
  EXPECT_EQ((*body)["policy_set"]["layers"][1]["target"], "laocai/sa-pa");
  auto d = storage_->GetDevice(device);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->served_policy_hash, expected->hash);
  EXPECT_EQ(d->served_policy_version, 1);
}

// A push to a whole node wakes its agents in chunks (one transaction per chunk records what
// they were served): every woken agent gets the set and is recorded served, across several
// chunks, and an agent of another group stays parked.
TEST_F(PolicyHubTest, APushWakesHundredsOfWaitersInChunksAndRecordsEveryOneServed) {
  constexpr int kWaiters = 600;  // more than two chunks of 256
  std::vector<std::string> devices;
  std::vector<Answer> answers(kWaiters);
  for (int i = 0; i < kWaiters; ++i) {
    devices.push_back(AddDevice("laocai/bac-ha"));
    hub_->Poll(Poll(devices.back(), "laocai/bac-ha"), answers[static_cast<size_t>(i)].responder());
  }
  const std::string other = AddDevice("hanoi");
  Answer elsewhere;
  hub_->Poll(Poll(other, "hanoi"), elsewhere.responder());
  EXPECT_EQ(hub_->Waiting(), static_cast<size_t>(kWaiters + 1));

  MustPush(Sign(Doc(4, {"laocai/"})));
  for (int i = 0; i < kWaiters; ++i) {
    auto body = answers[static_cast<size_t>(i)].Wait();
    ASSERT_TRUE(body) << "waiter " << i << " was not woken";
    EXPECT_EQ((*body)["status"], "update");
    EXPECT_EQ((*body)["policy_set"]["version"], 4);
    auto d = storage_->GetDevice(devices[static_cast<size_t>(i)]);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->served_policy_version, 4);
    EXPECT_EQ(d->served_policy_hash, (*body)["policy_set"]["hash"]);
  }
  EXPECT_FALSE(elsewhere.Ready());
  EXPECT_EQ(hub_->Waiting(), 1u);
  auto d = storage_->GetDevice(other);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->served_policy_version, 0);
}

TEST_F(PolicyHubTest, APollIsAnsweredAtOnceWhenTheGroupHasANewerPolicy) {
  const StoredPolicy p = MustPush(Sign(Doc(7, {"laocai/"})));
  Answer newer;
  hub_->Poll(Poll(NewUuid(), "laocai/bac-ha", 6), newer.responder());
  ASSERT_TRUE(newer.Ready());
  auto body = newer.Wait();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["status"], "update");
  EXPECT_EQ((*body)["policy"]["version"], 7);
  EXPECT_EQ((*body)["policy"]["hash"], p.hash);
  EXPECT_EQ((*body)["policy"]["envelope"], json::parse(p.envelope));

  // Up to date, or another group: held.
  Answer current;
  hub_->Poll(Poll(NewUuid(), "laocai/bac-ha", 7), current.responder());
  Answer elsewhere;
  hub_->Poll(Poll(NewUuid(), "hanoi", 0), elsewhere.responder());
  EXPECT_FALSE(current.Ready());
  EXPECT_FALSE(elsewhere.Ready());
  EXPECT_EQ(hub_->Waiting(), 2u);
}

TEST_F(PolicyHubTest, APushWakesTheWaitingAgentsOfItsGroupsOnly) {
  Answer bac_ha;
  Answer sa_pa;
  Answer hanoi;
  hub_->Poll(Poll(NewUuid(), "laocai/bac-ha"), bac_ha.responder());
  hub_->Poll(Poll(NewUuid(), "laocai/sa-pa"), sa_pa.responder());
  hub_->Poll(Poll(NewUuid(), "hanoi"), hanoi.responder());
  ASSERT_EQ(hub_->Waiting(), 3u);

  auto outcome = hub_->Push(Sign(Doc(2, {"laocai/"})), "laocai/bac-ha", "admin");
  ASSERT_TRUE(std::holds_alternative<PushOutcome>(outcome));
  EXPECT_EQ(std::get<PushOutcome>(outcome).woken, 1u);
  auto body = bac_ha.Wait();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["policy"]["version"], 2);
  EXPECT_FALSE(sa_pa.Ready());
  EXPECT_FALSE(hanoi.Ready());
  EXPECT_EQ(hub_->Waiting(), 2u);
}

TEST_F(PolicyHubTest, APollWithNothingNewAnswersNoChangeAfterTheHold) {
  hub_ = MakeHub(milliseconds(50));
  Answer answer;
  hub_->Poll(Poll(NewUuid(), "laocai"), answer.responder());
  auto body = answer.Wait();
  ASSERT_TRUE(body) << "the held poll was never answered";
  EXPECT_EQ((*body)["_status"], 200);
  EXPECT_EQ((*body)["status"], "no_change");
  EXPECT_FALSE(body->contains("policy"));  // no full policy resend when nothing changed
  EXPECT_EQ(hub_->Waiting(), 0u);
}

TEST_F(PolicyHubTest, ARefusedPolicyIsNotOfferedAgain) {
  const StoredPolicy p = MustPush(Sign(Doc(3)));
  PollRequest request = Poll(NewUuid(), "laocai", 2);
  request.refused_hash = p.hash;
  Answer answer;
  hub_->Poll(request, answer.responder());
  EXPECT_FALSE(answer.Ready());
  // A newer one is offered.
  MustPush(Sign(Doc(4)));
  auto body = answer.Wait();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["policy"]["version"], 4);
}

TEST_F(PolicyHubTest, ATaskWakesItsDeviceAndIsHandedOutOnce) {
  const std::string device = AddDevice("laocai/bac-ha");
  const std::string other = AddDevice("laocai/bac-ha");
  Answer mine;
  Answer theirs;
  hub_->Poll(Poll(device, "laocai/bac-ha"), mine.responder());
  hub_->Poll(Poll(other, "laocai/bac-ha"), theirs.responder());
  Task task;
  task.id = NewUuid();
  task.yara = true;
  task.target = "device " + device;
  task.created_by = "admin";
  task.created_at = kNow;
  task.expires_at = kNow + hours(1);
  ASSERT_TRUE(storage_->CreateTask(task, {device}).ok());
  hub_->WakeDevices({device});
  auto body = mine.Wait();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["status"], "update");
  EXPECT_TRUE((*body)["policy"].is_null());
  ASSERT_EQ((*body)["tasks"].size(), 1u);
  EXPECT_EQ((*body)["tasks"][0]["id"], task.id);
  EXPECT_EQ((*body)["tasks"][0]["yara"], true);
  EXPECT_FALSE(theirs.Ready());

  Answer next;
  hub_->Poll(Poll(device, "laocai/bac-ha"), next.responder());
  EXPECT_FALSE(next.Ready());
}

TEST_F(PolicyHubTest, KeyRotationIsFollowedAndSurvivesARestart) {
  // Version 2, signed with the current key, makes `other_` the only trusted key.
  json doc = Doc(2);
  doc["trusted_keys"] = {other_.public_pem};
  MustPush(Sign(doc));
  EXPECT_EQ(MustRefuse(Sign(Doc(3))).status, 400);  // the old key is no longer trusted
  MustPush(Sign(Doc(3), &other_));
  hub_ = MakeHub(milliseconds(1000));  // loads with the old key from the data dir, then rotates
  EXPECT_THAT(MustRefuse(Sign(Doc(4))).message, HasSubstr("unknown_key"));
  MustPush(Sign(Doc(4), &other_));
}

TEST_F(PolicyHubTest, StalenessFollowsTheGroupsPolicy) {
  json doc = Doc(1, {"laocai/"});
  doc["reporting"] = {{"interval_seconds", 600}, {"stale_after_intervals", 3}};
  MustPush(Sign(doc));
  json only_count = Doc(2, {"hanoi/"});
  only_count["reporting"] = {{"stale_after_intervals", 4}};
  MustPush(Sign(only_count));
  MustPush(Sign(Doc(3, {"sonla/"})));
  EXPECT_EQ(hub_->StaleAfterFor("laocai/bac-ha"), std::chrono::seconds(1800));
  EXPECT_EQ(hub_->StaleAfterFor("hanoi/ba-dinh"), std::chrono::seconds(3600));  // 4 x 900 s
  EXPECT_FALSE(hub_->StaleAfterFor("sonla/moc-chau"));  // policy says nothing
  EXPECT_FALSE(hub_->StaleAfterFor("haiphong"));        // no policy
  hub_ = MakeHub(milliseconds(1000));
  EXPECT_EQ(hub_->StaleAfterFor("laocai/bac-ha"), std::chrono::seconds(1800));
}

TEST_F(PolicyHubTest, StoppingAnswersEveryWaitingPoll) {
  Answer answer;
  hub_->Poll(Poll(NewUuid(), "laocai"), answer.responder());
  EXPECT_FALSE(answer.Ready());
  hub_.reset();
  auto body = answer.Wait();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["_status"], 503);
}

TEST(GroupInScope, CountsSegmentsNotCharacters) {
  EXPECT_TRUE(GroupInScope("laocai/bac-ha", ""));
  EXPECT_TRUE(GroupInScope("laocai/bac-ha", "laocai"));
  EXPECT_TRUE(GroupInScope("laocai/bac-ha", "laocai/"));
  EXPECT_TRUE(GroupInScope("laocai", "laocai"));
  EXPECT_FALSE(GroupInScope("laocai2", "laocai"));
  EXPECT_FALSE(GroupInScope("laocai", "laocai/bac-ha"));
}

}  // namespace
}  // namespace cg::soc

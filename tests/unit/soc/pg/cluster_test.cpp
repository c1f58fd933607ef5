// Several cg-soc nodes on one database (issue 17), below the server: what the database decides
// for every node (a policy version newer than every stored one, one device per machine when
// enrollments race, one growing CRL number) on both backends, with two Storage objects on one
// PostgreSQL database standing for two nodes; and the cluster bus (LISTEN/NOTIFY): events
// reach the other node and not their sender, and a node whose listening connection was cut gets
// a resync and the events after it.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "soc/cluster_bus.h"
#include "soc/pg/pg_cluster_bus.h"
#include "tests/unit/testing/storage_backends.h"

namespace cg::soc {
namespace {

using namespace std::chrono_literals;
using storage_testing::Backend;
using storage_testing::BackendNamer;
using storage_testing::TestDatabase;

const SysTime kT0 = FromUnixSeconds(1'780'000'000);

class ClusterStorageTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    db_ = storage_testing::MakeTestDatabase(GetParam(), dir_.string());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    auto a = db_->Open(/*create=*/true);
    ASSERT_TRUE(a.ok()) << a.error().ToString();
    node_a_ = std::move(a).value();
    if (GetParam() == Backend::kPostgres) {
      auto b = db_->Open(/*create=*/false);  // a second node: its own connections
      ASSERT_TRUE(b.ok()) << b.error().ToString();
      node_b_ = std::move(b).value();
    }
  }
  void TearDown() override {
    node_b_.reset();
    node_a_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  // The other node on PostgreSQL; the same storage on SQLite (one node per database file).
  Storage& B() { return node_b_ != nullptr ? *node_b_ : *node_a_; }

  static StoredPolicy Policy(const std::string& target, int64_t version, const std::string& hash) {
    StoredPolicy p;
    p.target = target;
    p.version = version;
    p.hash = hash;
    p.key_id = "k";
    p.name = "p";
    p.envelope = "{}";
    p.pushed_by = "admin";
    p.pushed_at = kT0;
    return p;
  }
  static Device MachineDevice(const std::string& machine_id, const std::string& hostname) {
    Device d;
    d.device_id = NewUuid();
    d.hostname = hostname;
    d.machine_id = machine_id;
    d.group = "laocai";
    d.cert_serial = d.device_id.substr(0, 8);
    d.cert_not_after = kT0 + 720h;
    d.enrolled_at = kT0;
    return d;
  }

  std::filesystem::path dir_ = [] {
    auto p = std::filesystem::temp_directory_path() / ("cg-cluster-" + NewUuid());
    std::filesystem::create_directories(p);
    return p;
  }();
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Storage> node_a_;
  std::unique_ptr<Storage> node_b_;
};
INSTANTIATE_TEST_SUITE_P(Backends, ClusterStorageTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendNamer());

// Node B's cache still holds version 1 when node A stores version 3: B's push of version 2 must
// be refused by the database, not accepted because B's memory says 2 > 1.
TEST_P(ClusterStorageTest, APolicyVersionMustBeNewerThanEveryStoredOneOfItsTarget) {
  ASSERT_TRUE(node_a_->AddPolicy(Policy("laocai", 1, "h1")).ok());
  ASSERT_TRUE(node_a_->AddPolicy(Policy("laocai", 3, "h3")).ok());
  auto older = B().AddPolicy(Policy("laocai", 2, "h2"));
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(older.error().message.find("not newer than the stored version 3"), std::string::npos)
      << older.error().message;
  // The same policy again is "already stored", other content under a taken version is refused.
  auto again = B().AddPolicy(Policy("laocai", 3, "h3"));
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_FALSE(*again);
  EXPECT_FALSE(B().AddPolicy(Policy("laocai", 3, "other")).ok());
  // Versions count per target.
  auto other_target = B().AddPolicy(Policy("hanoi", 2, "x2"));
  ASSERT_TRUE(other_target.ok()) << other_target.error().ToString();
  EXPECT_TRUE(*other_target);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM policy_layers"), 3);
}

// Two nodes pushing for one target at once (one the even versions, one the odd ones): every
// push that is stored is newer than everything stored before it.
TEST_P(ClusterStorageTest, ConcurrentPushesNeverStoreAnOlderVersionAfterANewerOne) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      Storage& node = t == 0 ? *node_a_ : B();
      for (int v = 1; v <= 20; ++v) {
        (void)node.AddPolicy(Policy("laocai", v * 2 - t, "h" + std::to_string(v * 2 - t)));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  auto stored = node_a_->ListPolicies();  // newest push first
  ASSERT_TRUE(stored.ok());
  ASSERT_FALSE(stored->empty());
  for (size_t i = 0; i + 1 < stored->size(); ++i) {
    EXPECT_GT((*stored)[i].version, (*stored)[i + 1].version) << "pushed after a newer one";
  }
}

TEST_P(ClusterStorageTest, ConcurrentEnrollmentsOfOneMachineMakeOneDevice) {
  for (const auto& [machine, host] : {std::pair<std::string, std::string>{"m-42", "quay-1"},
                                      std::pair<std::string, std::string>{"", "quay-2"}}) {
    constexpr int kAttempts = 8;
    std::vector<Status> results(kAttempts, OkStatus());
    std::vector<std::thread> threads;
    for (int i = 0; i < kAttempts; ++i) {
      threads.emplace_back([&, i] {
        results[i] = (i % 2 == 0 ? *node_a_ : B()).AddEnrolledDevice(MachineDevice(machine, host));
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    int made = 0;
    for (const auto& r : results) {
      if (r.ok()) {
        ++made;
      } else {
        EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists) << r.error().ToString();
        EXPECT_NE(r.error().message.find("already enrolled as device"), std::string::npos);
      }
    }
    EXPECT_EQ(made, 1) << "machine '" << machine << "' host " << host;
    auto found = B().FindDevicesByMachine(machine, host);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->size(), 1u);
  }
  // Another machine is not held up by them.
  EXPECT_TRUE(B().AddEnrolledDevice(MachineDevice("m-43", "quay-1")).ok());
}

TEST_P(ClusterStorageTest, CrlNumbersGrowWhateverTheNodesClocksSay) {
  auto first = node_a_->NextCrlNumber(kT0);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  // At least the time in milliseconds: above the numbers a node gave by its clock before.
  EXPECT_GE(*first,
            std::chrono::duration_cast<std::chrono::milliseconds>(kT0.time_since_epoch()).count());
  if (GetParam() == Backend::kSqlite) {
    return;  // one node: its clock is the sequence (storage.h)
  }
  int64_t last = *first;
  for (int i = 0; i < 10; ++i) {
    // Node B's clock is an hour behind node A's.
    auto n = (i % 2 == 0 ? B().NextCrlNumber(kT0 - 1h) : node_a_->NextCrlNumber(kT0));
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    EXPECT_GT(*n, last);
    last = *n;
  }
}

TEST(ClusterEventTest, RoundTripsAndDropsADeviceListTooLongForOneNotification) {
  ClusterEvent e{ClusterEventKind::kDeviceRevoked, {"d-1"}, "node-a", 1234};
  auto back = DecodeClusterEvent(EncodeClusterEvent(e));
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(back->kind, ClusterEventKind::kDeviceRevoked);
  EXPECT_EQ(back->device_ids, std::vector<std::string>{"d-1"});
  EXPECT_EQ(back->origin, "node-a");
  EXPECT_EQ(back->sent_at_ms, 1234);

  ClusterEvent many{ClusterEventKind::kTasksCreated, {}, "node-a", 1};
  for (int i = 0; i < 500; ++i) {
    many.device_ids.push_back(NewUuid());
  }
  const std::string wire = EncodeClusterEvent(many);
  EXPECT_LE(wire.size(), kMaxClusterPayload);
  auto all = DecodeClusterEvent(wire);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->device_ids.empty());  // "every device"

  EXPECT_FALSE(DecodeClusterEvent("not json").ok());
  EXPECT_FALSE(DecodeClusterEvent(R"({"kind":"resync"})").ok());  // never from another node
  EXPECT_FALSE(DecodeClusterEvent(R"({"kind":"device_revoked","device_ids":[1]})").ok());
}

// Events as one node's handler receives them.
class Inbox {
 public:
  void Add(const ClusterEvent& e) {
    std::lock_guard lock(mu_);
    events_.push_back(e);
    cv_.notify_all();
  }
  // The first event of `kind` after `from` (an index into the events), or nullopt after 20 s
  // (a liveness bound, not a performance one).
  std::optional<std::pair<size_t, ClusterEvent>> Await(ClusterEventKind kind, size_t from = 0) {
    std::unique_lock lock(mu_);
    std::optional<std::pair<size_t, ClusterEvent>> found;
    cv_.wait_for(lock, 20s, [&] {
      for (size_t i = from; i < events_.size(); ++i) {
        if (events_[i].kind == kind) {
          found = std::pair{i, events_[i]};
          return true;
        }
      }
      return false;
    });
    return found;
  }
  std::vector<ClusterEvent> All() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ClusterEvent> events_;
};

class PgClusterBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string skip;
    std::string error;
    uri_ = storage_testing::PgTestUri(&skip, &error);
    if (!skip.empty()) {
      GTEST_SKIP() << skip;
    }
    ASSERT_FALSE(uri_.empty()) << error;
  }
  std::string uri_;
};

TEST_F(PgClusterBusTest, EventsReachTheOtherNodeNotTheSenderAndSurviveALostConnection) {
  auto a = pg::MakePgClusterBus(uri_);
  auto b = pg::MakePgClusterBus(uri_);
  Inbox at_a, at_b;
  ASSERT_TRUE(a->Start([&](const ClusterEvent& e) { at_a.Add(e); }).ok());
  ASSERT_TRUE(b->Start([&](const ClusterEvent& e) { at_b.Add(e); }).ok());
  // Each node re-reads once at start (what changed before it listened).
  ASSERT_TRUE(at_b.Await(ClusterEventKind::kResync).has_value());

  a->Publish({ClusterEventKind::kDeviceRevoked, {"dev-1"}, "", 0});
  auto got = at_b.Await(ClusterEventKind::kDeviceRevoked);
  ASSERT_TRUE(got.has_value()) << "node B never heard of the revocation";
  EXPECT_EQ(got->second.device_ids, std::vector<std::string>{"dev-1"});
  EXPECT_EQ(got->second.origin, a->node_id());

  // Node B's listening connection is cut (a database restart, a failover): it reconnects and
  // re-reads, and later events reach it again.
  auto admin = pg::Connection::Open(uri_);
  ASSERT_TRUE(admin.ok());
  const size_t before = at_b.All().size();
  auto killed = (*admin)->Query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
      "cg-soc bus " + b->node_id());
  ASSERT_TRUE(killed.ok()) << killed.error().ToString();
  ASSERT_EQ(killed->Int(0, 0), 1);
  ASSERT_TRUE(at_b.Await(ClusterEventKind::kResync, before).has_value())
      << "no resync after the lost connection";
  a->Publish({ClusterEventKind::kPolicyPushed, {}, "", 0});
  EXPECT_TRUE(at_b.Await(ClusterEventKind::kPolicyPushed).has_value());

  // A node never gets its own events back; B's publishing reaches A.
  b->Publish({ClusterEventKind::kTasksCreated, {"dev-2"}, "", 0});
  ASSERT_TRUE(at_a.Await(ClusterEventKind::kTasksCreated).has_value());
  for (auto* inbox : {&at_a, &at_b}) {
    const std::string& self = inbox == &at_a ? a->node_id() : b->node_id();
    for (const auto& e : inbox->All()) {
      if (e.kind != ClusterEventKind::kResync) {
        EXPECT_NE(e.origin, self) << "a node got its own " << ClusterEventName(e.kind);
      }
    }
  }
  a->Stop();
  b->Stop();
}

}  // namespace
}  // namespace cg::soc

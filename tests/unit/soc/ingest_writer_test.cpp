// Tests for soc/ingest_writer.cpp and the group commit of soc/sqlite_storage.cpp
// (StoreReports) over a real SQLite database; the writer is held inside a commit by a gate, so
// batching is shown without any timing.
#include "soc/ingest_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "soc/sqlite_storage.h"
#include "tests/unit/testing/gated_storage.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using std::chrono::seconds;
using testing::GatedStorage;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

class IngestWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
    ASSERT_TRUE(real.ok()) << real.error().ToString();
    real_ = std::move(real).value();
    gated_ = std::make_unique<GatedStorage>(*real_);
    for (int d = 1; d <= 2; ++d) {
      Device device;
      device.device_id = Uuid(d);
      device.hostname = "pc";
      device.machine_id = "m";
      device.group = "laocai";
      device.cert_serial = "01";
      device.cert_not_after = kT0 + seconds(86400);
      device.enrolled_at = kT0;
      ASSERT_TRUE(real_->AddDevice(device).ok());
    }
  }

  static protocol::Report Report(int device, int n) {
    protocol::Report r;
    r.report_id = Uuid(1000 + n);
    r.device_id = Uuid(device);
    r.hostname = "pc";
    r.agent_version = "0.1.0";
    r.collected_at = FormatRfc3339(kT0 + seconds(n));
    r.policy_hash = "h";
    return r;
  }

  // An item whose result lands in `results[n]` (and counts `answered`).
  IngestItem Item(int device, int n) {
    auto report = Report(device, n);
    std::string body = protocol::ToJson(report).dump();
    return IngestItem{std::move(report), std::move(body), kT0, [this, n](Result<bool> stored) {
                        std::lock_guard lock(mu_);
                        results_[n] = stored.ok() ? (*stored ? "stored" : "duplicate")
                                                  : "error: " + stored.error().message;
                        ++answered_;
                      }};
  }

  std::vector<IngestItem> Items(std::initializer_list<std::pair<int, int>> list) {
    std::vector<IngestItem> items;
    for (auto [device, n] : list) {
      items.push_back(Item(device, n));
    }
    return items;
  }

  size_t Stored(int device) {
    auto history = real_->ReportHistory(Uuid(device), 1000);
    return history.ok() ? history->size() : 0;
  }

  std::string Outcome(int n) {
    std::lock_guard lock(mu_);
    return results_.count(n) ? results_[n] : "";
  }

  TempDir dir_;
  std::unique_ptr<Storage> real_;
  std::unique_ptr<GatedStorage> gated_;
  std::mutex mu_;
  std::map<int, std::string> results_;
  std::atomic<int> answered_{0};
};

TEST_F(IngestWriterTest, ReportsQueuedDuringACommitGoTogetherInTheNextTransaction) {
  gated_->Close();
  IngestWriter writer(*gated_, IngestWriter::Options{100, 100});
  ASSERT_TRUE(writer.TrySubmit(Items({{1, 0}})));
  gated_->WaitForCommits(1);  // the writer holds report 0 inside its commit
  for (int n = 1; n <= 10; ++n) {
    ASSERT_TRUE(writer.TrySubmit(Items({{1 + n % 2, n}})));
  }
  EXPECT_EQ(answered_.load(), 0) << "nothing is acknowledged before its commit";
  EXPECT_EQ(writer.QueueDepth(), 10u);
  gated_->Open();
  writer.Stop();
  EXPECT_EQ(gated_->BatchSizes(), (std::vector<size_t>{1, 10}));
  for (int n = 0; n <= 10; ++n) {
    EXPECT_EQ(Outcome(n), "stored") << n;
  }
  EXPECT_EQ(Stored(1) + Stored(2), 11u);
}

// Retention gives way while Busy(): that includes the batch being committed, which has already
// left the queue (QueueDepth() says 0 then).
TEST_F(IngestWriterTest, BusyWhileReportsAreQueuedOrBeingCommitted) {
  gated_->Close();
  IngestWriter writer(*gated_, IngestWriter::Options{100, 100});
  EXPECT_FALSE(writer.Busy());
  ASSERT_TRUE(writer.TrySubmit(Items({{1, 0}})));
  EXPECT_TRUE(writer.Busy());
  gated_->WaitForCommits(1);  // the writer holds report 0 inside its commit
  EXPECT_EQ(writer.QueueDepth(), 0u);
  EXPECT_TRUE(writer.Busy());
  ASSERT_TRUE(writer.TrySubmit(Items({{2, 1}})));
  EXPECT_TRUE(writer.Busy());
  gated_->Open();
  writer.Stop();
  EXPECT_FALSE(writer.Busy());
  EXPECT_EQ(Outcome(0), "stored");
  EXPECT_EQ(Outcome(1), "stored");
}

TEST_F(IngestWriterTest, AFullQueueRefusesWholeRequestsAndRunsNoCallback) {
  gated_->Close();
  IngestWriter writer(*gated_, IngestWriter::Options{3, 100});
  ASSERT_TRUE(writer.TrySubmit(Items({{1, 0}})));
  gated_->WaitForCommits(1);
  EXPECT_TRUE(writer.TrySubmit(Items({{1, 1}, {1, 2}})));
  EXPECT_FALSE(writer.TrySubmit(Items({{1, 3}, {1, 4}}))) << "only one slot left: all or none";
  EXPECT_TRUE(writer.TrySubmit(Items({{1, 5}})));
  EXPECT_FALSE(writer.TrySubmit(Items({{1, 6}})));
  gated_->Open();
  writer.Stop();
  EXPECT_EQ(Outcome(3), "");
  EXPECT_EQ(Outcome(4), "");
  EXPECT_EQ(Outcome(6), "");
  EXPECT_EQ(answered_.load(), 4);
  EXPECT_EQ(Stored(1), 4u);
}

TEST_F(IngestWriterTest, StopStoresWhatIsQueuedAndRefusesLaterReports) {
  gated_->Close();
  IngestWriter writer(*gated_, IngestWriter::Options{100, 2});
  ASSERT_TRUE(writer.TrySubmit(Items({{1, 0}})));
  gated_->WaitForCommits(1);
  ASSERT_TRUE(writer.TrySubmit(Items({{1, 1}, {1, 2}, {2, 3}, {2, 4}, {2, 5}})));
  std::thread opener([&] {
    gated_->WaitForCommits(1);
    gated_->Open();
  });
  writer.Stop();
  opener.join();
  EXPECT_FALSE(writer.TrySubmit(Items({{1, 9}})));
  EXPECT_EQ(answered_.load(), 6);
  EXPECT_EQ(gated_->BatchSizes(), (std::vector<size_t>{1, 2, 2, 1})) << "max_batch bounds a commit";
  EXPECT_EQ(Stored(1), 3u);
  EXPECT_EQ(Stored(2), 3u);
}

TEST_F(IngestWriterTest, ARefusedReportInAGroupCommitLeavesTheOthersStored) {
  auto good = Report(1, 1);
  auto unknown_device = Report(1, 2);
  unknown_device.device_id = Uuid(99);
  auto retry_of_good = Report(1, 1);
  auto stolen_id = Report(2, 1);  // report_id of `good`, from another device
  auto second = Report(2, 3);
  const std::string body = "{}";
  std::vector<ReportToStore> batch = {{&good, body, kT0},
                                      {&unknown_device, body, kT0},
                                      {&retry_of_good, body, kT0},
                                      {&stolen_id, body, kT0},
                                      {&second, body, kT0}};
  auto results = real_->StoreReports(batch);
  ASSERT_EQ(results.size(), 5u);
  ASSERT_TRUE(results[0].ok());
  EXPECT_TRUE(*results[0]);
  ASSERT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(results[2].ok());
  EXPECT_FALSE(*results[2]) << "a retry within the same batch is a duplicate";
  ASSERT_FALSE(results[3].ok());
  EXPECT_EQ(results[3].error().code, ErrorCode::kConflict);
  ASSERT_TRUE(results[4].ok());
  EXPECT_TRUE(*results[4]);
  EXPECT_EQ(Stored(1), 1u);
  EXPECT_EQ(Stored(2), 1u);
}

}  // namespace
}  // namespace cg::soc

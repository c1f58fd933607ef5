// The status history through the Storage of every backend (soc/sqlite_history.cpp,
// soc/pg/pg_history.cpp): status intervals kept at ingest (retries, reports stored out of
// arrival order, batches arriving in one second), reporting gaps, enforcement changes, generated
// reports and retention in batches; and, on SQLite, the backfill from stored reports.
#include "soc/sqlite_history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "common/timeutil.h"
#include "soc/retention.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using protocol::CheckStatus;
using std::chrono::hours;
using std::chrono::seconds;
using storage_testing::Backend;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};  // 2026-09-21T12:53:20Z
constexpr const char* kDevice = "00000000-0000-4000-8000-000000000001";

protocol::CheckResult Check(const char* id, protocol::CheckStatus status) {
  protocol::CheckResult c;
  c.id = id;
  c.status = status;
  return c;
}

std::string ReportId(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-9000-%012d", n);
  return buf;
}

protocol::Report MakeReport(int n, CheckStatus antivirus, CheckStatus screen_lock,
                            const char* device = kDevice) {
  protocol::Report r;
  r.report_id = ReportId(n);
  r.device_id = device;
  r.hostname = "may-01";
  r.collected_at = FormatRfc3339(kT0 + hours(n));
  r.checks.push_back(Check("antivirus", antivirus));
  r.checks.back().summary = "antivirus #" + std::to_string(n);
  r.checks.push_back(Check("screen_lock", screen_lock));
  return r;
}

Device MakeDevice(const char* id, const char* group = "laocai/bac-ha") {
  Device d;
  d.device_id = id;
  d.hostname = "may-01";
  d.group = group;
  d.cert_serial = std::string("aa") + id[35];
  d.cert_not_after = kT0 + hours(24 * 365);
  d.enrolled_at = kT0 - hours(24 * 30);
  return d;
}

// (check, status, since, until or -1, report id) of every interval, in a stable order.
using Row = std::tuple<std::string, std::string, int64_t, int64_t, std::string>;
std::vector<Row> Rows(Storage& s, const char* device = kDevice) {
  HistoryQuery q;
  q.device_id = device;
  auto intervals = s.StatusIntervals(q);
  EXPECT_TRUE(intervals.ok()) << intervals.error().ToString();
  std::vector<Row> rows;
  for (const auto& i : *intervals) {
    rows.emplace_back(i.check_id, i.status, ToUnixSeconds(i.since),
                      i.until ? ToUnixSeconds(*i.until) : -1, i.report_id);
  }
  return rows;
}

class HistoryTestBase : public ::testing::Test {
 protected:
  // Called by SetUp: the test's first database on `backend` (a skip or a failure without one).
  void Use(Backend backend) {
    backend_ = backend;
    Make("a");
  }
  storage_testing::TestDatabase* Make(const std::string& name) {
    auto& db = dbs_[name];
    if (db == nullptr) {
      const std::string dir = dir_.File(name);
      std::filesystem::create_directories(dir);
      db = storage_testing::MakeTestDatabase(backend_, dir);
    }
    return db.get();
  }
  // The storage of the test's database `name` (a test may hold two).
  std::unique_ptr<Storage> Open(const std::string& name = "a") {
    storage_testing::TestDatabase* db = Make(name);
    if (db == nullptr) {
      ADD_FAILURE() << "no test database";
      return nullptr;
    }
    auto s = db->Open(/*create=*/true);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  void Store(Storage& s, const protocol::Report& r, SysTime received_at) {
    auto stored = s.StoreReport(r, protocol::ToJson(r).dump(), received_at);
    ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  }
  int64_t Count(const std::string& sql, const std::string& name = "a") {
    return dbs_.at(name)->Int(sql);
  }
  void Exec(const std::string& sql, const std::string& name = "a") {
    ASSERT_TRUE(dbs_.at(name)->Exec(sql)) << sql;
  }

  Backend backend_ = Backend::kSqlite;
  TempDir dir_;
  std::map<std::string, std::unique_ptr<storage_testing::TestDatabase>> dbs_;
};

// Every backend (the storage conformance suite, issue 17).
class HistoryTest : public HistoryTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override { Use(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Backends, HistoryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage_testing::BackendNamer());

// About the SQLite file.
class SqliteHistoryTest : public HistoryTestBase {
 protected:
  void SetUp() override { Use(Backend::kSqlite); }
};

TEST_P(HistoryTest, IntervalsFollowStatusChangesAndOnlyChanges) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  Store(*s, MakeReport(1, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(1));
  Store(*s, MakeReport(2, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(2));
  Store(*s, MakeReport(3, CheckStatus::kFail, CheckStatus::kPass), kT0 + hours(3));
  Store(*s, MakeReport(4, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(4));
  const int64_t t = ToUnixSeconds(kT0);
  EXPECT_THAT(Rows(*s), ::testing::ElementsAre(
                            Row{"", "compliant", t + 3600, t + 3 * 3600, ReportId(1)},
                            Row{"", "noncompliant", t + 3 * 3600, t + 4 * 3600, ReportId(3)},
                            Row{"", "compliant", t + 4 * 3600, -1, ReportId(4)},
                            Row{"antivirus", "pass", t + 3600, t + 3 * 3600, ReportId(1)},
                            Row{"antivirus", "fail", t + 3 * 3600, t + 4 * 3600, ReportId(3)},
                            Row{"antivirus", "pass", t + 4 * 3600, -1, ReportId(4)},
                            Row{"screen_lock", "pass", t + 3600, -1, ReportId(1)}));
  HistoryQuery q;
  q.device_id = kDevice;
  auto intervals = s->StatusIntervals(q);
  ASSERT_TRUE(intervals.ok());
  EXPECT_EQ((*intervals)[4].summary, "antivirus #3");  // the evidence of the report that began it
  EXPECT_EQ((*intervals)[1].summary, "fail: antivirus");
}

TEST_P(HistoryTest, RetriesChangeNothing) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  const auto r1 = MakeReport(1, CheckStatus::kPass, CheckStatus::kPass);
  const auto r2 = MakeReport(2, CheckStatus::kFail, CheckStatus::kPass);
  Store(*s, r1, kT0 + hours(1));
  Store(*s, r2, kT0 + hours(2));
  const auto before = Rows(*s);
  // The agent did not get the answer and sends both again, later.
  auto again = s->StoreReport(r1, protocol::ToJson(r1).dump(), kT0 + hours(5));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  ReportToStore batch[] = {{&r2, protocol::ToJson(r2).dump(), kT0 + hours(6)}};
  ASSERT_TRUE(s->StoreReports(batch)[0].ok());
  EXPECT_EQ(Rows(*s), before);
}

TEST_P(HistoryTest, OutOfOrderStorageGivesTheSameIntervalsAsArrivalOrder) {
  // Reports 1..6 with alternating statuses; one database stores them in arrival order, the
  // other in a shuffled order (same received_at each): the device follows the report received
  // last, and so does the history.
  const CheckStatus av[] = {CheckStatus::kPass, CheckStatus::kFail,  CheckStatus::kFail,
                            CheckStatus::kPass, CheckStatus::kError, CheckStatus::kPass};
  auto in_order = Open("a");
  auto shuffled = Open("b");
  for (auto* s : {in_order.get(), shuffled.get()}) {
    ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  }
  for (int n = 1; n <= 6; ++n) {
    Store(*in_order, MakeReport(n, av[n - 1], CheckStatus::kPass), kT0 + hours(n));
  }
  for (int n : {4, 1, 6, 2, 5, 3}) {
    Store(*shuffled, MakeReport(n, av[n - 1], CheckStatus::kPass), kT0 + hours(n));
  }
  EXPECT_EQ(Rows(*shuffled), Rows(*in_order));
  auto a = in_order->GetDevice(kDevice);
  auto b = shuffled->GetDevice(kDevice);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->status, b->status);
}

TEST_P(HistoryTest, ABatchArrivingInOneSecondEndsWithItsLastReport) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  // A spool emptied at once: failing, then fixed, in one request (same received_at).
  const auto r1 = MakeReport(1, CheckStatus::kFail, CheckStatus::kPass);
  const auto r2 = MakeReport(2, CheckStatus::kPass, CheckStatus::kPass);
  const std::string b1 = protocol::ToJson(r1).dump(), b2 = protocol::ToJson(r2).dump();
  ReportToStore batch[] = {{&r1, b1, kT0}, {&r2, b2, kT0}};
  for (const auto& result : s->StoreReports(batch)) {
    ASSERT_TRUE(result.ok());
  }
  auto device = s->GetDevice(kDevice);
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->status, protocol::DeviceStatus::kCompliant);
  HistoryQuery q;
  q.device_id = kDevice;
  auto intervals = s->StatusIntervals(q);
  ASSERT_TRUE(intervals.ok());
  std::vector<StatusInterval> overall;
  for (const auto& i : *intervals) {
    if (i.check_id == kOverallCheck) {
      overall.push_back(i);
    }
  }
  ASSERT_EQ(overall.size(), 2u);
  EXPECT_EQ(overall[0].status, "noncompliant");
  EXPECT_EQ(overall[0].until, kT0);  // zero length: it never showed
  EXPECT_EQ(overall[1].status, "compliant");
  EXPECT_FALSE(overall[1].until.has_value());
}

TEST_F(SqliteHistoryTest, BackfillFromStoredReportsMatchesIngest) {
  {
    auto s = Open();
    ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
    for (int n = 1; n <= 5; ++n) {
      Store(*s, MakeReport(n, n % 2 ? CheckStatus::kPass : CheckStatus::kFail, CheckStatus::kPass),
            kT0 + hours(24 * 2 * n));
    }
  }
  auto reference = Open();
  const auto expected = Rows(*reference);
  const int64_t gaps = Count("SELECT count(*) FROM reporting_gaps");
  reference.reset();
  // What migration 7 leaves behind on a database that already holds reports.
  Exec(
      "DELETE FROM status_intervals; DELETE FROM reporting_gaps; INSERT INTO history_backfill "
      "(pending) VALUES (1)");
  auto s = Open();
  EXPECT_EQ(Rows(*s), expected);
  EXPECT_EQ(Count("SELECT count(*) FROM reporting_gaps"), gaps);
  EXPECT_EQ(gaps, 4);  // two days between arrivals, every time
  EXPECT_EQ(Count("SELECT count(*) FROM history_backfill"), 0);
}

TEST_P(HistoryTest, GapsAreSplitByAReportStoredInTheirMiddle) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  Store(*s, MakeReport(1, CheckStatus::kPass, CheckStatus::kPass), kT0);
  Store(*s, MakeReport(2, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * 5));
  HistoryQuery q;
  q.device_id = kDevice;
  auto gaps = s->ReportingGaps(q);
  ASSERT_TRUE(gaps.ok());
  ASSERT_EQ(gaps->size(), 1u);
  EXPECT_EQ((*gaps)[0].until, kT0 + hours(24 * 5));
  Store(*s, MakeReport(3, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * 2));
  gaps = s->ReportingGaps(q);
  ASSERT_TRUE(gaps.ok());
  ASSERT_EQ(gaps->size(), 2u);
  EXPECT_EQ((*gaps)[0].since, kT0);
  EXPECT_EQ((*gaps)[0].until, kT0 + hours(48));
  EXPECT_EQ((*gaps)[1].since, kT0 + hours(48));
  // A report six hours later leaves no gap.
  Store(*s, MakeReport(4, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * 5 + 6));
  gaps = s->ReportingGaps(q);
  ASSERT_TRUE(gaps.ok());
  EXPECT_EQ(gaps->size(), 2u);
}

TEST_P(HistoryTest, EnforcementChangesAreRecordedOnce) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  auto r = MakeReport(1, CheckStatus::kPass, CheckStatus::kPass);
  r.checks[1].remediation = {{"dry_run", false},
                             {"result", "applied"},
                             {"changes", {{{"target", "dconf"}, {"after", "locked"}}}}};
  Store(*s, r, kT0);
  Store(*s, r, kT0 + hours(1));  // a retry
  HistoryQuery q;
  q.group_prefix = "laocai";
  auto changes = s->EnforcementChanges(q);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].check_id, "screen_lock");
  EXPECT_EQ((*changes)[0].changes, R"([{"after":"locked","target":"dconf"}])");
}

TEST_P(HistoryTest, RetentionDeletesOldReportsInBatchesAndKeepsWhatIsReferenced) {
  auto s = Open();
  constexpr const char* kOther = "00000000-0000-4000-8000-000000000002";
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  ASSERT_TRUE(s->AddDevice(MakeDevice(kOther)).ok());
  for (int n = 1; n <= 7; ++n) {
    Store(*s, MakeReport(n, n == 3 ? CheckStatus::kFail : CheckStatus::kPass, CheckStatus::kPass),
          kT0 + hours(24 * n));
  }
  // The other device reported once, long ago: its only report is what it shows.
  Store(*s, MakeReport(100, CheckStatus::kFail, CheckStatus::kPass, kOther), kT0);
  const auto history_before = Rows(*s);
  AuditEntry old_entry;
  old_entry.time = FromUnixSeconds(1'600'000'000);  // 2020: beyond every retention
  old_entry.actor = "root";
  old_entry.method = "GET";
  old_entry.path = "/api/v1/devices";
  ASSERT_TRUE(s->AppendAudit(old_entry).ok());
  AuditEntry young = old_entry;
  young.time = std::chrono::system_clock::now();
  ASSERT_TRUE(s->AppendAudit(young).ok());

  RetentionOptions options;
  options.reports = hours(24 * 90);
  options.batch = 2;
  options.pause = std::chrono::milliseconds(0);
  // Day 7 + 91 days: reports 1..6 are older than 90 days; 7 is the device's latest.
  RetentionRunner runner(
      *s, [] { return kT0 + hours(24 * 98); }, options);
  auto counts = runner.RunOnce();
  ASSERT_TRUE(counts.ok()) << counts.error().ToString();
  EXPECT_EQ(counts->reports, 6u);
  EXPECT_EQ(counts->audit, 1u);    // the 2020 entry only
  EXPECT_GE(counts->batches, 4u);  // 2 + 2 + 2 + 0 reports, then history and audit
  EXPECT_EQ(Count("SELECT count(*) FROM reports"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM reports WHERE report_id = '" + ReportId(7) + "'"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM reports WHERE device_id = '" + std::string(kOther) + "'"),
            1);
  EXPECT_EQ(Count("SELECT count(*) FROM check_results WHERE report NOT IN "
                  "(SELECT id FROM reports)"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM audit_log"), 1);
  // The status history outlives the reports.
  EXPECT_EQ(Rows(*s), history_before);
  auto latest = s->LatestReport(kOther);
  ASSERT_TRUE(latest.ok() && latest->has_value());
}

// Retention gives way to ingest: no batch while the ingest writer says it is busy, up to
// its limit; and a pass still finishes when ingest never stops.
TEST_P(HistoryTest, RetentionWaitsForIdleIngestButNotForever) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  for (int n = 1; n <= 5; ++n) {
    Store(*s, MakeReport(n, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * n));
  }
  RetentionOptions options;
  options.reports = hours(24 * 90);
  options.batch = 2;
  options.pause = std::chrono::milliseconds(1);
  const auto now = [] { return kT0 + hours(24 * 96); };  // reports 1..4 are old, 5 the latest
  {
    // Busy for the first three looks: the first batch waits for the fourth (max_yield: an
    // hour, never reached here).
    options.max_yield = std::chrono::hours(1);
    RetentionRunner runner(*s, now, options);
    int looks = 0;
    int reports_when_idle = -1;
    runner.SetIngestBusy([&] {
      if (++looks == 4) {
        reports_when_idle = static_cast<int>(Count("SELECT count(*) FROM reports"));
      }
      return looks < 4;
    });
    auto counts = runner.RunOnce();
    ASSERT_TRUE(counts.ok()) << counts.error().ToString();
    EXPECT_EQ(reports_when_idle, 5) << "a batch ran while ingest was busy";
    EXPECT_EQ(counts->reports, 4u);
    EXPECT_EQ(Count("SELECT count(*) FROM reports"), 1);
  }
  for (int n = 6; n <= 9; ++n) {
    Store(*s, MakeReport(n, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * n));
  }
  {
    // Ingest never idle: every batch waits its limit, and the pass still deletes all it must
    // (reports 5..8; 9 is the latest).
    options.batch = 1;
    options.max_yield = std::chrono::milliseconds(1);
    options.busy_duty_percent = 100;  // no wait longer than max_yield
    RetentionRunner runner(
        *s, [] { return kT0 + hours(24 * 100); }, options);
    int looks = 0;
    runner.SetIngestBusy([&] {
      ++looks;
      return true;
    });
    auto counts = runner.RunOnce();
    ASSERT_TRUE(counts.ok()) << counts.error().ToString();
    EXPECT_EQ(counts->reports, 4u);
    EXPECT_GE(looks, 5);  // before each of the five report batches (1, 1, 1, 1, then 0 left)
    EXPECT_EQ(Count("SELECT count(*) FROM reports"), 1);
  }
}

TEST_P(HistoryTest, AuditYoungerThanAYearIsNeverDeleted) {
  auto s = Open();
  AuditEntry entry;
  entry.time = std::chrono::system_clock::now() - hours(24 * 200);
  entry.actor = "root";
  ASSERT_TRUE(s->AppendAudit(entry).ok());
  // Even asked to, by a misconfigured or malicious caller: the schema refuses.
  auto deleted = s->DeleteAuditBefore(std::chrono::system_clock::now(), 10);
  EXPECT_FALSE(deleted.ok());
  EXPECT_EQ(Count("SELECT count(*) FROM audit_log"), 1);
}

TEST_P(HistoryTest, HistoryRetentionKeepsOpenIntervals) {
  auto s = Open();
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  Store(*s, MakeReport(1, CheckStatus::kFail, CheckStatus::kPass), kT0);
  Store(*s, MakeReport(2, CheckStatus::kPass, CheckStatus::kPass), kT0 + hours(24 * 3));
  auto deleted = s->DeleteHistoryBefore(kT0 + hours(24 * 4000), 100);
  ASSERT_TRUE(deleted.ok());
  // The closed intervals (overall and antivirus) and the gap go; the current status stays.
  EXPECT_EQ(*deleted, 3u);
  const int64_t t = ToUnixSeconds(kT0);
  EXPECT_THAT(Rows(*s),
              ::testing::ElementsAre(Row{"", "compliant", t + 3 * 86400, -1, ReportId(2)},
                                     Row{"antivirus", "pass", t + 3 * 86400, -1, ReportId(2)},
                                     Row{"screen_lock", "pass", t, -1, ReportId(1)}));
}

// An inspection's record: the task, each device it went to (by host name) and the status of
// the report that answered it; once retention deleted that report, the overall interval that
// covered its arrival; a device that never answered has none.
TEST_P(HistoryTest, InspectionRecordsTellEachDevicesAnswerAfterRetentionToo) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  constexpr const char* kOther = "00000000-0000-4000-8000-000000000002";
  constexpr const char* kElsewhere = "00000000-0000-4000-8000-000000000003";
  Device other = MakeDevice(kOther);
  other.hostname = "may-00";
  ASSERT_TRUE(s->AddDevice(MakeDevice(kDevice)).ok());
  ASSERT_TRUE(s->AddDevice(other).ok());
  ASSERT_TRUE(s->AddDevice(MakeDevice(kElsewhere, "hanoi")).ok());
  Task task;
  task.id = "00000000-0000-4000-a000-000000000001";
  task.target = "group laocai";
  task.created_by = "tran.thi.hoa";
  task.created_at = kT0;
  task.expires_at = kT0 + hours(2);
  ASSERT_TRUE(s->CreateTask(task, {kDevice, kOther}).ok());
  Task elsewhere = task;
  elsewhere.id = "00000000-0000-4000-a000-000000000002";
  elsewhere.target = "group hanoi";
  ASSERT_TRUE(s->CreateTask(elsewhere, {kElsewhere}).ok());
  ASSERT_TRUE(s->TakeTasks(kDevice, kT0 + seconds(30)).ok());
  auto answer = MakeReport(1, CheckStatus::kFail, CheckStatus::kPass);
  answer.task_ids = {task.id};
  Store(*s, answer, kT0 + hours(1));
  auto next = MakeReport(2, CheckStatus::kPass, CheckStatus::kPass);
  Store(*s, next, kT0 + hours(30));

  HistoryQuery q;
  q.group_prefix = "laocai/";
  q.from = kT0 - hours(1);
  q.to = kT0 + hours(1);
  auto records = s->InspectionRecords(q);
  ASSERT_TRUE(records.ok()) << records.error().ToString();
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].task.id, task.id);
  EXPECT_EQ((*records)[0].task.created_by, "tran.thi.hoa");
  const auto& a = (*records)[0].assignments;
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].first.hostname, "may-00");  // by host name
  EXPECT_EQ(a[0].first.state, "pending");
  EXPECT_EQ(a[0].second, "");
  EXPECT_EQ(a[1].first.device_id, kDevice);
  EXPECT_EQ(a[1].first.state, "done");
  EXPECT_EQ(a[1].first.done_at, kT0 + hours(1));
  EXPECT_EQ(a[1].first.report_id, ReportId(1));
  EXPECT_EQ(a[1].second, "noncompliant");
  // Outside the time range: nothing.
  q.from = kT0 + hours(1);
  q.to = kT0 + hours(3);
  records = s->InspectionRecords(q);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty());

  // The answering report deleted by retention: the overall interval of its arrival tells.
  auto deleted = s->DeleteReportsBefore(kT0 + hours(2), 10);
  ASSERT_TRUE(deleted.ok()) << deleted.error().ToString();
  ASSERT_EQ(*deleted, 1u);
  q.from.reset();
  q.to.reset();
  q.group_prefix.reset();
  records = s->InspectionRecords(q);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  ASSERT_EQ((*records)[0].assignments.size(), 2u);
  EXPECT_EQ((*records)[0].assignments[1].second, "noncompliant");
  EXPECT_EQ((*records)[1].task.id, elsewhere.id);
  ASSERT_EQ((*records)[1].assignments.size(), 1u);
  EXPECT_EQ((*records)[1].assignments[0].first.device_id, kElsewhere);
}

// Reading the history of a device the SOC does not know is an error, not an empty history.
TEST_P(HistoryTest, AnUnknownDevicesHistoryIsNotFound) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  HistoryQuery q;
  q.device_id = kDevice;
  auto intervals = s->StatusIntervals(q);
  ASSERT_FALSE(intervals.ok());
  EXPECT_EQ(intervals.error().code, ErrorCode::kNotFound);
}

TEST(ValidateRetentionTest, RefusesTooShortRetention) {
  RetentionOptions o;
  EXPECT_TRUE(ValidateRetention(o).ok());
  o.audit = hours(24 * 30);
  EXPECT_FALSE(ValidateRetention(o).ok());
  o = {};
  o.history = hours(24);
  EXPECT_FALSE(ValidateRetention(o).ok());
  o = {};
  o.reports = hours(1);
  EXPECT_FALSE(ValidateRetention(o).ok());
}

}  // namespace
}  // namespace cg::soc

// Tests for soc/sqlite_storage_query.cpp against real database files: every filter of the
// devices query, each sort order in both directions, keyset pages (first, last, exact multiple of
// the page size, a cursor from a changed dataset), the fleet summary, reports by id, and
// migration 8's backfill of existing devices. Times are fixed; nothing reads the clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/report.h"
#include "soc/sqlite_storage.h"
#include "soc/text_fold.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using protocol::CheckStatus;
using protocol::DeviceStatus;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};
constexpr SysTime kStaleBefore = kT0 - hours(72);

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

struct Spec {
  int n;
  std::string hostname;
  std::string group;
  // The latest report's checks; empty: never reported.
  std::vector<std::pair<std::string, CheckStatus>> checks;
  SysTime seen = kT0;
  std::string os = "Windows 10 Pro";
  std::string agent = "1.4.2";
  int64_t policy = 4;
  bool revoked = false;
};

using storage_testing::Backend;

class QueryTestBase : public ::testing::Test {
 protected:
  void Use(Backend backend) {
    db_ = storage_testing::MakeTestDatabase(backend, dir_.path());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    auto opened = db_->Open(/*create=*/true);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    storage_ = std::move(opened).value();
  }

  void Add(const Spec& s) {
    Device d;
    d.device_id = Uuid(s.n);
    d.hostname = s.hostname;
    d.machine_id = "m" + std::to_string(s.n);
    d.group = s.group;
    d.cert_serial = "c" + std::to_string(s.n);
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0 - hours(24 * 10);
    ASSERT_TRUE(storage_->AddDevice(d).ok());
    if (!s.checks.empty()) {
      protocol::Report r;
      r.report_id = Uuid(100000 + s.n * 10 + reports_[s.n]++);
      r.device_id = d.device_id;
      r.hostname = s.hostname;
      r.os = {s.os, s.os == "Debian GNU/Linux" ? "12" : "10.0.19045", "", "x86_64"};
      r.agent_version = s.agent;
      r.collected_at = FormatRfc3339(s.seen);
      r.policy_version = s.policy;
      for (const auto& [id, status] : s.checks) {
        protocol::CheckResult c;
        c.id = id;
        c.status = status;
        c.summary = id;
        c.expected = {{"x", 1}};
        c.observed = {{"x", status == CheckStatus::kPass ? 1 : 0}};
        r.checks.push_back(c);
      }
      auto stored = storage_->StoreReport(r, protocol::ToJson(r).dump(), s.seen);
      ASSERT_TRUE(stored.ok()) << stored.error().ToString();
      report_ids_[s.n] = r.report_id;
    }
    if (s.revoked) {
      ASSERT_TRUE(storage_->RevokeDevice(d.device_id, kT0).ok());
    }
  }

  // The standard fleet: every posture, stale and revoked devices, Vietnamese names.
  void AddFleet() {
    const auto pass = CheckStatus::kPass;
    const auto fail = CheckStatus::kFail;
    const auto err = CheckStatus::kError;
    Add({1, "Bắc Hà Quầy 01", "laocai/bac-ha", {{"antivirus", pass}, {"yara", pass}}});
    Add({2, "BACHA-PC02", "laocai/bac-ha", {{"antivirus", fail}, {"yara", pass}}});
    // Last seen noncompliant four days ago: stale, and still noncompliant.
    Add({3,
         "Đồng Tuyển 03",
         "laocai/lao-cai",
         {{"antivirus", fail}, {"screen_lock", fail}},
         kT0 - hours(96)});
    Add({4,
         "sa-pa-04",
         "laocai/sa-pa",
         {{"antivirus", pass}, {"password_age", err}},
         kT0,
         "Debian GNU/Linux",
         "1.3.0",
         3});
    Add({5, "never-05", "laocai/sa-pa", {}});  // enrolled ten days ago: stale and unknown
    Add({6,
         "revoked-06",
         "laocai/bac-ha",
         {{"antivirus", fail}},
         kT0,
         "Windows 10 Pro",
         "1.4.2",
         4,
         /*revoked=*/true});
    Add({7, "laocai2-07", "laocai2", {{"antivirus", pass}}});
  }

  std::vector<int> Ids(const DevicePage& page) {
    std::vector<int> ids;
    for (const auto& row : page.rows) {
      ids.push_back(std::stoi(row.device.device_id.substr(24)));
    }
    return ids;
  }

  std::vector<int> Find(DeviceQuery q) {
    q.stale_before = kStaleBefore;
    q.sort = DeviceSort::kHostname;
    q.limit = 100;
    auto page = storage_->QueryDevices(q);
    EXPECT_TRUE(page.ok()) << page.error().ToString();
    if (!page.ok()) {
      return {};
    }
    EXPECT_EQ(page->total, static_cast<int64_t>(page->rows.size()));
    auto ids = Ids(*page);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Every row of the query, page after page of `limit`, following the sort keys.
  std::vector<int> AllPages(DeviceQuery q, size_t limit, int* pages = nullptr) {
    q.stale_before = kStaleBefore;
    q.limit = limit;
    std::vector<int> ids;
    int count = 0;
    while (true) {
      auto page = storage_->QueryDevices(q);
      EXPECT_TRUE(page.ok()) << page.error().ToString();
      if (!page.ok() || ++count > 100) {
        break;
      }
      for (int id : Ids(*page)) {
        ids.push_back(id);
      }
      if (!page->more) {
        break;
      }
      q.after = page->rows.back().key;
    }
    if (pages != nullptr) {
      *pages = count;
    }
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<storage_testing::TestDatabase> db_;  // outlives storage_
  std::unique_ptr<Storage> storage_;
  std::map<int, int> reports_;
  std::map<int, std::string> report_ids_;
};

// Every backend (the storage conformance suite, issue 17).
class QueryTest : public QueryTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override { Use(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Backends, QueryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage_testing::BackendNamer());

// About the SQLite file.
class SqliteQueryTest : public QueryTestBase {
 protected:
  void SetUp() override { Use(Backend::kSqlite); }
};

TEST_P(QueryTest, EveryFilterAlone) {
  AddFleet();
  auto q = [] { return DeviceQuery{}; };
  EXPECT_THAT(Find(q()), ElementsAre(1, 2, 3, 4, 5, 6, 7));

  auto group = q();
  group.group_prefix = "laocai/";  // a trailing '/' is ignored; laocai2 is another group
  EXPECT_THAT(Find(group), ElementsAre(1, 2, 3, 4, 5, 6));

  auto noncompliant = q();
  noncompliant.postures = {DeviceStatus::kNoncompliant};
  // 3 is stale and 6 revoked: both still show what their last report said.
  EXPECT_THAT(Find(noncompliant), ElementsAre(2, 3, 6));
  auto unknown = q();
  unknown.postures = {DeviceStatus::kUnknown};
  EXPECT_THAT(Find(unknown), ElementsAre(5));
  auto two = q();
  two.postures = {DeviceStatus::kError, DeviceStatus::kUnknown};
  EXPECT_THAT(Find(two), ElementsAre(4, 5));

  auto check = q();
  check.check_id = "antivirus";
  EXPECT_THAT(Find(check), ElementsAre(2, 3, 6));
  check.check_id = "password_age";  // in error counts as failing to decide
  EXPECT_THAT(Find(check), ElementsAre(4));

  auto stale = q();
  stale.stale = true;
  EXPECT_THAT(Find(stale), ElementsAre(3, 5));
  stale.stale = false;
  EXPECT_THAT(Find(stale), ElementsAre(1, 2, 4, 6, 7));

  auto revoked = q();
  revoked.revoked = true;
  EXPECT_THAT(Find(revoked), ElementsAre(6));

  auto os = q();
  os.os_name = "Debian GNU/Linux";
  EXPECT_THAT(Find(os), ElementsAre(4));
  os.os_version = "11";
  EXPECT_THAT(Find(os), ElementsAre());

  auto agent = q();
  agent.agent_version = "1.3.0";
  EXPECT_THAT(Find(agent), ElementsAre(4));
  auto policy = q();
  policy.policy_version = 3;
  EXPECT_THAT(Find(policy), ElementsAre(4));

  auto before = q();
  before.last_seen_before = kT0 - hours(1);
  EXPECT_THAT(Find(before), ElementsAre(3));  // never-reported 5 has no last_seen
  auto after = q();
  after.last_seen_after = kT0;
  EXPECT_THAT(Find(after), ElementsAre(1, 2, 4, 6, 7));
}

TEST_P(QueryTest, HostnameSearchIgnoresDiacriticsCaseAndSeparators) {
  AddFleet();
  auto search = [&](std::string text) {
    DeviceQuery q;
    q.hostname_folded = FoldForSearch(text);
    return Find(q);
  };
  EXPECT_THAT(search("bac ha"), ElementsAre(1, 2));  // "Bắc Hà Quầy 01" and "BACHA-PC02"
  EXPECT_THAT(search("BẮC HÀ"), ElementsAre(1, 2));
  EXPECT_THAT(search("dong tuyen"), ElementsAre(3));  // Đ folds to d
  EXPECT_THAT(search("quay 01"), ElementsAre(1));
  EXPECT_THAT(search("sa-pa"), ElementsAre(4));
  EXPECT_THAT(search("zzz"), ElementsAre());
  // LIKE wildcards and SQL text are plain characters of the folded search.
  EXPECT_THAT(search("%"), ElementsAre(1, 2, 3, 4, 5, 6, 7));  // folds to "": every device
  EXPECT_THAT(search("'; DROP TABLE devices; --"), ElementsAre());
  EXPECT_THAT(Find(DeviceQuery{}), ElementsAre(1, 2, 3, 4, 5, 6, 7));
}

TEST_P(QueryTest, RowsCarryFailingChecksStaleAndWhatTheReportSaid) {
  AddFleet();
  DeviceQuery q;
  q.stale_before = kStaleBefore;
  q.limit = 100;
  auto page = storage_->QueryDevices(q);
  ASSERT_TRUE(page.ok());
  std::map<int, DeviceRow> rows;
  for (const auto& row : page->rows) {
    rows[std::stoi(row.device.device_id.substr(24))] = row;
  }
  EXPECT_THAT(rows[3].failing_checks, ElementsAre("antivirus", "screen_lock"));
  EXPECT_TRUE(rows[3].stale);
  EXPECT_EQ(PostureStatus(rows[3].device), DeviceStatus::kNoncompliant);
  EXPECT_THAT(rows[4].error_checks, ElementsAre("password_age"));
  EXPECT_TRUE(rows[4].failing_checks.empty());
  EXPECT_EQ(rows[4].os_name, "Debian GNU/Linux");
  EXPECT_EQ(rows[4].os_version, "12");
  EXPECT_EQ(rows[4].agent_version, "1.3.0");
  EXPECT_TRUE(rows[5].stale);
  EXPECT_EQ(PostureStatus(rows[5].device), DeviceStatus::kUnknown);
  EXPECT_FALSE(rows[6].stale);  // revoked devices are revoked, never stale
  EXPECT_TRUE(rows[6].device.revoked);
}

TEST_P(QueryTest, SortOrdersBothDirections) {
  AddFleet();
  auto order = [&](DeviceSort sort, bool desc) {
    DeviceQuery q;
    q.sort = sort;
    q.descending = desc;
    return AllPages(q, 100);
  };
  // Folded host names: bacha..., bachaquay01, dongtuyen03, laocai207, never05, revoked06, sapa04
  EXPECT_THAT(order(DeviceSort::kHostname, false), ElementsAre(2, 1, 3, 7, 5, 6, 4));
  EXPECT_THAT(order(DeviceSort::kHostname, true), ElementsAre(4, 6, 5, 7, 3, 1, 2));
  EXPECT_THAT(order(DeviceSort::kGroup, false), ElementsAre(2, 1, 6, 3, 5, 4, 7));
  EXPECT_THAT(order(DeviceSort::kGroup, true), ElementsAre(7, 4, 5, 3, 6, 1, 2));
  // Worst first: noncompliant (by host name), error, unknown, compliant.
  EXPECT_THAT(order(DeviceSort::kStatus, false), ElementsAre(2, 3, 6, 4, 5, 1, 7));
  EXPECT_THAT(order(DeviceSort::kStatus, true), ElementsAre(7, 1, 5, 4, 6, 3, 2));
  // Never seen first, then by time; ties by device id.
  EXPECT_THAT(order(DeviceSort::kLastSeen, false), ElementsAre(5, 3, 1, 2, 4, 6, 7));
  EXPECT_THAT(order(DeviceSort::kLastSeen, true), ElementsAre(7, 6, 4, 2, 1, 3, 5));
}

TEST_P(QueryTest, PagesCoverEveryRowOnceAtEveryPageSize) {
  for (int i = 1; i <= 12; ++i) {
    Add({i,
         "pc-" + std::to_string(100 - i),
         i % 2 == 0 ? "a" : "b",
         {{"antivirus", i % 3 == 0 ? CheckStatus::kFail : CheckStatus::kPass}},
         kT0 - hours(i % 4)});
  }
  for (DeviceSort sort :
       {DeviceSort::kGroup, DeviceSort::kHostname, DeviceSort::kStatus, DeviceSort::kLastSeen}) {
    for (bool desc : {false, true}) {
      DeviceQuery q;
      q.sort = sort;
      q.descending = desc;
      const auto all = AllPages(q, 100);
      ASSERT_EQ(all.size(), 12u);
      for (size_t limit : {1u, 4u, 5u, 6u, 12u, 13u}) {
        int pages = 0;
        EXPECT_EQ(AllPages(q, limit, &pages), all) << "limit " << limit;
        // An exact multiple of the page size ends without an empty extra page.
        EXPECT_EQ(pages, static_cast<int>((12 + limit - 1) / limit)) << "limit " << limit;
      }
    }
  }
}

TEST_P(QueryTest, ACursorStaysValidWhenTheDataChanges) {
  for (int i = 1; i <= 6; ++i) {
    Add({i, "pc-" + std::to_string(i), "a", {{"antivirus", CheckStatus::kPass}}});
  }
  DeviceQuery q;
  q.sort = DeviceSort::kHostname;
  q.stale_before = kStaleBefore;
  q.limit = 3;
  auto first = storage_->QueryDevices(q);
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(Ids(*first), ElementsAre(1, 2, 3));
  EXPECT_TRUE(first->more);
  // Meanwhile: a device sorting before the cursor and one after it enroll, the last row of the
  // first page is revoked, and a report arrives for a device on the second page.
  Add({7, "pc-0", "a", {{"antivirus", CheckStatus::kPass}}});
  Add({8, "pc-45", "a", {{"antivirus", CheckStatus::kFail}}});
  ASSERT_TRUE(storage_->RevokeDevice(Uuid(3), kT0).ok());
  Add({9, "pc-9", "a", {}});
  q.after = first->rows.back().key;
  auto second = storage_->QueryDevices(q);
  ASSERT_TRUE(second.ok());
  // Rows after the cursor, new ones included; nothing of the first page again.
  EXPECT_THAT(Ids(*second), ElementsAre(4, 8, 5));
  q.after = second->rows.back().key;
  auto third = storage_->QueryDevices(q);
  ASSERT_TRUE(third.ok());
  EXPECT_THAT(Ids(*third), ElementsAre(6, 9));
  EXPECT_FALSE(third->more);
  EXPECT_EQ(third->total, 9);
  // A cursor naming a device that no longer matches still positions the page by its keys.
  DeviceQuery gone = q;
  gone.after = DeviceSortKey{"", "pc3", 0, Uuid(3)};
  gone.revoked = false;
  auto rest = storage_->QueryDevices(gone);
  ASSERT_TRUE(rest.ok());
  EXPECT_THAT(Ids(*rest), ElementsAre(4, 8, 5));
}

// The service asks for the total on a first page only (a cursor page answers null): without
// count_total the page is the same and its total 0.
TEST_P(QueryTest, TheTotalIsCountedOnlyWhenAsked) {
  AddFleet();
  DeviceQuery q;
  q.sort = DeviceSort::kHostname;
  q.stale_before = kStaleBefore;
  q.limit = 2;
  auto counted = storage_->QueryDevices(q);
  ASSERT_TRUE(counted.ok()) << counted.error().ToString();
  EXPECT_EQ(counted->total, 7);
  q.count_total = false;
  auto uncounted = storage_->QueryDevices(q);
  ASSERT_TRUE(uncounted.ok()) << uncounted.error().ToString();
  EXPECT_EQ(uncounted->total, 0);
  EXPECT_EQ(Ids(*uncounted), Ids(*counted));
  EXPECT_TRUE(uncounted->more);
  q.after = uncounted->rows.back().key;
  auto next = storage_->QueryDevices(q);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->total, 0);
  EXPECT_EQ(next->rows.size(), 2u);
}

TEST_P(QueryTest, ZeroLimitIsRefused) {
  DeviceQuery q;
  q.limit = 0;
  auto page = storage_->QueryDevices(q);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(QueryTest, SummaryCountsPerGroup) {
  AddFleet();
  FleetSummaryQuery q;
  q.stale_before = kStaleBefore;
  q.group_prefix = "laocai";
  auto groups = storage_->SummarizeFleet(q);
  ASSERT_TRUE(groups.ok()) << groups.error().ToString();
  ASSERT_EQ(groups->size(), 3u);  // laocai2 is not under laocai
  const GroupSummary& bac_ha = (*groups)[0];
  EXPECT_EQ(bac_ha.group, "laocai/bac-ha");
  EXPECT_EQ(bac_ha.devices, 3);
  EXPECT_EQ(bac_ha.revoked, 1);
  EXPECT_EQ(bac_ha.postures,
            (std::map<std::string, int64_t>{{"compliant", 1}, {"noncompliant", 1}}));
  EXPECT_EQ(bac_ha.failing, (std::map<std::string, int64_t>{{"antivirus", 1}}));
  const GroupSummary& lao_cai = (*groups)[1];
  EXPECT_EQ(lao_cai.stale, 1);
  EXPECT_EQ(lao_cai.failing,
            (std::map<std::string, int64_t>{{"antivirus", 1}, {"screen_lock", 1}}));
  const GroupSummary& sa_pa = (*groups)[2];
  EXPECT_EQ(sa_pa.never_reported, 1);
  EXPECT_EQ(sa_pa.stale, 1);
  EXPECT_EQ(sa_pa.postures, (std::map<std::string, int64_t>{{"error", 1}, {"unknown", 1}}));
  EXPECT_EQ(sa_pa.errors, (std::map<std::string, int64_t>{{"password_age", 1}}));

  // A group whose policy gives a longer reporting interval: not stale there.
  q.stale_before_by_group = {{"laocai/lao-cai", kT0 - hours(24 * 7)}};
  auto relaxed = storage_->SummarizeFleet(q);
  ASSERT_TRUE(relaxed.ok());
  EXPECT_EQ((*relaxed)[1].stale, 0);
  EXPECT_EQ((*relaxed)[2].stale, 1);
}

TEST_P(QueryTest, AnyStoredReportById) {
  AddFleet();
  auto record = storage_->GetReport(report_ids_[3]);
  ASSERT_TRUE(record.ok()) << record.error().ToString();
  EXPECT_EQ(record->report.device_id, Uuid(3));
  EXPECT_EQ(record->hostname, "Đồng Tuyển 03");
  EXPECT_EQ(record->group, "laocai/lao-cai");
  EXPECT_EQ(record->report.status, DeviceStatus::kNoncompliant);
  auto body = protocol::ReportFromJson(nlohmann::json::parse(record->report.body));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->checks.size(), 2u);
  auto missing = storage_->GetReport(Uuid(424242));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteQueryTest, Migration8BackfillsDevicesOfAnOlderDatabase) {
  AddFleet();
  storage_.reset();
  // Take the database back to schema 6 as far as migration 8 is concerned.
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("soc.db").c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
    for (const char* sql :
         {// Migration 11's indexes over migration 8's columns go first.
          "DROP INDEX devices_by_posture", "DROP INDEX devices_by_os",
          "DROP INDEX devices_by_agent_version", "DROP INDEX devices_by_hostname_folded",
          "DROP INDEX devices_by_group_hostname", "DROP INDEX devices_by_last_seen",
          "ALTER TABLE devices DROP COLUMN hostname_folded",
          "ALTER TABLE devices DROP COLUMN os_name", "ALTER TABLE devices DROP COLUMN os_version",
          "ALTER TABLE devices DROP COLUMN agent_version",
          "DELETE FROM schema_migrations WHERE version = 8"}) {
      ASSERT_EQ(sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr), SQLITE_OK)
          << sql << ": " << sqlite3_errmsg(db.get());
    }
  }
  auto opened = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/false);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  storage_ = std::move(opened).value();
  DeviceQuery q;
  q.hostname_folded = FoldForSearch("dong tuyen");
  EXPECT_THAT(Find(q), ElementsAre(3));
  DeviceQuery os;
  os.os_name = "Debian GNU/Linux";
  os.agent_version = "1.3.0";
  EXPECT_THAT(Find(os), ElementsAre(4));
}

TEST_F(SqliteQueryTest, Migration11BackfillsFailingChecksOfAnOlderDatabase) {
  AddFleet();
  // A later report keeps only the latest report's checks on the row.
  Add({8, "later-08", "laocai/sa-pa", {{"antivirus", CheckStatus::kFail}}});
  OperatorToken token;
  token.id = Uuid(77);
  token.name = "nguyen.van.a";
  token.role = "analyst";
  token.token_hash = std::string(64, 'a');
  token.created_at = kT0;
  token.expires_at = kT0 + hours(24);
  ASSERT_TRUE(storage_->CreateOperatorToken(token).ok());
  storage_.reset();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("soc.db").c_str(), &raw), SQLITE_OK);
    std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
    for (const char* sql :
         {"DROP INDEX devices_by_posture", "DROP INDEX devices_by_os",
          "DROP INDEX devices_by_agent_version", "DROP INDEX devices_by_policy_version",
          "DROP INDEX devices_by_silence", "DROP INDEX devices_for_summary",
          "ALTER TABLE devices DROP COLUMN failing_checks",
          "ALTER TABLE devices DROP COLUMN error_checks",
          "DELETE FROM schema_migrations WHERE version = 11"}) {
      ASSERT_EQ(sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr), SQLITE_OK)
          << sql << ": " << sqlite3_errmsg(db.get());
    }
  }
  auto opened = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/false);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  storage_ = std::move(opened).value();
  DeviceQuery q;
  q.stale_before = kStaleBefore;
  q.sort = DeviceSort::kHostname;
  q.limit = 100;
  auto page = storage_->QueryDevices(q);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  std::map<int, std::pair<std::vector<std::string>, std::vector<std::string>>> checks;
  for (const auto& row : page->rows) {
    checks[std::stoi(row.device.device_id.substr(24))] = {row.failing_checks, row.error_checks};
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(checks[1], std::make_pair(V{}, V{}));
  EXPECT_EQ(checks[3], std::make_pair(V{"antivirus", "screen_lock"}, V{}));
  EXPECT_EQ(checks[4], std::make_pair(V{}, V{"password_age"}));
  EXPECT_EQ(checks[5], std::make_pair(V{}, V{}));
  EXPECT_EQ(checks[8], std::make_pair(V{"antivirus"}, V{}));
  FleetSummaryQuery s;
  s.stale_before = kStaleBefore;
  s.group_prefix = "laocai/sa-pa";
  auto groups = storage_->SummarizeFleet(s);
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].failing, (std::map<std::string, int64_t>{{"antivirus", 1}}));
  EXPECT_EQ((*groups)[0].errors, (std::map<std::string, int64_t>{{"password_age", 1}}));
  // The operator tokens' table was rebuilt: the token is kept, and a scrape-only token fits.
  auto kept = storage_->FindOperatorTokenByHash(std::string(64, 'a'));
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(kept->name, "nguyen.van.a");
  EXPECT_EQ(kept->expires_at, kT0 + hours(24));
  OperatorToken scraper = token;
  scraper.id = Uuid(78);
  scraper.role = "metrics";
  scraper.token_hash = std::string(64, 'b');
  EXPECT_TRUE(storage_->CreateOperatorToken(scraper).ok());
  scraper.id = Uuid(79);
  scraper.role = "root";
  scraper.token_hash = std::string(64, 'c');
  EXPECT_FALSE(storage_->CreateOperatorToken(scraper).ok());
  // The filters the new indexes serve still answer the same.
  DeviceQuery noncompliant;
  noncompliant.postures = {DeviceStatus::kNoncompliant};
  EXPECT_THAT(Find(noncompliant), ElementsAre(2, 3, 6, 8));
  DeviceQuery stale;
  stale.stale = true;
  EXPECT_THAT(Find(stale), ElementsAre(3, 5));
}

// The failing checks on a device row follow its newest report, not an older one stored later.
TEST_P(QueryTest, TheRowsFailingChecksFollowTheNewestReport) {
  Add({1, "pc-01", "laocai/bac-ha", {{"antivirus", CheckStatus::kFail}}, kT0});
  Add({2, "pc-02", "laocai/bac-ha", {{"yara", CheckStatus::kPass}}, kT0});
  protocol::Report fixed;
  fixed.report_id = Uuid(900001);
  fixed.device_id = Uuid(1);
  fixed.hostname = "pc-01";
  fixed.collected_at = FormatRfc3339(kT0 + hours(1));
  fixed.checks.push_back({});
  fixed.checks.back().id = "antivirus";
  fixed.checks.back().status = CheckStatus::kPass;
  fixed.checks.back().summary = "ok";
  ASSERT_TRUE(storage_->StoreReport(fixed, protocol::ToJson(fixed).dump(), kT0 + hours(1)).ok());
  // Stored with an earlier arrival time than the latest (the SOC's arrival order decides): it
  // does not become the device's report.
  protocol::Report late = fixed;
  late.report_id = Uuid(900002);
  late.collected_at = FormatRfc3339(kT0 - hours(5));
  late.checks.back().status = CheckStatus::kFail;
  ASSERT_TRUE(
      storage_->StoreReport(late, protocol::ToJson(late).dump(), kT0 + std::chrono::minutes(30))
          .ok());
  DeviceQuery failing;
  failing.check_id = "antivirus";
  EXPECT_TRUE(Find(failing).empty());
  FleetSummaryQuery s;
  s.stale_before = kStaleBefore;
  auto groups = storage_->SummarizeFleet(s);
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE((*groups)[0].failing.empty());
  EXPECT_EQ((*groups)[0].postures, (std::map<std::string, int64_t>{{"compliant", 2}}));
}

}  // namespace
}  // namespace cg::soc

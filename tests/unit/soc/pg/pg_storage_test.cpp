// Tests for soc/pg/ that are about PostgreSQL itself (the cases every backend shares are in
// tests/unit/soc/sqlite_storage_test.cpp): the migrations and what a database must be to be
// opened, several nodes opening and writing one database at once, the retry of transactions on
// serialization failures, and URIs in messages. Each test has a fresh schema in the throw-away
// cluster of CTest's pg_cluster fixture.
#include "soc/pg/pg_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/timeutil.h"
#include "protocol/report.h"
#include "soc/pg/pg.h"
#include "soc/pg/pg_migrations.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr SysTime kT0{seconds(1'790'000'000)};

class PgStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = storage_testing::MakeTestDatabase(storage_testing::Backend::kPostgres, dir_.path());
    if (db == nullptr) {
      return;  // skipped (no server binaries) or failed
    }
    db_.reset(static_cast<storage_testing::PgTestDatabase*>(db.release()));
  }
  std::unique_ptr<Storage> Open(bool create = true) {
    auto storage = OpenPgStorage(db_->Location(), create);
    EXPECT_TRUE(storage.ok()) << storage.error().ToString();
    return storage.ok() ? std::move(storage).value() : nullptr;
  }
  static Device MakeDevice(int n) {
    Device d;
    d.device_id = "00000000-0000-4000-8000-00000000000" + std::to_string(n);
    d.hostname = "host-" + std::to_string(n);
    d.machine_id = "machine-" + std::to_string(n);
    d.group = "laocai";
    d.cert_serial = "abc" + std::to_string(n);
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0;
    return d;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage_testing::PgTestDatabase> db_;
};

TEST_F(PgStorageTest, MigrationsCreateTheSchemaOnceAndReopeningChangesNothing) {
  {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->AddDevice(MakeDevice(1)).ok());
  }
  auto& raw = *db_;
  // The same version numbers as the SQLite schema, each applied once.
  EXPECT_EQ(PgStorageSchemaVersion(), SqliteSchemaVersion());
  EXPECT_EQ(raw.Int("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(pg::PgMigrations().size()));
  EXPECT_EQ(raw.Int("SELECT max(version) FROM schema_migrations"), SqliteSchemaVersion());
  const std::string applied =
      raw.Text("SELECT string_agg(applied_at, ',' ORDER BY version) FROM schema_migrations");
  EXPECT_THAT(applied, ::testing::MatchesRegex("[0-9T:Z,-]+"));
  const std::string objects_sql =
      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
      "n.nspname = '" +
      db_->schema() + "'";
  const int64_t objects = raw.Int(objects_sql);
  for (const char* table : {"operator_tokens", "enrollment_tokens", "devices", "reports",
                            "check_results", "audit_log", "accounts", "export_outbox"}) {
    EXPECT_EQ(raw.Int(objects_sql + " AND c.relname = '" + table + "'"), 1) << table;
  }
  for (int i = 0; i < 2; ++i) {
    auto again = Open(/*create=*/false);
    ASSERT_NE(again, nullptr);
    auto device = again->GetDevice(MakeDevice(1).device_id);
    ASSERT_TRUE(device.ok()) << device.error().ToString();
    EXPECT_EQ(device->hostname, "host-1");
  }
  EXPECT_EQ(raw.Text("SELECT string_agg(applied_at, ',' ORDER BY version) FROM "
                     "schema_migrations"),
            applied);
  EXPECT_EQ(raw.Int(objects_sql), objects);
}

TEST_F(PgStorageTest, ANewerSchemaIsRefusedAndLeftAlone) {
  ASSERT_NE(Open(), nullptr);
  const int64_t newer = PgStorageSchemaVersion() + 1;
  ASSERT_TRUE(db_->Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(newer) +
                        ", '2030-01-01T00:00:00Z')"));
  for (bool create : {false, true}) {
    auto storage = OpenPgStorage(db_->Location(), create);
    ASSERT_FALSE(storage.ok());
    EXPECT_EQ(storage.error().code, ErrorCode::kDatabase);
    EXPECT_THAT(storage.error().message, HasSubstr("newer"));
    EXPECT_THAT(storage.error().message, HasSubstr(std::to_string(newer)));
  }
  EXPECT_EQ(db_->Int("SELECT max(version) FROM schema_migrations"), newer);
}

TEST_F(PgStorageTest, ASchemaOfAnotherProgramIsRefusedUntouched) {
  ASSERT_TRUE(db_->Exec("CREATE TABLE invoices (id BIGINT PRIMARY KEY)"));
  for (bool create : {false, true}) {
    auto storage = OpenPgStorage(db_->Location(), create);
    ASSERT_FALSE(storage.ok());
    EXPECT_EQ(storage.error().code, ErrorCode::kDatabase);
    EXPECT_THAT(storage.error().message, HasSubstr("not a CounterGuard SOC database"));
  }
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                     "c.relnamespace WHERE n.nspname = '" +
                     db_->schema() + "' AND c.relkind = 'r'"),
            1);
}

TEST_F(PgStorageTest, AnEmptySchemaIsOnlyInitialisedWhenCreateIsAllowed) {
  auto refused = OpenPgStorage(db_->Location(), /*create=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("empty"));
  EXPECT_NE(Open(/*create=*/true), nullptr);
  EXPECT_NE(Open(/*create=*/false), nullptr);
}

TEST_F(PgStorageTest, NodesOpeningANewDatabaseAtOnceApplyEachMigrationOnce) {
  std::vector<std::thread> nodes;
  std::atomic<int> opened{0};
  std::vector<std::string> errors(4);
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&, i] {
      auto storage = OpenPgStorage(db_->Location(), /*create=*/true);
      if (storage.ok()) {
        ++opened;
      } else {
        errors[static_cast<size_t>(i)] = storage.error().ToString();
      }
    });
  }
  for (auto& t : nodes) {
    t.join();
  }
  EXPECT_EQ(opened.load(), 4) << errors[0] << errors[1] << errors[2] << errors[3];
  EXPECT_EQ(db_->Int("SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(pg::PgMigrations().size()));
}

// Two nodes store reports of one device at once: every report is stored once, the device shows
// the one received last, and last_seen never moves back.
TEST_F(PgStorageTest, TwoNodesStoringReportsOfOneDeviceAtOnceKeepItConsistent) {
  auto node_a = Open();
  auto node_b = Open(false);
  ASSERT_TRUE(node_a && node_b);
  const Device device = MakeDevice(1);
  ASSERT_TRUE(node_a->AddDevice(device).ok());
  constexpr int kReports = 40;
  std::vector<std::string> errors;
  std::mutex mu;
  auto store = [&](Storage* node, int first) {
    for (int i = first; i < kReports; i += 2) {
      protocol::Report r;
      r.report_id = "00000000-0000-4000-8000-1000000000" + std::to_string(10 + i);
      r.device_id = device.device_id;
      r.hostname = "pc";
      r.collected_at = FormatRfc3339(kT0 + seconds(i));
      r.policy_version = i;
      protocol::CheckResult c;
      c.id = "antivirus";
      c.status = protocol::CheckStatus::kPass;
      r.checks.push_back(c);
      // Each report twice (an agent's retry through the other node).
      for (Storage* s : {node, node == node_a.get() ? node_b.get() : node_a.get()}) {
        auto stored = s->StoreReport(r, protocol::ToJson(r).dump(), kT0 + seconds(i));
        if (!stored.ok()) {
          std::lock_guard lock(mu);
          errors.push_back(stored.error().ToString());
        }
      }
    }
  };
  std::thread a(store, node_a.get(), 0);
  std::thread b(store, node_b.get(), 1);
  a.join();
  b.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
  EXPECT_EQ(db_->Int("SELECT count(*) FROM reports"), kReports);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM check_results"), kReports);
  auto got = node_b->GetDevice(device.device_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->last_seen, kT0 + seconds(kReports - 1));
  EXPECT_EQ(got->policy_version, kReports - 1);
}

// Migration 11 on a database that was at version 10 with reports in it (a SOC upgraded in
// place): each device row gets its latest report's failing and error checks, sorted; the
// operator tokens keep their rows and admit the role "metrics", nothing else new.
TEST_F(PgStorageTest, Migration11BackfillsFailingChecksOfAnOlderDatabase) {
  {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->AddDevice(MakeDevice(1)).ok());
    ASSERT_TRUE(storage->AddDevice(MakeDevice(2)).ok());
    protocol::Report r;
    r.report_id = "00000000-0000-4000-8000-200000000001";
    r.device_id = MakeDevice(1).device_id;
    r.hostname = "pc";
    r.collected_at = FormatRfc3339(kT0);
    for (const auto& [id, status] : {std::pair{"screen_lock", protocol::CheckStatus::kFail},
                                     std::pair{"antivirus", protocol::CheckStatus::kFail},
                                     std::pair{"password_age", protocol::CheckStatus::kError},
                                     std::pair{"firewall", protocol::CheckStatus::kPass}}) {
      protocol::CheckResult c;
      c.id = id;
      c.status = status;
      r.checks.push_back(c);
    }
    ASSERT_TRUE(storage->StoreReport(r, protocol::ToJson(r).dump(), kT0).ok());
    OperatorToken token;
    token.id = "00000000-0000-4000-8000-300000000001";
    token.name = "nguyen.van.a";
    token.role = "analyst";
    token.token_hash = std::string(64, 'a');
    token.created_at = kT0;
    ASSERT_TRUE(storage->CreateOperatorToken(token).ok());
  }
  // What version 10 was (and the migrations after 11 undone, so they run again).
  for (const char* sql :
       {"DROP TABLE group_names", "DROP INDEX devices_by_posture", "DROP INDEX devices_by_os",
        "DROP INDEX devices_by_agent_version", "DROP INDEX devices_by_policy_version",
        "DROP INDEX devices_by_silence", "DROP INDEX devices_for_summary",
        "ALTER TABLE devices DROP COLUMN failing_checks",
        "ALTER TABLE devices DROP COLUMN error_checks",
        "ALTER TABLE operator_tokens DROP CONSTRAINT operator_tokens_role_check",
        "ALTER TABLE operator_tokens ADD CONSTRAINT operator_tokens_role_check CHECK "
        "(role IN ('analyst', 'admin'))",
        "DELETE FROM schema_migrations WHERE version >= 11"}) {
    ASSERT_TRUE(db_->Exec(sql)) << sql;
  }
  auto storage = Open(/*create=*/false);
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(db_->Int("SELECT max(version) FROM schema_migrations"), SqliteSchemaVersion());
  DeviceQuery q;
  q.sort = DeviceSort::kHostname;
  q.stale_before = kT0;
  auto page = storage->QueryDevices(q);
  ASSERT_TRUE(page.ok()) << page.error().ToString();
  ASSERT_EQ(page->rows.size(), 2u);
  EXPECT_THAT(page->rows[0].failing_checks, ::testing::ElementsAre("antivirus", "screen_lock"));
  EXPECT_THAT(page->rows[0].error_checks, ::testing::ElementsAre("password_age"));
  EXPECT_TRUE(page->rows[1].failing_checks.empty());  // never reported
  EXPECT_TRUE(page->rows[1].error_checks.empty());
  auto kept = storage->FindOperatorTokenByHash(std::string(64, 'a'));
  ASSERT_TRUE(kept.ok()) << kept.error().ToString();
  EXPECT_EQ(kept->name, "nguyen.van.a");
  OperatorToken scraper = *kept;
  scraper.id = "00000000-0000-4000-8000-300000000002";
  scraper.role = "metrics";
  scraper.token_hash = std::string(64, 'b');
  EXPECT_TRUE(storage->CreateOperatorToken(scraper).ok());
  scraper.id = "00000000-0000-4000-8000-300000000003";
  scraper.role = "root";
  scraper.token_hash = std::string(64, 'c');
  EXPECT_FALSE(storage->CreateOperatorToken(scraper).ok());
}

// What PostgreSQL text cannot hold (invalid UTF-8, NUL) is written as \xNN; valid UTF-8 is
// kept byte for byte (seen: a request for ?digest=%ff%fe was answered 500 "the audit log could
// not be written" on PostgreSQL, SQLSTATE 22021, and 400 on SQLite).
TEST(PgStorableTextTest, InvalidUtf8AndNulBecomeEscapesAndValidTextIsKept) {
  EXPECT_EQ(pg::StorableText("Nguyễn Thị Hoa /api/v1/devices?q=bắc"),
            "Nguyễn Thị Hoa /api/v1/devices?q=bắc");
  EXPECT_EQ(pg::StorableText("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(pg::StorableText(std::string("a\0b", 3)), "a\\x00b");
  // Overlong, surrogate, beyond U+10FFFF, truncated: each bad byte on its own.
  EXPECT_EQ(pg::StorableText("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(pg::StorableText("\xed\xa0\x80"), "\\xed\\xa0\\x80");
  EXPECT_EQ(pg::StorableText("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(pg::StorableText("ok\xe1\xba"), "ok\\xe1\\xba");
  EXPECT_EQ(pg::StorableText("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // U+1F600
}

// RunTransaction runs the whole transaction again after a serialization failure (40001) or a
// deadlock (40P01), and never after any other error.
TEST_F(PgStorageTest, TransactionsAreRunAgainOnlyAfterSerializationFailures) {
  pg::Pool pool(db_->Location(), 2);
  ASSERT_TRUE(db_->Exec("CREATE TABLE attempts (n BIGINT)"));
  int calls = 0;
  auto retried = pg::RunTransaction(pool, [&](pg::Connection& conn) -> Status {
    ++calls;
    CG_RETURN_IF_ERROR(conn.Query("INSERT INTO attempts VALUES ($1)", int64_t{calls}));
    if (calls < 3) {
      return conn.Exec(calls == 1 ? "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = "
                                    "'serialization_failure'; END $$"
                                  : "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = "
                                    "'deadlock_detected'; END $$",
                       "provoking");
    }
    return OkStatus();
  });
  EXPECT_TRUE(retried.ok()) << retried.error().ToString();
  EXPECT_EQ(calls, 3);
  // Only the attempt that committed left its row.
  EXPECT_EQ(db_->Int("SELECT count(*) FROM attempts"), 1);
  EXPECT_EQ(db_->Int("SELECT n FROM attempts"), 3);

  calls = 0;
  auto unique = pg::RunTransaction(pool, [&](pg::Connection& conn) -> Status {
    ++calls;
    CG_RETURN_IF_ERROR(conn.Query("CREATE UNIQUE INDEX IF NOT EXISTS attempts_n ON attempts(n)"));
    CG_RETURN_IF_ERROR(conn.Query("INSERT INTO attempts VALUES (3)"));
    return OkStatus();
  });
  ASSERT_FALSE(unique.ok());
  EXPECT_EQ(unique.error().code, ErrorCode::kAlreadyExists);  // 23505, as SQLite's
  EXPECT_THAT(unique.error().message, HasSubstr("23505"));
  EXPECT_EQ(calls, 1);

  calls = 0;
  auto always = pg::RunTransaction(pool, [&](pg::Connection& conn) -> Status {
    ++calls;
    return conn.Exec(
        "DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = 'serialization_failure'; "
        "END $$",
        "provoking");
  });
  EXPECT_FALSE(always.ok());
  EXPECT_EQ(calls, pg::kMaxAttempts);
}

TEST_F(PgStorageTest, URIsAreCheckedAndPasswordsNeverAppearInMessages) {
  auto not_pg = OpenPgStorage("/var/lib/counterguard/soc.db", true);
  ASSERT_FALSE(not_pg.ok());
  EXPECT_EQ(not_pg.error().code, ErrorCode::kInvalidArgument);
  auto refused = OpenPgStorage("postgresql://cg:s3cret-pw@127.0.0.1:1/none", true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kDatabase);
  EXPECT_THAT(refused.error().message, Not(HasSubstr("s3cret-pw")));
  EXPECT_THAT(refused.error().message, HasSubstr("postgresql://cg:***@127.0.0.1:1/none"));
  EXPECT_EQ(pg::RedactUri("postgres://u@h/db"), "postgres://u@h/db");
  EXPECT_EQ(pg::RedactUri("postgres://u:p@h/db?x=y@z"), "postgres://u:***@h/db?x=y@z");
}

}  // namespace
}  // namespace cg::soc

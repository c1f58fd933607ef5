// Tests for soc/sqlite_storage.cpp against real database files in a temporary directory: schema
// migrations, token consumption (also from several connections at once), report idempotency,
// device filters, history and the audit log. Times are fixed; nothing reads the clock.
//
// The storage conformance suite (issue 17): the StorageTest and DeviceFilterTest cases run on
// every backend (SQLite, and PostgreSQL in the throw-away cluster of CTest's pg_cluster
// fixture); the SqliteStorageTest cases are about the SQLite file itself (its PostgreSQL
// counterparts are in tests/unit/soc/pg/pg_storage_test.cpp).
#include "soc/sqlite_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/report.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using protocol::CheckStatus;
using protocol::DeviceStatus;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
using ::testing::UnorderedElementsAreArray;

constexpr SysTime kT0{seconds(1'790'000'000)};  // 2026-09-21T12:53:20Z

// Deterministic UUIDs (version 4 shape) so that failures are reproducible.
std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

// A second, raw connection to look at what the backend wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    db_.reset(raw);
    EXPECT_EQ(rc, SQLITE_OK) << path;
    sqlite3_busy_timeout(db_.get(), 5000);
  }

  int64_t Int(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_.get());
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    EXPECT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW) << sql;
    return sqlite3_column_int64(stmt.get(), 0);
  }

  std::string Text(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr), SQLITE_OK) << sql;
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    EXPECT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW) << sql;
    const auto* text = sqlite3_column_text(stmt.get(), 0);
    return text == nullptr ? "" : reinterpret_cast<const char*>(text);
  }

  // SQLite's result code of running `sql`.
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr);
  }

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

protocol::Report MakeReport(const std::string& report_id, const std::string& device_id,
                            SysTime collected_at,
                            std::vector<std::pair<std::string, CheckStatus>> checks,
                            int64_t policy_version = 1) {
  protocol::Report r;
  r.report_id = report_id;
  r.device_id = device_id;
  r.hostname = "pc-" + device_id.substr(device_id.size() - 3);
  r.agent_version = "0.1.0";
  r.collected_at = FormatRfc3339(collected_at);
  r.policy_version = policy_version;
  for (auto& [id, status] : checks) {
    protocol::CheckResult c;
    c.id = id;
    c.status = status;
    c.summary = id + " summary";
    r.checks.push_back(std::move(c));
  }
  return r;
}

std::string Body(const protocol::Report& r) { return protocol::ToJson(r).dump(); }

using cg::soc::storage_testing::Backend;
using cg::soc::storage_testing::BackendNamer;
using cg::soc::storage_testing::MakeTestDatabase;
using cg::soc::storage_testing::TestDatabase;

class StorageTestBase : public ::testing::Test {
 protected:
  // Called by SetUp: the test's database on `backend` (a skip or a failure when it has none).
  void UseBackend(Backend backend) { db_ = MakeTestDatabase(backend, dir_.path()); }
  // The raw connection beside the storage.
  TestDatabase& Raw() { return *db_; }

  // An analyst's token "secret", valid for a day from kT0.
  static OperatorToken AnalystToken() {
    OperatorToken t;
    t.id = Uuid(1);
    t.name = "nguyen.van.a";
    t.role = "analyst";
    t.token_hash = Sha256Hex("secret");
    t.created_at = kT0;
    t.expires_at = kT0 + hours(24);
    return t;
  }
  std::string DbPath() const { return dir_.File("soc.db"); }

  std::unique_ptr<Storage> Open(bool create = true) {
    if (db_ == nullptr) {
      ADD_FAILURE() << "no test database";
      return nullptr;
    }
    auto storage = db_->Open(create);
    if (!storage.ok()) {
      ADD_FAILURE() << storage.error().ToString();
      return nullptr;
    }
    return std::move(storage).value();
  }

  static Device MakeDevice(int n, const std::string& group, SysTime enrolled_at = kT0) {
    Device d;
    d.device_id = Uuid(n);
    d.hostname = "host-" + std::to_string(n);
    d.machine_id = "machine-" + std::to_string(n);
    d.group = group;
    d.cert_serial = "abc" + std::to_string(n);
    d.cert_not_after = enrolled_at + hours(24 * 30);
    d.enrolled_at = enrolled_at;
    return d;
  }

  static EnrollmentToken MakeToken(int n, const std::string& secret, int64_t uses_allowed,
                                   SysTime expires_at = kT0 + hours(24)) {
    EnrollmentToken t;
    t.id = Uuid(n);
    t.token_hash = Sha256Hex(secret);
    t.group = "laocai/bac-ha";
    t.created_at = kT0;
    t.expires_at = expires_at;
    t.uses_allowed = uses_allowed;
    t.created_by = "admin";
    return t;
  }

  TempDir dir_;
  std::unique_ptr<TestDatabase> db_;
};

// About the SQLite file itself.
class SqliteStorageTest : public StorageTestBase {
 protected:
  void SetUp() override { UseBackend(Backend::kSqlite); }
};

// Every backend.
class StorageTest : public StorageTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override { UseBackend(GetParam()); }
};
INSTANTIATE_TEST_SUITE_P(Backends, StorageTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendNamer());

TEST_F(SqliteStorageTest, MigrationsCreateTheSchemaOnceAndReopeningChangesNothing) {
  {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  }
  RawDb raw(DbPath());
  // One row per migration (their numbers may have gaps between branches being merged).
  const int64_t migrations = raw.Int("SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(raw.Int("SELECT count(DISTINCT version) FROM schema_migrations"), migrations);
  EXPECT_GE(migrations, 5);
  EXPECT_EQ(raw.Int("SELECT max(version) FROM schema_migrations"), SqliteSchemaVersion());
  const std::string applied = raw.Text("SELECT group_concat(applied_at) FROM schema_migrations");
  for (const char* table : {"operator_tokens", "enrollment_tokens", "devices", "reports",
                            "check_results", "audit_log"}) {
    EXPECT_EQ(raw.Int(std::string("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND "
                                  "name = '") +
                      table + "'"),
              1)
        << table;
  }
  EXPECT_EQ(raw.Text("PRAGMA journal_mode"), "wal");
  const int64_t objects = raw.Int("SELECT count(*) FROM sqlite_schema");

  for (int i = 0; i < 2; ++i) {
    auto again = Open(/*create=*/false);
    ASSERT_NE(again, nullptr);
    auto device = again->GetDevice(Uuid(1));
    ASSERT_TRUE(device.ok()) << device.error().ToString();
    EXPECT_EQ(device->hostname, "host-1");
  }
  EXPECT_EQ(raw.Int("SELECT count(*) FROM schema_migrations"), migrations);
  EXPECT_EQ(raw.Text("SELECT group_concat(applied_at) FROM schema_migrations"), applied);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM sqlite_schema"), objects);
}

TEST_F(SqliteStorageTest, AMissingFileIsNotCreatedWithoutCreate) {
  auto storage = OpenSqliteStorage(DbPath(), /*create=*/false);
  ASSERT_FALSE(storage.ok());
  EXPECT_EQ(storage.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(FileExists(DbPath()));
}

TEST_F(SqliteStorageTest, ANewerSchemaIsRefusedAndLeftAlone) {
  ASSERT_NE(Open(), nullptr);
  RawDb raw(DbPath());
  const int64_t newer = SqliteSchemaVersion() + 1;
  ASSERT_EQ(raw.Exec("INSERT INTO schema_migrations VALUES (" + std::to_string(newer) +
                     ", '2030-01-01T00:00:00Z')"),
            SQLITE_OK);
  for (bool create : {false, true}) {
    auto storage = OpenSqliteStorage(DbPath(), create);
    ASSERT_FALSE(storage.ok());
    EXPECT_EQ(storage.error().code, ErrorCode::kDatabase);
    EXPECT_THAT(storage.error().message, HasSubstr("newer"));
    EXPECT_THAT(storage.error().message, HasSubstr(std::to_string(newer)));
  }
  EXPECT_EQ(raw.Int("SELECT max(version) FROM schema_migrations"), newer);
}

TEST_F(SqliteStorageTest, FilesThatAreNotCounterGuardDatabasesAreRefusedUntouched) {
  struct Case {
    std::string name;
    std::function<void(const std::string&)> make;
  };
  const std::vector<Case> cases = {
      {"another program's database",
       [](const std::string& path) {
         RawDb raw(path);
         ASSERT_EQ(raw.Exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"), SQLITE_OK);
       }},
      {"a foreign application id",
       [](const std::string& path) {
         RawDb raw(path);
         ASSERT_EQ(raw.Exec("PRAGMA application_id = 1234"), SQLITE_OK);
       }},
      {"not SQLite at all",
       [](const std::string& path) {
         ASSERT_TRUE(WriteFileAtomic(path, std::string(4096, 'x')).ok());
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir_.File(c.name + ".db");
    c.make(path);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    const auto before = ReadFileToString(path);
    ASSERT_TRUE(before.ok());
    auto storage = OpenSqliteStorage(path, /*create=*/true);
    ASSERT_FALSE(storage.ok());
    EXPECT_EQ(storage.error().code, ErrorCode::kDatabase);
    EXPECT_THAT(storage.error().message, HasSubstr("not a CounterGuard SOC database"));
    EXPECT_EQ(ReadFileToString(path).value_or(""), *before);
  }
}

TEST_F(SqliteStorageTest, AnEmptyFileIsOnlyInitialisedWhenCreateIsAllowed) {
  ASSERT_TRUE(WriteFileAtomic(DbPath(), "").ok());
  auto refused = OpenSqliteStorage(DbPath(), /*create=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("empty"));
  EXPECT_NE(Open(/*create=*/true), nullptr);
  EXPECT_NE(Open(/*create=*/false), nullptr);
}

TEST_P(StorageTest, ATokensLastUseIsRecordedAtMostOnceAMinute) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const OperatorToken t = AnalystToken();
  ASSERT_TRUE(storage->CreateOperatorToken(t).ok());
  auto last_use = [&] { return storage->FindOperatorTokenByHash(t.token_hash)->last_used_at; };
  EXPECT_FALSE(last_use().has_value());
  ASSERT_TRUE(storage->TouchOperatorToken(t.id, kT0 + seconds(5)).ok());
  EXPECT_EQ(last_use(), kT0 + seconds(5));
  ASSERT_TRUE(storage->TouchOperatorToken(t.id, kT0 + seconds(50)).ok());
  EXPECT_EQ(last_use(), kT0 + seconds(5));  // no write per request
  ASSERT_TRUE(storage->TouchOperatorToken(t.id, kT0 + seconds(66)).ok());
  EXPECT_EQ(last_use(), kT0 + seconds(66));
  EXPECT_EQ(storage->ListOperatorTokens()->at(0).last_used_at, kT0 + seconds(66));
}

TEST_P(StorageTest, OperatorTokensAreFoundByHashOnly) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const OperatorToken t = AnalystToken();
  ASSERT_TRUE(storage->CreateOperatorToken(t).ok());

  auto found = storage->FindOperatorTokenByHash(Sha256Hex("secret"));
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  EXPECT_EQ(found->id, t.id);
  EXPECT_EQ(found->name, "nguyen.van.a");
  EXPECT_EQ(found->role, "analyst");
  EXPECT_EQ(found->created_at, kT0);
  EXPECT_EQ(found->expires_at, kT0 + hours(24));
  EXPECT_FALSE(found->revoked);

  auto unknown = storage->FindOperatorTokenByHash(Sha256Hex("other"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);

  OperatorToken same_hash = t;
  same_hash.id = Uuid(2);
  auto dup = storage->CreateOperatorToken(same_hash);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);

  OperatorToken bad_role = t;
  bad_role.id = Uuid(3);
  bad_role.token_hash = Sha256Hex("third");
  bad_role.role = "root";
  EXPECT_FALSE(storage->CreateOperatorToken(bad_role).ok());
}

TEST_P(StorageTest, RefusedEnrollmentTokensAreNotUsed) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  struct Case {
    std::string name;
    EnrollmentToken token;
    ErrorCode code;
    std::string reason;
  };
  EnrollmentToken expired = MakeToken(1, "expired-secret", 5, kT0 + minutes(5));
  EnrollmentToken revoked = MakeToken(2, "revoked-secret", 5);
  revoked.revoked = true;
  EnrollmentToken used_up = MakeToken(3, "used-up-secret", 3);
  used_up.uses = 3;
  const std::vector<Case> cases = {
      {"expired", expired, ErrorCode::kPermissionDenied, "enrollment token expired"},
      {"revoked", revoked, ErrorCode::kPermissionDenied, "enrollment token revoked"},
      {"used up", used_up, ErrorCode::kPermissionDenied, "enrollment token used up"},
  };
  for (const auto& c : cases) {
    ASSERT_TRUE(storage->CreateEnrollmentToken(c.token).ok()) << c.name;
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto consumed = storage->ConsumeEnrollmentToken(c.token.token_hash, kT0 + minutes(5));
    ASSERT_FALSE(consumed.ok());
    EXPECT_EQ(consumed.error().code, c.code);
    EXPECT_EQ(consumed.error().message, c.reason);
    auto after = storage->FindEnrollmentTokenByHash(c.token.token_hash);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->uses, c.token.uses);
  }
  auto unknown = storage->ConsumeEnrollmentToken(Sha256Hex("never issued"), kT0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "unknown enrollment token");
  // One second before expiry the expired token still worked.
  EXPECT_TRUE(
      storage->ConsumeEnrollmentToken(expired.token_hash, kT0 + minutes(5) - seconds(1)).ok());
}

TEST_P(StorageTest, ATokenWithTwoUsesWorksTwice) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const EnrollmentToken token = MakeToken(1, "two-uses", 2);
  ASSERT_TRUE(storage->CreateEnrollmentToken(token).ok());
  for (int64_t use = 1; use <= 2; ++use) {
    auto consumed = storage->ConsumeEnrollmentToken(token.token_hash, kT0);
    ASSERT_TRUE(consumed.ok()) << consumed.error().ToString();
    EXPECT_EQ(consumed->uses, use);
    EXPECT_EQ(consumed->group, "laocai/bac-ha");
    EXPECT_EQ(consumed->id, token.id);
  }
  auto third = storage->ConsumeEnrollmentToken(token.token_hash, kT0);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(third.error().message, "enrollment token used up");
}

// Threads 0 and 1 share one Storage (the mutex), threads 2 and 3 have their own connections
// (the database's write lock): together they use the token exactly uses_allowed times.
TEST_P(StorageTest, ConcurrentConsumptionNeverExceedsTheAllowedUses) {
  constexpr int kAllowed = 25;
  constexpr int kAttemptsPerThread = 20;
  auto shared = Open();
  auto own_a = Open(false);
  auto own_b = Open(false);
  ASSERT_TRUE(shared && own_a && own_b);
  const EnrollmentToken token = MakeToken(1, "contended", kAllowed);
  ASSERT_TRUE(shared->CreateEnrollmentToken(token).ok());

  std::atomic<int> successes{0};
  std::atomic<int> used_up{0};
  std::vector<std::string> other_errors;
  std::mutex errors_mu;
  auto worker = [&](Storage* storage) {
    for (int i = 0; i < kAttemptsPerThread; ++i) {
      auto consumed = storage->ConsumeEnrollmentToken(token.token_hash, kT0);
      if (consumed.ok()) {
        ++successes;
      } else if (consumed.error().code == ErrorCode::kPermissionDenied) {
        ++used_up;
      } else {
        std::lock_guard lock(errors_mu);
        other_errors.push_back(consumed.error().ToString());
      }
    }
  };
  std::vector<std::thread> threads;
  threads.emplace_back(worker, shared.get());
  threads.emplace_back(worker, shared.get());
  threads.emplace_back(worker, own_a.get());
  threads.emplace_back(worker, own_b.get());
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_THAT(other_errors, ::testing::IsEmpty());
  EXPECT_EQ(successes.load(), kAllowed);
  EXPECT_EQ(used_up.load(), 4 * kAttemptsPerThread - kAllowed);
  auto after = shared->FindEnrollmentTokenByHash(token.token_hash);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->uses, kAllowed);
}

TEST_P(StorageTest, DevicesRoundTripAndIdsAreUnique) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const Device device = MakeDevice(7, "laocai/sa-pa");
  ASSERT_TRUE(storage->AddDevice(device).ok());
  auto got = storage->GetDevice(device.device_id);
  ASSERT_TRUE(got.ok()) << got.error().ToString();
  EXPECT_EQ(got->hostname, device.hostname);
  EXPECT_EQ(got->machine_id, device.machine_id);
  EXPECT_EQ(got->group, device.group);
  EXPECT_EQ(got->cert_serial, device.cert_serial);
  EXPECT_EQ(got->cert_not_after, device.cert_not_after);
  EXPECT_EQ(got->enrolled_at, kT0);
  EXPECT_EQ(got->last_seen, std::nullopt);
  EXPECT_EQ(got->status, DeviceStatus::kUnknown);
  EXPECT_EQ(got->policy_version, 0);
  EXPECT_FALSE(got->revoked);

  auto again = storage->AddDevice(device);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto unknown = storage->GetDevice(Uuid(8));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(StorageTest, StoreReportIsIdempotentAndUpdatesTheDevice) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  const auto report =
      MakeReport(Uuid(100), Uuid(1), kT0 + minutes(1),
                 {{"antivirus", CheckStatus::kFail}, {"yara", CheckStatus::kPass}}, 7);

  auto first = storage->StoreReport(report, Body(report), kT0 + minutes(2));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(*first);
  auto second = storage->StoreReport(report, Body(report), kT0 + minutes(3));
  ASSERT_TRUE(second.ok()) << second.error().ToString();
  EXPECT_FALSE(*second);

  TestDatabase& raw = Raw();
  EXPECT_EQ(raw.Int("SELECT count(*) FROM reports"), 1);
  EXPECT_EQ(raw.Int("SELECT count(*) FROM check_results"), 2);
  EXPECT_EQ(raw.Text("SELECT status FROM check_results WHERE check_id = 'antivirus'"), "fail");

  auto device = storage->GetDevice(Uuid(1));
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->status, DeviceStatus::kNoncompliant);
  EXPECT_EQ(device->policy_version, 7);
  EXPECT_EQ(device->last_seen, kT0 + minutes(2));  // the duplicate changed nothing
  // The report's host name is recorded next to the enrolled one, which it never replaces.
  EXPECT_EQ(device->hostname, MakeDevice(1, "laocai").hostname);
  EXPECT_EQ(device->reported_hostname, report.hostname);
  EXPECT_EQ(device->clock_skew, -minutes(1));

  auto latest = storage->LatestReport(Uuid(1));
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->report_id, Uuid(100));
  EXPECT_EQ((*latest)->body, Body(report));
  EXPECT_EQ((*latest)->status, DeviceStatus::kNoncompliant);
  EXPECT_EQ((*latest)->collected_at, kT0 + minutes(1));
  EXPECT_EQ((*latest)->received_at, kT0 + minutes(2));
}

TEST_P(StorageTest, ADeviceLookupDoesNotWaitForAWriteInProgress) {
  // The agents' handshakes and requests look their device up while the writer may be inside a
  // group commit. Here the writer is held up for real: another connection has the database's
  // write lock, so StoreReport waits (up to its 5 s busy timeout) inside the storage.
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  TestDatabase& other = Raw();
  ASSERT_TRUE(other.LockWrites());
  std::atomic<bool> stored{false};
  const auto report = MakeReport(Uuid(100), Uuid(1), kT0, {{"yara", CheckStatus::kPass}});
  std::thread writer([&] {
    EXPECT_TRUE(storage->StoreReport(report, Body(report), kT0).ok());
    stored = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the writer block
  auto device = storage->GetDevice(Uuid(1));
  // Had the lookup queued behind the write, it would only return after the write (when the
  // other connection lets go below).
  EXPECT_FALSE(stored.load()) << "the lookup waited for the write";
  ASSERT_TRUE(device.ok()) << device.error().ToString();
  EXPECT_FALSE(device->last_seen.has_value()) << "the committed state, without the write";
  ASSERT_TRUE(other.Commit());
  writer.join();
  EXPECT_TRUE(stored.load());
  // Committed writes are seen at once.
  device = storage->GetDevice(Uuid(1));
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->last_seen, kT0);
}

TEST_P(StorageTest, RefusedReportsStoreNothing) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  ASSERT_TRUE(storage->AddDevice(MakeDevice(2, "laocai")).ok());
  const auto stored = MakeReport(Uuid(100), Uuid(1), kT0, {{"yara", CheckStatus::kPass}});
  ASSERT_TRUE(storage->StoreReport(stored, Body(stored), kT0).ok());

  struct Case {
    std::string name;
    protocol::Report report;
    ErrorCode code;
  };
  auto twice = MakeReport(Uuid(102), Uuid(1), kT0,
                          {{"yara", CheckStatus::kPass}, {"yara", CheckStatus::kFail}});
  auto bad_time = MakeReport(Uuid(103), Uuid(1), kT0, {{"yara", CheckStatus::kPass}});
  bad_time.collected_at = "yesterday";
  const std::vector<Case> cases = {
      {"unknown device", MakeReport(Uuid(101), Uuid(3), kT0, {{"antivirus", CheckStatus::kPass}}),
       ErrorCode::kNotFound},
      {"report id of another device",
       MakeReport(Uuid(100), Uuid(2), kT0, {{"antivirus", CheckStatus::kPass}}),
       ErrorCode::kConflict},
      {"a check given twice", twice, ErrorCode::kInvalidArgument},
      {"a bad collected_at", bad_time, ErrorCode::kInvalidArgument},
  };
  TestDatabase& raw = Raw();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto result = storage->StoreReport(c.report, Body(c.report), kT0 + minutes(1));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, c.code) << result.error().ToString();
    EXPECT_EQ(raw.Int("SELECT count(*) FROM reports"), 1);
    EXPECT_EQ(raw.Int("SELECT count(*) FROM check_results"), 1);
  }
  auto device2 = storage->GetDevice(Uuid(2));
  ASSERT_TRUE(device2.ok());
  EXPECT_EQ(device2->last_seen, std::nullopt);
  EXPECT_EQ(device2->status, DeviceStatus::kUnknown);
}

// Issue 13, finding 2 (failed on the old code, which kept the report dated later: a report from
// a clock set years ahead froze its device).
TEST_P(StorageTest, TheDeviceFollowsTheReportReceivedLastWhateverItsDate) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  const auto future = MakeReport(Uuid(101), Uuid(1), kT0 + hours(24 * 365 * 10),
                                 {{"antivirus", CheckStatus::kPass}}, /*policy_version=*/3);
  const auto genuine = MakeReport(Uuid(100), Uuid(1), kT0 + hours(1),
                                  {{"antivirus", CheckStatus::kFail}}, /*policy_version=*/4);
  ASSERT_TRUE(storage->StoreReport(future, Body(future), kT0 + hours(1)).ok());
  {
    auto device = storage->GetDevice(Uuid(1));
    ASSERT_TRUE(device.ok());
    EXPECT_EQ(device->status, DeviceStatus::kCompliant);
    EXPECT_EQ(device->clock_skew, hours(24 * 365 * 10) - hours(1));
  }
  ASSERT_TRUE(storage->StoreReport(genuine, Body(genuine), kT0 + hours(1) + seconds(30)).ok());

  auto device = storage->GetDevice(Uuid(1));
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->status, DeviceStatus::kNoncompliant);
  EXPECT_EQ(device->policy_version, 4);
  EXPECT_EQ(device->last_seen, kT0 + hours(1) + seconds(30));
  EXPECT_EQ(device->clock_skew, -seconds(30));
  auto latest = storage->LatestReport(Uuid(1));
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->report_id, Uuid(100));
  DeviceFilter failing;
  failing.check_id = "antivirus";
  auto listed = storage->ListDevices(failing);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 1u);
}

class DeviceFilterTest : public StorageTestBase, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    UseBackend(GetParam());
    if (IsSkipped() || HasFailure()) {
      return;
    }
    storage_ = Open();
    ASSERT_NE(storage_, nullptr);
    // n, group, reports (oldest first) as (minutes after kT0, checks), revoked
    struct Seed {
      int n;
      std::string group;
      std::vector<std::vector<std::pair<std::string, CheckStatus>>> reports;
      bool revoked = false;
      SysTime enrolled_at = kT0;
    };
    const std::vector<Seed> seeds = {
        {1, "laocai/bac-ha", {{{"antivirus", CheckStatus::kPass}, {"yara", CheckStatus::kPass}}}},
        {2, "laocai/bac-ha", {{{"antivirus", CheckStatus::kFail}, {"yara", CheckStatus::kPass}}}},
        {3, "laocai/sa-pa", {{{"antivirus", CheckStatus::kError}, {"yara", CheckStatus::kPass}}}},
        // Failed antivirus once, passes now: not failing it.
        {4,
         "laocai/sa-pa",
         {{{"antivirus", CheckStatus::kFail}}, {{"antivirus", CheckStatus::kPass}}}},
        {5, "laocai2/x", {{{"yara", CheckStatus::kFail}}}},
        {6, "laocai", {}},  // enrolled, never reported
        {7, "hanoi", {{{"antivirus", CheckStatus::kFail}}}, /*revoked=*/true},
        // Enrolled long ago, never reported: stale.
        {8, "laocai/bac-ha", {}, false, kT0 - hours(24 * 10)},
    };
    int report = 100;
    for (const auto& seed : seeds) {
      Device d = MakeDevice(seed.n, seed.group, seed.enrolled_at);
      d.revoked = seed.revoked;
      ASSERT_TRUE(storage_->AddDevice(d).ok());
      int minute = 0;
      for (const auto& checks : seed.reports) {
        ++minute;
        auto r = MakeReport(Uuid(report++), d.device_id, kT0 + minutes(minute), checks);
        ASSERT_TRUE(storage_->StoreReport(r, Body(r), kT0 + minutes(minute)).ok());
      }
    }
    // Device 9 reported compliant, but 4 days ago.
    Device old = MakeDevice(9, "laocai/sa-pa", kT0 - hours(24 * 5));
    ASSERT_TRUE(storage_->AddDevice(old).ok());
    auto r = MakeReport(Uuid(report++), old.device_id, kT0 - hours(96),
                        {{"antivirus", CheckStatus::kPass}});
    ASSERT_TRUE(storage_->StoreReport(r, Body(r), kT0 - hours(96)).ok());
  }

  std::vector<int> List(DeviceFilter filter) {
    auto devices = storage_->ListDevices(filter);
    EXPECT_TRUE(devices.ok()) << devices.error().ToString();
    std::vector<int> ns;
    for (const auto& d : devices.value_or(std::vector<Device>{})) {
      ns.push_back(std::stoi(d.device_id.substr(24)));
    }
    return ns;
  }

  static DeviceFilter Status(DeviceStatus s) {
    DeviceFilter f;
    f.status = s;
    f.stale_before = kStaleBefore;
    return f;
  }

  static constexpr auto kStaleBefore = kT0 - hours(72);
  std::unique_ptr<Storage> storage_;
};
INSTANTIATE_TEST_SUITE_P(Backends, DeviceFilterTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendNamer());

TEST_P(DeviceFilterTest, ByStatus) {
  struct Case {
    DeviceStatus status;
    std::vector<int> devices;
  };
  const std::vector<Case> cases = {
      {DeviceStatus::kCompliant, {1, 4}}, {DeviceStatus::kNoncompliant, {2, 5}},
      {DeviceStatus::kError, {3}},        {DeviceStatus::kStale, {8, 9}},
      {DeviceStatus::kRevoked, {7}},      {DeviceStatus::kUnknown, {6}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(protocol::ToString(c.status)));
    EXPECT_THAT(List(Status(c.status)), UnorderedElementsAreArray(c.devices));
  }
  // Without a staleness cut-off nothing is stale and devices 8 and 9 show their own status.
  DeviceFilter no_cutoff;
  no_cutoff.status = DeviceStatus::kStale;
  EXPECT_THAT(List(no_cutoff), ::testing::IsEmpty());
  no_cutoff.status = DeviceStatus::kCompliant;
  EXPECT_THAT(List(no_cutoff), UnorderedElementsAreArray({1, 4, 9}));
}

// EffectiveStatus (what the API shows) and the SQL filter are one rule written twice.
TEST_P(DeviceFilterTest, EffectiveStatusAgreesWithTheFilter) {
  auto all = storage_->ListDevices(DeviceFilter{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 9u);
  for (const auto& device : *all) {
    const DeviceStatus shown = EffectiveStatus(device, kStaleBefore);
    auto listed = List(Status(shown));
    EXPECT_THAT(listed, ::testing::Contains(std::stoi(device.device_id.substr(24))))
        << device.device_id << " shown as " << protocol::ToString(shown);
  }
}

TEST_P(DeviceFilterTest, ByGroupPrefixBySegments) {
  struct Case {
    std::string prefix;
    std::vector<int> devices;
  };
  const std::vector<Case> cases = {
      {"laocai", {1, 2, 3, 4, 6, 8, 9}},
      {"laocai/", {1, 2, 3, 4, 6, 8, 9}},
      {"laocai/bac-ha", {1, 2, 8}},
      {"laocai/bac", {}},
      {"laocai2", {5}},
      {"hanoi", {7}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.prefix);
    DeviceFilter f;
    f.group_prefix = c.prefix;
    EXPECT_THAT(List(f), UnorderedElementsAreArray(c.devices));
  }
}

TEST_P(DeviceFilterTest, ByFailingCheckOfTheLatestReport) {
  DeviceFilter f;
  f.check_id = "antivirus";
  EXPECT_THAT(List(f), UnorderedElementsAreArray({2, 3, 7}));
  f.check_id = "yara";
  EXPECT_THAT(List(f), UnorderedElementsAreArray({5}));
  f.check_id = "screen_lock";
  EXPECT_THAT(List(f), ::testing::IsEmpty());
}

TEST_P(DeviceFilterTest, FiltersCombineAndTheOrderIsGroupThenHostname) {
  DeviceFilter f = Status(DeviceStatus::kNoncompliant);
  f.group_prefix = "laocai";
  EXPECT_THAT(List(f), ElementsAre(2));
  f.group_prefix = "laocai2";
  EXPECT_THAT(List(f), ElementsAre(5));
  f.check_id = "antivirus";
  EXPECT_THAT(List(f), ::testing::IsEmpty());
  // hanoi < laocai < laocai/bac-ha < laocai/sa-pa < laocai2/x ('/' sorts before '2'), then
  // the enrolled host names (reports never rename a device).
  EXPECT_THAT(List(DeviceFilter{}), ElementsAre(7, 6, 1, 2, 8, 3, 4, 9, 5));
}

TEST_P(StorageTest, HistoryIsNewestArrivalFirst) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  ASSERT_TRUE(storage->AddDevice(MakeDevice(2, "laocai")).ok());
  // Arrival order 1, 3, 2 by collection time; the last two share a collection second.
  const std::vector<std::pair<int, int>> arrivals = {{100, 1}, {101, 3}, {102, 2}, {103, 3}};
  for (const auto& [id, minute] : arrivals) {
    auto r = MakeReport(Uuid(id), Uuid(1), kT0 + minutes(minute), {{"yara", CheckStatus::kPass}});
    ASSERT_TRUE(storage->StoreReport(r, Body(r), kT0 + minutes(10 + id)).ok());
  }
  auto history = storage->ReportHistory(Uuid(1), 10);
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  std::vector<std::string> ids;
  for (const auto& r : *history) {
    ids.push_back(r.report_id);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.status, DeviceStatus::kCompliant);
  }
  // Arrival order, whatever the agent's clock said, as LatestReport picks it.
  EXPECT_THAT(ids, ElementsAre(Uuid(103), Uuid(102), Uuid(101), Uuid(100)));
  auto latest = storage->LatestReport(Uuid(1));
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->report_id, Uuid(103));

  auto two = storage->ReportHistory(Uuid(1), 2);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].report_id, Uuid(102));
  EXPECT_EQ((*two)[1].collected_at, kT0 + minutes(2));
  EXPECT_EQ((*two)[1].received_at, kT0 + minutes(112));
  EXPECT_EQ((*two)[1].clock_skew, -minutes(110));

  auto none = storage->ReportHistory(Uuid(2), 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto no_latest = storage->LatestReport(Uuid(2));
  ASSERT_TRUE(no_latest.ok());
  EXPECT_FALSE(no_latest->has_value());
  auto unknown_history = storage->ReportHistory(Uuid(3), 10);
  ASSERT_FALSE(unknown_history.ok());
  EXPECT_EQ(unknown_history.error().code, ErrorCode::kNotFound);
  auto unknown_latest = storage->LatestReport(Uuid(3));
  ASSERT_FALSE(unknown_latest.ok());
  EXPECT_EQ(unknown_latest.error().code, ErrorCode::kNotFound);
}

// --- policies and tasks ------------------------------------------------------------------

StoredPolicy MakePolicy(int64_t version, const std::string& hash, const std::string& scope = "") {
  StoredPolicy p;
  p.version = version;
  p.hash = hash;
  p.key_id = "0123456789abcdef";
  p.name = "policy-" + std::to_string(version);
  p.scope = scope;
  p.envelope = R"({"format":"counterguard-policy-v1"})";
  p.pushed_by = "admin";
  p.pushed_at = kT0 + minutes(version);
  return p;
}

TEST_P(StorageTest, PoliciesAreStoredOncePerVersionAndListedNewestFirst) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  auto first = storage->AddPolicy(MakePolicy(3, "aaa", "laocai"));
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(*first);
  ASSERT_TRUE(storage->AddPolicy(MakePolicy(5, "bbb")).ok());
  // The same policy again is no change; another policy under a taken version is refused.
  auto again = storage->AddPolicy(MakePolicy(3, "aaa", "laocai"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  auto clash = storage->AddPolicy(MakePolicy(3, "ccc"));
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kAlreadyExists);

  auto list = storage->ListPolicies();
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, 5);
  EXPECT_EQ((*list)[1].version, 3);
  EXPECT_EQ((*list)[1].hash, "aaa");
  EXPECT_EQ((*list)[1].scope, "laocai");
  EXPECT_EQ((*list)[1].envelope, MakePolicy(3, "aaa").envelope);
  EXPECT_EQ((*list)[1].pushed_at, kT0 + minutes(3));
}

TEST_P(StorageTest, TasksAreHandedOutOnceAndDoneByTheReportThatAnswersThem) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  ASSERT_TRUE(storage->AddDevice(MakeDevice(2, "laocai")).ok());
  Task task;
  task.id = Uuid(500);
  task.yara = true;
  task.target = "group laocai";
  task.created_by = "admin";
  task.created_at = kT0;
  task.expires_at = kT0 + hours(1);
  ASSERT_TRUE(storage->CreateTask(task, {Uuid(1), Uuid(2)}).ok());

  auto taken = storage->TakeTasks(Uuid(1), kT0 + minutes(1));
  ASSERT_TRUE(taken.ok()) << taken.error().ToString();
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ((*taken)[0].id, Uuid(500));
  EXPECT_TRUE((*taken)[0].yara);
  // Handed out once: the next poll does not get it again.
  auto again = storage->TakeTasks(Uuid(1), kT0 + minutes(2));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());

  // Device 1 answers; device 2 never polled.
  auto report = MakeReport(Uuid(101), Uuid(1), kT0 + minutes(3), {{"yara", CheckStatus::kPass}});
  report.task_ids = {Uuid(500)};
  report.policy_hash = "feed";
  ASSERT_TRUE(storage->StoreReport(report, Body(report), kT0 + minutes(4)).ok());

  auto detail = storage->GetTask(Uuid(500));
  ASSERT_TRUE(detail.ok()) << detail.error().ToString();
  EXPECT_EQ(detail->first.target, "group laocai");
  // Ordered by the enrolled host name: "host-1", then "host-2" (reports rename nothing).
  ASSERT_EQ(detail->second.size(), 2u);
  const TaskAssignment& answered = detail->second[0];
  EXPECT_EQ(answered.device_id, Uuid(1));
  EXPECT_EQ(answered.hostname, "host-1");
  EXPECT_EQ(answered.state, "done");
  EXPECT_EQ(answered.delivered_at, kT0 + minutes(1));
  EXPECT_EQ(answered.done_at, kT0 + minutes(4));
  EXPECT_EQ(answered.report_id, Uuid(101));
  EXPECT_EQ(detail->second[1].device_id, Uuid(2));
  EXPECT_EQ(detail->second[1].state, "pending");
  EXPECT_EQ(storage->GetDevice(Uuid(1))->policy_hash, "feed");

  // An expired task is not handed out any more.
  auto late = storage->TakeTasks(Uuid(2), kT0 + hours(2));
  ASSERT_TRUE(late.ok());
  EXPECT_TRUE(late->empty());
  auto list = storage->ListTasks(10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(storage->GetTask(Uuid(999)).error().code, ErrorCode::kNotFound);
}

TEST_P(StorageTest, ATaskForAnUnknownDeviceStoresNothing) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
  Task task;
  task.id = Uuid(501);
  task.target = "device x";
  task.created_by = "admin";
  task.created_at = kT0;
  task.expires_at = kT0 + hours(1);
  const Status s = storage->CreateTask(task, {Uuid(1), Uuid(77)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storage->ListTasks(10)->size(), 0u);
  EXPECT_TRUE(storage->TakeTasks(Uuid(1), kT0)->empty());
}

// Generated reports: recorded once per id, found by digest (newest first, without content),
// read back by id with their content; an unknown id is kNotFound.
TEST_P(StorageTest, GeneratedReportsAreRecordedOnceAndReadBackByIdOrDigest) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  GeneratedReport r;
  r.id = Uuid(41);
  r.kind = "inspection";
  r.digest = std::string(64, 'd');
  r.parameters = R"({"group":"laocai","lang":"vi"})";
  r.generated_by = "tran.thi.hoa";
  r.generated_at = kT0;
  r.content = R"({"title":"Báo cáo kiểm tra"})";
  ASSERT_TRUE(storage->RecordGeneratedReport(r).ok());
  const Status again = storage->RecordGeneratedReport(r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  GeneratedReport later = r;
  later.id = Uuid(42);
  later.generated_at = kT0 + hours(1);
  ASSERT_TRUE(storage->RecordGeneratedReport(later).ok());
  auto found = storage->FindGeneratedReports(r.digest);
  ASSERT_TRUE(found.ok()) << found.error().ToString();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].id, Uuid(42));
  EXPECT_EQ((*found)[1].id, Uuid(41));
  EXPECT_TRUE((*found)[0].content.empty());
  auto one = storage->GetGeneratedReport(Uuid(41));
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  EXPECT_EQ(one->kind, "inspection");
  EXPECT_EQ(one->digest, r.digest);
  EXPECT_EQ(one->parameters, r.parameters);
  EXPECT_EQ(one->generated_by, "tran.thi.hoa");
  EXPECT_EQ(one->generated_at, kT0);
  EXPECT_EQ(one->content, r.content);
  auto unknown = storage->GetGeneratedReport(Uuid(43));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_P(StorageTest, AuditIsListedNewestFirstAndCannotBeRewritten) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  for (int i = 0; i < 3; ++i) {
    AuditEntry e;
    e.time = kT0 + seconds(i);
    e.actor = i == 0 ? "-" : "admin";
    e.role = i == 0 ? "-" : "admin";
    e.method = "GET";
    e.path = "/api/v1/devices/" + Uuid(i);
    e.target = Uuid(i);
    e.result = i == 0 ? 401 : 200;
    e.source = "127.0.0.1:4000" + std::to_string(i);
    ASSERT_TRUE(storage->AppendAudit(e).ok());
  }
  auto entries = storage->ListAudit(2);
  ASSERT_TRUE(entries.ok()) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].time, kT0 + seconds(2));
  EXPECT_EQ((*entries)[1].time, kT0 + seconds(1));
  EXPECT_EQ((*entries)[1].actor, "admin");
  EXPECT_EQ((*entries)[1].role, "admin");
  EXPECT_EQ((*entries)[1].method, "GET");
  EXPECT_EQ((*entries)[1].path, "/api/v1/devices/" + Uuid(1));
  EXPECT_EQ((*entries)[1].target, Uuid(1));
  EXPECT_EQ((*entries)[1].result, 200);
  EXPECT_EQ((*entries)[1].source, "127.0.0.1:40001");

  auto all = storage->ListAudit(100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].actor, "-");
  EXPECT_EQ((*all)[2].result, 401);

  TestDatabase& raw = Raw();
  EXPECT_FALSE(raw.Exec("UPDATE audit_log SET result = 200"));
  EXPECT_FALSE(raw.Exec("DELETE FROM audit_log"));
  EXPECT_EQ(raw.Int("SELECT count(*) FROM audit_log WHERE result = 401"), 1);
}

// --- issue 4: token lists, certificates, conflicts ------------------------------------------

TEST_F(SqliteStorageTest, TheIdentityMigrationListsDevicesRevokedBeforeIt) {
  // A database at schema 2 with a revoked device: made by taking migration 3 back by hand.
  {
    auto storage = Open();
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->AddDevice(MakeDevice(1, "laocai")).ok());
    ASSERT_TRUE(storage->AddDevice(MakeDevice(2, "laocai")).ok());
  }
  {
    RawDb raw(DbPath());
    ASSERT_EQ(raw.Exec(  // migration 12 (group names), undone
                  "DROP TABLE group_names; "
                  // migration 11 (query indexes), undone
                  "DROP INDEX devices_by_posture; DROP INDEX devices_by_os; "
                  "DROP INDEX devices_by_agent_version; DROP INDEX devices_by_policy_version; "
                  "DROP INDEX devices_by_silence; DROP INDEX devices_for_summary; "
                  "ALTER TABLE devices DROP COLUMN failing_checks; "
                  "ALTER TABLE devices DROP COLUMN error_checks; "
                  // migration 10 (accounts), undone
                  "DROP TABLE sessions; DROP TABLE account_recovery_codes; "
                  "DROP TABLE accounts; DROP INDEX audit_log_by_time; "
                  "ALTER TABLE operator_tokens DROP COLUMN account_id; "
                  "ALTER TABLE audit_log DROP COLUMN action; "
                  "ALTER TABLE audit_log DROP COLUMN account; "
                  // migration 8 (queries), undone
                  "DROP INDEX devices_by_hostname_folded; "
                  "DROP INDEX devices_by_group_hostname; "
                  "DROP INDEX devices_by_last_seen; "
                  "ALTER TABLE devices DROP COLUMN hostname_folded; "
                  "ALTER TABLE devices DROP COLUMN os_name; "
                  "ALTER TABLE devices DROP COLUMN os_version; "
                  "ALTER TABLE devices DROP COLUMN agent_version; "
                  // migration 9 (export), undone
                  "DROP TABLE export_outbox; DROP TABLE export_cursors; "
                  "ALTER TABLE devices DROP COLUMN stale_event_at; "
                  // migration 7 (history), undone
                  "DROP TABLE status_intervals; DROP TABLE enforcement_changes; "
                  "DROP TABLE reporting_gaps; DROP TABLE generated_reports; "
                  "DROP TABLE history_backfill; DROP INDEX reports_by_arrival; "
                  "DROP INDEX devices_by_latest_report; DROP TRIGGER audit_log_no_delete; "
                  "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN "
                  "SELECT RAISE(ABORT, 'the audit log is append-only'); END; "
                  "DROP TABLE revoked_certificates; DROP TABLE enrollment_conflicts; "
                  "DROP INDEX devices_by_machine; DROP INDEX reports_by_device_arrival; "
                  "ALTER TABLE reports DROP COLUMN clock_skew; "
                  "ALTER TABLE devices DROP COLUMN clock_skew; "
                  "ALTER TABLE devices DROP COLUMN reported_hostname; "
                  "ALTER TABLE operator_tokens DROP COLUMN last_used_at; "
                  "ALTER TABLE devices DROP COLUMN reenroll_allowed; "
                  "ALTER TABLE devices DROP COLUMN pending_cert_serial; "
                  "ALTER TABLE devices DROP COLUMN pending_cert_not_after; "
                  // migration 6, undone
                  "ALTER TABLE devices DROP COLUMN policy_state; "
                  "ALTER TABLE devices DROP COLUMN verified_policy_version; "
                  "ALTER TABLE devices DROP COLUMN verified_policy_hash; "
                  "ALTER TABLE devices DROP COLUMN served_policy_version; "
                  "ALTER TABLE devices DROP COLUMN served_policy_hash; "
                  "ALTER TABLE reports DROP COLUMN policy_state; "
                  "DROP TABLE policy_layers; "
                  "CREATE TABLE policies (version INTEGER PRIMARY KEY, hash TEXT NOT NULL, "
                  "key_id TEXT NOT NULL, name TEXT NOT NULL, scope TEXT NOT NULL, "
                  "envelope TEXT NOT NULL, pushed_by TEXT NOT NULL, "
                  "pushed_at INTEGER NOT NULL); "
                  "INSERT INTO policies VALUES (7, 'h7', 'k', 'n', '', "
                  "'{\"policy\": {\"target\": {\"groups\": [\"sonla/\", \"laocai/\"]}}}', "
                  "'admin', 1); "
                  "DELETE FROM schema_migrations WHERE version >= 3; "
                  "UPDATE devices SET revoked = 1 WHERE device_id = '" +
                  Uuid(1) + "'"),
              SQLITE_OK);
  }
  auto storage = Open(/*create=*/false);
  ASSERT_NE(storage, nullptr);
  auto listed = storage->ListRevokedCertificates(kT0);
  ASSERT_TRUE(listed.ok()) << listed.error().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].serial_hex, "abc1");
  EXPECT_EQ((*listed)[0].device_id, Uuid(1));
  EXPECT_EQ((*listed)[0].reason, "revoked");
  EXPECT_FALSE(storage->GetDevice(Uuid(2))->reenroll_allowed);
  // Migration 6 gave the stored policy its target (sorted groups without trailing slashes).
  auto policies = storage->ListPolicies();
  ASSERT_TRUE(policies.ok()) << policies.error().ToString();
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].target, "laocai,sonla");
  EXPECT_EQ((*policies)[0].version, 7);
}

TEST_P(StorageTest, TokensAreListedNewestFirstAndRevoked) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  for (int n = 1; n <= 3; ++n) {
    ASSERT_TRUE(
        storage->CreateEnrollmentToken(MakeToken(n, "secret-" + std::to_string(n), 1)).ok());
    OperatorToken op;
    op.id = Uuid(10 + n);
    op.name = "op-" + std::to_string(n);
    op.role = "analyst";
    op.token_hash = Sha256Hex("op-secret-" + std::to_string(n));
    op.created_at = kT0;  // same second: the insertion order decides
    ASSERT_TRUE(storage->CreateOperatorToken(op).ok());
  }
  auto enroll = storage->ListEnrollmentTokens();
  ASSERT_TRUE(enroll.ok());
  ASSERT_EQ(enroll->size(), 3u);
  EXPECT_EQ((*enroll)[0].id, Uuid(3));
  EXPECT_EQ((*enroll)[2].id, Uuid(1));
  auto ops = storage->ListOperatorTokens();
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 3u);
  EXPECT_EQ((*ops)[0].name, "op-3");

  ASSERT_TRUE(storage->RevokeEnrollmentToken(Uuid(2)).ok());
  ASSERT_TRUE(storage->RevokeEnrollmentToken(Uuid(2)).ok());  // twice is fine
  EXPECT_TRUE(storage->FindEnrollmentTokenByHash(Sha256Hex("secret-2"))->revoked);
  EXPECT_FALSE(storage->FindEnrollmentTokenByHash(Sha256Hex("secret-1"))->revoked);
  auto consumed = storage->ConsumeEnrollmentToken(Sha256Hex("secret-2"), kT0);
  ASSERT_FALSE(consumed.ok());
  EXPECT_EQ(consumed.error().code, ErrorCode::kPermissionDenied);
  ASSERT_TRUE(storage->RevokeOperatorToken(Uuid(12)).ok());
  EXPECT_TRUE(storage->FindOperatorTokenByHash(Sha256Hex("op-secret-2"))->revoked);
  EXPECT_EQ(storage->RevokeOperatorToken(Uuid(99)).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(storage->RevokeEnrollmentToken(Uuid(99)).error().code, ErrorCode::kNotFound);
}

TEST_P(StorageTest, MachinesAreFoundByMachineIdOrElseByHostname) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  Device with_id = MakeDevice(1, "laocai");
  Device without_id = MakeDevice(2, "laocai");
  without_id.machine_id = "";
  without_id.hostname = "pc-shared";
  Device other = MakeDevice(3, "laocai");
  other.hostname = "pc-shared";
  for (const Device& d : {with_id, without_id, other}) {
    ASSERT_TRUE(storage->AddDevice(d).ok());
  }
  auto by_id = storage->FindDevicesByMachine("machine-1", "whatever");
  ASSERT_TRUE(by_id.ok());
  ASSERT_EQ(by_id->size(), 1u);
  EXPECT_EQ((*by_id)[0].device_id, Uuid(1));
  // Without a machine id only devices that have none either are matched by host name.
  auto by_name = storage->FindDevicesByMachine("", "pc-shared");
  ASSERT_TRUE(by_name.ok());
  ASSERT_EQ(by_name->size(), 1u);
  EXPECT_EQ((*by_name)[0].device_id, Uuid(2));
  EXPECT_TRUE(storage->FindDevicesByMachine("machine-9", "pc-shared")->empty());
}

TEST_P(StorageTest, ReplacingACertificateSupersedesTheOldOneAtomically) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const Device device = MakeDevice(1, "laocai");
  ASSERT_TRUE(storage->AddDevice(device).ok());
  EnrollmentConflict conflict;
  conflict.time = kT0;
  conflict.device_id = device.device_id;
  conflict.hostname = device.hostname;
  conflict.machine_id = device.machine_id;
  conflict.group = "laocai";
  conflict.source = "10.0.0.1:1";
  ASSERT_TRUE(storage->AddEnrollmentConflict(conflict).ok());
  ASSERT_EQ(storage->ListEnrollmentConflicts(false)->size(), 1u);

  const SysTime t1 = kT0 + hours(24 * 20);
  // The wrong current serial (a concurrent renewal won): nothing changes.
  auto stale = storage->ReplaceDeviceCertificate(device.device_id, "not-the-serial", "def1",
                                                 t1 + hours(720), "laocai", false, t1);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(storage->GetDevice(device.device_id)->cert_serial, device.cert_serial);
  EXPECT_TRUE(storage->ListRevokedCertificates(t1)->empty());

  ASSERT_TRUE(storage
                  ->ReplaceDeviceCertificate(device.device_id, device.cert_serial, "def1",
                                             t1 + hours(720), "laocai/sa-pa", false, t1)
                  .ok());
  auto got = storage->GetDevice(device.device_id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->cert_serial, "def1");
  EXPECT_EQ(got->cert_not_after, t1 + hours(720));
  EXPECT_EQ(got->group, "laocai/sa-pa");
  auto revoked = storage->ListRevokedCertificates(t1);
  ASSERT_TRUE(revoked.ok());
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].serial_hex, device.cert_serial);
  EXPECT_EQ((*revoked)[0].reason, "superseded");
  EXPECT_EQ((*revoked)[0].revoked_at, t1);
  EXPECT_EQ((*revoked)[0].not_after, device.cert_not_after);
  // A new certificate resolves nothing: only an admin closes a conflict.
  ASSERT_EQ(storage->ListEnrollmentConflicts(false)->size(), 1u);
  const int64_t conflict_id = (*storage->ListEnrollmentConflicts(false))[0].id;
  ASSERT_TRUE(storage->ResolveEnrollmentConflict(conflict_id, "root", t1).ok());
  EXPECT_EQ(storage->ResolveEnrollmentConflict(conflict_id, "root", t1).error().code,
            ErrorCode::kConflict);
  EXPECT_EQ(storage->ResolveEnrollmentConflict(conflict_id + 1, "root", t1).error().code,
            ErrorCode::kNotFound);
  EXPECT_TRUE(storage->ListEnrollmentConflicts(false)->empty());
  auto all = storage->ListEnrollmentConflicts(true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].resolved_at, t1);
  EXPECT_EQ((*all)[0].resolved_by, "root");
  // An expired certificate drops out of the CRL.
  EXPECT_TRUE(storage->ListRevokedCertificates(device.cert_not_after)->empty());
}

TEST_P(StorageTest, ARenewedCertificateWaitsAsPendingUntilItReplacesTheCurrentOne) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const Device device = MakeDevice(1, "laocai");
  ASSERT_TRUE(storage->AddDevice(device).ok());
  const SysTime t1 = kT0 + hours(24 * 20);
  auto wrong = storage->OfferRenewedCertificate(device.device_id, "not-the-serial", "p1",
                                                t1 + hours(720), t1);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kConflict);
  EXPECT_EQ(storage->GetDevice(device.device_id)->pending_cert_serial, "");

  ASSERT_TRUE(
      storage
          ->OfferRenewedCertificate(device.device_id, device.cert_serial, "p1", t1 + hours(720), t1)
          .ok());
  auto got = storage->GetDevice(device.device_id);
  EXPECT_EQ(got->cert_serial, device.cert_serial);
  EXPECT_EQ(got->pending_cert_serial, "p1");
  EXPECT_EQ(got->pending_cert_not_after, t1 + hours(720));
  EXPECT_TRUE(storage->ListRevokedCertificates(t1)->empty());
  // Offered again (the first answer was lost): the unused one is superseded.
  ASSERT_TRUE(storage
                  ->OfferRenewedCertificate(device.device_id, device.cert_serial, "p2",
                                            t1 + hours(721), t1 + hours(1))
                  .ok());
  EXPECT_EQ(storage->GetDevice(device.device_id)->pending_cert_serial, "p2");
  auto listed = storage->ListRevokedCertificates(t1);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].serial_hex, "p1");
  EXPECT_EQ((*listed)[0].reason, "superseded");
  // The pending one becomes current: the old is superseded, nothing is pending any more.
  ASSERT_TRUE(storage
                  ->ReplaceDeviceCertificate(device.device_id, device.cert_serial, "p2",
                                             t1 + hours(721), "laocai", false, t1 + hours(2))
                  .ok());
  got = storage->GetDevice(device.device_id);
  EXPECT_EQ(got->cert_serial, "p2");
  EXPECT_EQ(got->pending_cert_serial, "");
  auto reasons = [&] {
    std::map<std::string, std::string> by_serial;
    auto crl = storage->ListRevokedCertificates(t1);
    EXPECT_TRUE(crl.ok());
    for (const auto& r : crl.ok() ? *crl : std::vector<RevokedCertificate>{}) {
      by_serial[r.serial_hex] = r.reason;
    }
    return by_serial;
  };
  EXPECT_EQ(reasons(), (std::map<std::string, std::string>{{device.cert_serial, "superseded"},
                                                           {"p1", "superseded"}}));

  // Revoking a device revokes its pending certificate too, and no renewal is offered after.
  ASSERT_TRUE(
      storage->OfferRenewedCertificate(device.device_id, "p2", "p3", t1 + hours(900), t1).ok());
  ASSERT_TRUE(storage->RevokeDevice(device.device_id, t1 + hours(3)).ok());
  got = storage->GetDevice(device.device_id);
  EXPECT_EQ(got->pending_cert_serial, "");
  EXPECT_EQ(reasons()["p2"], "revoked");
  EXPECT_EQ(reasons()["p3"], "revoked");
  EXPECT_EQ(storage->OfferRenewedCertificate(device.device_id, "p2", "p4", t1, t1).error().code,
            ErrorCode::kConflict);
}

TEST_P(StorageTest, RevocationIsListedOnceAndOnlyAnAllowedReenrollmentLiftsIt) {
  auto storage = Open();
  ASSERT_NE(storage, nullptr);
  const Device device = MakeDevice(1, "laocai");
  ASSERT_TRUE(storage->AddDevice(device).ok());
  ASSERT_TRUE(storage->RevokeDevice(device.device_id, kT0 + hours(1)).ok());
  ASSERT_TRUE(storage->RevokeDevice(device.device_id, kT0 + hours(2)).ok());
  auto revoked = storage->ListRevokedCertificates(kT0);
  ASSERT_TRUE(revoked.ok());
  ASSERT_EQ(revoked->size(), 1u);
  EXPECT_EQ((*revoked)[0].reason, "revoked");
  EXPECT_EQ((*revoked)[0].revoked_at, kT0 + hours(1));
  EXPECT_EQ(storage->RevokeDevice(Uuid(9), kT0).error().code, ErrorCode::kNotFound);

  // A renewal does not lift a revocation ...
  ASSERT_TRUE(storage
                  ->ReplaceDeviceCertificate(device.device_id, device.cert_serial, "def2",
                                             kT0 + hours(800), "laocai", false, kT0 + hours(3))
                  .ok());
  EXPECT_TRUE(storage->GetDevice(device.device_id)->revoked);
  // ... an admin's allowance does, once.
  ASSERT_TRUE(storage->AllowReenroll(device.device_id, kT0 + hours(4)).ok());
  EXPECT_TRUE(storage->GetDevice(device.device_id)->reenroll_allowed);
  ASSERT_TRUE(storage
                  ->ReplaceDeviceCertificate(device.device_id, "def2", "def3", kT0 + hours(900),
                                             "laocai", true, kT0 + hours(5))
                  .ok());
  auto got = storage->GetDevice(device.device_id);
  EXPECT_FALSE(got->revoked);
  EXPECT_FALSE(got->reenroll_allowed);
  // The original certificate stays listed as revoked, the intermediate one as superseded.
  std::map<std::string, std::string> reasons;
  auto listed = storage->ListRevokedCertificates(kT0);
  ASSERT_TRUE(listed.ok());
  for (const auto& r : *listed) {
    reasons[r.serial_hex] = r.reason;
  }
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{{device.cert_serial, "revoked"},
                                                         {"def2", "superseded"}}));
  EXPECT_EQ(storage->AllowReenroll(Uuid(9), kT0).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cg::soc

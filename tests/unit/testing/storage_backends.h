// The storage conformance suite's backends (issue 17): one test database per test on SQLite (a
// file in the test's directory) or PostgreSQL (a fresh schema in the throw-away cluster that
// CTest's pg_cluster fixture starts, scripts/pg-test-cluster.sh), opened through the real
// Storage, with a raw connection beside it to look at what the backend wrote.
//
// PostgreSQL tests are skipped only when the server binaries are not installed (the fixture
// says so in pg-test/absent); any other missing piece fails the test.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "soc/account_store.h"
#include "soc/pg/pg.h"
#include "soc/pg/pg_account_store.h"
#include "soc/pg/pg_storage.h"
#include "soc/sqlite_storage.h"
#include "soc/storage.h"
#include "tests/unit/testing/pg_test_uri.h"

namespace cg::soc::storage_testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(Backend b) { return b == Backend::kSqlite ? "Sqlite" : "Postgres"; }

struct BackendNamer {
  std::string operator()(const ::testing::TestParamInfo<Backend>& info) const {
    return BackendName(info.param);
  }
};

// One test's database and a raw connection to it.
class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  virtual Result<std::unique_ptr<Storage>> Open(bool create) = 0;
  // The staff accounts of the same database (open the Storage first: it makes the schema).
  virtual Result<std::unique_ptr<AccountStore>> OpenAccounts() = 0;
  // The single value of `sql`'s first row (the test fails when there is none).
  virtual int64_t Int(const std::string& sql) = 0;
  virtual std::string Text(const std::string& sql) = 0;
  // True when the statement succeeded.
  virtual bool Exec(const std::string& sql) = 0;
  // Holds the write side of the database from the raw connection (SQLite: its write lock;
  // PostgreSQL: an EXCLUSIVE lock on the devices table, which blocks writers, not readers)
  // until Commit.
  virtual bool LockWrites() = 0;
  virtual bool Commit() = 0;
  // Where the Storage opens it: a file path or a URI.
  virtual std::string Location() const = 0;
};

class SqliteTestDatabase final : public TestDatabase {
 public:
  explicit SqliteTestDatabase(std::string path) : path_(std::move(path)) {}
  ~SqliteTestDatabase() override {
    if (db_ != nullptr) {
      sqlite3_close_v2(db_);
    }
  }
  Result<std::unique_ptr<Storage>> Open(bool create) override {
    return OpenSqliteStorage(path_, create);
  }
  Result<std::unique_ptr<AccountStore>> OpenAccounts() override {
    return OpenSqliteAccountStore(path_);
  }
  int64_t Int(const std::string& sql) override {
    int64_t v = 0;
    Step(sql, [&](sqlite3_stmt* s) { v = sqlite3_column_int64(s, 0); });
    return v;
  }
  std::string Text(const std::string& sql) override {
    std::string v;
    Step(sql, [&](sqlite3_stmt* s) {
      const auto* t = sqlite3_column_text(s, 0);
      v = t == nullptr ? "" : reinterpret_cast<const char*>(t);
    });
    return v;
  }
  bool Exec(const std::string& sql) override {
    return sqlite3_exec(Db(), sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  bool LockWrites() override { return Exec("BEGIN IMMEDIATE"); }
  bool Commit() override { return Exec("COMMIT"); }
  std::string Location() const override { return path_; }

 private:
  sqlite3* Db() {
    if (db_ == nullptr) {
      EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
      sqlite3_busy_timeout(db_, 5000);
    }
    return db_;
  }
  template <typename Read>
  void Step(const std::string& sql, Read read) {
    sqlite3_stmt* raw = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(Db(), sql.c_str(), -1, &raw, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(Db());
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW) << sql;
    read(stmt.get());
  }
  std::string path_;
  sqlite3* db_ = nullptr;
};

// A fresh schema per test, dropped afterwards; the Storage's connections put it first in their
// search_path through the URI's options.
class PgTestDatabase final : public TestDatabase {
 public:
  static std::unique_ptr<PgTestDatabase> Make(const std::string& base_uri, std::string* error) {
    static std::atomic<int> counter{0};
    std::random_device random;
    const std::string schema = "cg_t" + std::to_string(getpid()) + "_" + std::to_string(counter++) +
                               "_" + std::to_string(random() % 100000);
    auto admin = pg::Connection::Open(base_uri);
    if (!admin.ok()) {
      *error = admin.error().ToString();
      return nullptr;
    }
    if (auto s = (*admin)->Exec("CREATE SCHEMA " + schema, "creating the test schema"); !s.ok()) {
      *error = s.error().ToString();
      return nullptr;
    }
    const std::string uri = base_uri + (base_uri.find('?') == std::string::npos ? "?" : "&") +
                            "options=-csearch_path%3D" + schema;
    auto raw = pg::Connection::Open(uri);
    if (!raw.ok()) {
      *error = raw.error().ToString();
      return nullptr;
    }
    return std::unique_ptr<PgTestDatabase>(
        new PgTestDatabase(std::move(admin).value(), std::move(raw).value(), uri, schema));
  }
  ~PgTestDatabase() override {
    raw_.reset();
    (void)admin_->Exec("DROP SCHEMA " + schema_ + " CASCADE", "dropping the test schema");
  }
  Result<std::unique_ptr<Storage>> Open(bool create) override {
    return OpenPgStorage(uri_, create);
  }
  Result<std::unique_ptr<AccountStore>> OpenAccounts() override { return OpenPgAccountStore(uri_); }
  int64_t Int(const std::string& sql) override {
    auto rows = raw_->Query(sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << (rows.ok() ? "" : rows.error().ToString());
    EXPECT_TRUE(rows.ok() && rows->Count() > 0) << sql << ": no row";
    return rows.ok() && rows->Count() > 0 ? rows->Int(0, 0) : -1;
  }
  std::string Text(const std::string& sql) override {
    auto rows = raw_->Query(sql);
    EXPECT_TRUE(rows.ok()) << sql << ": " << (rows.ok() ? "" : rows.error().ToString());
    EXPECT_TRUE(rows.ok() && rows->Count() > 0) << sql << ": no row";
    return rows.ok() && rows->Count() > 0 ? rows->Text(0, 0) : "";
  }
  bool Exec(const std::string& sql) override { return raw_->Exec(sql, sql).ok(); }
  bool LockWrites() override {
    return Exec("BEGIN") && Exec("LOCK TABLE devices IN EXCLUSIVE MODE");
  }
  bool Commit() override { return Exec("COMMIT"); }
  std::string Location() const override { return uri_; }
  const std::string& schema() const { return schema_; }

 private:
  PgTestDatabase(std::unique_ptr<pg::Connection> admin, std::unique_ptr<pg::Connection> raw,
                 std::string uri, std::string schema)
      : admin_(std::move(admin)),
        raw_(std::move(raw)),
        uri_(std::move(uri)),
        schema_(std::move(schema)) {}
  std::unique_ptr<pg::Connection> admin_;
  std::unique_ptr<pg::Connection> raw_;
  std::string uri_;
  std::string schema_;
};

// The test database of `backend`, or nullptr after GTEST_SKIP (PostgreSQL not installed) or a
// test failure (any other reason). Call it from SetUp.
inline std::unique_ptr<TestDatabase> MakeTestDatabase(Backend backend, const std::string& dir) {
  if (backend == Backend::kSqlite) {
    return std::make_unique<SqliteTestDatabase>(dir + "/soc.db");
  }
  std::string skip;
  std::string error;
  const std::string uri = PgTestUri(&skip, &error);
  if (!skip.empty()) {
    [&] { GTEST_SKIP() << skip; }();  // GTEST_SKIP returns from a void function only
    return nullptr;
  }
  if (uri.empty()) {
    ADD_FAILURE() << error;
    return nullptr;
  }
  auto db = PgTestDatabase::Make(uri, &error);
  if (db == nullptr) {
    ADD_FAILURE() << "PostgreSQL test database: " << error;
  }
  return db;
}

}  // namespace cg::soc::storage_testing

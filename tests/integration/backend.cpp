// The SOC's backend in the integration tests: which one, scratch PostgreSQL databases, and
// SQL on the SOC's database for either.
#include "tests/integration/backend.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "soc/pg/pg.h"
#include "tests/unit/testing/pg_test_uri.h"

namespace cg::testing {

bool OnPostgres() {
  const char* backend = std::getenv("CG_IT_BACKEND");
  return backend != nullptr && std::string(backend) == "postgres";
}

namespace {

// In a PostgreSQL copy: every test is skipped when the server binaries are not installed, and
// the program fails when the cluster is missing for another reason (googletest 1.12 still runs
// the tests after a failed global set-up; their SocServers fail too).
class BackendEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!OnPostgres()) {
      return;
    }
    std::string skip;
    std::string error;
    if (soc::storage_testing::PgTestUri(&skip, &error).empty()) {
      if (!skip.empty()) {
        // A skip in the global set-up runs no test but reports them passed, without the
        // "[  SKIPPED ]" line CTest's SKIP_REGULAR_EXPRESSION (gtest_discover_tests) looks
        // for: it is printed here, so CTest shows the copy as skipped, not passed.
        std::printf("[  SKIPPED ] %s\n", skip.c_str());
        std::fflush(stdout);
        GTEST_SKIP() << skip;
      }
      FAIL() << error;
    }
  }
};

[[maybe_unused]] ::testing::Environment* const kBackendEnvironment =
    ::testing::AddGlobalTestEnvironment(new BackendEnvironment);

}  // namespace

Result<std::unique_ptr<ScratchPgDatabase>> ScratchPgDatabase::Make(const std::string& prefix) {
  std::string skip;
  std::string error;
  const std::string base = soc::storage_testing::PgTestUri(&skip, &error);
  if (base.empty()) {
    return Error(ErrorCode::kUnavailable, skip.empty() ? error : skip);
  }
  auto admin = soc::pg::Connection::Open(base);
  if (!admin.ok()) {
    return admin.error();
  }
  static std::atomic<int> counter{0};
  const std::string name = prefix + std::to_string(getpid()) + "_" + std::to_string(counter++);
  if (auto s = (*admin)->Exec("CREATE DATABASE " + name, "creating the database"); !s.ok()) {
    return s.error();
  }
  // postgresql://user@host:port/db -> the same server, this database.
  return std::unique_ptr<ScratchPgDatabase>(
      new ScratchPgDatabase(base, name, base.substr(0, base.rfind('/') + 1) + name));
}

ScratchPgDatabase::~ScratchPgDatabase() {
  auto admin = soc::pg::Connection::Open(admin_uri_);
  if (admin.ok()) {
    (void)(*admin)->Exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)", "dropping");
  }
}

namespace {

// $1, $2 ... as SQLite's ?1, ?2 ... (SQLite reads "$1" as a parameter named "$1", numbered in
// the order of appearance).
std::string SqliteParameters(const std::string& sql) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    const bool param = sql[i] == '$' && i + 1 < sql.size() &&
                       std::isdigit(static_cast<unsigned char>(sql[i + 1])) != 0;
    out += param ? '?' : sql[i];
  }
  return out;
}

Result<SqlRows> SqliteSql(const std::string& path, const std::string& sql,
                          const std::vector<std::string>& params) {
  sqlite3* raw = nullptr;
  const int opened = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db(raw, sqlite3_close_v2);
  if (opened != SQLITE_OK) {
    return Error(ErrorCode::kIo, "cannot open " + path + ": " + sqlite3_errstr(opened));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  sqlite3_stmt* s = nullptr;
  const std::string text = SqliteParameters(sql);
  if (sqlite3_prepare_v2(db.get(), text.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    return Error(ErrorCode::kInvalidArgument, sql + ": " + sqlite3_errmsg(db.get()));
  }
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(s, sqlite3_finalize);
  for (size_t i = 0; i < params.size(); ++i) {
    sqlite3_bind_text(s, static_cast<int>(i + 1), params[i].data(),
                      static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
  }
  SqlRows rows;
  int step = SQLITE_ROW;
  while ((step = sqlite3_step(s)) == SQLITE_ROW) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < sqlite3_column_count(s); ++c) {
      const auto* v = sqlite3_column_text(s, c);
      row.emplace_back(v == nullptr ? "" : reinterpret_cast<const char*>(v));
    }
  }
  if (step != SQLITE_DONE) {
    return Error(ErrorCode::kIo, sql + ": " + sqlite3_errmsg(db.get()));
  }
  return rows;
}

Result<SqlRows> PgSql(const std::string& uri, const std::string& sql,
                      const std::vector<std::string>& params) {
  auto db = soc::pg::Connection::Open(uri);
  if (!db.ok()) {
    return db.error();
  }
  std::vector<soc::pg::Param> values;
  for (const auto& p : params) {
    values.push_back(soc::pg::Param{p, 0});  // typed by the server from the column
  }
  auto result = (*db)->QueryParams(sql, values);
  if (!result.ok()) {
    return result.error();
  }
  SqlRows rows;
  for (int r = 0; r < result->Count(); ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < result->Columns(); ++c) {
      row.push_back(result->IsNull(r, c) ? "" : result->Text(r, c));
    }
  }
  return rows;
}

}  // namespace

Result<SqlRows> SocSql(const std::string& data_dir, const std::string& sql,
                       const std::vector<std::string>& params) {
  const std::string uri_file = data_dir + "/database.uri";
  if (std::filesystem::exists(uri_file)) {
    std::ifstream in(uri_file);
    std::string uri((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!uri.empty() && (uri.back() == '\n' || uri.back() == ' ')) {
      uri.pop_back();
    }
    return PgSql(uri, sql, params);
  }
  return SqliteSql(data_dir + "/soc.db", sql, params);
}

}  // namespace cg::testing

// The SQLite that scripts/build-mingw-deps.sh cross-builds: a database file under a path with
// Vietnamese letters (SQLite's Windows VFS converts its UTF-8 file names to UTF-16), written,
// closed and read back.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <windows.h>

#include <filesystem>
#include <memory>
#include <string>

namespace {

namespace fs = std::filesystem;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Db Open(const std::string& utf8_path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(utf8_path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Db db(raw);
  EXPECT_EQ(rc, SQLITE_OK) << (raw != nullptr ? sqlite3_errmsg(raw) : "no handle");
  return db;
}

TEST(SqliteSmokeTest, VietnamesePathRoundTrip) {
  const fs::path dir =
      fs::temp_directory_path() /
      (L"cg-sqlite-" + std::to_wstring(GetCurrentProcessId()) + L"-B\u1eafc H\u00e0");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::u8string u8 = (dir / L"Nguy\u1ec5n V\u0103n \u00c1nh.db").u8string();
  const std::string path(u8.begin(), u8.end());
  {
    Db db = Open(path);
    ASSERT_TRUE(db);
    ASSERT_EQ(sqlite3_exec(db.get(),
                           "CREATE TABLE scans(path TEXT PRIMARY KEY, verdict TEXT);"
                           "INSERT INTO scans VALUES('C:\\Users\\Ánh\\hồ sơ.docx', 'clean');",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db.get());
  }
  // The file exists under its UTF-16 name, and a new connection reads the row back.
  EXPECT_TRUE(fs::exists(dir / L"Nguy\u1ec5n V\u0103n \u00c1nh.db"));
  Db db = Open(path);
  ASSERT_TRUE(db);
  sqlite3_stmt* raw = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db.get(), "SELECT path, verdict FROM scans", -1, &raw, nullptr),
            SQLITE_OK);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  ASSERT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)),
               "C:\\Users\\Ánh\\hồ sơ.docx");
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1)), "clean");
  EXPECT_EQ(sqlite3_step(stmt.get()), SQLITE_DONE);
  stmt.reset();
  db.reset();
  fs::remove_all(dir);
}

}  // namespace

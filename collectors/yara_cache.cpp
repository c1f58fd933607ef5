// The incremental scan cache in SQLite: open with integrity check and recovery, load the
// clean entries of one rule set, write a scan's outcomes in one transaction.
#include "collectors/yara_cache.h"

#include <sqlite3.h>
#include <stdio.h>

#include <cerrno>
#include <filesystem>

namespace cg::collectors {
namespace {

// "CGyc": marks the file as a CounterGuard YARA cache (PRAGMA application_id).
constexpr int kApplicationId = 0x43477963;
constexpr int kSchemaVersion = 1;
// Stale rows (other rules, files gone) tolerated before Commit rewrites the table.
constexpr uint64_t kStaleRowsFloor = 1024;

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// The one place sqlite3 errors become Error.
Error DbError(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kDatabase,
                   std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return MakeError(ErrorCode::kDatabase, std::string(sql) + ": " + msg);
  }
  return OkStatus();
}

Result<StmtPtr> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return DbError(db, sql);
  }
  return StmtPtr(raw);
}

Result<int64_t> QueryInt(sqlite3* db, const char* sql) {
  CG_ASSIGN_OR_RETURN(auto stmt, Prepare(db, sql));
  const int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) {
    return DbError(db, sql);
  }
  return static_cast<int64_t>(sqlite3_column_int64(stmt.get(), 0));
}

// SQLite integers are signed 64-bit: device and inode numbers are stored bit for bit.
int64_t ToDb(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t FromDb(int64_t v) { return static_cast<uint64_t>(v); }

using DbPtr = std::unique_ptr<sqlite3, YaraCache::DbCloser>;

// Opens `path` and proves it is a healthy cache of this schema (or an empty file it may
// initialise).
Result<DbPtr> OpenHealthy(const std::string& path) {
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return DbError(raw, "open " + path);
  }
  sqlite3_busy_timeout(db.get(), 5000);
  // A file that is not SQLite fails here ("file is not a database").
  CG_ASSIGN_OR_RETURN(auto check, Prepare(db.get(), "PRAGMA quick_check"));
  if (sqlite3_step(check.get()) != SQLITE_ROW) {
    return DbError(db.get(), "integrity check");
  }
  const auto* verdict = sqlite3_column_text(check.get(), 0);
  const std::string v = verdict != nullptr ? reinterpret_cast<const char*>(verdict) : "";
  if (v != "ok") {
    return MakeError(ErrorCode::kDatabase, "integrity check: " + v);
  }
  check.reset();
  CG_ASSIGN_OR_RETURN(const int64_t app_id, QueryInt(db.get(), "PRAGMA application_id"));
  CG_ASSIGN_OR_RETURN(const int64_t version, QueryInt(db.get(), "PRAGMA user_version"));
  CG_ASSIGN_OR_RETURN(const int64_t tables,
                      QueryInt(db.get(), "SELECT count(*) FROM sqlite_master"));
  if (app_id == 0 && version == 0 && tables == 0) {
    CG_RETURN_IF_ERROR(Exec(db.get(),
                            "BEGIN;"
                            "CREATE TABLE files("
                            "  dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
                            "  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
                            "  ctime_ns INTEGER NOT NULL, rules_hash TEXT NOT NULL,"
                            "  clean INTEGER NOT NULL,"
                            "  PRIMARY KEY(dev, ino)) WITHOUT ROWID;"
                            "PRAGMA application_id = 1128757603;"
                            "PRAGMA user_version = 1;"
                            "COMMIT;"));
  } else if (app_id != kApplicationId || version != kSchemaVersion) {
    return MakeError(ErrorCode::kDatabase,
                     "not a CounterGuard scan cache of schema " + std::to_string(kSchemaVersion));
  }
  CG_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA synchronous = NORMAL"));
  return db;
}

}  // namespace

static_assert(kApplicationId == 1128757603, "the schema SQL spells the application id");

void YaraCache::DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

size_t YaraCache::KeyHash::operator()(const Key& k) const {
  return std::hash<uint64_t>()(k.dev * 0x9e3779b97f4a7c15ULL ^ k.ino);
}

Result<std::unique_ptr<YaraCache>> YaraCache::Open(const std::string& path) {
  auto db = OpenHealthy(path);
  std::string note;
  if (!db.ok()) {
    // Whatever is there cannot be trusted to say a file is clean: keep it for inspection and
    // start over (every file is read once more).
    note = db.error().message;
    const std::string aside = path + ".corrupt";
    if (std::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("cannot move damaged scan cache " + path + " aside");
    }
    for (const char* suffix : {"-journal", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(path + suffix, ec);
    }
    db = OpenHealthy(path);
    if (!db.ok()) {
      return db.error().Wrap("scan cache " + path);
    }
    note = "scan cache was damaged (" + note + "); moved to " + aside + " and rebuilt";
  }
  std::unique_ptr<YaraCache> cache(new YaraCache(std::move(db).value()));
  cache->recovery_note_ = std::move(note);
  CG_RETURN_IF_ERROR(cache->CountRows());
  return cache;
}

Status YaraCache::CountRows() {
  CG_ASSIGN_OR_RETURN(const int64_t n, QueryInt(db_.get(), "SELECT count(*) FROM files"));
  rows_ = static_cast<uint64_t>(n);
  return OkStatus();
}

Status YaraCache::Begin(const std::string& rules_hash) {
  rules_hash_ = rules_hash;
  known_clean_.clear();
  {
    std::lock_guard lock(mu_);
    recorded_.clear();
  }
  CG_RETURN_IF_ERROR(CountRows());
  known_clean_.reserve(static_cast<size_t>(rows_));
  CG_ASSIGN_OR_RETURN(auto stmt, Prepare(db_.get(),
                                         "SELECT dev, ino, size, mtime_ns, ctime_ns FROM files "
                                         "WHERE rules_hash = ?1 AND clean = 1"));
  sqlite3_bind_text(stmt.get(), 1, rules_hash.c_str(), -1, SQLITE_TRANSIENT);
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const Key key{FromDb(sqlite3_column_int64(stmt.get(), 0)),
                  FromDb(sqlite3_column_int64(stmt.get(), 1))};
    known_clean_[key] =
        Entry{FromDb(sqlite3_column_int64(stmt.get(), 2)), sqlite3_column_int64(stmt.get(), 3),
              sqlite3_column_int64(stmt.get(), 4), false};
  }
  if (rc != SQLITE_DONE) {
    known_clean_.clear();
    return DbError(db_.get(), "reading the scan cache");
  }
  return OkStatus();
}

bool YaraCache::IsKnownClean(const platform::FileStamp& stamp) {
  auto it = known_clean_.find(Key{stamp.dev, stamp.ino});
  if (it == known_clean_.end()) {
    return false;
  }
  Entry& e = it->second;
  if (e.size != stamp.size || e.mtime_ns != stamp.mtime_ns || e.ctime_ns != stamp.ctime_ns) {
    return false;
  }
  e.seen = true;
  return true;
}

void YaraCache::Record(const platform::FileStamp& stamp, bool clean) {
  std::lock_guard lock(mu_);
  recorded_.push_back(Outcome{stamp, clean});
}

Status YaraCache::Commit() {
  std::vector<Outcome> recorded;
  {
    std::lock_guard lock(mu_);
    recorded.swap(recorded_);
  }
  uint64_t hits = 0;
  for (const auto& [key, entry] : known_clean_) {
    hits += entry.seen ? 1 : 0;
  }
  const uint64_t live = hits + recorded.size();
  const uint64_t stale = rows_ > hits ? rows_ - hits : 0;
  const bool rewrite = stale > std::max<uint64_t>(kStaleRowsFloor, live / 4);

  CG_RETURN_IF_ERROR(Exec(db_.get(), "BEGIN IMMEDIATE"));
  auto fail = [&](Error e) {
    (void)Exec(db_.get(), "ROLLBACK");
    return e;
  };
  if (rewrite) {
    if (auto st = Exec(db_.get(), "DELETE FROM files"); !st.ok()) {
      return fail(st.error());
    }
  }
  auto insert = Prepare(db_.get(),
                        "INSERT OR REPLACE INTO files"
                        "(dev, ino, size, mtime_ns, ctime_ns, rules_hash, clean) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) {
    return fail(insert.error());
  }
  sqlite3_stmt* stmt = insert->get();
  auto put = [&](uint64_t dev, uint64_t ino, uint64_t size, int64_t mtime, int64_t ctime,
                 bool clean) -> Status {
    sqlite3_reset(stmt);
    sqlite3_bind_int64(stmt, 1, ToDb(dev));
    sqlite3_bind_int64(stmt, 2, ToDb(ino));
    sqlite3_bind_int64(stmt, 3, ToDb(size));
    sqlite3_bind_int64(stmt, 4, mtime);
    sqlite3_bind_int64(stmt, 5, ctime);
    sqlite3_bind_text(stmt, 6, rules_hash_.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 7, clean ? 1 : 0);
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      return DbError(db_.get(), "writing the scan cache");
    }
    return OkStatus();
  };
  if (rewrite) {
    for (const auto& [key, e] : known_clean_) {
      if (e.seen) {
        if (auto st = put(key.dev, key.ino, e.size, e.mtime_ns, e.ctime_ns, true); !st.ok()) {
          return fail(st.error());
        }
      }
    }
  }
  for (const auto& o : recorded) {
    const auto& s = o.stamp;
    if (auto st = put(s.dev, s.ino, s.size, s.mtime_ns, s.ctime_ns, o.clean); !st.ok()) {
      return fail(st.error());
    }
  }
  insert->reset();
  if (auto st = Exec(db_.get(), "COMMIT"); !st.ok()) {
    return fail(st.error());
  }
  known_clean_.clear();
  return CountRows();
}

}  // namespace cg::collectors

// The incremental scan cache: (device, inode, size, mtime ns, ctime ns) -> (rules hash, clean
// or matched), persisted in SQLite under the agent's state directory. A file whose stamp is
// unchanged since a clean scan with the same rules is not read again; new rules make every
// entry useless, so everything is rescanned. The cache survives restarts, and a file that is
// not a healthy cache is moved aside and rebuilt.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "platform/scan_io.h"

struct sqlite3;

namespace cg::collectors {

// Why ctime is part of the key: mtime can be set back by anyone who can write the file
// (`touch -d`), ctime cannot. A rename or a new hard link also updates ctime on Linux file
// systems, so a renamed file is read once more; its match, if any, is reported at its new path.
class YaraCache {
 public:
  struct DbCloser {
    void operator()(sqlite3* db) const;
  };

  // Opens (creating) the cache at `path`. A file that is not SQLite, fails the integrity check
  // or holds another schema is renamed to `<path>.corrupt` and a new cache is created:
  // recovered() then says so and recovery_note() why.
  static Result<std::unique_ptr<YaraCache>> Open(const std::string& path);

  // Starts a scan made with `rules_hash`: loads the entries known clean under it.
  Status Begin(const std::string& rules_hash);
  // Whether a file with exactly this stamp was clean under the current rules; a hit is
  // remembered so the entry is kept. Only the walker thread calls it, between Begin and Commit.
  bool IsKnownClean(const platform::FileStamp& stamp);
  // A file's outcome under the current rules. Any thread.
  void Record(const platform::FileStamp& stamp, bool clean);
  // Writes this scan's outcomes in one transaction. Entries of other rule sets and of files
  // not seen in this scan are dropped once they are a sizeable part of the cache (a full
  // rewrite costs about as much as a scan of small files, so it is not done every time).
  Status Commit();

  bool recovered() const { return !recovery_note_.empty(); }
  const std::string& recovery_note() const { return recovery_note_; }
  // Rows in the database as of the last Begin or Commit.
  uint64_t rows() const { return rows_; }

 private:
  struct Key {
    uint64_t dev;
    uint64_t ino;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  struct Entry {
    uint64_t size;
    int64_t mtime_ns;
    int64_t ctime_ns;
    bool seen = false;
  };
  struct Outcome {
    platform::FileStamp stamp;
    bool clean;
  };

  explicit YaraCache(std::unique_ptr<sqlite3, DbCloser> db) : db_(std::move(db)) {}
  Status CountRows();

  std::unique_ptr<sqlite3, DbCloser> db_;
  std::string recovery_note_;
  std::string rules_hash_;
  std::unordered_map<Key, Entry, KeyHash> known_clean_;
  uint64_t rows_ = 0;
  std::mutex mu_;  // guards recorded_
  std::vector<Outcome> recorded_;
};

}  // namespace cg::collectors

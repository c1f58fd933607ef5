// The SQLite backend of soc/storage.h: the single-node SOC's database (soc.db in the data dir).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "soc/storage.h"

namespace cg::soc {

// Opens the database at `path` and brings its schema up to date (each pending migration in its
// own transaction). With create=false a missing file is kNotFound; with create=true a missing
// file becomes a new database. A file that is not a CounterGuard SOC database, or whose schema
// is newer than this binary knows, is refused (kDatabase) and left untouched.
// WAL journal, synchronous=FULL (a commit is on disk when it returns), foreign keys enforced.
Result<std::unique_ptr<Storage>> OpenSqliteStorage(const std::string& path, bool create);

// The schema version this binary brings a database to (the last migration's number).
int64_t SqliteSchemaVersion();

}  // namespace cg::soc

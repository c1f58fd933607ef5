// Internal to the SQLite backend: the groups' display names (issue 16), schema migration 12 and
// the statements of SqliteStorage's group-name methods, called with its connection and lock
// held.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"
#include "soc/storage.h"

struct sqlite3;

namespace cg::soc::sqlite_groups {

// Schema migration 12: one row per named group (slug -> display name, who set it, when).
// Plain portable SQL (TEXT and INTEGER Unix seconds, no SQLite-only syntax) so that the
// PostgreSQL dialect is the same statement with BIGINT.
extern const char* const kMigration12;

Status SetDisplayName(sqlite3* db, const GroupDisplayName& name);
Result<bool> ClearDisplayName(sqlite3* db, std::string_view group);
Result<std::vector<GroupDisplayName>> ListDisplayNames(sqlite3* db);

}  // namespace cg::soc::sqlite_groups

// The groups' display names in SQLite (sqlite_group_names.h).
#include "soc/sqlite_group_names.h"

#include <sqlite3.h>

#include <memory>
#include <string>

#include "common/timeutil.h"

namespace cg::soc::sqlite_groups {

const char* const kMigration12 = R"sql(
CREATE TABLE group_names (
  group_name    TEXT PRIMARY KEY,
  display_name  TEXT NOT NULL CHECK (display_name <> ''),
  set_by        TEXT NOT NULL,
  set_at        INTEGER NOT NULL
);
)sql";

namespace {

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

Error Failure(sqlite3* db, std::string_view what) {
  return MakeError(ErrorCode::kDatabase, std::string(what) + ": " + sqlite3_errmsg(db));
}

Result<StmtPtr> Prepare(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return Failure(db, what);
  }
  return StmtPtr(raw);
}

void BindText(sqlite3_stmt* s, int index, std::string_view text) {
  sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

std::string ColumnText(sqlite3_stmt* s, int column) {
  const auto* text = sqlite3_column_text(s, column);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(sqlite3_column_bytes(s, column)));
}

}  // namespace

Status SetDisplayName(sqlite3* db, const GroupDisplayName& name) {
  constexpr std::string_view kWhat = "setting a group display name";
  CG_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                      "INSERT INTO group_names (group_name, display_name, set_by, "
                                      "set_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (group_name) "
                                      "DO UPDATE SET display_name = excluded.display_name, "
                                      "set_by = excluded.set_by, set_at = excluded.set_at",
                                      kWhat));
  BindText(s.get(), 1, name.group);
  BindText(s.get(), 2, name.display_name);
  BindText(s.get(), 3, name.set_by);
  sqlite3_bind_int64(s.get(), 4, ToUnixSeconds(name.set_at));
  if (sqlite3_step(s.get()) != SQLITE_DONE) {
    return Failure(db, kWhat);
  }
  return OkStatus();
}

Result<bool> ClearDisplayName(sqlite3* db, std::string_view group) {
  constexpr std::string_view kWhat = "clearing a group display name";
  CG_ASSIGN_OR_RETURN(auto s, Prepare(db, "DELETE FROM group_names WHERE group_name = ?1", kWhat));
  BindText(s.get(), 1, group);
  if (sqlite3_step(s.get()) != SQLITE_DONE) {
    return Failure(db, kWhat);
  }
  return sqlite3_changes(db) > 0;
}

Result<std::vector<GroupDisplayName>> ListDisplayNames(sqlite3* db) {
  constexpr std::string_view kWhat = "reading the group display names";
  CG_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                      "SELECT group_name, display_name, set_by, set_at FROM "
                                      "group_names ORDER BY group_name",
                                      kWhat));
  std::vector<GroupDisplayName> names;
  while (true) {
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) {
      break;
    }
    if (rc != SQLITE_ROW) {
      return Failure(db, kWhat);
    }
    names.push_back({ColumnText(s.get(), 0), ColumnText(s.get(), 1), ColumnText(s.get(), 2),
                     FromUnixSeconds(sqlite3_column_int64(s.get(), 3))});
  }
  return names;
}

}  // namespace cg::soc::sqlite_groups

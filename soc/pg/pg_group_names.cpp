// The groups' display names on PostgreSQL (migration 12; the SQLite side is
// soc/sqlite_group_names.cpp).
#include "soc/pg/pg_storage_internal.h"

namespace cg::soc::pg {

Status PgStorage::SetGroupDisplayName(const GroupDisplayName& name) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows,
                      conn->Query("INSERT INTO group_names (group_name, display_name, set_by, "
                                  "set_at) VALUES ($1, $2, $3, $4) ON CONFLICT (group_name) "
                                  "DO UPDATE SET display_name = excluded.display_name, "
                                  "set_by = excluded.set_by, set_at = excluded.set_at",
                                  name.group, name.display_name, name.set_by, name.set_at));
  (void)rows;
  return OkStatus();
}

Result<bool> PgStorage::ClearGroupDisplayName(std::string_view group) {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(
      auto rows, conn->Query("DELETE FROM group_names WHERE group_name = $1", std::string(group)));
  return rows.Affected() > 0;
}

Result<std::vector<GroupDisplayName>> PgStorage::ListGroupDisplayNames() {
  CG_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  CG_ASSIGN_OR_RETURN(auto rows, conn->Query("SELECT group_name, display_name, set_by, set_at "
                                             "FROM group_names ORDER BY group_name"));
  std::vector<GroupDisplayName> names;
  for (int i = 0; i < rows.Count(); ++i) {
    names.push_back({rows.Text(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Time(i, 3)});
  }
  return names;
}

}  // namespace cg::soc::pg

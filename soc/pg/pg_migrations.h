// The PostgreSQL dialect of the schema migrations (same version numbers as the SQLite ones) and
// their runner. Internal to the PostgreSQL backend.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace cg::soc::pg {

class Connection;

struct PgMigration {
  int64_t version;
  const char* sql;
};

// Append-only, like the SQLite list: versions 1..11 today.
const std::vector<PgMigration>& PgMigrations();
int64_t PgSchemaVersion();

// Ours (schema_migrations in the connection's current schema), or an empty schema and ours to
// create (`create`); a schema holding other tables is refused before anything is written.
// `where` names the database in messages (a redacted URI).
Status Identify(Connection& conn, const std::string& where, bool create);

// Applies each migration without a schema_migrations row of its version, each in its own
// transaction with its row, under an advisory lock so that several nodes opening a new database
// at once apply each exactly once. Refuses a database with a newer version than known.
Status Migrate(Connection& conn, const std::string& where);

}  // namespace cg::soc::pg

// The PostgreSQL backend of the SOC's storage (issue 17), for several `cg-soc` nodes on one
// database. See docs/operations.md, "PostgreSQL".
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "soc/storage.h"

namespace cg::soc {

// Opens the database at `uri` (postgresql://...). With `create`, an empty schema is made a SOC
// database; without it only a SOC database is accepted. Migrations are applied either way.
Result<std::unique_ptr<Storage>> OpenPgStorage(const std::string& uri, bool create);

// The highest schema version the PostgreSQL dialect knows (the SQLite one's, once merged).
int64_t PgStorageSchemaVersion();

}  // namespace cg::soc

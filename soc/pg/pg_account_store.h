// Staff accounts (soc/account_store.h) on PostgreSQL.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "soc/account_store.h"

namespace cg::soc {

// Opens the accounts of the SOC database at `uri` with connections of their own. The schema
// (migration 10) must be in place: open the Storage (OpenPgStorage) first.
Result<std::unique_ptr<AccountStore>> OpenPgAccountStore(const std::string& uri);

}  // namespace cg::soc

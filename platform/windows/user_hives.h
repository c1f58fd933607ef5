// The per-user registry hives a per-user check reads (screen lock): the subkeys of
// HKEY_USERS that are people's hives, by SID. Loaded hives only; hives of users who are not
// logged on must be loaded first (RegLoadAppKey on their NTUSER.DAT).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "platform/registry.h"

namespace cg::platform::windows {

// True for a SID of a user account: S-1-5-21-<domain>-<rid> (local and domain accounts) and
// S-1-12-1-... (Microsoft Entra ID accounts). Not the service accounts (S-1-5-18 SYSTEM,
// -19 LOCAL SERVICE, -20 NETWORK SERVICE), ".DEFAULT", or the "<SID>_Classes" hives.
bool IsUserHiveName(std::string_view name);

// The user SIDs among the subkeys of HKEY_USERS, sorted.
Result<std::vector<std::string>> LoadedUserHives(const Registry& registry);

}  // namespace cg::platform::windows

// The per-user registry hives a per-user check reads (screen lock): the subkeys of
// HKEY_USERS that are people's hives, by SID. Loaded hives only; hives of users who are not
// logged on must be loaded first (RegLoadAppKey on their NTUSER.DAT).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "platform/registry.h"

namespace cg::platform::windows {

// platform/registry.h's IsUserHiveName (OS-neutral: the checks' judgement uses it too).
using platform::IsUserHiveName;

// The user SIDs among the subkeys of HKEY_USERS, sorted.
Result<std::vector<std::string>> LoadedUserHives(const Registry& registry);

}  // namespace cg::platform::windows

// HKEY_USERS subkeys -> user SIDs.
#include "platform/windows/user_hives.h"

namespace cg::platform::windows {

Result<std::vector<std::string>> LoadedUserHives(const Registry& registry) {
  CG_ASSIGN_OR_RETURN(std::vector<std::string> names,
                      registry.ListSubkeys(RegistryHive::kUsers, ""));
  std::vector<std::string> out;
  for (std::string& name : names) {
    if (IsUserHiveName(name)) {
      out.push_back(std::move(name));
    }
  }
  return out;
}

}  // namespace cg::platform::windows

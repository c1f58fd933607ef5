// HKEY_USERS subkeys -> user SIDs.
#include "platform/windows/user_hives.h"

namespace cg::platform::windows {

bool IsUserHiveName(std::string_view name) {
  if (name.ends_with("_Classes")) {
    return false;
  }
  for (std::string_view prefix : {std::string_view("S-1-5-21-"), std::string_view("S-1-12-1-")}) {
    if (name.starts_with(prefix) && name.size() > prefix.size()) {
      const std::string_view rest = name.substr(prefix.size());
      return rest.find_first_not_of("0123456789-") == std::string_view::npos;
    }
  }
  return false;
}

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

// KConfig INI files as KDE reads them (kscreenlockerrc): groups, keys, and the [$i]
// (immutable) markers on a file, a group or a key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cg::collectors {

struct KConfigEntry {
  std::string value;
  bool immutable = false;
};
struct KConfigGroup {
  bool immutable = false;
  std::map<std::string, KConfigEntry> entries;
};
struct KConfigFile {
  bool immutable = false;  // "[$i]" before the first group
  // Nested groups "[A][B]" are named "A\x1dB".
  std::map<std::string, KConfigGroup> groups;
};

// KConfig INI: "[Group]" or "[Group][$i]" headers (nested groups as "[A][B]"), "Key=value",
// "Key[$i]=value", localized "Key[de]=..." (ignored here). Like KConfig, lines it cannot read
// are skipped.
KConfigFile ParseKConfig(std::string_view text);

// KConfig's booleans: true/on/yes/1 and false/off/no/0, any case; nullopt for anything else.
std::optional<bool> ParseKdeBool(std::string_view s);

}  // namespace cg::collectors

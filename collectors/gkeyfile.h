// GKeyFile syntax, as GLib reads it: dconf keyfiles (/etc/dconf/db/<db>.d/*) and GSettings
// schema overrides (*.gschema.override); and dconf's reading of its keyfiles and locks files.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::collectors {

struct KeyFileEntry {
  std::string group;
  std::string key;
  std::string value;  // raw text, trimmed
};

// "[group]" lines, "key=value" lines and '#' comments. A line that is none of these, or a key
// before any group, is kParse (with its line number).
Result<std::vector<KeyFileEntry>> ParseKeyFile(std::string_view text);

// A dconf keyfile (GKeyFile syntax, as `dconf update` reads /etc/dconf/db/<db>.d/*): full key
// path ("/org/gnome/desktop/session/idle-delay") -> the raw GVariant text of its value. Later
// entries of the same key win. A line that is neither a comment, a group nor key=value, or a
// key before any group, is kParse (dconf update refuses such a file too).
Result<std::map<std::string, std::string>> ParseDconfKeyfile(std::string_view text);

// A dconf locks file (/etc/dconf/db/<db>.d/locks/*): the keys it locks. As `dconf update`
// reads it: trailing whitespace is dropped and only lines starting with '/' count.
std::set<std::string> ParseDconfLocks(std::string_view text);

}  // namespace cg::collectors

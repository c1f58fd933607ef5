// KConfig parsing (see kconfig.h).
#include "collectors/kconfig.h"

#include <vector>

#include "collectors/screen_lock_source.h"
#include "common/text.h"

namespace cg::collectors {

using screen_lock::Join;
using screen_lock::Split;

KConfigFile ParseKConfig(std::string_view text) {
  KConfigFile file;
  std::optional<std::string> group;
  for (std::string_view raw : SplitLines(text)) {
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '[') {
      std::vector<std::string> parts;
      bool immutable = false;
      size_t pos = 0;
      bool ok = true;
      while (pos < line.size()) {
        if (line[pos] != '[') {
          ok = false;
          break;
        }
        const size_t close = line.find(']', pos);
        if (close == std::string_view::npos) {
          ok = false;
          break;
        }
        const std::string_view part = line.substr(pos + 1, close - pos - 1);
        if (!part.empty() && part.front() == '$') {
          immutable = immutable || part.find('i') != std::string_view::npos;
        } else {
          parts.emplace_back(part);
        }
        pos = close + 1;
      }
      if (!ok) {
        continue;
      }
      if (parts.empty()) {
        if (!group && immutable) {
          file.immutable = true;
        }
        continue;
      }
      group = Join(parts, "\x1d");
      file.groups[*group].immutable = file.groups[*group].immutable || immutable;
      continue;
    }
    const size_t eq = line.find('=');
    if (!group || eq == std::string_view::npos) {
      continue;
    }
    std::string_view key = Trim(line.substr(0, eq));
    bool immutable = false;
    bool localized = false;
    if (const size_t br = key.find('['); br != std::string_view::npos) {
      for (const auto& opt : Split(key.substr(br), "[]")) {
        if (!opt.empty() && opt.front() == '$') {
          immutable = immutable || opt.find('i') != std::string::npos;
        } else {
          localized = true;
        }
      }
      key = Trim(key.substr(0, br));
    }
    if (localized || key.empty()) {
      continue;
    }
    file.groups[*group].entries[std::string(key)] = {std::string(Trim(line.substr(eq + 1))),
                                                     immutable};
  }
  return file;
}

std::optional<bool> ParseKdeBool(std::string_view s) {
  const std::string l = AsciiLower(Trim(s));
  if (l == "true" || l == "on" || l == "yes" || l == "1") {
    return true;
  }
  if (l == "false" || l == "off" || l == "no" || l == "0") {
    return false;
  }
  return std::nullopt;
}

}  // namespace cg::collectors

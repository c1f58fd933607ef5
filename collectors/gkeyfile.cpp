// GKeyFile parsing (see gkeyfile.h).
#include "collectors/gkeyfile.h"

#include <cctype>
#include <optional>

#include "common/text.h"

namespace cg::collectors {

Result<std::vector<KeyFileEntry>> ParseKeyFile(std::string_view text) {
  std::vector<KeyFileEntry> entries;
  std::optional<std::string> group;
  int line_no = 0;
  for (std::string_view raw : SplitLines(text)) {
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return MakeError(ErrorCode::kParse, "line " + std::to_string(line_no) + ": bad group");
      }
      group = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || Trim(line.substr(0, eq)).empty()) {
      return MakeError(ErrorCode::kParse,
                       "line " + std::to_string(line_no) + ": neither a group nor key=value");
    }
    if (!group) {
      return MakeError(ErrorCode::kParse,
                       "line " + std::to_string(line_no) + ": key before the first group");
    }
    entries.push_back(KeyFileEntry{*group, std::string(Trim(line.substr(0, eq))),
                                   std::string(Trim(line.substr(eq + 1)))});
  }
  return entries;
}

Result<std::map<std::string, std::string>> ParseDconfKeyfile(std::string_view text) {
  CG_ASSIGN_OR_RETURN(auto entries, ParseKeyFile(text));
  std::map<std::string, std::string> out;
  for (auto& e : entries) {
    std::string dir = e.group == "/" ? "/" : "/" + e.group + "/";
    out[dir + e.key] = std::move(e.value);
  }
  return out;
}

std::set<std::string> ParseDconfLocks(std::string_view text) {
  std::set<std::string> locks;
  for (std::string_view line : SplitLines(text)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) {
      line.remove_suffix(1);
    }
    if (!line.empty() && line.front() == '/') {
      locks.emplace(line);
    }
  }
  return locks;
}

}  // namespace cg::collectors

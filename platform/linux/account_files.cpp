// Parsers for passwd(5), shadow(5), login.defs(5) and shells(5) (see account_files.h).
#include "platform/linux/account_files.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/text.h"

namespace cg::platform::linux_ {
namespace {

// Calls fn(line_number, line) for every line that is neither blank nor a '#' comment.
template <typename Fn>
void ForEachContentLine(std::string_view text, Fn&& fn) {
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string_view trimmed = Trim(line);
    if (trimmed.empty() || trimmed.front() == '#') {
      continue;
    }
    fn(line_no, line);
  }
}

std::vector<std::string_view> SplitFields(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    const size_t next = line.find(sep, pos);
    if (next == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, next - pos));
    pos = next + 1;
  }
}

template <typename T>
bool ParseInteger(std::string_view s, T& out) {
  if (s.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A shadow day/number field: empty or -1 -> nullopt; a non-negative integer -> value.
bool ParseShadowNumber(std::string_view s, std::optional<int64_t>& out) {
  out.reset();
  if (s.empty() || s == "-1") {
    return true;
  }
  if (s.front() == '-' || s.front() == '+') {
    return false;
  }
  int64_t v = 0;
  // Bounded so later day arithmetic (last change + maximum) cannot overflow.
  if (!ParseInteger(s, v) || v > (int64_t{1} << 40)) {
    return false;
  }
  out = v;
  return true;
}

// A name as quoted in an issue: a corrupt file may hold arbitrarily long "names", and issues
// travel in size-limited reports.
std::string Quote(std::string_view name) {
  constexpr size_t kMaxQuoted = 64;
  return "'" + std::string(name.substr(0, kMaxQuoted)) + (name.size() > kMaxQuoted ? "...'" : "'");
}

AccountIssue Issue(std::string_view source, size_t line_no, std::string message) {
  return AccountIssue{std::string(source) + ":" + std::to_string(line_no), std::move(message)};
}

bool IsNisLine(std::string_view line) {
  return !line.empty() && (line.front() == '+' || line.front() == '-');
}

AccountIssue NisIssue(std::string_view source, size_t line_no) {
  return Issue(source, line_no,
               "NIS compat entry ('+'/'-' line) refers to accounts outside this file; they are "
               "not evaluated");
}

bool IsCryptAlphabet(char c) {
  return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
         (c >= 'a' && c <= 'z');
}

}  // namespace

PasswordState ClassifyPasswordHash(std::string_view hash) {
  if (hash.empty()) {
    return PasswordState::kEmpty;
  }
  if (hash.front() == '!' || hash.front() == '*') {
    return PasswordState::kLocked;
  }
  if (hash.front() == '$') {
    return PasswordState::kUsable;
  }
  if (hash.size() == 13 && std::all_of(hash.begin(), hash.end(), IsCryptAlphabet)) {
    return PasswordState::kUsable;  // traditional DES crypt
  }
  return PasswordState::kLocked;
}

PasswdFile ParsePasswd(std::string_view text, std::string_view source) {
  PasswdFile out;
  std::map<std::string, size_t, std::less<>> seen;  // name -> line of the entry in use
  ForEachContentLine(text, [&](size_t line_no, std::string_view line) {
    if (IsNisLine(line)) {
      out.issues.push_back(NisIssue(source, line_no));
      return;
    }
    const auto f = SplitFields(line, ':');
    if (f.size() != 7) {
      out.issues.push_back(Issue(
          source, line_no, "expected 7 colon-separated fields, found " + std::to_string(f.size())));
      return;
    }
    if (f[0].empty()) {
      out.issues.push_back(Issue(source, line_no, "empty user name"));
      return;
    }
    PasswdEntry e;
    e.name = std::string(f[0]);
    if (!ParseInteger(f[2], e.uid) || !ParseInteger(f[3], e.gid)) {
      out.issues.push_back(
          Issue(source, line_no, "entry " + Quote(e.name) + ": uid or gid is not a number"));
      return;
    }
    if (const auto it = seen.find(e.name); it != seen.end()) {
      out.issues.push_back(Issue(source, line_no,
                                 "duplicate entry for " + Quote(e.name) + "; the one on line " +
                                     std::to_string(it->second) + " is used"));
      return;
    }
    seen.emplace(e.name, line_no);
    e.home = std::string(f[5]);
    e.shell = std::string(f[6]);
    out.entries.push_back(std::move(e));
  });
  return out;
}

ShadowFile ParseShadow(std::string_view text, std::string_view source) {
  static constexpr const char* kFieldNames[] = {"",
                                                "",
                                                "last change",
                                                "minimum age",
                                                "maximum age",
                                                "warning period",
                                                "inactivity period",
                                                "account expiry"};
  ShadowFile out;
  std::map<std::string, size_t, std::less<>> seen;
  ForEachContentLine(text, [&](size_t line_no, std::string_view line) {
    if (IsNisLine(line)) {
      out.issues.push_back(NisIssue(source, line_no));
      return;
    }
    const auto f = SplitFields(line, ':');
    if (f.size() != 9) {
      // The name is safe to quote, other fields may hold a hash; a line without any colon
      // might be all hash, so it is not quoted at all.
      const std::string who = f.size() < 2 || f[0].empty() ? "" : "entry " + Quote(f[0]) + ": ";
      out.issues.push_back(
          Issue(source, line_no,
                who + "expected 9 colon-separated fields, found " + std::to_string(f.size())));
      return;
    }
    if (f[0].empty()) {
      out.issues.push_back(Issue(source, line_no, "empty user name"));
      return;
    }
    ShadowEntry e;
    e.name = std::string(f[0]);
    e.password = ClassifyPasswordHash(f[1]);
    std::optional<int64_t>* numbers[] = {&e.last_change_day, &e.min_days,      &e.max_days,
                                         &e.warn_days,       &e.inactive_days, &e.expire_day};
    for (size_t i = 0; i < 6; ++i) {
      if (!ParseShadowNumber(f[i + 2], *numbers[i])) {
        out.issues.push_back(Issue(source, line_no,
                                   "entry " + Quote(e.name) + ": field " + std::to_string(i + 3) +
                                       " (" + kFieldNames[i + 2] + ") is not a number: '" +
                                       std::string(f[i + 2].substr(0, 32)) + "'"));
        return;
      }
    }
    if (const auto it = seen.find(e.name); it != seen.end()) {
      out.issues.push_back(Issue(source, line_no,
                                 "duplicate entry for " + Quote(e.name) + "; the one on line " +
                                     std::to_string(it->second) + " is used"));
      return;
    }
    seen.emplace(e.name, line_no);
    out.entries.push_back(std::move(e));
  });
  return out;
}

LoginDefs ParseLoginDefs(std::string_view text, std::string_view source) {
  LoginDefs out;
  ForEachContentLine(text, [&](size_t line_no, std::string_view line) {
    line = Trim(line);
    const size_t split = line.find_first_of(" \t");
    const std::string_view key = line.substr(0, split);
    std::string_view value =
        split == std::string_view::npos ? std::string_view() : Trim(line.substr(split));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    std::optional<int64_t>* pass_field = nullptr;
    int64_t* uid_field = nullptr;
    if (key == "PASS_MAX_DAYS") {
      pass_field = &out.defaults.pass_max_days;
    } else if (key == "PASS_MIN_DAYS") {
      pass_field = &out.defaults.pass_min_days;
    } else if (key == "PASS_WARN_AGE") {
      pass_field = &out.defaults.pass_warn_age;
    } else if (key == "UID_MIN") {
      uid_field = &out.defaults.uid_min;
    } else if (key == "UID_MAX") {
      uid_field = &out.defaults.uid_max;
    } else {
      return;  // a setting no check reads
    }
    int64_t v = 0;
    if (!ParseInteger(value, v) || v > (int64_t{1} << 40) || v < -(int64_t{1} << 40) ||
        (uid_field != nullptr && v < 0)) {
      out.issues.push_back(Issue(source, line_no,
                                 std::string(key) + " value '" + std::string(value.substr(0, 32)) +
                                     "' is not a valid number"));
      return;
    }
    if (pass_field != nullptr) {
      *pass_field = v < 0 ? std::nullopt : std::optional<int64_t>(v);
    } else {
      *uid_field = v;
    }
  });
  return out;
}

std::vector<std::string> ParseShells(std::string_view text) {
  std::vector<std::string> out;
  ForEachContentLine(text, [&](size_t, std::string_view line) { out.emplace_back(Trim(line)); });
  return out;
}

bool IsLoginShell(std::string_view shell, const std::optional<std::vector<std::string>>& shells) {
  // login(1) runs /bin/sh for an empty shell field.
  const std::string_view effective = shell.empty() ? std::string_view("/bin/sh") : shell;
  const size_t slash = effective.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? effective : effective.substr(slash + 1);
  // "true" belongs with "false": both end the session at once.
  static constexpr std::string_view kNoLogin[] = {"nologin", "false", "true",
                                                  "sync",    "halt",  "shutdown"};
  if (std::find(std::begin(kNoLogin), std::end(kNoLogin), base) != std::end(kNoLogin)) {
    return false;
  }
  if (shells.has_value()) {
    return std::find(shells->begin(), shells->end(), effective) != shells->end();
  }
  return true;
}

AccountDatabase MergeAccountFiles(const PasswdFile& passwd, const ShadowFile& shadow,
                                  const LoginDefs& login_defs,
                                  const std::optional<std::vector<std::string>>& shells) {
  AccountDatabase db;
  db.defaults = login_defs.defaults;
  db.issues = passwd.issues;
  db.issues.insert(db.issues.end(), shadow.issues.begin(), shadow.issues.end());
  db.issues.insert(db.issues.end(), login_defs.issues.begin(), login_defs.issues.end());
  std::map<std::string_view, const ShadowEntry*, std::less<>> by_name;
  for (const auto& s : shadow.entries) {
    by_name.emplace(s.name, &s);
  }
  for (const auto& p : passwd.entries) {
    LocalAccount a;
    a.name = p.name;
    a.uid = p.uid;
    a.home = p.home;
    a.shell = p.shell;
    a.login_shell = IsLoginShell(p.shell, shells);
    if (const auto it = by_name.find(p.name); it != by_name.end()) {
      const ShadowEntry& s = *it->second;
      a.password = s.password;
      a.last_change_day = s.last_change_day;
      a.max_days = s.max_days;
      a.min_days = s.min_days;
      a.warn_days = s.warn_days;
      a.inactive_days = s.inactive_days;
      a.expire_day = s.expire_day;
    }
    db.accounts.push_back(std::move(a));
  }
  return db;
}

}  // namespace cg::platform::linux_

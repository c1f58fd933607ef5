// Pure parsers for the Linux account databases: /etc/passwd, /etc/shadow, /etc/login.defs and
// /etc/shells (text in, structs out), and the merge into the OS-neutral AccountDatabase.
// A line that cannot be read becomes an AccountIssue naming "file:line"; it never aborts the
// rest of the file and is never silently dropped. Messages never quote a password hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/platform.h"

namespace cg::platform::linux_ {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
};

struct ShadowEntry {
  std::string name;
  PasswordState password = PasswordState::kUnknown;
  std::optional<int64_t> last_change_day;  // 0: change forced at next login
  std::optional<int64_t> min_days;
  std::optional<int64_t> max_days;  // 99999 is kept as is: the checks judge it
  std::optional<int64_t> warn_days;
  std::optional<int64_t> inactive_days;
  std::optional<int64_t> expire_day;
};

struct PasswdFile {
  std::vector<PasswdEntry> entries;
  std::vector<AccountIssue> issues;
};

struct ShadowFile {
  std::vector<ShadowEntry> entries;
  std::vector<AccountIssue> issues;
};

struct LoginDefs {
  AccountDefaults defaults;
  std::vector<AccountIssue> issues;
};

// "" -> kEmpty; "!...", "*..." (locked, "!!" never set, "!$6$..." locked hash) -> kLocked;
// a crypt(5) hash ("$id$..." or 13-character DES) -> kUsable; anything else ("x", "LK", "NP")
// matches no password, so it is kLocked too.
PasswordState ClassifyPasswordHash(std::string_view hash);

// 7 fields name:pw:uid:gid:gecos:home:shell. NIS "+"/"-" lines, wrong field counts,
// non-numeric ids and duplicate names (the first entry wins, as in the C library) are issues.
PasswdFile ParsePasswd(std::string_view text, std::string_view source = "/etc/passwd");

// 9 fields name:hash:lastchg:min:max:warn:inactive:expire:reserved. Empty numeric fields are
// nullopt, and so is "-1" (what shadow tools use for "unset"); anything else non-numeric
// makes the line an issue.
ShadowFile ParseShadow(std::string_view text, std::string_view source = "/etc/shadow");

// "KEY value" lines (whitespace separated, '#' comments, the value may be double-quoted, the
// last occurrence wins as in shadow's getdef). Reads PASS_MAX_DAYS, PASS_MIN_DAYS,
// PASS_WARN_AGE, UID_MIN, UID_MAX; a negative PASS_* value means "disabled" (nullopt); a
// value that is not an integer is an issue.
LoginDefs ParseLoginDefs(std::string_view text, std::string_view source = "/etc/login.defs");

// Absolute paths listed in /etc/shells (comments and blank lines skipped).
std::vector<std::string> ParseShells(std::string_view text);

// A shell one can log in with: listed in /etc/shells when that file exists (nullopt: it does
// not), and not nologin/false/sync/halt/shutdown. An empty shell field means /bin/sh.
bool IsLoginShell(std::string_view shell, const std::optional<std::vector<std::string>>& shells);

// passwd order; an account without a shadow entry gets PasswordState::kUnknown. Issues of
// every file are carried over.
AccountDatabase MergeAccountFiles(const PasswdFile& passwd, const ShadowFile& shadow,
                                  const LoginDefs& login_defs,
                                  const std::optional<std::vector<std::string>>& shells);

}  // namespace cg::platform::linux_

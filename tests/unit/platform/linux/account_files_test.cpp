// Pure parsers for /etc/shadow, /etc/passwd, /etc/login.defs and /etc/shells: one table row
// per syntax the field sees (locked hashes, empty and 99999 maxima, forced change, NIS lines,
// comments, corrupt lines).
#include "platform/linux/account_files.h"

#include <gtest/gtest.h>

namespace cg::platform::linux_ {
namespace {

using std::nullopt;

struct ShadowCase {
  const char* name;
  const char* text;
  size_t entries;
  size_t issues;
  // Expectations on the first entry, when there is one.
  PasswordState password;
  std::optional<int64_t> last_change;
  std::optional<int64_t> max_days;
  std::optional<int64_t> expire_day;
  const char* issue_source;     // first issue's "file:line", or nullptr
  const char* issue_substring;  // part of its message, or nullptr
};

TEST(ParseShadow, Table) {
  const std::vector<ShadowCase> cases = {
      {"usable sha512", "alice:$6$s$h:20700:0:90:7:::\n", 1, 0, PasswordState::kUsable, 20700, 90,
       nullopt, nullptr, nullptr},
      {"yescrypt", "alice:$y$j9T$s$h:20700:0:90:7:::\n", 1, 0, PasswordState::kUsable, 20700, 90,
       nullopt, nullptr, nullptr},
      {"traditional DES", "old:abJnggxhB/yWI:20700:0:90:7:::\n", 1, 0, PasswordState::kUsable,
       20700, 90, nullopt, nullptr, nullptr},
      {"locked with !", "bob:!:20700:0:90:7:::\n", 1, 0, PasswordState::kLocked, 20700, 90, nullopt,
       nullptr, nullptr},
      {"never set !!", "bob:!!:20700::::::\n", 1, 0, PasswordState::kLocked, 20700, nullopt,
       nullopt, nullptr, nullptr},
      {"star", "daemon:*:19000:0:99999:7:::\n", 1, 0, PasswordState::kLocked, 19000, 99999, nullopt,
       nullptr, nullptr},
      {"locked hash !$6$", "carol:!$6$s$h:20700:0:90:7:::\n", 1, 0, PasswordState::kLocked, 20700,
       90, nullopt, nullptr, nullptr},
      {"no crypt format", "x1:x:20700:0:90:7:::\n", 1, 0, PasswordState::kLocked, 20700, 90,
       nullopt, nullptr, nullptr},
      {"empty hash", "guest::20700:0:90:7:::\n", 1, 0, PasswordState::kEmpty, 20700, 90, nullopt,
       nullptr, nullptr},
      {"empty maximum", "dave:$6$s$h:20700:0::7:::\n", 1, 0, PasswordState::kUsable, 20700, nullopt,
       nullopt, nullptr, nullptr},
      {"99999 kept", "erin:$6$s$h:20700:0:99999:7:::\n", 1, 0, PasswordState::kUsable, 20700, 99999,
       nullopt, nullptr, nullptr},
      {"-1 means unset", "erin:$6$s$h:20700:0:-1:7:::\n", 1, 0, PasswordState::kUsable, 20700,
       nullopt, nullopt, nullptr, nullptr},
      {"forced change", "frank:$6$s$h:0:0:90:7:::\n", 1, 0, PasswordState::kUsable, 0, 90, nullopt,
       nullptr, nullptr},
      {"empty last change", "gina:$6$s$h::0:90:7:::\n", 1, 0, PasswordState::kUsable, nullopt, 90,
       nullopt, nullptr, nullptr},
      {"account expiry", "hal:$6$s$h:20700:0:90:7::20800:\n", 1, 0, PasswordState::kUsable, 20700,
       90, 20800, nullptr, nullptr},
      {"comments and blanks", "# generated\n\n   \nalice:$6$s$h:20700:0:90:7:::\n", 1, 0,
       PasswordState::kUsable, 20700, 90, nullopt, nullptr, nullptr},
      {"no final newline", "alice:$6$s$h:20700:0:90:7:::", 1, 0, PasswordState::kUsable, 20700, 90,
       nullopt, nullptr, nullptr},
      {"NIS plus line", "alice:$6$s$h:20700:0:90:7:::\n+::::::::\n", 1, 1, PasswordState::kUsable,
       20700, 90, nullopt, "/etc/shadow:2", "NIS"},
      {"NIS minus line", "-bob::::::::\nalice:$6$s$h:20700:0:90:7:::\n", 1, 1,
       PasswordState::kUsable, 20700, 90, nullopt, "/etc/shadow:1", "NIS"},
      {"too few fields", "alice:$6$s$h:20700:0:90\nbob:!:20700:0:90:7:::\n", 1, 1,
       PasswordState::kLocked, 20700, 90, nullopt, "/etc/shadow:1", "expected 9"},
      {"too many fields", "bob:!:20700:0:90:7::::extra\n", 0, 1, PasswordState::kUnknown, nullopt,
       nullopt, nullopt, "/etc/shadow:1", "found 10"},
      {"non-numeric max", "# x\nalice:$6$s$h:20700:0:ninety:7:::\nbob:!:1:0:90:7:::\n", 1, 1,
       PasswordState::kLocked, 1, 90, nullopt, "/etc/shadow:2", "maximum age"},
      {"negative last change", "alice:$6$s$h:-5:0:90:7:::\n", 0, 1, PasswordState::kUnknown,
       nullopt, nullopt, nullopt, "/etc/shadow:1", "last change"},
      {"empty name", ":$6$s$h:20700:0:90:7:::\n", 0, 1, PasswordState::kUnknown, nullopt, nullopt,
       nullopt, "/etc/shadow:1", "empty user name"},
      {"duplicate name", "alice:!:1:0:90:7:::\nalice:$6$s$h:2:0:90:7:::\n", 1, 1,
       PasswordState::kLocked, 1, 90, nullopt, "/etc/shadow:2", "duplicate"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ShadowFile f = ParseShadow(c.text);
    ASSERT_EQ(f.entries.size(), c.entries);
    ASSERT_EQ(f.issues.size(), c.issues);
    if (!f.entries.empty()) {
      const ShadowEntry& e = f.entries.front();
      EXPECT_EQ(e.password, c.password);
      EXPECT_EQ(e.last_change_day, c.last_change);
      EXPECT_EQ(e.max_days, c.max_days);
      EXPECT_EQ(e.expire_day, c.expire_day);
    }
    if (c.issue_source != nullptr) {
      EXPECT_EQ(f.issues.front().source, c.issue_source);
      EXPECT_NE(f.issues.front().message.find(c.issue_substring), std::string::npos)
          << f.issues.front().message;
    }
  }
}

TEST(ParseShadow, IssuesNeverQuoteTheHash) {
  const ShadowFile f = ParseShadow("alice:$6$secretsalt$secrethash:20700:0:90\n");
  ASSERT_EQ(f.issues.size(), 1u);
  EXPECT_EQ(f.issues[0].message.find("secret"), std::string::npos) << f.issues[0].message;
  EXPECT_NE(f.issues[0].message.find("alice"), std::string::npos);
}

TEST(ParseShadow, AllNumericFieldsAreRead) {
  const ShadowFile f = ParseShadow("alice:$6$s$h:20700:1:90:7:30:21000:\n");
  ASSERT_EQ(f.entries.size(), 1u);
  const ShadowEntry& e = f.entries[0];
  EXPECT_EQ(e.name, "alice");
  EXPECT_EQ(e.min_days, 1);
  EXPECT_EQ(e.warn_days, 7);
  EXPECT_EQ(e.inactive_days, 30);
  EXPECT_EQ(e.expire_day, 21000);
}

struct LoginDefsCase {
  const char* name;
  const char* text;
  std::optional<int64_t> pass_max;
  std::optional<int64_t> pass_min;
  std::optional<int64_t> warn_age;
  int64_t uid_min;
  int64_t uid_max;
  size_t issues;
};

TEST(ParseLoginDefs, Table) {
  const std::vector<LoginDefsCase> cases = {
      {"empty file", "", nullopt, nullopt, nullopt, 1000, 60000, 0},
      {"debian defaults",
       "# comment\nMAIL_DIR /var/mail\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\n"
       "PASS_WARN_AGE\t7\nUID_MIN 1000\nUID_MAX 60000\n",
       99999, 0, 7, 1000, 60000, 0},
      {"hardened", "PASS_MAX_DAYS 90\nPASS_MIN_DAYS 1\nPASS_WARN_AGE 14\nUID_MIN 500\n", 90, 1, 14,
       500, 60000, 0},
      {"indented and commented out", "  PASS_MAX_DAYS   60  \n#PASS_MAX_DAYS 99999\n", 60, nullopt,
       nullopt, 1000, 60000, 0},
      {"last occurrence wins", "PASS_MAX_DAYS 99999\nPASS_MAX_DAYS 90\n", 90, nullopt, nullopt,
       1000, 60000, 0},
      {"quoted value", "PASS_MAX_DAYS \"45\"\n", 45, nullopt, nullopt, 1000, 60000, 0},
      {"negative disables", "PASS_MAX_DAYS -1\n", nullopt, nullopt, nullopt, 1000, 60000, 0},
      {"key without value", "PASS_MAX_DAYS\n", nullopt, nullopt, nullopt, 1000, 60000, 1},
      {"trailing comment is not a number", "PASS_MAX_DAYS 90 # days\n", nullopt, nullopt, nullopt,
       1000, 60000, 1},
      {"garbage uid", "UID_MIN abc\nPASS_MAX_DAYS 30\n", 30, nullopt, nullopt, 1000, 60000, 1},
      {"CRLF line ends", "PASS_MAX_DAYS 80\r\nUID_MIN 2000\r\n", 80, nullopt, nullopt, 2000, 60000,
       0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const LoginDefs d = ParseLoginDefs(c.text);
    EXPECT_EQ(d.defaults.pass_max_days, c.pass_max);
    EXPECT_EQ(d.defaults.pass_min_days, c.pass_min);
    EXPECT_EQ(d.defaults.pass_warn_age, c.warn_age);
    EXPECT_EQ(d.defaults.uid_min, c.uid_min);
    EXPECT_EQ(d.defaults.uid_max, c.uid_max);
    EXPECT_EQ(d.issues.size(), c.issues);
  }
}

TEST(ParseLoginDefs, IssueNamesTheLine) {
  const LoginDefs d = ParseLoginDefs("# x\n\nPASS_MAX_DAYS ninety\n", "/etc/login.defs");
  ASSERT_EQ(d.issues.size(), 1u);
  EXPECT_EQ(d.issues[0].source, "/etc/login.defs:3");
  EXPECT_NE(d.issues[0].message.find("PASS_MAX_DAYS"), std::string::npos);
}

struct PasswdCase {
  const char* name;
  const char* text;
  size_t entries;
  size_t issues;
};

TEST(ParsePasswd, Table) {
  const std::vector<PasswdCase> cases = {
      {"two users", "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:A:/home/alice:/bin/bash\n",
       2, 0},
      {"empty shell field", "bob:x:1001:1001::/home/bob:\n", 1, 0},
      {"NIS include", "+@staff::::::\nalice:x:1000:1000::/home/alice:/bin/bash\n", 1, 1},
      {"six fields", "alice:x:1000:1000::/home/alice\n", 0, 1},
      {"non-numeric uid", "alice:x:abc:1000::/home/alice:/bin/bash\n", 0, 1},
      {"negative uid", "alice:x:-1:1000::/home/alice:/bin/bash\n", 0, 1},
      {"duplicate", "a:x:1000:1000::/h:/bin/sh\na:x:1001:1001::/h:/bin/sh\n", 1, 1},
      {"comment", "# local users\nalice:x:1000:1000::/home/alice:/bin/bash\n", 1, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const PasswdFile f = ParsePasswd(c.text);
    EXPECT_EQ(f.entries.size(), c.entries);
    EXPECT_EQ(f.issues.size(), c.issues);
  }
  const PasswdFile f = ParsePasswd("alice:x:1000:1001:Alice:/home/alice:/bin/zsh\n");
  ASSERT_EQ(f.entries.size(), 1u);
  EXPECT_EQ(f.entries[0].uid, 1000u);
  EXPECT_EQ(f.entries[0].gid, 1001u);
  EXPECT_EQ(f.entries[0].home, "/home/alice");
  EXPECT_EQ(f.entries[0].shell, "/bin/zsh");
}

struct ShellCase {
  const char* shell;
  bool with_shells_file;
  bool login;
};

TEST(IsLoginShell, Table) {
  const std::vector<std::string> shells = ParseShells("# /etc/shells\n/bin/sh\n/bin/bash\n");
  ASSERT_EQ(shells.size(), 2u);
  const std::vector<ShellCase> cases = {
      {"/bin/bash", true, true},           {"/usr/bin/zsh", true, false},  // not listed
      {"/usr/bin/zsh", false, true},  // no /etc/shells: only the no-login list applies
      {"/usr/sbin/nologin", false, false}, {"/sbin/nologin", true, false},
      {"/bin/false", false, false},        {"/bin/true", false, false},
      {"/bin/sync", false, false},         {"/sbin/halt", false, false},
      {"/sbin/shutdown", false, false},    {"", true, true},  // empty field: /bin/sh
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.shell);
    const auto list = c.with_shells_file ? std::optional(shells) : std::nullopt;
    EXPECT_EQ(IsLoginShell(c.shell, list), c.login);
  }
}

TEST(MergeAccountFiles, AccountWithoutShadowEntryIsUnknown) {
  const auto passwd = ParsePasswd(
      "alice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/usr/sbin/nologin\n");
  const auto shadow = ParseShadow("alice:$6$s$h:20700:0:90:7:::\nghost:!:1::::::\n");
  const auto defs = ParseLoginDefs("PASS_MAX_DAYS 90\nUID_MIN 1000\nPASS_MAX_DAYS x\n");
  const AccountDatabase db = MergeAccountFiles(passwd, shadow, defs, std::nullopt);
  ASSERT_EQ(db.accounts.size(), 2u);  // passwd decides which accounts exist
  EXPECT_EQ(db.accounts[0].name, "alice");
  EXPECT_EQ(db.accounts[0].password, PasswordState::kUsable);
  EXPECT_EQ(db.accounts[0].max_days, 90);
  EXPECT_TRUE(db.accounts[0].login_shell);
  EXPECT_EQ(db.accounts[1].name, "bob");
  EXPECT_EQ(db.accounts[1].password, PasswordState::kUnknown);
  EXPECT_FALSE(db.accounts[1].login_shell);
  EXPECT_EQ(db.defaults.pass_max_days, 90);
  ASSERT_EQ(db.issues.size(), 1u);  // the login.defs line carries over
  EXPECT_EQ(db.issues[0].source, "/etc/login.defs:3");
}

}  // namespace
}  // namespace cg::platform::linux_

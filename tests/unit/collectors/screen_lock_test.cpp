// screen_lock over fixture trees (tests/fixtures/screen_lock/<case>): judged through the fake
// platform (the tree loaded in memory, the fixtures' accounts scripted), once through the real
// Linux platform to show both read a tree alike; and enforcement on throw-away copies of the
// trees through the real platform, with a scripted command runner, and once with the real
// `dconf update` whose output is read back with the GVDB reader.
#include "collectors/screen_lock.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "collectors/gkeyfile.h"
#include "collectors/gvdb.h"
#include "platform/fake/fake_platform.h"
#include "policy/policy.h"
#include "tests/unit/testing/fake_tree.h"

namespace cg::collectors {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

const std::string kFixtures = std::string(CG_FIXTURES) + "/screen_lock/";

policy::CheckPolicy Section(const json& params) {
  policy::CheckPolicy section = policy::DefaultPolicy().Check("screen_lock");
  // Fixed values, so a change of the shipped defaults cannot change what these tests mean.
  section.params["max_idle_seconds"] = 300;
  section.params["max_lock_delay_seconds"] = 5;
  section.params["allow_user_override"] = false;
  for (auto it = params.begin(); it != params.end(); ++it) {
    section.params[it.key()] = it.value();
  }
  return section;
}

platform::Platform NativePlatform(const std::string& root) {
  auto p = platform::CreateNativePlatform(root);
  if (!p.ok()) {
    ADD_FAILURE() << "CreateNativePlatform(" << root << "): " << p.error().ToString();
    std::abort();
  }
  return std::move(p).value();
}

// The accounts of every fixture tree (their etc/passwd, etc/shells and etc/login.defs are
// the same): root and the system accounts are not desktop users, nor is svc (nologin).
platform::AccountDatabase FixtureAccounts() {
  platform::AccountDatabase db;
  auto add = [&](std::string name, uint32_t uid, std::string home, std::string shell) {
    platform::LocalAccount a;
    a.name = std::move(name);
    a.uid = uid;
    a.home = std::move(home);
    a.login_shell = shell == "/bin/bash";
    a.shell = std::move(shell);
    db.accounts.push_back(std::move(a));
  };
  add("root", 0, "/root", "/bin/bash");
  add("daemon", 1, "/usr/sbin", "/usr/sbin/nologin");
  add("alice", 1000, "/home/alice", "/bin/bash");
  add("bob", 1001, "/home/bob", "/bin/bash");
  add("svc", 1002, "/home/svc", "/usr/sbin/nologin");
  db.defaults.uid_min = 1000;
  db.defaults.uid_max = 60000;
  return db;
}

CheckResult EvaluateTree(const std::string& root, const json& params) {
  auto fake = platform::fake::MakeFakePlatform();
  testing::LoadFakeTree(fake.fs(), root);
  fake.accounts().Set(FixtureAccounts());
  const auto section = Section(params);
  return ScreenLockCheck().Evaluate(CheckContext{fake.platform(), section});
}

const json* FindUser(const CheckResult& r, const std::string& user, const std::string& desktop) {
  for (const auto& u : r.facts.at("users")) {
    if (u.at("user") == user && u.at("desktop") == desktop) {
      return &u;
    }
  }
  return nullptr;
}

struct Case {
  const char* fixture;
  json params;
  CheckStatus status;
  std::vector<std::string> summary_has;
  std::vector<std::string> summary_lacks;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.fixture << " " << c.params.dump(); }

class ScreenLockFixtureTest : public ::testing::TestWithParam<Case> {};

TEST_P(ScreenLockFixtureTest, Evaluates) {
  const Case& c = GetParam();
  const CheckResult r = EvaluateTree(kFixtures + c.fixture, c.params);
  EXPECT_EQ(r.id, "screen_lock");
  EXPECT_EQ(protocol::ToString(r.status), protocol::ToString(c.status)) << r.summary << "\n"
                                                                        << r.facts.dump(2);
  for (const auto& s : c.summary_has) {
    EXPECT_NE(r.summary.find(s), std::string::npos) << "'" << s << "' not in: " << r.summary;
  }
  for (const auto& s : c.summary_lacks) {
    EXPECT_EQ(r.summary.find(s), std::string::npos) << "'" << s << "' in: " << r.summary;
  }
  if (c.status != CheckStatus::kNotApplicable) {
    const json want_idle =
        c.params.contains("max_idle_seconds") ? c.params.at("max_idle_seconds") : json(300);
    EXPECT_EQ(r.expected.at("max_idle_seconds"), want_idle);
    EXPECT_TRUE(r.facts.contains("users")) << r.facts.dump(2);
  }
}

const Case kCases[] = {
    {"gnome_locked", json::object(), CheckStatus::kPass, {"gnome", "2 user(s)"}, {}},
    {"gnome_locked",
     {{"max_idle_seconds", 120}},
     CheckStatus::kFail,
     {"alice (gnome): idle timeout 300 s exceeds 120 s", "(new user) (gnome)"},
     {"(not locked)"}},
    {"gnome_user_override",
     json::object(),
     CheckStatus::kFail,
     {"alice (gnome): idle timeout 1800 s exceeds 300 s", "(not locked)", "bob (gnome)"},
     {}},
    {"gnome_user_override",
     {{"allow_user_override", true}},
     CheckStatus::kFail,
     {"alice (gnome): idle timeout 1800 s exceeds 300 s"},
     {"bob (gnome)", "(not locked)"}},
    {"gnome_user_db_corrupt",
     {{"allow_user_override", true}},
     CheckStatus::kError,
     {"alice (gnome)", "/home/alice/.config/dconf/user"},
     {"bob"}},
    {"gnome_user_db_corrupt", json::object(), CheckStatus::kFail, {"(not locked)"}, {}},
    {"headless", json::object(), CheckStatus::kNotApplicable, {"headless"}, {}},
    {"kde_immutable", json::object(), CheckStatus::kPass, {"kde"}, {}},
    {"kde_user_timeout",
     json::object(),
     CheckStatus::kFail,
     {"alice (kde): idle timeout 1800 s exceeds 300 s", "user can change Autolock, Timeout"},
     {}},
    {"kde_user_timeout",
     {{"allow_user_override", true}},
     CheckStatus::kFail,
     {"alice (kde): idle timeout 1800 s exceeds 300 s"},
     {"bob (kde)", "(not locked)"}},
    {"kde_no_lock_on_resume",
     json::object(),
     CheckStatus::kFail,
     {"LockOnResume"},
     {"exceeds", "(not locked)"}},
    {"xfce_locked", json::object(), CheckStatus::kPass, {"xfce"}, {}},
    {"xfce_user_delay",
     {{"allow_user_override", true}},
     CheckStatus::kFail,
     {"bob (xfce): idle timeout 1200 s exceeds 300 s"},
     {"alice"}},
    {"xfce_no_locker", json::object(), CheckStatus::kFail, {"without a screen locker"}, {}},
    {"gnome_defaults",
     json::object(),
     CheckStatus::kFail,
     {"user can change idle-delay, idle-activation-enabled, lock-enabled, lock-delay, "
      "disable-lock-screen"},
     {"exceeds"}},
    {"gnome_defaults", {{"allow_user_override", true}}, CheckStatus::kPass, {}, {}},
    {"gnome_stale_db",
     json::object(),
     CheckStatus::kFail,
     {"idle timeout 1800 s exceeds 300 s", "'local' is stale"},
     {}},
    {"gnome_wrong_type", json::object(), CheckStatus::kPass, {}, {}},
    {"gnome_system_db_corrupt",
     json::object(),
     CheckStatus::kError,
     {"system-db:local", "/etc/dconf/db/local"},
     {}},
    {"unsupported_desktop", json::object(), CheckStatus::kError, {"cinnamon.desktop"}, {}},
};

INSTANTIATE_TEST_SUITE_P(Fixtures, ScreenLockFixtureTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(param_info.param.fixture) + "_" +
                                  std::to_string(param_info.index);
                         });

TEST(ScreenLockTest, FactsShowEffectiveValuesSourcesAndLocks) {
  const CheckResult r = EvaluateTree(kFixtures + "gnome_locked", json::object());
  ASSERT_EQ(r.status, CheckStatus::kPass) << r.summary;
  const json* alice = FindUser(r, "alice", "gnome");
  ASSERT_NE(alice, nullptr) << r.facts.dump(2);
  const json& idle = alice->at("settings").at("idle-delay");
  EXPECT_EQ(idle.at("value"), 300);  // alice's own 900 is hidden by the lock
  EXPECT_EQ(idle.at("locked"), true);
  EXPECT_NE(idle.at("source").get<std::string>().find("system-db:local"), std::string::npos);
  EXPECT_EQ(alice->at("settings").at("lock-enabled").at("value"), true);  // hers says false
  EXPECT_EQ(r.facts.at("desktops"), json::array({"gnome"}));
  EXPECT_EQ(r.facts.at("display_managers"), json::array({"gdm3"}));
  const json& db = r.facts.at("gnome").at("system_dbs").at(0);
  EXPECT_EQ(db.at("state"), "compiled");
  EXPECT_EQ(db.at("locked_keys").size(), 5u);
  // svc has no login shell, root is below UID_MIN: neither is a desktop user.
  EXPECT_EQ(FindUser(r, "svc", "gnome"), nullptr);
  EXPECT_EQ(FindUser(r, "root", "gnome"), nullptr);
  EXPECT_NE(FindUser(r, "(new user)", "gnome"), nullptr);
  EXPECT_EQ(r.observed.at("alice").at("gnome").at("idle_seconds"), 300);
  EXPECT_EQ(r.observed.at("alice").at("gnome").at("user_can_change"), json::array());
}

TEST(ScreenLockTest, UserValueWinsWhereNothingIsLocked) {
  const CheckResult r = EvaluateTree(kFixtures + "gnome_user_override", json::object());
  const json* alice = FindUser(r, "alice", "gnome");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->at("settings").at("idle-delay").at("value"), 1800);
  EXPECT_EQ(alice->at("settings").at("idle-delay").at("source"), "user");
  EXPECT_EQ(alice->at("settings").at("lock-delay").at("source"), "system-db:local");
  const json* bob = FindUser(r, "bob", "gnome");  // no database of his own
  ASSERT_NE(bob, nullptr);
  EXPECT_EQ(bob->at("settings").at("idle-delay").at("value"), 300);
}

TEST(ScreenLockTest, WrongTypedSystemValueFallsBackToTheSchemaDefault) {
  const CheckResult r = EvaluateTree(kFixtures + "gnome_wrong_type", json::object());
  const json* alice = FindUser(r, "alice", "gnome");
  ASSERT_NE(alice, nullptr);
  const json& idle = alice->at("settings").at("idle-delay");
  EXPECT_EQ(idle.at("value"), 300);
  EXPECT_NE(idle.at("note").get<std::string>().find("ignored: type i"), std::string::npos);
  EXPECT_NE(idle.at("source").get<std::string>().find("default"), std::string::npos);
}

TEST(ScreenLockTest, XfceLockedChannelHidesTheUsersOwnValue) {
  const CheckResult r = EvaluateTree(kFixtures + "xfce_locked", json::object());
  const json* alice = FindUser(r, "alice", "xfce");
  ASSERT_NE(alice, nullptr);
  const json& delay = alice->at("settings").at("/saver/idle-activation/delay");
  EXPECT_EQ(delay.at("value"), 5);
  EXPECT_EQ(delay.at("source"), "system");
  EXPECT_EQ(delay.at("locked"), true);
}

// The real Linux platform reads a fixture tree (files, accounts from its /etc) as the fake
// does: the judgement tests above stand for the production path.
TEST(ScreenLockTest, TheLinuxPlatformReadsTheTreesAsTheFakeDoes) {
  for (const char* fixture : {"gnome_locked", "kde_user_timeout", "xfce_user_delay", "headless"}) {
    auto native = NativePlatform(kFixtures + fixture);
    const auto section = Section(json::object());
    const CheckResult real = ScreenLockCheck().Evaluate(CheckContext{native, section});
    const CheckResult fake = EvaluateTree(kFixtures + fixture, json::object());
    EXPECT_EQ(protocol::ToJson(real), protocol::ToJson(fake)) << fixture;
  }
}

// --- enforcement ------------------------------------------------------------------------

// A throw-away copy of a fixture tree, removed at the end of the test.
class TempTree {
 public:
  explicit TempTree(const std::string& fixture) {
    std::string tmpl = (fs::temp_directory_path() / "cg_screen_lock_XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      std::abort();
    }
    root_ = tmpl;
    fs::copy(kFixtures + fixture, root_, fs::copy_options::recursive);
  }
  ~TempTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }
  std::string Read(const std::string& path) const {
    std::ifstream in(root_ + path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  bool Exists(const std::string& path) const { return fs::exists(root_ + path); }
  // Every file's path and content: to prove a dry run changed nothing.
  std::map<std::string, std::string> Snapshot() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) {
        const std::string p = e.path().string().substr(root_.size());
        out[p] = Read(p);
      }
    }
    return out;
  }

 private:
  std::string root_;
};

struct Enforcer {
  explicit Enforcer(const std::string& root, json params = json::object())
      : platform(NativePlatform(root)), section(Section(params)) {}
  // Replaces the real command runner with a scripted one (owned by the platform).
  platform::fake::FakeCommandRunner& FakeCommands() {
    auto fake = std::make_unique<platform::fake::FakeCommandRunner>();
    auto* raw = fake.get();
    platform.commands = std::move(fake);
    return *raw;
  }
  Result<std::vector<Change>> Remediate(bool dry_run) {
    const CheckResult failed = Evaluate();
    return ScreenLockCheck().Remediate(CheckContext{platform, section}, failed, dry_run);
  }
  CheckResult Evaluate() { return ScreenLockCheck().Evaluate(CheckContext{platform, section}); }

  platform::Platform platform;
  policy::CheckPolicy section;
};

platform::CommandResult Exited(int code) {
  platform::CommandResult r;
  r.exit_code = code;
  return r;
}

const Change* FindChange(const std::vector<Change>& changes, const std::string& target) {
  for (const auto& c : changes) {
    if (c.target == target) {
      return &c;
    }
  }
  return nullptr;
}

constexpr const char* kKeyfile = "/etc/dconf/db/local.d/50-counterguard";
constexpr const char* kLocks = "/etc/dconf/db/local.d/locks/50-counterguard";
constexpr const char* kProfile = "/etc/dconf/profile/user";

TEST(ScreenLockEnforceTest, DryRunPlansAndChangesNothing) {
  TempTree tree("gnome_defaults");
  Enforcer e(tree.root());
  auto& commands = e.FakeCommands();
  const auto before = tree.Snapshot();
  auto changes = e.Remediate(/*dry_run=*/true);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(changes->size(), 4u);  // keyfile, locks, profile, dconf update
  EXPECT_NE(FindChange(*changes, kKeyfile), nullptr);
  EXPECT_NE(FindChange(*changes, kLocks), nullptr);
  const Change* cmd = FindChange(*changes, "/etc/dconf/db");
  ASSERT_NE(cmd, nullptr);
  EXPECT_EQ(cmd->after.at("planned"), true);
  EXPECT_TRUE(commands.calls().empty());
  EXPECT_EQ(tree.Snapshot(), before);
}

TEST(ScreenLockEnforceTest, WritesKeyfileLocksProfileAndRunsDconfUpdate) {
  TempTree tree("gnome_defaults");
  Enforcer e(tree.root(), {{"max_idle_seconds", 240}});
  auto& commands = e.FakeCommands();
  const std::vector<std::string> argv = {"dconf", "update",
                                         e.platform.fs->HostPath("/etc/dconf/db")};
  commands.SetResult(argv, Exited(0));
  auto changes = e.Remediate(/*dry_run=*/false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  ASSERT_EQ(commands.calls().size(), 1u);
  EXPECT_EQ(commands.calls()[0], argv);
  EXPECT_EQ(argv[2], tree.root() + "/etc/dconf/db");

  const std::string keyfile = tree.Read(kKeyfile);
  auto parsed = ParseDconfKeyfile(keyfile);
  ASSERT_TRUE(parsed.ok()) << keyfile;
  EXPECT_EQ(parsed->at("/org/gnome/desktop/session/idle-delay"), "uint32 240");
  EXPECT_EQ(parsed->at("/org/gnome/desktop/screensaver/lock-enabled"), "true");
  EXPECT_EQ(parsed->at("/org/gnome/desktop/screensaver/lock-delay"), "uint32 0");
  EXPECT_EQ(ParseDconfLocks(tree.Read(kLocks)).size(), 5u);
  EXPECT_EQ(tree.Read(kProfile), "user-db:user\nsystem-db:local\n");

  const Change* profile = FindChange(*changes, kProfile);
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ(profile->before.at("exists"), false);
  EXPECT_EQ(profile->after.at("content"), "user-db:user\nsystem-db:local\n");
  const Change* cmd = FindChange(*changes, "/etc/dconf/db");
  ASSERT_NE(cmd, nullptr);
  EXPECT_EQ(cmd->before.at("argv"), json(argv));
  EXPECT_EQ(cmd->after.at("exit_code"), 0);

  // The scripted runner compiled nothing: the check must not trust the new keyfiles.
  const CheckResult after = e.Evaluate();
  EXPECT_EQ(after.status, CheckStatus::kFail) << after.summary;
  EXPECT_NE(after.summary.find("'local' is not_compiled"), std::string::npos) << after.summary;
  // So a second run rewrites no file but compiles again.
  auto again = e.Remediate(false);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->at(0).target, "/etc/dconf/db");
  EXPECT_EQ(commands.calls().size(), 2u);
}

TEST(ScreenLockEnforceTest, ProfileKeepsItsLinesAndGainsTheMissingOnes) {
  TempTree tree("gnome_defaults");
  fs::create_directories(tree.root() + "/etc/dconf/profile");
  std::ofstream(tree.root() + kProfile) << "# site profile\nsystem-db:site\n";
  Enforcer e(tree.root(), {{"allow_user_override", true}});
  auto& commands = e.FakeCommands();
  commands.SetHandler(
      [](const std::vector<std::string>&) { return Result<platform::CommandResult>(Exited(0)); });
  auto changes = e.Remediate(false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(tree.Read(kProfile), "user-db:user\nsystem-db:local\n# site profile\nsystem-db:site\n");
  const Change* profile = FindChange(*changes, kProfile);
  ASSERT_NE(profile, nullptr);
  EXPECT_EQ(profile->before.at("content"), "# site profile\nsystem-db:site\n");
  // allow_user_override: values only, no locks file.
  EXPECT_FALSE(tree.Exists(kLocks));
  EXPECT_EQ(FindChange(*changes, kLocks), nullptr);
}

TEST(ScreenLockEnforceTest, KdeGetsAnImmutableDaemonGroupAndPasses) {
  TempTree tree("kde_user_timeout");
  Enforcer e(tree.root());
  auto& commands = e.FakeCommands();
  ASSERT_EQ(e.Evaluate().status, CheckStatus::kFail);
  const std::string old_rc = tree.Read("/etc/xdg/kscreenlockerrc");
  auto changes = e.Remediate(false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ(changes->at(0).before.at("content"), old_rc);
  EXPECT_TRUE(commands.calls().empty());  // KDE reads its file directly
  const std::string rc = tree.Read("/etc/xdg/kscreenlockerrc");
  EXPECT_NE(rc.find("[Daemon][$i]\n"), std::string::npos) << rc;
  EXPECT_NE(rc.find("Timeout=5\n"), std::string::npos) << rc;
  const CheckResult after = e.Evaluate();
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;
  auto again = e.Remediate(false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(tree.Read("/etc/xdg/kscreenlockerrc"), rc);
}

TEST(ScreenLockEnforceTest, KdeKeepsOtherGroupsAndKeys) {
  TempTree tree("kde_immutable");
  std::ofstream(tree.root() + "/etc/xdg/kscreenlockerrc")
      << "[Greeter]\nTheme=x\n\n[Daemon]\nTimeout=30\nLock=true\n\n[Other]\nk=v\n";
  Enforcer e(tree.root());
  e.FakeCommands();
  auto changes = e.Remediate(false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(tree.Read("/etc/xdg/kscreenlockerrc"),
            "[Greeter]\nTheme=x\n\n[Other]\nk=v\n\n[Daemon][$i]\nAutolock=true\nLockGrace=0\n"
            "LockOnResume=true\nTimeout=5\nLock=true\n");
  EXPECT_EQ(e.Evaluate().status, CheckStatus::kPass);
}

TEST(ScreenLockEnforceTest, RefusesWhatItCannotEnforce) {
  TempTree xfce("xfce_user_delay");
  Enforcer x(xfce.root());
  auto r = x.Remediate(false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("GNOME and KDE"), std::string::npos);

  TempTree kde("kde_user_timeout");
  Enforcer k(kde.root(), {{"max_idle_seconds", 30}});
  const std::string before = kde.Read("/etc/xdg/kscreenlockerrc");
  r = k.Remediate(false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("whole minutes"), std::string::npos);
  EXPECT_EQ(kde.Read("/etc/xdg/kscreenlockerrc"), before);
}

bool HostHasDconf() {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
    if (::access((std::string(dir) + "/dconf").c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

TEST(ScreenLockEnforceTest, RealDconfUpdateCompilesWhatTheReaderThenReads) {
  if (!HostHasDconf()) {
    GTEST_SKIP() << "the dconf binary is not installed (Debian package dconf-cli); the "
                    "enforcement path that compiles the database cannot run here";
  }
  TempTree tree("gnome_defaults");
  Enforcer e(tree.root());  // the real PosixCommandRunner
  ASSERT_EQ(e.Evaluate().status, CheckStatus::kFail);
  auto changes = e.Remediate(false);
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  const Change* cmd = FindChange(*changes, "/etc/dconf/db");
  ASSERT_NE(cmd, nullptr);
  ASSERT_TRUE(cmd->after.contains("exit_code")) << cmd->after.dump();
  ASSERT_EQ(cmd->after.at("exit_code"), 0) << cmd->after.dump();

  auto db = GvdbTable::Open(tree.Read("/etc/dconf/db/local"));
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  auto idle = db->GetValue("/org/gnome/desktop/session/idle-delay");
  ASSERT_TRUE(idle.ok() && idle->has_value());
  EXPECT_EQ(**idle, MakeUint32(300));
  auto locks = db->GetTable(".locks");
  ASSERT_TRUE(locks.ok() && locks->has_value());
  EXPECT_TRUE((*locks)->HasValue("/org/gnome/desktop/screensaver/lock-delay"));
  EXPECT_EQ((*locks)->ValueNames().size(), 5u);

  const CheckResult after = e.Evaluate();
  EXPECT_EQ(after.status, CheckStatus::kPass) << after.summary;
  auto again = e.Remediate(false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty()) << again->size() << " changes on the second run";
  auto dry = e.Remediate(true);
  ASSERT_TRUE(dry.ok());
  EXPECT_TRUE(dry->empty());
}

}  // namespace
}  // namespace cg::collectors

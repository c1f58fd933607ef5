// The fakes other tests rely on: the in-memory tree (links, injected errors, recorded writes),
// the scripted command runner, services, sockets, host, and the wired FakePlatform.
#include "platform/fake/fake_platform.h"

#include <gtest/gtest.h>

namespace cg::platform::fake {
namespace {

using std::chrono::seconds;

TEST(FakeFileSystem, FilesDirectoriesAndLinks) {
  FakeFileSystem fs;
  fs.AddFile("/etc/os-release", "ID=debian\n");
  fs.AddSymlink("/etc/alias", "/etc/os-release");
  fs.AddSymlink("/etc/loop", "loop");
  fs.AddSymlink("/etc/escape", "../../../etc/os-release");
  EXPECT_EQ(fs.ReadFile("/etc/alias").value_or(""), "ID=debian\n");
  EXPECT_EQ(fs.ReadFile("/etc/escape").value_or(""), "ID=debian\n");
  EXPECT_FALSE(fs.ReadFile("/etc/loop").ok());
  EXPECT_EQ(fs.Stat("/etc/alias")->type, FileType::kSymlink);
  EXPECT_EQ(fs.Stat("/etc")->type, FileType::kDirectory);  // parents are implied
  auto missing = fs.ReadFile("/etc/shadow");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto big = fs.ReadFile("/etc/os-release", 3);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(fs.ReadFileRange("/etc/alias", 3, 3).value_or(""), "deb");
  EXPECT_EQ(fs.ReadFileRange("/etc/os-release", 6, 100).value_or(""), "ian\n");
  EXPECT_EQ(fs.ReadFileRange("/etc/os-release", 100, 3).value_or("?"), "");
  EXPECT_FALSE(fs.ReadFileRange("/etc", 0, 3).ok());
  auto list = fs.ListDir("/etc");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> names;
  for (const auto& e : *list) {
    names.push_back(e.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"alias", "escape", "loop", "os-release"}));
  EXPECT_EQ(fs.HostPath("/etc/x"), "/etc/x");
  EXPECT_EQ(FakeFileSystem("/srv/tree").HostPath("/etc/x"), "/srv/tree/etc/x");
}

TEST(FakeFileSystem, InjectedErrorsAndRecordedWrites) {
  FakeFileSystem fs;
  fs.AddFile("/etc/shadow", "root:*:1:0:99999:7:::\n", 0640);
  fs.SetError("/etc/shadow",
              MakeError(ErrorCode::kPermissionDenied, "read /etc/shadow: Permission denied"));
  auto denied = fs.ReadFile("/etc/shadow");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  fs.ClearError("/etc/shadow");
  EXPECT_TRUE(fs.ReadFile("/etc/shadow").ok());

  ASSERT_TRUE(fs.WriteFileAtomic("/etc/new/dir/file", "data", 0600).ok());
  EXPECT_EQ(fs.ReadFile("/etc/new/dir/file").value_or(""), "data");
  EXPECT_EQ(fs.Stat("/etc/new/dir/file")->mode, 0600u);
  ASSERT_EQ(fs.writes().size(), 1u);
  EXPECT_EQ(fs.writes()[0].path, "/etc/new/dir/file");
  EXPECT_EQ(fs.writes()[0].data, "data");
  ASSERT_TRUE(fs.RemoveFile("/etc/new/dir/file").ok());
  EXPECT_FALSE(fs.Exists("/etc/new/dir/file"));
  EXPECT_EQ(fs.removals(), (std::vector<std::string>{"/etc/new/dir/file"}));
  EXPECT_FALSE(fs.WriteFileAtomic("/etc", "x", 0644).ok());
}

TEST(FakeClock, SetDayIsNoonUtc) {
  FakeClock clock;
  clock.SetDay(20783);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(clock.Now()), 20783 * 86400 + 12 * 3600);
  clock.Advance(std::chrono::hours(24));
  EXPECT_EQ(std::chrono::system_clock::to_time_t(clock.Now()), 20784 * 86400 + 12 * 3600);
}

TEST(FakeCommandRunner, ScriptedHandledAndUnexpectedCommands) {
  FakeCommandRunner runner;
  runner.SetResult({"chage", "-M", "90", "alice"}, CommandResult{0, false, "ok\n", ""});
  runner.SetError({"chage", "-M", "90", "bob"}, MakeError(ErrorCode::kIo, "boom"));
  auto ok = runner.Run({"chage", "-M", "90", "alice"}, seconds(1), 2);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->out, "ok");  // bounded like the real runner
  EXPECT_FALSE(runner.Run({"chage", "-M", "90", "bob"}, seconds(1)).ok());
  auto unexpected = runner.Run({"rm", "-rf", "/"}, seconds(1));
  ASSERT_FALSE(unexpected.ok());
  EXPECT_NE(unexpected.error().message.find("unexpected command: rm -rf /"), std::string::npos);
  runner.SetHandler([](const std::vector<std::string>& argv) -> Result<CommandResult> {
    return CommandResult{static_cast<int>(argv.size()), false, "", ""};
  });
  EXPECT_EQ(runner.Run({"a", "b", "c"}, seconds(1))->exit_code, 3);
  EXPECT_EQ(runner.calls().size(), 4u);
  EXPECT_EQ(runner.calls()[2], (std::vector<std::string>{"rm", "-rf", "/"}));
  runner.AddProgram("chage", "/usr/bin/chage");
  EXPECT_EQ(runner.Which("chage"), "/usr/bin/chage");
  EXPECT_EQ(runner.Which("systemctl"), "");
}

TEST(FakeServicesSocketsHostProcesses, ScriptedAnswers) {
  FakeServiceManager services;
  services.SetService("clamav-daemon", ServiceState::kRunning, true);
  EXPECT_EQ(services.State("clamav-daemon.service").value_or(ServiceState::kUnknown),
            ServiceState::kRunning);
  EXPECT_TRUE(services.Enabled("clamav-daemon").value_or(false));
  EXPECT_EQ(services.State("other").value_or(ServiceState::kUnknown), ServiceState::kNotFound);
  services.SetError("broken", MakeError(ErrorCode::kTimeout, "systemctl timed out"));
  EXPECT_FALSE(services.State("broken").ok());

  FakeLocalSocket sockets;
  sockets.SetReply("/run/clamav/clamd.ctl", "PONG\n");
  EXPECT_EQ(sockets.Exchange("/run/clamav/clamd.ctl", "PING", seconds(1)).value_or(""), "PONG\n");
  auto absent = sockets.Exchange("/run/other.ctl", "PING", seconds(1));
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);
  ASSERT_EQ(sockets.requests().size(), 2u);
  EXPECT_EQ(sockets.requests()[0].request, "PING");

  FakeHost host;
  EXPECT_EQ(host.Identity()->os_id, "debian");
  host.SetError(MakeError(ErrorCode::kIo, "x"));
  EXPECT_FALSE(host.Identity().ok());

  FakeProcessTable processes;
  processes.Add(ProcessInfo{42, "clamd", "/usr/sbin/clamd", {"/usr/sbin/clamd"}});
  processes.Add(ProcessInfo{1, "systemd", "", {}});
  auto list = processes.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].pid, 1);
}

TEST(FakePlatform, AccountsAreScriptedNotParsed) {
  auto fake = MakeFakePlatform();
  Platform& p = fake.platform();
  // /etc files in the fake tree mean nothing to the fake accounts.
  fake.fs().AddFile("/etc/passwd", "alice:x:1000:1000::/home/alice:/bin/bash\n");
  auto empty = p.accounts->Read();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->accounts.empty());

  AccountDatabase db;
  LocalAccount alice;
  alice.name = "alice";
  alice.uid = 1000;
  alice.max_days = 90;
  db.accounts.push_back(alice);
  db.issues.push_back(AccountIssue{"/etc/shadow:2", "NIS compat entry"});
  fake.accounts().Set(db);
  auto read = p.accounts->Read();
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->accounts.size(), 1u);
  EXPECT_EQ(read->accounts[0].max_days, 90);
  EXPECT_EQ(read->issues[0].source, "/etc/shadow:2");
  EXPECT_EQ(p.fs.get(), &fake.fs());
  EXPECT_EQ(p.commands.get(), &fake.commands());
  EXPECT_EQ(p.accounts.get(), &fake.accounts());

  fake.accounts().SetError(MakeError(ErrorCode::kPermissionDenied, "read /etc/shadow: denied"));
  auto denied = p.accounts->Read();
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  fake.accounts().SetError(std::nullopt);
  EXPECT_TRUE(p.accounts->Read().ok());
}

TEST(FakeRegistry, CaseInsensitiveKeysSubkeysAndRecordedWrites) {
  FakeRegistry reg;
  const std::string desktop = "S-1-5-21-1-2-3-1001\\Control Panel\\Desktop";
  ASSERT_TRUE(
      reg.SetValue(RegistryHive::kUsers, desktop, "ScreenSaveTimeOut", RegistryValue::String("300"))
          .ok());
  ASSERT_TRUE(reg.SetValue(RegistryHive::kUsers, ".DEFAULT\\Control Panel\\Desktop",
                           "ScreenSaveActive", RegistryValue::String("1"))
                  .ok());
  EXPECT_EQ(reg.GetString(RegistryHive::kUsers, "s-1-5-21-1-2-3-1001\\CONTROL PANEL\\desktop",
                          "screensavetimeout")
                .value_or(""),
            "300");
  EXPECT_EQ(reg.GetValue(RegistryHive::kLocalMachine, desktop, "ScreenSaveTimeOut").error().code,
            ErrorCode::kNotFound);  // hives are separate
  EXPECT_EQ(reg.ListSubkeys(RegistryHive::kUsers, "").value_or(std::vector<std::string>{}),
            (std::vector<std::string>{".DEFAULT", "S-1-5-21-1-2-3-1001"}));
  EXPECT_EQ(reg.ListSubkeys(RegistryHive::kUsers, "S-1-5-21-1-2-3-1001")
                .value_or(std::vector<std::string>{}),
            (std::vector<std::string>{"Control Panel"}));
  EXPECT_EQ(reg.ListSubkeys(RegistryHive::kUsers, "S-1-5-18").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reg.GetNumber(RegistryHive::kUsers, desktop, "ScreenSaveTimeOut").error().code,
            ErrorCode::kInvalidArgument);  // REG_SZ, as Control Panel\Desktop stores it
  ASSERT_TRUE(reg.DeleteValue(RegistryHive::kUsers, desktop, "ScreenSaveTimeOut").ok());
  EXPECT_FALSE(reg.GetValue(RegistryHive::kUsers, desktop, "ScreenSaveTimeOut").ok());
  EXPECT_EQ(reg.writes().size(), 3u);
  EXPECT_EQ(reg.writes()[0], "set HKU\\" + desktop + " [ScreenSaveTimeOut]");
  reg.SetError(MakeError(ErrorCode::kUnavailable, "RegOpenKeyExW: 5"));
  EXPECT_EQ(reg.GetValue(RegistryHive::kUsers, desktop, "ScreenSaveActive").error().code,
            ErrorCode::kUnavailable);
}

TEST(FakePlatform, OnlyAWindowsFakeWiresTheRegistry) {
  EXPECT_EQ(FakePlatform().platform().registry, nullptr);  // Linux has no registry
  FakePlatform fake("/", FakeOs::kWindows);
  ASSERT_NE(fake.platform().registry, nullptr);
  ASSERT_TRUE(
      fake.registry()
          .SetValue(RegistryHive::kLocalMachine, "SOFTWARE\\Test", "n", RegistryValue::Dword(7))
          .ok());
  EXPECT_EQ(fake.platform()
                .registry->GetNumber(RegistryHive::kLocalMachine, "software\\test", "N")
                .value_or(0),
            7u);
}

}  // namespace
}  // namespace cg::platform::fake

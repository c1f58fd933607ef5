// Staff accounts end to end (issue 16) with the real cg-soc and cgctl on loopback: the first
// admin made on the server, its setup through cgctl (the TOTP code computed here from the key
// cgctl shows, as an authenticator app would), a wrong code refused, login, the session used
// and ended, and the account commands.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "platform/os/files.h"
#include "soc/auth/base32.h"
#include "soc/auth/totp.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using ::testing::HasSubstr;

std::string TotpAt(const std::string& base32, std::chrono::system_clock::time_point at) {
  auto secret = soc::auth::Base32Decode(base32);
  EXPECT_TRUE(secret.ok());
  auto step = soc::auth::TotpTimeStep(at, {});
  auto code = soc::auth::TotpCode(secret.value_or(soc::auth::Bytes{}), step.value_or(0), {});
  EXPECT_TRUE(code.ok());
  return code.value_or("");
}

// Runs argv with stdout and stderr in one pipe; when a line starting with `prompt_after`
// appears, answers answer(line) on its standard input. Returns the exit code and the output.
std::pair<int, std::string> RunInteractive(
    const std::vector<std::string>& argv, const std::string& prompt_after,
    const std::function<std::string(const std::string& line)>& answer) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    return {-1, "pipe failed"};
  }
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  std::string output;
  std::string line;
  bool answered = false;
  char buffer[4096];
  while (true) {
    const ssize_t n = read(out_pipe[0], buffer, sizeof buffer);
    if (n <= 0) {
      break;
    }
    for (ssize_t i = 0; i < n; ++i) {
      output.push_back(buffer[i]);
      if (buffer[i] != '\n') {
        line.push_back(buffer[i]);
        continue;
      }
      if (!answered && line.rfind(prompt_after, 0) == 0) {
        const std::string reply = answer(line) + "\n";
        (void)!write(in_pipe[1], reply.data(), reply.size());
        close(in_pipe[1]);
        answered = true;
      }
      line.clear();
    }
  }
  if (!answered) {
    close(in_pipe[1]);
  }
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

class AccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    soc_ = std::make_unique<SocServer>(dir_.path() + "/soc");
    ASSERT_TRUE(soc_->started()) << soc_->error();
    // cgctl keeps its session under XDG_CONFIG_HOME: this test's own.
    config_ = dir_.path() + "/config";
    setenv("XDG_CONFIG_HOME", config_.c_str(), 1);
  }
  void TearDown() override { unsetenv("XDG_CONFIG_HOME"); }

  // cgctl for this server without a token file (the saved session, if any).
  std::vector<std::string> Ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {CtlBin(), "--server",
                                     "https://localhost:" + std::to_string(soc_->operator_port()),
                                     "--ca", soc_->ca()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  std::string Secret(const std::string& name, const std::string& text) const {
    const std::string path = dir_.path() + "/" + name;
    EXPECT_TRUE(WriteFileAtomic(path, text + "\n", 0600).ok());
    return path;
  }

  TempDir dir_;
  std::unique_ptr<SocServer> soc_;
  std::string config_;
};

TEST_F(AccountsTest, TheFirstAdminSetsUpTotpLogsInUsesTheSessionAndLogsOut) {
  const CommandOutput created =
      RunCmd({SocBin(), "account", "create-admin", "--data-dir", soc_->data_dir(), "an.nguyen",
              "--display-name", "Nguyễn Văn An", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto j = nlohmann::json::parse(created.out);
  const std::string setup_code = j.value("setup_code", "");
  ASSERT_EQ(setup_code.size(), 19u) << created.out;  // ABCD-EFGH-JKLM-NPQR

  const std::string password = Secret("password", "Mùa thu Hà Nội 2026!");
  std::string secret;
  const auto [setup_rc, setup_out] = RunInteractive(
      Ctl({"account", "setup", "an.nguyen", "--setup-code-file", Secret("setup", setup_code),
           "--password-file", password, "--code-file", "-"}),
      "key: ", [&](const std::string& line) {
        secret = line.substr(5);
        return TotpAt(secret, std::chrono::system_clock::now());
      });
  ASSERT_EQ(setup_rc, 0) << setup_out;
  EXPECT_THAT(setup_out, HasSubstr("otpauth://totp/"));
  EXPECT_THAT(setup_out, HasSubstr("\u2580"));  // the QR code's half blocks
  EXPECT_THAT(setup_out, HasSubstr("Recovery codes"));
  ASSERT_EQ(secret.size(), 32u);
  // The setup code was one use.
  const CommandOutput again = RunCmd(
      Ctl({"account", "setup", "an.nguyen", "--setup-code-file", Secret("setup2", setup_code),
           "--password-file", password, "--code-file", Secret("c0", "123456")}));
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("setup refused"));

  // A wrong code is refused and nothing is saved.
  const auto later = std::chrono::system_clock::now() + std::chrono::minutes(10);
  const CommandOutput wrong = RunCmd(Ctl({"login", "an.nguyen", "--password-file", password,
                                          "--code-file", Secret("wrong", TotpAt(secret, later))}));
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("login refused"));
  EXPECT_FALSE(FileExists(config_ + "/counterguard/cgctl-session.json"));
  const CommandOutput before = RunCmd(Ctl({"devices"}));
  EXPECT_EQ(before.exit_code, 2);
  EXPECT_THAT(before.err, HasSubstr("not logged in"));

  // The next step's code (the setup used the current one).
  const CommandOutput login =
      RunCmd(Ctl({"login", "an.nguyen", "--password-file", password, "--code-file",
                  Secret("code", TotpAt(secret, std::chrono::system_clock::now() +
                                                    std::chrono::seconds(30)))}));
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_THAT(login.out, HasSubstr("logged in as an.nguyen"));
  struct stat st {};
  ASSERT_EQ(stat((config_ + "/counterguard/cgctl-session.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const CommandOutput devices = RunCmd(Ctl({"devices"}));
  EXPECT_EQ(devices.exit_code, 0) << devices.err;
  const CommandOutput whoami = RunCmd(Ctl({"whoami"}));
  EXPECT_THAT(whoami.out, HasSubstr("an.nguyen"));
  EXPECT_THAT(whoami.out, HasSubstr("session"));

  // The admin makes an analyst account; the list shows both, in Vietnamese.
  const CommandOutput analyst = RunCmd(Ctl(
      {"account", "create", "binh.tran", "--display-name", "Trần Thị Bình", "--role", "analyst"}));
  ASSERT_EQ(analyst.exit_code, 0) << analyst.err;
  EXPECT_EQ(analyst.LastLine().size(), 19u);
  const CommandOutput list = RunCmd(Ctl({"account", "list"}));
  EXPECT_THAT(list.out, HasSubstr("Trần Thị Bình"));
  EXPECT_THAT(list.out, HasSubstr("setup pending"));

  // A machine token owned by the analyst's account dies with the account's disabling, at once;
  // enabling does not bring it back; a reset gives a new one-time setup code.
  const CommandOutput owned = RunCmd(Ctl({"--json", "operator", "create", "--name", "siem-pull",
                                          "--role", "analyst", "--account", "binh.tran"}));
  ASSERT_EQ(owned.exit_code, 0) << owned.err;
  const std::string owned_token =
      Secret("owned.token", nlohmann::json::parse(owned.out).value("token", ""));
  auto with_owned = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = Ctl({"--token-file", owned_token});
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCmd(argv);
  };
  EXPECT_EQ(with_owned({"devices"}).exit_code, 0);
  const CommandOutput disabled = RunCmd(Ctl({"account", "disable", "binh.tran"}));
  ASSERT_EQ(disabled.exit_code, 0) << disabled.err;
  EXPECT_THAT(disabled.out, HasSubstr("tokens are revoked"));
  EXPECT_EQ(with_owned({"devices"}).exit_code, 2);
  EXPECT_THAT(RunCmd(Ctl({"--csv", "account", "list"})).out,
              HasSubstr("binh.tran,Trần Thị Bình,analyst,disabled"));
  ASSERT_EQ(RunCmd(Ctl({"account", "enable", "binh.tran"})).exit_code, 0);
  EXPECT_EQ(with_owned({"devices"}).exit_code, 2);
  const CommandOutput reset = RunCmd(Ctl({"account", "reset", "binh.tran", "--totp"}));
  ASSERT_EQ(reset.exit_code, 0) << reset.err;
  EXPECT_EQ(reset.LastLine().size(), 19u) << reset.out;

  // The audit log has the wrong code and the login, for this account, as changes.
  const CommandOutput audit =
      RunCmd(Ctl({"--json", "audit", "--changes", "--account", "an.nguyen", "--action", "login"}));
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  const auto entries = nlohmann::json::parse(audit.out)["entries"];
  ASSERT_EQ(entries.size(), 2u) << audit.out;
  EXPECT_EQ(entries[0].value("result", 0), 200);
  EXPECT_EQ(entries[1].value("result", 0), 401);
  EXPECT_EQ(entries[1].value("target", ""), "login failed: wrong TOTP code");

  const CommandOutput logout = RunCmd(Ctl({"logout"}));
  EXPECT_EQ(logout.exit_code, 0) << logout.out << logout.err;
  EXPECT_FALSE(FileExists(config_ + "/counterguard/cgctl-session.json"));
  EXPECT_EQ(RunCmd(Ctl({"devices"})).exit_code, 2);
  // The bootstrap operator token of `cg-soc init` still works for scripts.
  EXPECT_EQ(RunCmd(soc_->Ctl({"devices"})).exit_code, 0);
}

}  // namespace
}  // namespace cg::testing

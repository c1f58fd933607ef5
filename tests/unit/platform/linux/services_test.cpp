// systemd services: systemctl's KEY=value properties on the live root (scripted through the
// fake command runner), and the unit-file fallback that never claims "running".
#include "platform/linux/services.h"

#include <gtest/gtest.h>

#include "platform/fake/fake_platform.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

using fake::FakeCommandRunner;

const std::vector<std::string> kShowClamd = {
    "/usr/bin/systemctl", "show", "--property=LoadState,ActiveState,SubState,UnitFileState", "--",
    "clamav-daemon.service"};

struct SystemctlCase {
  const char* name;
  const char* output;
  ServiceState state;
  bool enabled;
};

TEST(SystemdServiceManager, SystemctlPropertiesOnTheLiveRoot) {
  const std::vector<SystemctlCase> cases = {
      {"running", "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n",
       ServiceState::kRunning, true},
      {"order does not matter",
       "UnitFileState=enabled-runtime\nSubState=running\nActiveState=reloading\nLoadState=loaded\n",
       ServiceState::kRunning, true},
      {"stopped and disabled",
       "LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n",
       ServiceState::kStopped, false},
      {"failed", "LoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=enabled\n",
       ServiceState::kFailed, true},
      {"not installed",
       "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n",
       ServiceState::kNotFound, false},
      {"starting",
       "LoadState=loaded\nActiveState=activating\nSubState=start\nUnitFileState=static\n",
       ServiceState::kUnknown, false},
  };
  auto root = RootedFileSystem::Create("/");
  ASSERT_TRUE(root.ok());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto runner = std::make_unique<FakeCommandRunner>();
    runner->AddProgram("systemctl", "/usr/bin/systemctl");
    runner->SetResult(kShowClamd, CommandResult{0, false, c.output, ""});
    const FakeCommandRunner* calls = runner.get();
    SystemdServiceManager services(**root, std::move(runner));
    auto state = services.State("clamav-daemon");  // ".service" is implied
    ASSERT_TRUE(state.ok()) << state.error().ToString();
    EXPECT_EQ(*state, c.state);
    auto enabled = services.Enabled("clamav-daemon.service");
    ASSERT_TRUE(enabled.ok());
    EXPECT_EQ(*enabled, c.enabled);
    EXPECT_EQ(calls->calls().size(), 2u);
  }
}

TEST(SystemdServiceManager, SystemctlThatCannotAnswerFallsBackToFiles) {
  auto root = RootedFileSystem::Create("/");
  ASSERT_TRUE(root.ok());
  const std::vector<std::string> show = {"/usr/bin/systemctl", "show",
                                         "--property=LoadState,ActiveState,SubState,UnitFileState",
                                         "--", "cg-no-such-unit.service"};
  auto runner = std::make_unique<FakeCommandRunner>();
  runner->AddProgram("systemctl", "/usr/bin/systemctl");
  // What systemctl says in a container without systemd as PID 1.
  runner->SetResult(show, CommandResult{1, false, "", "System has not been booted with systemd"});
  SystemdServiceManager services(**root, std::move(runner));
  EXPECT_EQ(services.State("cg-no-such-unit").value_or(ServiceState::kRunning),
            ServiceState::kNotFound);
}

class UnitFileFallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.Put("lib/systemd/system/clamav-daemon.service", "[Unit]\n");
    tree_.Link("etc/systemd/system/multi-user.target.wants/clamav-daemon.service",
               "/lib/systemd/system/clamav-daemon.service");
    tree_.Put("usr/lib/systemd/system/clamav-freshclam.service", "[Unit]\n");
    tree_.Put("usr/lib/systemd/system/ssh.service", "[Unit]\n");
    tree_.Link("etc/systemd/system/ssh.service", "/dev/null");  // masked
    tree_.Link("etc/systemd/system/multi-user.target.wants/ssh.service",
               "/usr/lib/systemd/system/ssh.service");
    auto fs = RootedFileSystem::Create(tree_.root());
    ASSERT_TRUE(fs.ok());
    auto runner = std::make_unique<FakeCommandRunner>();
    runner->AddProgram("systemctl", "/usr/bin/systemctl");
    runner_ = runner.get();
    services_ = std::make_unique<SystemdServiceManager>(**fs, std::move(runner));
  }

  testing::TempTree tree_;
  const FakeCommandRunner* runner_ = nullptr;
  std::unique_ptr<SystemdServiceManager> services_;
};

TEST_F(UnitFileFallbackTest, InstalledUnitsAreUnknownNeverRunning) {
  EXPECT_EQ(services_->State("clamav-daemon").value_or(ServiceState::kRunning),
            ServiceState::kUnknown);
  EXPECT_EQ(services_->State("clamav-freshclam").value_or(ServiceState::kRunning),
            ServiceState::kUnknown);
  EXPECT_EQ(services_->State("ssh").value_or(ServiceState::kRunning), ServiceState::kStopped);
  EXPECT_EQ(services_->State("mcafee").value_or(ServiceState::kRunning), ServiceState::kNotFound);
  EXPECT_TRUE(runner_->calls().empty());  // the host's systemd knows nothing of this tree
}

TEST_F(UnitFileFallbackTest, EnabledMeansAWantsLink) {
  EXPECT_TRUE(services_->Enabled("clamav-daemon").value_or(false));
  EXPECT_FALSE(services_->Enabled("clamav-freshclam").value_or(true));
  EXPECT_FALSE(services_->Enabled("ssh").value_or(true));  // masked wins over the link
  EXPECT_FALSE(services_->Enabled("mcafee").value_or(true));
}

TEST_F(UnitFileFallbackTest, BadUnitNamesAreRefused) {
  for (const char* bad : {"", "../../etc/passwd", "-H", "a b", "x;y"}) {
    auto s = services_->State(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cg::platform::linux_

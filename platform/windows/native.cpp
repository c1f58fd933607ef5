// Wires the Windows implementations into a Platform, the one place where the real objects are
// created (platform/linux/native.cpp is the Linux one). As there, every member owns what it
// uses (the host its registry, the accounts their clock), so a test may replace any member
// without leaving another dangling.
#include "platform/platform.h"
#include "platform/windows/accounts.h"
#include "platform/windows/clock.h"
#include "platform/windows/command_runner.h"
#include "platform/windows/file_system.h"
#include "platform/windows/host.h"
#include "platform/windows/local_socket.h"
#include "platform/windows/registry.h"
#include "platform/windows/system_state.h"

namespace cg::platform {
namespace {

class OwnHost final : public Host {
 public:
  Result<HostIdentity> Identity() const override { return host_.Identity(); }

 private:
  windows::WindowsRegistry registry_;
  windows::WindowsHost host_{registry_};
};

class OwnAccounts final : public Accounts {
 public:
  Result<AccountDatabase> Read() const override { return accounts_.Read(); }

 private:
  windows::SystemClock clock_;
  windows::WindowsAccounts accounts_{clock_};
};

}  // namespace

Result<Platform> CreateNativePlatform(const std::string& root) {
  CG_ASSIGN_OR_RETURN(auto fs, windows::WindowsFileSystem::Create(root));
  Platform p;
  p.fs = std::move(fs);
  p.clock = std::make_unique<windows::SystemClock>();
  p.commands = std::make_unique<windows::WindowsCommandRunner>();
  p.processes = std::make_unique<windows::ToolhelpProcessTable>();
  p.services = std::make_unique<windows::ScmServiceManager>();
  p.sockets = std::make_unique<windows::NoLocalSocket>();
  p.host = std::make_unique<OwnHost>();
  p.accounts = std::make_unique<OwnAccounts>();
  p.registry = std::make_unique<windows::WindowsRegistry>();
  return p;
}

}  // namespace cg::platform

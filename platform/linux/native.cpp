// Wires the Linux implementations into a Platform, the one place where the real objects are
// created. Every component owns its own copy of the rooted file system (and the service
// manager its own command runner), so a test may replace any member of the Platform (e.g.
// the clock or the command runner) without leaving another one dangling.
#include "platform/linux/accounts.h"
#include "platform/linux/clock.h"
#include "platform/linux/command_runner.h"
#include "platform/linux/host.h"
#include "platform/linux/local_socket.h"
#include "platform/linux/processes.h"
#include "platform/linux/rooted_fs.h"
#include "platform/linux/services.h"
#include "platform/platform.h"

namespace cg::platform {

Result<Platform> CreateNativePlatform(const std::string& root) {
  CG_ASSIGN_OR_RETURN(auto fs, linux_::RootedFileSystem::Create(root));
  const linux_::RootedFileSystem& rooted = *fs;
  Platform p;
  p.clock = std::make_unique<linux_::SystemClock>();
  p.commands = std::make_unique<linux_::PosixCommandRunner>(rooted);
  p.processes = std::make_unique<linux_::ProcProcessTable>(rooted);
  p.services = std::make_unique<linux_::SystemdServiceManager>(
      rooted, std::make_unique<linux_::PosixCommandRunner>(rooted));
  p.sockets = std::make_unique<linux_::UnixLocalSocket>(rooted);
  p.host = std::make_unique<linux_::LinuxHost>(rooted);
  p.accounts = std::make_unique<linux_::LinuxAccounts>(
      std::unique_ptr<const FileSystem>(std::make_unique<linux_::RootedFileSystem>(rooted)));
  p.fs = std::move(fs);
  return p;
}

}  // namespace cg::platform

// systemd units: live state from systemctl on the real machine, unit files under a fixture
// root (or when systemctl cannot answer).
#pragma once

#include <memory>

#include "platform/linux/rooted_fs.h"
#include "platform/platform.h"

namespace cg::platform::linux_ {

// On root "/" with a working systemctl, State/Enabled come from
//   systemctl show --property=LoadState,ActiveState,SubState,UnitFileState -- UNIT
// (KEY=value properties: machine-readable, never localised text). Otherwise (a fixture root,
// systemctl missing, or systemd not running as in a container) the answer comes from unit
// files under the root: Enabled = a link in /etc/systemd/system/*.wants/UNIT; State =
// kUnknown when the unit file is installed (files cannot tell whether it runs, and guessing
// kRunning would let a check pass on no evidence), kStopped when masked (linked to
// /dev/null), kNotFound when it is not installed.
class SystemdServiceManager final : public ServiceManager {
 public:
  SystemdServiceManager(RootedFileSystem fs, std::unique_ptr<CommandRunner> commands)
      : fs_(std::move(fs)), commands_(std::move(commands)) {}

  // A unit without a type suffix means ".service". Names with characters systemd does not
  // allow are kInvalidArgument.
  Result<ServiceState> State(std::string_view unit) const override;
  Result<bool> Enabled(std::string_view unit) const override;

 private:
  struct Properties {
    std::string load_state;
    std::string active_state;
    std::string sub_state;
    std::string unit_file_state;
  };
  // nullopt when systemctl is not usable here (then the unit files decide).
  std::optional<Properties> Query(const std::string& unit) const;
  bool UnitFileMasked(const std::string& unit) const;
  bool UnitFileInstalled(const std::string& unit) const;
  bool UnitFileEnabled(const std::string& unit) const;

  RootedFileSystem fs_;
  std::unique_ptr<CommandRunner> commands_;
};

}  // namespace cg::platform::linux_

// systemd service state (see services.h for why the file fallback never says "running").
#include "platform/linux/services.h"

namespace cg::platform::linux_ {
namespace {

constexpr std::chrono::seconds kSystemctlTimeout{10};

// The unit-file directories systemd reads, in its own precedence order.
constexpr std::string_view kUnitDirs[] = {"/etc/systemd/system", "/run/systemd/system",
                                          "/lib/systemd/system", "/usr/lib/systemd/system"};

Result<std::string> NormalizeUnit(std::string_view unit) {
  if (unit.empty() || unit.size() > 255 || unit.front() == '-' || unit.front() == '.') {
    return MakeError(ErrorCode::kInvalidArgument, "bad unit name '" + std::string(unit) + "'");
  }
  for (const char c : unit) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ':' || c == '-' || c == '_' || c == '.' || c == '@' || c == '\\';
    if (!ok) {
      return MakeError(ErrorCode::kInvalidArgument, "bad unit name '" + std::string(unit) + "'");
    }
  }
  std::string name(unit);
  if (name.find('.') == std::string::npos) {
    name += ".service";
  }
  return name;
}

}  // namespace

std::optional<SystemdServiceManager::Properties> SystemdServiceManager::Query(
    const std::string& unit) const {
  if (fs_.root() != "/") {
    return std::nullopt;  // the host's systemd knows nothing about a fixture tree
  }
  const std::string systemctl = commands_->Which("systemctl");
  if (systemctl.empty()) {
    return std::nullopt;
  }
  auto r = commands_->Run(
      {systemctl, "show", "--property=LoadState,ActiveState,SubState,UnitFileState", "--", unit},
      kSystemctlTimeout, 64u << 10);
  // Non-zero: systemd is not PID 1 ("System has not been booted with systemd"), no bus.
  if (!r.ok() || r->timed_out || r->exit_code != 0) {
    return std::nullopt;
  }
  Properties p;
  size_t pos = 0;
  const std::string& out = r->out;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) {
      end = out.size();
    }
    const std::string_view line(out.data() + pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = line.substr(0, eq);
    std::string value(line.substr(eq + 1));
    if (key == "LoadState") {
      p.load_state = std::move(value);
    } else if (key == "ActiveState") {
      p.active_state = std::move(value);
    } else if (key == "SubState") {
      p.sub_state = std::move(value);
    } else if (key == "UnitFileState") {
      p.unit_file_state = std::move(value);
    }
  }
  if (p.load_state.empty() || p.active_state.empty()) {
    return std::nullopt;  // not the output we asked for: let the files answer
  }
  return p;
}

bool SystemdServiceManager::UnitFileMasked(const std::string& unit) const {
  for (const auto dir : {"/etc/systemd/system", "/run/systemd/system"}) {
    auto target = fs_.ReadLink(std::string(dir) + "/" + unit);
    if (target.ok() && *target == "/dev/null") {
      return true;
    }
  }
  return false;
}

bool SystemdServiceManager::UnitFileInstalled(const std::string& unit) const {
  for (const auto dir : kUnitDirs) {
    if (fs_.Exists(std::string(dir) + "/" + unit)) {
      return true;
    }
  }
  return false;
}

bool SystemdServiceManager::UnitFileEnabled(const std::string& unit) const {
  auto entries = fs_.ListDir("/etc/systemd/system");
  if (!entries.ok()) {
    return false;
  }
  for (const auto& e : *entries) {
    const std::string_view name = e.name;
    if (name.size() > 6 && name.substr(name.size() - 6) == ".wants" &&
        fs_.Exists("/etc/systemd/system/" + e.name + "/" + unit)) {
      return true;
    }
  }
  return false;
}

Result<ServiceState> SystemdServiceManager::State(std::string_view unit) const {
  CG_ASSIGN_OR_RETURN(const std::string name, NormalizeUnit(unit));
  if (const auto p = Query(name)) {
    if (p->load_state == "not-found") {
      return ServiceState::kNotFound;
    }
    if (p->active_state == "active" || p->active_state == "reloading") {
      return ServiceState::kRunning;
    }
    if (p->active_state == "failed") {
      return ServiceState::kFailed;
    }
    if (p->active_state == "inactive" || p->active_state == "deactivating") {
      return ServiceState::kStopped;
    }
    return ServiceState::kUnknown;  // activating, maintenance, or a state newer than us
  }
  if (UnitFileMasked(name)) {
    return ServiceState::kStopped;  // a unit linked to /dev/null cannot be started
  }
  return UnitFileInstalled(name) ? ServiceState::kUnknown : ServiceState::kNotFound;
}

Result<bool> SystemdServiceManager::Enabled(std::string_view unit) const {
  CG_ASSIGN_OR_RETURN(const std::string name, NormalizeUnit(unit));
  if (const auto p = Query(name)) {
    const std::string& s = p->unit_file_state;
    return p->load_state != "not-found" &&
           (s == "enabled" || s == "enabled-runtime" || s == "alias" || s == "generated");
  }
  return !UnitFileMasked(name) && UnitFileEnabled(name);
}

}  // namespace cg::platform::linux_

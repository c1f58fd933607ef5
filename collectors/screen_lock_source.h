// screen_lock's sources: where a desktop keeps its idle and lock settings (GNOME's dconf, KDE's
// kscreenlockerrc, Xfce's xfconf; the Windows registry is one more). A source reads the machine
// through the platform and resolves, per user, the values that desktop would use; the check
// (screen_lock.cpp) judges them against the policy the same way for every source.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "platform/platform.h"
#include "policy/policy.h"

namespace cg::collectors::screen_lock {

inline constexpr std::string_view kNewUser = "(new user)";
inline constexpr std::string_view kAllUsers = "(all users)";

struct Params {
  int64_t max_idle_seconds = 300;
  int64_t max_lock_delay_seconds = 5;
  bool allow_user_override = false;
  // Windows: also judge the profiles whose user is not logged on, from their NTUSER.DAT
  // loaded for reading (else they are only listed).
  bool read_profiles_not_logged_on = false;
};

Params ReadParams(const policy::CheckPolicy& p);

// One setting as the desktop resolves it for one user.
struct Setting {
  std::string key;
  nlohmann::json value;
  std::string source;   // "user", "system", "system-db:local", "default", ...
  bool locked = false;  // the user cannot change it
  std::string note;
};

// One user on one desktop: what the source read, in the check's normalised terms.
struct Evaluation {
  Evaluation(std::string user_name, std::string desktop_name)
      : user(std::move(user_name)), desktop(std::move(desktop_name)) {}

  std::string user;
  std::string desktop;
  std::optional<std::string> error;
  std::vector<std::string> failures;
  // Normalised view: what the desktop will do.
  int64_t idle_seconds = 0;  // 0: never
  bool idle_activation = true;
  bool lock_enabled = true;
  int64_t lock_delay_seconds = 0;
  std::vector<std::string> desktop_failures;  // desktop-specific (no lock on resume, ...)
  std::vector<Setting> settings;
};

// A user whose desktop settings are read: an interactive account, or the new-user view
// (no home: only system settings and defaults apply).
struct User {
  std::string name;
  std::string home;  // empty for the new-user view
};

// Enforcement, planned before anything is written.
struct PlannedWrite {
  std::string path;
  std::optional<std::string> before;  // nullopt: the file does not exist
  std::string after;
};
// A command run after the writes (dconf update); running it again undoes it once the files
// are restored.
struct PlannedCommand {
  std::string target;
  std::vector<std::string> argv;
  std::chrono::milliseconds timeout{0};
};
// A registry value set by enforcement (Windows), with what was there before for undo.
struct PlannedRegistryWrite {
  platform::RegistryHive hive = platform::RegistryHive::kLocalMachine;
  std::string key;
  std::string name;
  std::optional<platform::RegistryValue> before;  // nullopt: the value does not exist
  platform::RegistryValue after;
  std::string why;
};
struct EnforcementPlan {
  std::vector<PlannedWrite> writes;
  std::vector<PlannedCommand> commands;
  std::vector<PlannedRegistryWrite> registry_writes;
};

class Source {
 public:
  virtual ~Source() = default;
  // "gnome": the desktop named in results and the key of this source's facts.
  virtual std::string_view name() const = 0;
  // Reads what is the same for every user (system databases, defaults) and returns this
  // source's facts; notes go into the summary (e.g. a database that is out of date).
  virtual nlohmann::json LoadSystem(std::vector<std::string>& notes) = 0;
  // The evaluations for these users (the last one is the new-user view), or one for
  // kAllUsers when the machine as a whole decides.
  virtual std::vector<Evaluation> Evaluate(const std::vector<User>& users) const = 0;

  // Enforcement, for sources that have it: whether the policy can be enforced at all (checked
  // for every source before any plans), then what would be written and run.
  virtual bool Enforces() const { return false; }
  virtual Status CheckEnforceable(const Params& /*params*/) const { return OkStatus(); }
  virtual Status PlanEnforcement(const Params& params, EnforcementPlan& plan) const;
};

// The Linux desktop sources (screen_lock_gnome.cpp, screen_lock_kde.cpp, screen_lock_xfce.cpp).
// They borrow `fs`, which must outlive them. `desktop_names`: DesktopNames of the installed
// GNOME sessions (their schema overrides apply).
std::unique_ptr<Source> MakeGnomeSource(const platform::FileSystem& fs,
                                        std::set<std::string> desktop_names);
std::unique_ptr<Source> MakeKdeSource(const platform::FileSystem& fs);
std::unique_ptr<Source> MakeXfceSource(const platform::FileSystem& fs);
// The Windows source (screen_lock_windows.cpp): the registry's per-user screen saver values
// and the machine's inactivity limit. It evaluates every loaded user hive itself (the users
// passed to Evaluate are not used). Borrows `registry`.
std::unique_ptr<Source> MakeWindowsSource(const platform::Registry& registry, const Params& params);

// Small helpers the sources share.
std::vector<std::string> Split(std::string_view s, std::string_view separators);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
// A decimal integer, with an optional '+', surrounding whitespace allowed.
std::optional<int64_t> ParseInt(std::string_view s);
// A file that may legitimately be absent: nullopt when it is, an Error for anything else.
Result<std::optional<std::string>> ReadOptional(const platform::FileSystem& fs,
                                                std::string_view path);
// A directory that may be absent: no entries then.
Result<std::vector<platform::DirEntry>> ListOptionalDir(const platform::FileSystem& fs,
                                                        std::string_view path);

template <size_t N>
bool AnyExists(const platform::FileSystem& fs, const std::string_view (&paths)[N]) {
  for (std::string_view p : paths) {
    if (!p.empty() && fs.Exists(p)) {
      return true;
    }
  }
  return false;
}

}  // namespace cg::collectors::screen_lock

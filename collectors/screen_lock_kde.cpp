// screen_lock's KDE source: the KConfig cascade /etc/xdg then ~/.config; [$i] on the file,
// group or key makes the system value final; unparsable numbers fall back to the default as
// KConfig does. Enforcement writes /etc/xdg/kscreenlockerrc [Daemon] with [$i].
#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "collectors/kconfig.h"
#include "collectors/screen_lock_source.h"
#include "common/text.h"

namespace cg::collectors::screen_lock {
namespace {

using nlohmann::json;

// KDE
constexpr std::string_view kKdeSystemFile = "/etc/xdg/kscreenlockerrc";
constexpr std::string_view kKdeUserFile = "/.config/kscreenlockerrc";
constexpr std::string_view kKdeGroup = "Daemon";

struct KdeKey {
  std::string_view name;
  bool is_bool;
  int64_t default_value;
  int64_t min;
  int64_t max;
};
// kscreenlocker's kscreenlockersettings.kcfg: defaults and the ranges KConfigSkeleton clamps to.
constexpr KdeKey kKdeKeys[] = {
    {"Autolock", true, 1, 0, 1},
    {"Timeout", false, 5, 1, std::numeric_limits<int32_t>::max()},
    {"LockGrace", false, 5, 0, 300},
    {"LockOnResume", true, 1, 0, 1},
};

Evaluation EvaluateKde(const platform::FileSystem& fs, const std::optional<KConfigFile>& system,
                       const std::optional<std::string>& system_error, const User& user) {
  Evaluation e(user.name, "kde");
  if (system_error) {
    e.error = *system_error;
    return e;
  }
  std::optional<KConfigFile> user_file;
  if (!user.home.empty()) {
    auto text = ReadOptional(fs, user.home + std::string(kKdeUserFile));
    if (!text.ok()) {
      e.error = "cannot read " + text.error().ToString();
      return e;
    }
    if (*text) {
      user_file = ParseKConfig(**text);
    }
  }
  std::map<std::string_view, int64_t> values;
  for (const auto& k : kKdeKeys) {
    Setting s;
    s.key = std::string(k.name);
    s.source = "default";
    int64_t value = k.default_value;
    bool locked = false;
    auto apply = [&](const KConfigFile& f, std::string_view source) {
      auto g = f.groups.find(std::string(kKdeGroup));
      if (g == f.groups.end()) {
        return;
      }
      auto it = g->second.entries.find(std::string(k.name));
      if (it == g->second.entries.end()) {
        return;
      }
      std::optional<int64_t> parsed;
      if (!k.is_bool) {
        parsed = ParseInt(it->second.value);
      } else if (auto b = ParseKdeBool(it->second.value)) {
        parsed = *b ? 1 : 0;
      }
      if (!parsed) {
        // KConfig returns the default for a value it cannot convert.
        s.note = std::string(source) + " value '" + it->second.value + "' is not valid; ignored";
        return;
      }
      value = std::clamp(*parsed, k.min, k.max);
      s.source = std::string(source);
    };
    if (system) {
      apply(*system, "system");
      auto g = system->groups.find(std::string(kKdeGroup));
      locked = system->immutable ||
               (g != system->groups.end() &&
                (g->second.immutable || (g->second.entries.count(std::string(k.name)) != 0 &&
                                         g->second.entries.at(std::string(k.name)).immutable)));
    }
    if (!locked && user_file) {
      apply(*user_file, "user");
    }
    s.locked = locked;
    s.value = k.is_bool ? json(value != 0) : json(value);
    values[k.name] = value;
    e.settings.push_back(std::move(s));
  }
  e.idle_activation = values["Autolock"] != 0;
  e.lock_enabled = values["Autolock"] != 0;
  e.idle_seconds = values["Timeout"] * 60;
  e.lock_delay_seconds = values["LockGrace"];
  if (values["LockOnResume"] == 0) {
    e.desktop_failures.push_back("screen is not locked on resume from suspend (LockOnResume)");
  }
  return e;
}

// kscreenlockerrc with our [Daemon] group (immutable unless the policy lets users override)
// replacing any previous one; other groups, other keys of [Daemon] and a file-level [$i] stay.
std::string RewriteKscreenlockerrc(const std::string& existing, const Params& p) {
  std::vector<std::string> kept;
  std::vector<std::string> daemon_extra;
  bool in_daemon = false;
  for (std::string_view raw : SplitLines(existing)) {
    const std::string_view line = Trim(raw);
    if (!line.empty() && line.front() == '[') {
      const auto parsed = ParseKConfig(std::string(line) + "\n");
      if (!parsed.groups.empty()) {
        in_daemon = parsed.groups.begin()->first == kKdeGroup;
        if (in_daemon) {
          continue;
        }
      }
    }
    if (in_daemon) {
      const std::string_view key = Trim(line.substr(0, line.find_first_of("=[")));
      const bool managed = std::any_of(std::begin(kKdeKeys), std::end(kKdeKeys),
                                       [&](const KdeKey& k) { return k.name == key; });
      if (!managed && !line.empty()) {
        daemon_extra.emplace_back(raw);
      }
      continue;
    }
    kept.emplace_back(raw);
  }
  while (!kept.empty() && Trim(kept.back()).empty()) {
    kept.pop_back();
  }
  std::string out;
  for (const auto& l : kept) {
    out += l + "\n";
  }
  if (!out.empty()) {
    out += "\n";
  }
  out += p.allow_user_override ? "[Daemon]\n" : "[Daemon][$i]\n";
  out += "Autolock=true\n";
  out += "LockGrace=0\n";
  out += "LockOnResume=true\n";
  out += "Timeout=" + std::to_string(p.max_idle_seconds / 60) + "\n";
  for (const auto& l : daemon_extra) {
    out += l + "\n";
  }
  return out;
}

class KdeSource final : public Source {
 public:
  explicit KdeSource(const platform::FileSystem& fs) : fs_(fs) {}

  std::string_view name() const override { return "kde"; }

  json LoadSystem(std::vector<std::string>& /*notes*/) override {
    auto text = ReadOptional(fs_, kKdeSystemFile);
    if (!text.ok()) {
      system_error_ = "cannot read " + text.error().ToString();
    } else if (*text) {
      system_ = ParseKConfig(**text);
    }
    return {{"system_file", text.ok() && *text ? json(kKdeSystemFile) : json(nullptr)}};
  }

  std::vector<Evaluation> Evaluate(const std::vector<User>& users) const override {
    std::vector<Evaluation> out;
    for (const auto& u : users) {
      out.push_back(EvaluateKde(fs_, system_, system_error_, u));
    }
    return out;
  }

  bool Enforces() const override { return true; }

  Status CheckEnforceable(const Params& params) const override {
    if (params.max_idle_seconds < 60) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "KDE's Timeout is in whole minutes: max_idle_seconds " +
                           std::to_string(params.max_idle_seconds) + " cannot be enforced");
    }
    return OkStatus();
  }

  Status PlanEnforcement(const Params& params, EnforcementPlan& plan) const override {
    CG_ASSIGN_OR_RETURN(auto rc, ReadOptional(fs_, kKdeSystemFile));
    std::string desired = RewriteKscreenlockerrc(rc.value_or(""), params);
    if (rc != desired) {
      plan.writes.push_back(PlannedWrite{std::string(kKdeSystemFile), rc, std::move(desired)});
    }
    return OkStatus();
  }

 private:
  const platform::FileSystem& fs_;
  std::optional<KConfigFile> system_;
  std::optional<std::string> system_error_;
};

}  // namespace

std::unique_ptr<Source> MakeKdeSource(const platform::FileSystem& fs) {
  return std::make_unique<KdeSource>(fs);
}

}  // namespace cg::collectors::screen_lock

// Desktop detection for screen_lock on Linux (see screen_lock_desktops.h).
#include "collectors/screen_lock_desktops.h"

#include "common/text.h"

namespace cg::collectors::screen_lock {
namespace {

constexpr std::string_view kSessionDirs[] = {"/usr/share/xsessions", "/usr/share/wayland-sessions"};
constexpr std::string_view kDefaultDisplayManagerFile = "/etc/X11/default-display-manager";
constexpr std::string_view kDisplayManagerUnitLink = "/etc/systemd/system/display-manager.service";
constexpr std::string_view kUnitDirs[] = {"/lib/systemd/system", "/usr/lib/systemd/system"};

struct DisplayManager {
  std::string_view name;
  std::string_view binaries[2];
};
constexpr DisplayManager kDisplayManagers[] = {
    {"gdm3", {"/usr/sbin/gdm3", ""}},
    {"gdm", {"/usr/sbin/gdm", "/usr/bin/gdm"}},
    {"lightdm", {"/usr/sbin/lightdm", ""}},
    {"sddm", {"/usr/bin/sddm", "/usr/sbin/sddm"}},
    {"lxdm", {"/usr/sbin/lxdm", "/usr/bin/lxdm"}},
    {"xdm", {"/usr/bin/xdm", ""}},
    {"slim", {"/usr/bin/slim", ""}},
    {"nodm", {"/usr/sbin/nodm", ""}},
};

// Desktops recognised by their own programs too, so a machine whose session files were
// removed is still judged.
constexpr std::string_view kGnomeBinaries[] = {"/usr/bin/gnome-shell", "/usr/bin/gnome-session"};
constexpr std::string_view kKdeBinaries[] = {"/usr/bin/plasmashell", "/usr/bin/startplasma-x11",
                                             "/usr/bin/startplasma-wayland", "/usr/bin/startkde"};
constexpr std::string_view kXfceBinaries[] = {"/usr/bin/xfce4-session", "/usr/bin/startxfce4"};

void ClassifySession(Environment& env, const std::string& path, std::string_view text) {
  std::vector<std::string> names;
  std::string exec;
  bool in_entry = false;
  for (std::string_view raw : SplitLines(text)) {
    const std::string_view line = Trim(raw);
    if (!line.empty() && line.front() == '[') {
      in_entry = line == "[Desktop Entry]";
      continue;
    }
    const size_t eq = line.find('=');
    if (!in_entry || eq == std::string_view::npos) {
      continue;
    }
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (key == "DesktopNames") {
      names = Split(value, ";:");
    } else if (key == "Exec") {
      exec = std::string(value);
    }
  }
  bool gnome = false;
  bool kde = false;
  bool xfce = false;
  for (const auto& n : names) {
    const std::string l = AsciiLower(n);
    gnome = gnome || l == "gnome";
    kde = kde || l == "kde";
    xfce = xfce || l == "xfce";
  }
  if (!gnome && !kde && !xfce) {
    gnome = exec.find("gnome-session") != std::string::npos;
    kde =
        exec.find("startplasma") != std::string::npos || exec.find("startkde") != std::string::npos;
    xfce = exec.find("startxfce4") != std::string::npos ||
           exec.find("xfce4-session") != std::string::npos;
  }
  if (gnome) {
    env.desktop_names.insert(names.begin(), names.end());
  }
  env.gnome = env.gnome || gnome;
  env.kde = env.kde || kde;
  env.xfce = env.xfce || xfce;
  if (!gnome && !kde && !xfce) {
    env.unsupported.push_back(path);
  }
}

}  // namespace

Environment DetectEnvironment(const platform::FileSystem& fs) {
  Environment env;
  for (std::string_view dir : kSessionDirs) {
    auto entries = ListOptionalDir(fs, dir);
    if (!entries.ok()) {
      env.errors.push_back(entries.error().ToString());
      continue;
    }
    for (const auto& e : *entries) {
      const std::string& n = e.name;
      if (n.size() <= 8 || n.compare(n.size() - 8, 8, ".desktop") != 0) {
        continue;
      }
      const std::string path = std::string(dir) + "/" + n;
      auto text = fs.ReadFile(path, 1u << 20);
      if (!text.ok()) {
        env.errors.push_back(text.error().ToString());
        continue;
      }
      env.sessions.push_back(path);
      ClassifySession(env, path, *text);
    }
  }
  std::set<std::string> dms;
  for (const auto& dm : kDisplayManagers) {
    bool found = AnyExists(fs, dm.binaries);
    for (std::string_view unit_dir : kUnitDirs) {
      found = found || fs.Exists(std::string(unit_dir) + "/" + std::string(dm.name) + ".service");
    }
    if (found) {
      dms.insert(std::string(dm.name));
    }
  }
  if (auto text = ReadOptional(fs, kDefaultDisplayManagerFile); text.ok() && *text) {
    const std::string_view path = Trim(**text);
    if (!path.empty()) {
      dms.insert(std::string(path.substr(path.rfind('/') + 1)));
    }
  } else if (!text.ok()) {
    env.errors.push_back(text.error().ToString());
  }
  if (dms.empty() && fs.Exists(kDisplayManagerUnitLink)) {
    dms.insert("display-manager.service");
  }
  env.display_managers.assign(dms.begin(), dms.end());
  env.gnome = env.gnome || AnyExists(fs, kGnomeBinaries);
  env.kde = env.kde || AnyExists(fs, kKdeBinaries);
  env.xfce = env.xfce || AnyExists(fs, kXfceBinaries);
  return env;
}

std::vector<std::unique_ptr<Source>> MakeSources(const platform::FileSystem& fs,
                                                 const Environment& env) {
  std::vector<std::unique_ptr<Source>> sources;
  if (env.gnome) {
    sources.push_back(MakeGnomeSource(fs, env.desktop_names));
  }
  if (env.kde) {
    sources.push_back(MakeKdeSource(fs));
  }
  if (env.xfce) {
    sources.push_back(MakeXfceSource(fs));
  }
  return sources;
}

std::vector<Evaluation> UnreadDesktops(const Environment& env) {
  std::vector<Evaluation> out;
  for (const auto& s : env.unsupported) {
    Evaluation e(std::string(kAllUsers), s);
    e.error = "the desktop of session " + s + " is not one whose screen lock CounterGuard reads";
    out.push_back(std::move(e));
  }
  if (!env.gnome && !env.kde && !env.xfce && env.unsupported.empty()) {
    Evaluation e(std::string(kAllUsers), "unknown");
    e.error = "a display manager (" + Join(env.display_managers, ", ") +
              ") is installed but no desktop session was found";
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cg::collectors::screen_lock

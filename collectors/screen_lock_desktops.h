// The desktops installed on a Linux machine (session files, display managers, the desktops'
// own programs), and the screen_lock sources that read them.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collectors/screen_lock_source.h"
#include "platform/platform.h"

namespace cg::collectors::screen_lock {

struct Environment {
  std::vector<std::string> sessions;
  std::vector<std::string> display_managers;
  std::set<std::string> desktop_names;  // DesktopNames of GNOME sessions (schema overrides)
  bool gnome = false;
  bool kde = false;
  bool xfce = false;
  std::vector<std::string> unsupported;  // sessions of desktops not read here
  std::vector<std::string> errors;

  bool graphical() const { return !sessions.empty() || !display_managers.empty(); }
  std::vector<std::string> desktops() const {
    std::vector<std::string> d;
    if (gnome) {
      d.emplace_back("gnome");
    }
    if (kde) {
      d.emplace_back("kde");
    }
    if (xfce) {
      d.emplace_back("xfce");
    }
    return d;
  }
};

Environment DetectEnvironment(const platform::FileSystem& fs);

// The sources of the installed desktops, in report order (GNOME, KDE, Xfce). They borrow `fs`.
std::vector<std::unique_ptr<Source>> MakeSources(const platform::FileSystem& fs,
                                                 const Environment& env);

// Errors for kAllUsers where a screen is there but no source reads it: sessions of other
// desktops, or a display manager without any session.
std::vector<Evaluation> UnreadDesktops(const Environment& env);

}  // namespace cg::collectors::screen_lock

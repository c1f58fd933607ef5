// screen_lock on Linux: which desktops are installed, then for every interactive user (and for
// a new user without settings of their own) the value each desktop's screen locker would use,
// resolved the way that desktop resolves it:
//   GNOME  dconf: the profile's sources in order, a lock in a system database hides every
//          source before it; compiled databases are what sessions read, so they are the
//          evidence and the keyfiles only tell whether they are out of date; a value of the
//          wrong type is ignored by GSettings, which then uses the schema default.
//   KDE    KConfig cascade /etc/xdg then ~/.config; [$i] on the file, group or key makes the
//          system value final; unparsable numbers fall back to the default as KConfig does.
//   Xfce   xfconf: system channel file then the user's; locked="..." / unlocked="..." lists.
#include "collectors/screen_lock.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "collectors/gvdb.h"
#include "common/ids.h"
#include "common/text.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kCheckId = "screen_lock";
constexpr std::string_view kNewUser = "(new user)";
constexpr std::string_view kAllUsers = "(all users)";

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

// dconf
constexpr std::string_view kDconfProfiles[] = {"/etc/dconf/profile/user",
                                               "/usr/local/share/dconf/profile/user",
                                               "/usr/share/dconf/profile/user"};
constexpr std::string_view kDconfProfile = "/etc/dconf/profile/user";
constexpr std::string_view kDconfDbDir = "/etc/dconf/db";
constexpr std::string_view kOwnKeyfile = "/etc/dconf/db/local.d/50-counterguard";
constexpr std::string_view kOwnLocks = "/etc/dconf/db/local.d/locks/50-counterguard";
constexpr std::string_view kSchemaDir = "/usr/share/glib-2.0/schemas";
constexpr auto kDconfUpdateTimeout = std::chrono::seconds(120);

constexpr std::string_view kIdleDelay = "/org/gnome/desktop/session/idle-delay";
constexpr std::string_view kIdleActivation =
    "/org/gnome/desktop/screensaver/idle-activation-enabled";
constexpr std::string_view kLockEnabled = "/org/gnome/desktop/screensaver/lock-enabled";
constexpr std::string_view kLockDelay = "/org/gnome/desktop/screensaver/lock-delay";
constexpr std::string_view kDisableLock = "/org/gnome/desktop/lockdown/disable-lock-screen";

struct GnomeKey {
  std::string_view path;
  char type;  // 'u' or 'b'
  uint32_t default_value;
};
// The keys and their schema defaults (gsettings-desktop-schemas).
constexpr GnomeKey kGnomeKeys[] = {
    {kIdleDelay, 'u', 300}, {kIdleActivation, 'b', 1}, {kLockEnabled, 'b', 1},
    {kLockDelay, 'u', 0},   {kDisableLock, 'b', 0},
};

// KDE
constexpr std::string_view kKdeSystemFile = "/etc/xdg/kscreenlockerrc";
constexpr std::string_view kKdeUserFile = "/.config/kscreenlockerrc";
constexpr std::string_view kKdeGroup = "Daemon";

// Xfce
constexpr std::string_view kXfconfSystemFile =
    "/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml";
constexpr std::string_view kXfconfUserFile =
    "/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml";
constexpr std::string_view kXfceScreensaver = "/usr/bin/xfce4-screensaver";
constexpr std::string_view kOtherXfceLockers[] = {"/usr/bin/light-locker", "/usr/bin/xscreensaver"};

// --- small helpers -----------------------------------------------------------------------

std::vector<std::string> Split(std::string_view s, std::string_view separators) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || separators.find(s[i]) != std::string_view::npos) {
      const auto part = Trim(s.substr(start, i - start));
      if (!part.empty()) {
        parts.emplace_back(part);
      }
      start = i + 1;
    }
  }
  return parts;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out += sep;
    }
    out += p;
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// A file that may legitimately be absent: nullopt when it is, an Error for anything else.
Result<std::optional<std::string>> ReadOptional(const platform::FileSystem& fs,
                                                std::string_view path) {
  auto text = fs.ReadFile(path);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kNotFound) {
      return std::optional<std::string>();
    }
    return text.error();
  }
  return std::optional<std::string>(std::move(text).value());
}

Result<std::vector<platform::DirEntry>> ListOptionalDir(const platform::FileSystem& fs,
                                                        std::string_view path) {
  auto entries = fs.ListDir(path);
  if (!entries.ok() && entries.error().code == ErrorCode::kNotFound) {
    return std::vector<platform::DirEntry>();
  }
  return entries;
}

template <size_t N>
bool AnyExists(const platform::FileSystem& fs, const std::string_view (&paths)[N]) {
  return std::any_of(std::begin(paths), std::end(paths),
                     [&](std::string_view p) { return !p.empty() && fs.Exists(p); });
}

// nlohmann::json refuses to serialize strings that are not UTF-8; ask it rather than guess.
bool IsValidUtf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

// File content in a change record: as text when it is UTF-8 (JSON strings must be), else
// base64, so that the record can always restore the exact bytes.
void PutContent(json& j, const std::string& content) {
  if (IsValidUtf8(content)) {
    j["content"] = content;
  } else {
    j["content_base64"] = Base64Encode(content);
  }
}

// --- GKeyFile syntax (dconf keyfiles, GSettings schema overrides) -----------------------

struct KeyFileEntry {
  std::string group;
  std::string key;
  std::string value;
};

Result<std::vector<KeyFileEntry>> ParseKeyFile(std::string_view text) {
  std::vector<KeyFileEntry> entries;
  std::optional<std::string> group;
  int line_no = 0;
  for (std::string_view raw : SplitLines(text)) {
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return MakeError(ErrorCode::kParse, "line " + std::to_string(line_no) + ": bad group");
      }
      group = std::string(line.substr(1, line.size() - 2));
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || Trim(line.substr(0, eq)).empty()) {
      return MakeError(ErrorCode::kParse,
                       "line " + std::to_string(line_no) + ": neither a group nor key=value");
    }
    if (!group) {
      return MakeError(ErrorCode::kParse,
                       "line " + std::to_string(line_no) + ": key before the first group");
    }
    entries.push_back(KeyFileEntry{*group, std::string(Trim(line.substr(0, eq))),
                                   std::string(Trim(line.substr(eq + 1)))});
  }
  return entries;
}

// --- the judgement, shared by every desktop -------------------------------------------

struct Params {
  int64_t max_idle_seconds = 300;
  int64_t max_lock_delay_seconds = 5;
  bool allow_user_override = false;
};

Params ReadParams(const policy::CheckPolicy& p) {
  return Params{p.Int("max_idle_seconds"), p.Int("max_lock_delay_seconds"),
                p.Bool("allow_user_override")};
}

// One setting as the desktop resolves it for one user.
struct Setting {
  std::string key;
  json value;
  std::string source;   // "user", "system", "system-db:local", "default", ...
  bool locked = false;  // the user cannot change it
  std::string note;
};

// One user on one desktop.
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

void Judge(Evaluation& e, const Params& p) {
  if (e.error) {
    return;
  }
  if (!e.idle_activation) {
    e.failures.push_back("locking on idle is switched off");
  }
  if (e.idle_seconds <= 0) {
    e.failures.push_back("idle timeout is 0 (never)");
  } else if (e.idle_seconds > p.max_idle_seconds) {
    e.failures.push_back("idle timeout " + std::to_string(e.idle_seconds) + " s exceeds " +
                         std::to_string(p.max_idle_seconds) + " s");
  }
  if (!e.lock_enabled) {
    e.failures.push_back("screen lock is disabled");
  }
  if (e.lock_delay_seconds > p.max_lock_delay_seconds) {
    e.failures.push_back("lock delay " + std::to_string(e.lock_delay_seconds) + " s exceeds " +
                         std::to_string(p.max_lock_delay_seconds) + " s");
  }
  for (const auto& f : e.desktop_failures) {
    e.failures.push_back(f);
  }
  if (!p.allow_user_override) {
    std::vector<std::string> open;
    for (const auto& s : e.settings) {
      if (!s.locked) {
        open.push_back(s.key);
      }
    }
    if (!open.empty()) {
      e.failures.push_back("user can change " + Join(open, ", ") + " (not locked)");
    }
  }
}

json ToJson(const Evaluation& e) {
  json j = {{"user", e.user}, {"desktop", e.desktop}};
  if (e.error) {
    j["status"] = "error";
    j["error"] = *e.error;
    return j;
  }
  j["status"] = e.failures.empty() ? "pass" : "fail";
  if (!e.failures.empty()) {
    j["reasons"] = e.failures;
  }
  json settings = json::object();
  for (const auto& s : e.settings) {
    json v = {{"value", s.value}, {"source", s.source}, {"locked", s.locked}};
    if (!s.note.empty()) {
      v["note"] = s.note;
    }
    settings[s.key] = std::move(v);
  }
  j["settings"] = std::move(settings);
  return j;
}

// A user whose desktop settings are read: an interactive account, or the new-user view
// (no home: only system settings and defaults apply).
struct User {
  std::string name;
  std::string home;  // empty for the new-user view
};

// --- installed desktops ------------------------------------------------------------------

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
    const std::string l = Lower(n);
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

// --- GNOME / dconf -------------------------------------------------------------------------

struct DconfSource {
  enum class Kind { kUser, kSystem, kFile };
  std::string spec;  // "system-db:local"
  Kind kind = Kind::kSystem;
  std::string name;  // db name, or the file path for file-db
  std::optional<GvdbTable> values;
  std::optional<GvdbTable> locks;
  // For system databases: "compiled", "absent", "not_compiled", "stale", "keyfiles_invalid".
  std::string state;
  json facts = json::object();
};

struct GnomeDefault {
  GVariantValue value;
  std::string source;
};

struct GnomeSystem {
  std::string profile_file;  // empty: dconf's built-in profile
  std::vector<DconfSource> sources;
  std::map<std::string, GnomeDefault, std::less<>> defaults;
  std::optional<std::string> error;
  std::vector<std::string> notes;
};

GVariantValue DefaultValue(const GnomeKey& k) {
  return k.type == 'u' ? MakeUint32(k.default_value) : MakeBool(k.default_value != 0);
}

const GnomeKey* FindGnomeKey(std::string_view path) {
  for (const auto& k : kGnomeKeys) {
    if (k.path == path) {
      return &k;
    }
  }
  return nullptr;
}

// Schema defaults after vendor overrides (*.gschema.override, lexical order, later wins;
// "[schema:desktop]" groups apply when an installed GNOME session names that desktop).
Status LoadSchemaDefaults(const platform::FileSystem& fs, const Environment& env,
                          GnomeSystem& gnome) {
  for (const auto& k : kGnomeKeys) {
    gnome.defaults[std::string(k.path)] = {DefaultValue(k), "default"};
  }
  CG_ASSIGN_OR_RETURN(auto entries, ListOptionalDir(fs, kSchemaDir));
  std::map<std::string, GnomeDefault> desktop_specific;
  for (const auto& e : entries) {
    constexpr std::string_view kSuffix = ".gschema.override";
    if (e.name.size() <= kSuffix.size() ||
        e.name.compare(e.name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      continue;
    }
    const std::string path = std::string(kSchemaDir) + "/" + e.name;
    CG_ASSIGN_OR_RETURN(auto text, fs.ReadFile(path, 1u << 20));
    auto parsed = ParseKeyFile(text);
    if (!parsed.ok()) {
      // glib-compile-schemas refuses the whole set then; the compiled defaults stay as they
      // were, which this check cannot read.
      return parsed.error().Wrap(path);
    }
    for (const auto& entry : *parsed) {
      std::string schema = entry.group;
      std::string desktop;
      if (const size_t colon = schema.find(':'); colon != std::string::npos) {
        desktop = schema.substr(colon + 1);
        schema.resize(colon);
      }
      std::string key_path = "/" + schema + "/" + entry.key;
      std::replace(key_path.begin(), key_path.end(), '.', '/');
      const GnomeKey* k = FindGnomeKey(key_path);
      if (k == nullptr) {
        continue;
      }
      auto value = ParseGVariantText(entry.value);
      if (!value.ok() || value->type != std::string(1, k->type)) {
        return MakeError(ErrorCode::kParse, path + ": [" + entry.group + "] " + entry.key +
                                                ": not a value of type " + std::string(1, k->type));
      }
      GnomeDefault d{*value, "default (" + path + ")"};
      if (desktop.empty()) {
        gnome.defaults[key_path] = std::move(d);
      } else if (env.desktop_names.count(desktop) != 0) {
        desktop_specific[key_path] = std::move(d);
      }
    }
  }
  for (auto& [key, d] : desktop_specific) {
    gnome.defaults[key] = std::move(d);
  }
  return OkStatus();
}

// The keyfiles and locks of a system database as `dconf update` would compile them, for the
// keys read here.
struct KeyfileView {
  std::map<std::string, std::string> values;  // raw text
  std::set<std::string> locks;
  bool present = false;
};

Result<KeyfileView> ReadKeyfileView(const platform::FileSystem& fs, const std::string& dir) {
  KeyfileView view;
  auto entries = fs.ListDir(dir);
  if (!entries.ok()) {
    if (entries.error().code == ErrorCode::kNotFound) {
      return view;
    }
    return entries.error();
  }
  view.present = true;
  for (const auto& e : *entries) {  // sorted by name: later files override earlier ones
    if (e.name.empty() || e.name.front() == '.' || e.type == platform::FileType::kDirectory) {
      continue;
    }
    const std::string path = dir + "/" + e.name;
    CG_ASSIGN_OR_RETURN(auto text, fs.ReadFile(path, 1u << 20));
    auto parsed = ParseDconfKeyfile(text);
    if (!parsed.ok()) {
      return parsed.error().Wrap(path);
    }
    for (auto& [k, v] : *parsed) {
      view.values[k] = v;
    }
  }
  CG_ASSIGN_OR_RETURN(auto lock_entries, ListOptionalDir(fs, dir + "/locks"));
  for (const auto& e : lock_entries) {
    if (e.name.empty() || e.name.front() == '.' || e.type == platform::FileType::kDirectory) {
      continue;
    }
    CG_ASSIGN_OR_RETURN(auto text, fs.ReadFile(dir + "/locks/" + e.name, 1u << 20));
    for (const auto& k : ParseDconfLocks(text)) {
      view.locks.insert(k);
    }
  }
  return view;
}

Result<std::optional<GvdbTable>> OpenGvdbFile(const platform::FileSystem& fs,
                                              const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto bytes, ReadOptional(fs, path));
  if (!bytes) {
    return std::optional<GvdbTable>();
  }
  auto table = GvdbTable::Open(std::move(*bytes));
  if (!table.ok()) {
    return table.error().Wrap(path);
  }
  return std::optional<GvdbTable>(std::move(table).value());
}

bool ValidDbName(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

// Loads a system database: the compiled file (what sessions read) and, for the state, its
// keyfiles.
Status LoadSystemDb(const platform::FileSystem& fs, DconfSource& src) {
  const std::string db_path = std::string(kDconfDbDir) + "/" + src.name;
  CG_ASSIGN_OR_RETURN(src.values, OpenGvdbFile(fs, db_path));
  if (src.values) {
    auto locks = src.values->GetTable(".locks");
    if (!locks.ok()) {
      return locks.error().Wrap(db_path);
    }
    src.locks = std::move(locks).value();
  }
  auto view = ReadKeyfileView(fs, db_path + ".d");
  if (!view.ok()) {
    src.state = "keyfiles_invalid";
    src.facts["keyfile_error"] = view.error().ToString();
  } else if (!src.values) {
    src.state = view->present ? "not_compiled" : "absent";
  } else {
    src.state = "compiled";
    for (const auto& k : kGnomeKeys) {
      const std::string key(k.path);
      std::optional<GVariantValue> from_keyfile;
      if (auto it = view->values.find(key); it != view->values.end()) {
        auto parsed = ParseGVariantText(it->second);
        if (!parsed.ok()) {
          src.state = "keyfiles_invalid";
          src.facts["keyfile_error"] = key + ": " + parsed.error().message;
          break;
        }
        from_keyfile = *parsed;
      }
      auto compiled = src.values->GetValue(key);
      if (!compiled.ok()) {
        return compiled.error().Wrap(db_path);
      }
      const bool compiled_lock = src.locks && src.locks->HasValue(key);
      if (from_keyfile != *compiled || compiled_lock != (view->locks.count(key) != 0)) {
        src.state = "stale";
      }
    }
  }
  json locked = json::array();
  for (const auto& k : kGnomeKeys) {
    if (src.locks && src.locks->HasValue(k.path)) {
      locked.push_back(k.path);
    }
  }
  src.facts["name"] = src.name;
  src.facts["state"] = src.state;
  src.facts["locked_keys"] = std::move(locked);
  return OkStatus();
}

GnomeSystem LoadGnomeSystem(const platform::FileSystem& fs, const Environment& env) {
  GnomeSystem gnome;
  std::optional<std::string> profile_text;
  for (std::string_view path : kDconfProfiles) {
    auto text = ReadOptional(fs, path);
    if (!text.ok()) {
      gnome.error = "dconf profile: " + text.error().ToString();
      return gnome;
    }
    if (*text) {
      gnome.profile_file = std::string(path);
      profile_text = std::move(**text);
      break;
    }
  }
  std::vector<std::string> specs;
  if (!profile_text) {
    specs.emplace_back("user-db:user");  // dconf's built-in profile
  } else {
    for (std::string_view raw : SplitLines(*profile_text)) {
      std::string_view line = raw.substr(0, raw.find('#'));
      line = Trim(line);
      if (!line.empty()) {
        specs.emplace_back(line);
      }
    }
  }
  for (const auto& spec : specs) {
    const size_t colon = spec.find(':');
    const std::string type = spec.substr(0, colon);
    const std::string name = colon == std::string::npos ? "" : spec.substr(colon + 1);
    DconfSource src;
    src.spec = spec;
    src.name = name;
    if (type == "user-db" && ValidDbName(name)) {
      src.kind = DconfSource::Kind::kUser;
    } else if (type == "system-db" && ValidDbName(name)) {
      src.kind = DconfSource::Kind::kSystem;
      if (auto st = LoadSystemDb(fs, src); !st.ok()) {
        gnome.error = "dconf " + spec + ": " + st.error().ToString();
        return gnome;
      }
      if (src.state == "not_compiled" || src.state == "stale" || src.state == "keyfiles_invalid") {
        gnome.notes.push_back("dconf database '" + name + "' is " + src.state +
                              " (its keyfiles are not what sessions read; run dconf update)");
      }
    } else if (type == "file-db" && !name.empty() && name.front() == '/') {
      src.kind = DconfSource::Kind::kFile;
      auto table = OpenGvdbFile(fs, name);
      if (!table.ok()) {
        gnome.error = "dconf " + spec + ": " + table.error().ToString();
        return gnome;
      }
      src.values = std::move(table).value();
      if (src.values) {
        auto locks = src.values->GetTable(".locks");
        if (!locks.ok()) {
          gnome.error = "dconf " + spec + ": " + locks.error().ToString();
          return gnome;
        }
        src.locks = std::move(locks).value();
      }
      src.state = src.values ? "compiled" : "absent";
    } else if (type == "service-db") {
      gnome.error = "dconf profile " + gnome.profile_file + " uses '" + spec +
                    "', whose values live in the dconf service and cannot be read from files";
      return gnome;
    } else {
      gnome.notes.push_back("dconf profile line '" + spec + "' is not a database dconf knows");
      continue;  // dconf ignores it too
    }
    gnome.sources.push_back(std::move(src));
  }
  if (auto st = LoadSchemaDefaults(fs, env, gnome); !st.ok()) {
    gnome.error = "GSettings schema overrides: " + st.error().ToString();
  }
  return gnome;
}

json GnomeFacts(const GnomeSystem& g) {
  json j = {{"profile", g.profile_file.empty() ? "(built-in: user-db:user)" : g.profile_file}};
  json sources = json::array();
  json dbs = json::array();
  for (const auto& s : g.sources) {
    sources.push_back(s.spec);
    if (s.kind != DconfSource::Kind::kUser) {
      dbs.push_back(s.facts.empty() ? json{{"name", s.name}, {"state", s.state}} : s.facts);
    }
  }
  j["sources"] = std::move(sources);
  j["system_dbs"] = std::move(dbs);
  if (!g.notes.empty()) {
    j["notes"] = g.notes;
  }
  return j;
}

json GVariantToJson(const GVariantValue& v) {
  if (const bool* b = std::get_if<bool>(&v.data)) {
    return *b;
  }
  if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) {
    return *u;
  }
  if (const int64_t* i = std::get_if<int64_t>(&v.data)) {
    return *i;
  }
  return v.ToText();
}

Evaluation EvaluateGnome(const platform::FileSystem& fs, const GnomeSystem& g, const User& user) {
  Evaluation e(user.name, "gnome");
  if (g.error) {
    e.error = *g.error;
    return e;
  }
  const size_t n = g.sources.size();
  // dconf: the last system source (index > 0) that locks a key decides where the search for
  // its value starts; without a lock it starts at the first source.
  std::map<std::string_view, size_t> lock_level;
  bool need_user_db = false;
  for (const auto& k : kGnomeKeys) {
    size_t level = 0;
    for (size_t i = n; i-- > 1;) {
      if (g.sources[i].locks && g.sources[i].locks->HasValue(k.path)) {
        level = i;
        break;
      }
    }
    lock_level[k.path] = level;
    for (size_t i = level; i < n; ++i) {
      need_user_db = need_user_db || g.sources[i].kind == DconfSource::Kind::kUser;
    }
  }
  std::map<std::string, std::optional<GvdbTable>> user_dbs;
  if (need_user_db && !user.home.empty()) {
    for (const auto& s : g.sources) {
      if (s.kind != DconfSource::Kind::kUser || user_dbs.count(s.name) != 0) {
        continue;
      }
      const std::string path = user.home + "/.config/dconf/" + s.name;
      auto table = OpenGvdbFile(fs, path);
      if (!table.ok()) {
        e.error = "cannot read " + table.error().ToString();
        return e;
      }
      user_dbs[s.name] = std::move(table).value();
    }
  }
  std::map<std::string_view, GVariantValue> effective;
  for (const auto& k : kGnomeKeys) {
    const size_t level = lock_level[k.path];
    Setting s;
    s.key = std::string(k.path.substr(k.path.rfind('/') + 1));
    s.locked = true;
    std::optional<GVariantValue> found;
    for (size_t i = level; i < n && !found; ++i) {
      const DconfSource& src = g.sources[i];
      const GvdbTable* table = nullptr;
      if (src.kind == DconfSource::Kind::kUser) {
        s.locked = false;  // the user's own database is searched: the user can set the key
        auto it = user_dbs.find(src.name);
        table = it != user_dbs.end() && it->second ? &*it->second : nullptr;
      } else {
        table = src.values ? &*src.values : nullptr;
      }
      if (table == nullptr) {
        continue;
      }
      auto v = table->GetValue(k.path);
      if (!v.ok()) {
        e.error = src.spec + ": " + v.error().ToString();
        return e;
      }
      if (*v) {
        found = **v;
        s.source = src.kind == DconfSource::Kind::kUser ? "user" : src.spec;
      }
    }
    const GnomeDefault& d = g.defaults.at(std::string(k.path));
    if (found && found->type != std::string(1, k.type)) {
      // GSettings drops a value of the wrong type and falls back to the schema default.
      s.note = "value " + found->ToText() + " from " + s.source + " ignored: type " + found->type +
               ", expected " + std::string(1, k.type);
      found.reset();
    }
    if (!found) {
      found = d.value;
      s.source = d.source;
    }
    if (level > 0) {
      s.source += " (locked in " + g.sources[level].spec + ")";
    }
    s.value = GVariantToJson(*found);
    effective[k.path] = *found;
    e.settings.push_back(std::move(s));
  }
  auto as_uint = [&](std::string_view key) {
    return static_cast<int64_t>(std::get<uint64_t>(effective.at(key).data));
  };
  auto as_bool = [&](std::string_view key) { return std::get<bool>(effective.at(key).data); };
  e.idle_seconds = as_uint(kIdleDelay);
  e.idle_activation = as_bool(kIdleActivation);
  e.lock_enabled = as_bool(kLockEnabled);
  e.lock_delay_seconds = as_uint(kLockDelay);
  if (as_bool(kDisableLock)) {
    e.desktop_failures.push_back("lock screen disabled by lockdown disable-lock-screen");
  }
  return e;
}

// --- KDE / KConfig -------------------------------------------------------------------------

struct KConfigEntry {
  std::string value;
  bool immutable = false;
};
struct KConfigGroup {
  bool immutable = false;
  std::map<std::string, KConfigEntry> entries;
};
struct KConfigFile {
  bool immutable = false;  // "[$i]" before the first group
  std::map<std::string, KConfigGroup> groups;
};

// KConfig INI: "[Group]" or "[Group][$i]" headers (nested groups as "[A][B]"), "Key=value",
// "Key[$i]=value", localized "Key[de]=..." (ignored here). Like KConfig, lines it cannot read
// are skipped.
KConfigFile ParseKConfig(std::string_view text) {
  KConfigFile file;
  std::optional<std::string> group;
  for (std::string_view raw : SplitLines(text)) {
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    if (line.front() == '[') {
      std::vector<std::string> parts;
      bool immutable = false;
      size_t pos = 0;
      bool ok = true;
      while (pos < line.size()) {
        if (line[pos] != '[') {
          ok = false;
          break;
        }
        const size_t close = line.find(']', pos);
        if (close == std::string_view::npos) {
          ok = false;
          break;
        }
        const std::string_view part = line.substr(pos + 1, close - pos - 1);
        if (!part.empty() && part.front() == '$') {
          immutable = immutable || part.find('i') != std::string_view::npos;
        } else {
          parts.emplace_back(part);
        }
        pos = close + 1;
      }
      if (!ok) {
        continue;
      }
      if (parts.empty()) {
        if (!group && immutable) {
          file.immutable = true;
        }
        continue;
      }
      group = Join(parts, "\x1d");
      file.groups[*group].immutable = file.groups[*group].immutable || immutable;
      continue;
    }
    const size_t eq = line.find('=');
    if (!group || eq == std::string_view::npos) {
      continue;
    }
    std::string_view key = Trim(line.substr(0, eq));
    bool immutable = false;
    bool localized = false;
    if (const size_t br = key.find('['); br != std::string_view::npos) {
      for (const auto& opt : Split(key.substr(br), "[]")) {
        if (!opt.empty() && opt.front() == '$') {
          immutable = immutable || opt.find('i') != std::string::npos;
        } else {
          localized = true;
        }
      }
      key = Trim(key.substr(0, br));
    }
    if (localized || key.empty()) {
      continue;
    }
    file.groups[*group].entries[std::string(key)] = {std::string(Trim(line.substr(eq + 1))),
                                                     immutable};
  }
  return file;
}

std::optional<bool> ParseKdeBool(std::string_view s) {
  const std::string l = Lower(Trim(s));
  if (l == "true" || l == "on" || l == "yes" || l == "1") {
    return true;
  }
  if (l == "false" || l == "off" || l == "no" || l == "0") {
    return false;
  }
  return std::nullopt;
}

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

// --- Xfce / xfconf -------------------------------------------------------------------------

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<XmlElement> children;
};

class XmlParser {
 public:
  explicit XmlParser(std::string_view text) : text_(text) {}

  Result<XmlElement> ParseDocument() {
    SkipMisc();
    CG_ASSIGN_OR_RETURN(auto root, ParseElement(0));
    SkipMisc();
    if (pos_ != text_.size()) {
      return Fail("content after the root element");
    }
    return root;
  }

 private:
  Error Fail(const std::string& what) const {
    return MakeError(ErrorCode::kParse, "XML offset " + std::to_string(pos_) + ": " + what);
  }
  bool StartsWith(std::string_view s) const { return text_.substr(pos_, s.size()) == s; }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }
  // Whitespace, comments, the XML declaration, processing instructions and a DOCTYPE.
  void SkipMisc() {
    for (;;) {
      SkipSpace();
      std::string_view end;
      if (StartsWith("<!--")) {
        end = "-->";
      } else if (StartsWith("<?")) {
        end = "?>";
      } else if (StartsWith("<!")) {
        end = ">";
      } else {
        return;
      }
      const size_t e = text_.find(end, pos_ + 2);
      pos_ = e == std::string_view::npos ? text_.size() : e + end.size();
    }
  }
  std::string Name() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) != 0 ||
            std::string_view("-_:.").find(text_[pos_]) != std::string_view::npos)) {
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }
  Result<std::string> Unescape(std::string_view raw) const {
    std::string out;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '&') {
        out += raw[i];
        continue;
      }
      const size_t semi = raw.find(';', i);
      if (semi == std::string_view::npos) {
        return Fail("unterminated entity");
      }
      const std::string_view ent = raw.substr(i + 1, semi - i - 1);
      static const std::map<std::string_view, char> kEntities = {
          {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
      if (auto it = kEntities.find(ent); it != kEntities.end()) {
        out += it->second;
      } else if (ent.size() > 1 && ent.front() == '#') {
        const bool hex = ent.size() > 2 && (ent[1] == 'x' || ent[1] == 'X');
        const std::string_view digits = ent.substr(hex ? 2 : 1);
        uint32_t cp = 0;
        auto [ptr, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
        if (ec != std::errc() || ptr != digits.data() + digits.size() || cp > 0x7f) {
          return Fail("unsupported character reference &" + std::string(ent) + ";");
        }
        out += static_cast<char>(cp);
      } else {
        return Fail("unknown entity &" + std::string(ent) + ";");
      }
      i = semi;
    }
    return out;
  }
  Result<XmlElement> ParseElement(int depth) {
    if (depth > 32) {
      return Fail("elements nested too deeply");
    }
    if (!StartsWith("<")) {
      return Fail("expected an element");
    }
    ++pos_;
    XmlElement el;
    el.name = Name();
    if (el.name.empty()) {
      return Fail("element without a name");
    }
    for (;;) {
      SkipSpace();
      if (StartsWith("/>")) {
        pos_ += 2;
        return el;
      }
      if (StartsWith(">")) {
        ++pos_;
        break;
      }
      std::string attr = Name();
      SkipSpace();
      if (attr.empty() || !StartsWith("=")) {
        return Fail("bad attribute in <" + el.name + ">");
      }
      ++pos_;
      SkipSpace();
      if (pos_ >= text_.size() || (text_[pos_] != '"' && text_[pos_] != '\'')) {
        return Fail("unquoted attribute value");
      }
      const char quote = text_[pos_];
      const size_t end = text_.find(quote, pos_ + 1);
      if (end == std::string_view::npos) {
        return Fail("unterminated attribute value");
      }
      CG_ASSIGN_OR_RETURN(el.attributes[attr], Unescape(text_.substr(pos_ + 1, end - pos_ - 1)));
      pos_ = end + 1;
    }
    for (;;) {
      // Text between elements carries nothing in xfconf files.
      while (pos_ < text_.size() && text_[pos_] != '<') {
        ++pos_;
      }
      if (pos_ >= text_.size()) {
        return Fail("<" + el.name + "> is not closed");
      }
      if (StartsWith("<!--")) {
        const size_t e = text_.find("-->", pos_);
        pos_ = e == std::string_view::npos ? text_.size() : e + 3;
        continue;
      }
      if (StartsWith("</")) {
        pos_ += 2;
        const std::string closing = Name();
        SkipSpace();
        if (closing != el.name || !StartsWith(">")) {
          return Fail("</" + closing + "> does not close <" + el.name + ">");
        }
        ++pos_;
        return el;
      }
      CG_ASSIGN_OR_RETURN(auto child, ParseElement(depth + 1));
      el.children.push_back(std::move(child));
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

struct XfconfProperty {
  std::string type;
  std::optional<std::string> value;
  std::optional<std::string> locked;
  std::optional<std::string> unlocked;
};
struct XfconfChannel {
  std::optional<std::string> locked;
  std::optional<std::string> unlocked;
  std::map<std::string, XfconfProperty> properties;  // "/saver/enabled"
};

void CollectProperties(const XmlElement& el, const std::string& prefix, XfconfChannel& ch) {
  for (const auto& child : el.children) {
    if (child.name != "property") {
      continue;
    }
    auto name = child.attributes.find("name");
    if (name == child.attributes.end()) {
      continue;
    }
    const std::string path = prefix + "/" + name->second;
    XfconfProperty p;
    auto get = [&](const char* attr) -> std::optional<std::string> {
      auto it = child.attributes.find(attr);
      return it == child.attributes.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    p.type = get("type").value_or("");
    p.value = get("value");
    p.locked = get("locked");
    p.unlocked = get("unlocked");
    ch.properties[path] = std::move(p);
    CollectProperties(child, path, ch);
  }
}

Result<XfconfChannel> ParseXfconf(std::string_view text) {
  CG_ASSIGN_OR_RETURN(auto root, XmlParser(text).ParseDocument());
  if (root.name != "channel") {
    return MakeError(ErrorCode::kParse, "root element is <" + root.name + ">, not <channel>");
  }
  XfconfChannel ch;
  if (auto it = root.attributes.find("locked"); it != root.attributes.end()) {
    ch.locked = it->second;
  }
  if (auto it = root.attributes.find("unlocked"); it != root.attributes.end()) {
    ch.unlocked = it->second;
  }
  CollectProperties(root, "", ch);
  return ch;
}

enum class Match { kYes, kNo, kMaybe };

// Does a xfconf user list ("alice;@staff;*") name this user? Group membership is read from
// /etc/group's member lists; a primary group is not visible there, so a group that does not
// list the user is kMaybe, as is any name for the new-user view.
Match ListMatches(std::string_view list, const std::string& user,
                  const std::map<std::string, std::set<std::string>>& groups) {
  Match result = Match::kNo;
  for (const auto& item : Split(list, ";")) {
    if (item == "*") {
      return Match::kYes;
    }
    if (user.empty()) {
      result = Match::kMaybe;
    } else if (item.front() == '@') {
      auto g = groups.find(item.substr(1));
      if (g != groups.end() && g->second.count(user) != 0) {
        return Match::kYes;
      }
      result = Match::kMaybe;
    } else if (item == user) {
      return Match::kYes;
    }
  }
  return result;
}

// Locked for the user, resolving doubt towards "the user can change it" so that doubt can
// only cost a pass, never grant one.
bool LockedFor(const std::optional<std::string>& locked, const std::optional<std::string>& unlocked,
               const std::string& user,
               const std::map<std::string, std::set<std::string>>& groups) {
  if (unlocked) {  // takes precedence when both are given
    return ListMatches(*unlocked, user, groups) == Match::kNo;
  }
  if (locked) {
    return ListMatches(*locked, user, groups) == Match::kYes;
  }
  return false;
}

struct XfceKey {
  std::string_view path;
  bool is_bool;
  int64_t default_value;
};
// xfce4-screensaver's gs-prefs.h defaults; delays are in minutes.
constexpr XfceKey kXfceKeys[] = {
    {"/saver/enabled", true, 1},
    {"/saver/idle-activation/enabled", true, 1},
    {"/saver/idle-activation/delay", false, 5},
    {"/lock/enabled", true, 1},
    {"/lock/saver-activation/enabled", true, 1},
    {"/lock/saver-activation/delay", false, 0},
};

struct XfceSystem {
  std::optional<std::string> error;
  std::optional<std::string> machine_failure;
  std::optional<XfconfChannel> channel;
  std::map<std::string, std::set<std::string>> groups;
};

Result<std::map<std::string, std::set<std::string>>> ReadGroups(const platform::FileSystem& fs) {
  std::map<std::string, std::set<std::string>> groups;
  CG_ASSIGN_OR_RETURN(auto text, ReadOptional(fs, "/etc/group"));
  if (!text) {
    return groups;
  }
  for (std::string_view line : SplitLines(*text)) {
    const auto fields = Split(line, ":");
    // name:x:gid:members — members may be empty, in which case Split drops the field.
    if (fields.size() >= 3) {
      auto& members = groups[fields[0]];
      if (fields.size() >= 4) {
        for (const auto& m : Split(fields[3], ",")) {
          members.insert(m);
        }
      }
    }
  }
  return groups;
}

XfceSystem LoadXfceSystem(const platform::FileSystem& fs) {
  XfceSystem x;
  if (!fs.Exists(kXfceScreensaver)) {
    for (std::string_view other : kOtherXfceLockers) {
      if (fs.Exists(other)) {
        x.error = std::string(other) +
                  " locks this Xfce desktop; its idle timeout is the X server's screen saver "
                  "timeout set at session start, which cannot be read from files";
        return x;
      }
    }
    x.machine_failure =
        "Xfce is installed without a screen locker (xfce4-screensaver, "
        "light-locker or xscreensaver)";
    return x;
  }
  auto text = ReadOptional(fs, kXfconfSystemFile);
  if (!text.ok()) {
    x.error = "cannot read " + text.error().ToString();
    return x;
  }
  if (*text) {
    auto ch = ParseXfconf(**text);
    if (!ch.ok()) {
      x.error = std::string(kXfconfSystemFile) + ": " + ch.error().ToString();
      return x;
    }
    x.channel = std::move(ch).value();
  }
  auto groups = ReadGroups(fs);
  if (!groups.ok()) {
    x.error = "cannot read " + groups.error().ToString();
    return x;
  }
  x.groups = std::move(groups).value();
  return x;
}

Result<int64_t> XfconfValue(const XfconfProperty& p, const XfceKey& k, std::string_view where) {
  const std::string v = std::string(Trim(p.value.value_or("")));
  if (k.is_bool) {
    if (p.type == "bool" && (v == "true" || v == "false")) {
      return v == "true" ? 1 : 0;
    }
  } else if (p.type == "int" || p.type == "uint" || p.type == "int64" || p.type == "uint64") {
    if (auto n = ParseInt(v); n && *n >= 0) {
      return *n;
    }
  }
  return MakeError(ErrorCode::kParse, std::string(where) + " " + std::string(k.path) + ": type=\"" +
                                          p.type + "\" value=\"" + v + "\" is not a valid " +
                                          (k.is_bool ? "bool" : "int"));
}

Evaluation EvaluateXfce(const platform::FileSystem& fs, const XfceSystem& x, const User& user) {
  Evaluation e(user.name, "xfce");
  if (x.error) {
    e.error = *x.error;
    return e;
  }
  std::optional<XfconfChannel> user_channel;
  const std::string user_path = user.home + std::string(kXfconfUserFile);
  if (!user.home.empty()) {
    auto text = ReadOptional(fs, user_path);
    if (!text.ok()) {
      e.error = "cannot read " + text.error().ToString();
      return e;
    }
    if (*text) {
      auto ch = ParseXfconf(**text);
      if (!ch.ok()) {
        e.error = user_path + ": " + ch.error().ToString();
        return e;
      }
      user_channel = std::move(ch).value();
    }
  }
  const std::string who = user.name == kNewUser ? "" : user.name;
  std::map<std::string_view, int64_t> values;
  for (const auto& k : kXfceKeys) {
    Setting s;
    s.key = std::string(k.path);
    s.source = "default";
    int64_t value = k.default_value;
    bool locked = false;
    const XfconfProperty* sys = nullptr;
    if (x.channel) {
      locked = LockedFor(x.channel->locked, x.channel->unlocked, who, x.groups);
      if (auto it = x.channel->properties.find(std::string(k.path));
          it != x.channel->properties.end()) {
        sys = &it->second;
        locked = locked || LockedFor(sys->locked, sys->unlocked, who, x.groups);
      }
    }
    const XfconfProperty* usr = nullptr;
    if (!locked && user_channel) {
      if (auto it = user_channel->properties.find(std::string(k.path));
          it != user_channel->properties.end() && it->second.value) {
        usr = &it->second;
      }
    }
    const XfconfProperty* winner =
        usr != nullptr ? usr : (sys != nullptr && sys->value ? sys : nullptr);
    if (winner != nullptr) {
      const std::string where = winner == usr ? user_path : std::string(kXfconfSystemFile);
      auto v = XfconfValue(*winner, k, where);
      if (!v.ok()) {
        e.error = v.error().message;
        return e;
      }
      value = *v;
      s.source = winner == usr ? "user" : "system";
    }
    s.locked = locked;
    s.value = k.is_bool ? json(value != 0) : json(value);
    values[k.path] = value;
    e.settings.push_back(std::move(s));
  }
  e.idle_activation =
      values["/saver/enabled"] != 0 && values["/saver/idle-activation/enabled"] != 0;
  e.idle_seconds = values["/saver/idle-activation/delay"] * 60;
  e.lock_enabled = values["/lock/enabled"] != 0 && values["/lock/saver-activation/enabled"] != 0;
  e.lock_delay_seconds = values["/lock/saver-activation/delay"] * 60;
  return e;
}

// --- users -----------------------------------------------------------------------------------

Result<std::vector<User>> DesktopUsers(const platform::Platform& p) {
  CG_ASSIGN_OR_RETURN(auto db, p.accounts->Read());
  std::vector<User> users;
  for (const auto& a : db.accounts) {
    if (static_cast<int64_t>(a.uid) < db.defaults.uid_min || !a.login_shell || a.home.empty() ||
        a.home.front() != '/') {
      continue;
    }
    auto info = p.fs->Stat(a.home);
    if (!info.ok() || (info->type != platform::FileType::kDirectory &&
                       info->type != platform::FileType::kSymlink)) {
      continue;
    }
    users.push_back(User{a.name, a.home == "/" ? "" : a.home});
  }
  // Accounts created later and directory (LDAP/AD) users start from the system settings.
  users.push_back(User{std::string(kNewUser), ""});
  return users;
}

std::string Describe(const Evaluation& e, const std::vector<std::string>& items) {
  return e.user + " (" + e.desktop + "): " + Join(items, "; ");
}

std::string SummaryList(const std::vector<std::string>& items) {
  constexpr size_t kShown = 5;
  std::vector<std::string> shown(items.begin(),
                                 items.begin() + static_cast<long>(std::min(items.size(), kShown)));
  std::string out = Join(shown, " | ");
  if (items.size() > kShown) {
    out += " | and " + std::to_string(items.size() - kShown) + " more";
  }
  return out;
}

// --- enforcement ---------------------------------------------------------------------------

std::string OwnKeyfile(const Params& p) {
  return "# Written by CounterGuard (policy check screen_lock); local edits are overwritten.\n"
         "[org/gnome/desktop/session]\n"
         "idle-delay=uint32 " +
         std::to_string(p.max_idle_seconds) +
         "\n\n"
         "[org/gnome/desktop/screensaver]\n"
         "idle-activation-enabled=true\n"
         "lock-enabled=true\n"
         "lock-delay=uint32 0\n\n"
         "[org/gnome/desktop/lockdown]\n"
         "disable-lock-screen=false\n";
}

std::string OwnLocks() {
  std::string out =
      "# Written by CounterGuard (policy check screen_lock): users cannot change these keys.\n";
  for (const auto& k : kGnomeKeys) {
    out += std::string(k.path) + "\n";
  }
  return out;
}

std::string EnsureProfileLines(const std::string& existing) {
  std::vector<std::string> lines;
  for (std::string_view l : SplitLines(existing)) {
    lines.emplace_back(l);
  }
  auto find = [&](std::string_view want) -> std::optional<size_t> {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (Trim(std::string_view(lines[i]).substr(0, lines[i].find('#'))) == want) {
        return i;
      }
    }
    return std::nullopt;
  };
  auto user = find("user-db:user");
  if (!user) {
    // The user database must come first: dconf writes only to the first source.
    lines.insert(lines.begin(), "user-db:user");
    user = 0;
  }
  if (!find("system-db:local")) {
    lines.insert(lines.begin() + static_cast<long>(*user) + 1, "system-db:local");
  }
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
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

struct PlannedWrite {
  std::string path;
  std::optional<std::string> before;  // nullopt: the file does not exist
  std::string after;
};

Change FileChange(const PlannedWrite& w) {
  Change c;
  c.target = w.path;
  c.action = "write_file";
  c.before = {{"exists", w.before.has_value()}};
  if (w.before) {
    PutContent(c.before, *w.before);
  }
  c.after = {{"exists", true}, {"mode", 0644}};
  PutContent(c.after, w.after);
  c.undo.push_back(RestoreFileOp(w.path, w.before, 0644));
  return c;
}

}  // namespace

Result<std::map<std::string, std::string>> ParseDconfKeyfile(std::string_view text) {
  CG_ASSIGN_OR_RETURN(auto entries, ParseKeyFile(text));
  std::map<std::string, std::string> out;
  for (auto& e : entries) {
    std::string dir = e.group == "/" ? "/" : "/" + e.group + "/";
    out[dir + e.key] = std::move(e.value);
  }
  return out;
}

std::set<std::string> ParseDconfLocks(std::string_view text) {
  std::set<std::string> locks;
  for (std::string_view line : SplitLines(text)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())) != 0) {
      line.remove_suffix(1);
    }
    if (!line.empty() && line.front() == '/') {
      locks.emplace(line);
    }
  }
  return locks;
}

CheckResult ScreenLockCheck::Evaluate(const CheckContext& ctx) const {
  CheckResult r = MakeResult(kCheckId, ctx.policy);
  const Params params = ReadParams(ctx.policy);
  const platform::FileSystem& fs = *ctx.platform.fs;
  const Environment env = DetectEnvironment(fs);
  json facts = {{"sessions", env.sessions},
                {"display_managers", env.display_managers},
                {"desktops", env.desktops()}};
  if (!env.errors.empty()) {
    facts["read_errors"] = env.errors;
  }
  if (!env.graphical()) {
    if (!env.errors.empty()) {
      r.status = CheckStatus::kError;
      r.summary = "cannot tell whether a desktop is installed: " + Join(env.errors, "; ");
    } else {
      r.status = CheckStatus::kNotApplicable;
      r.summary = "no desktop session or display manager is installed (headless)";
    }
    r.facts = std::move(facts);
    return r;
  }
  auto users = DesktopUsers(ctx.platform);
  if (!users.ok()) {
    r.facts = std::move(facts);
    r.status = CheckStatus::kError;
    r.summary = "cannot read the local accounts: " + users.error().ToString();
    return r;
  }

  std::vector<Evaluation> evals;
  std::vector<std::string> notes;
  if (env.gnome) {
    const GnomeSystem gnome = LoadGnomeSystem(fs, env);
    facts["gnome"] = GnomeFacts(gnome);
    notes.insert(notes.end(), gnome.notes.begin(), gnome.notes.end());
    for (const auto& u : *users) {
      evals.push_back(EvaluateGnome(fs, gnome, u));
    }
  }
  if (env.kde) {
    std::optional<KConfigFile> system;
    std::optional<std::string> system_error;
    auto text = ReadOptional(fs, kKdeSystemFile);
    if (!text.ok()) {
      system_error = "cannot read " + text.error().ToString();
    } else if (*text) {
      system = ParseKConfig(**text);
    }
    facts["kde"] = {{"system_file", text.ok() && *text ? json(kKdeSystemFile) : json(nullptr)}};
    for (const auto& u : *users) {
      evals.push_back(EvaluateKde(fs, system, system_error, u));
    }
  }
  if (env.xfce) {
    const XfceSystem xfce = LoadXfceSystem(fs);
    facts["xfce"] = {{"locker", fs.Exists(kXfceScreensaver) ? "xfce4-screensaver" : "other"},
                     {"system_file", xfce.channel ? json(kXfconfSystemFile) : json(nullptr)}};
    if (xfce.machine_failure) {
      Evaluation e(std::string(kAllUsers), "xfce");
      e.failures.push_back(*xfce.machine_failure);
      evals.push_back(std::move(e));
    } else {
      for (const auto& u : *users) {
        evals.push_back(EvaluateXfce(fs, xfce, u));
      }
    }
  }
  for (const auto& s : env.unsupported) {
    Evaluation e(std::string(kAllUsers), s);
    e.error = "the desktop of session " + s + " is not one whose screen lock CounterGuard reads";
    evals.push_back(std::move(e));
  }
  if (!env.gnome && !env.kde && !env.xfce && env.unsupported.empty()) {
    Evaluation e(std::string(kAllUsers), "unknown");
    e.error = "a display manager (" + Join(env.display_managers, ", ") +
              ") is installed but no desktop session was found";
    evals.push_back(std::move(e));
  }

  std::vector<std::string> failed;
  std::vector<std::string> errors;
  json users_json = json::array();
  json observed = json::object();
  for (auto& e : evals) {
    Judge(e, params);
    if (e.error) {
      errors.push_back(e.user + " (" + e.desktop + "): " + *e.error);
    } else if (!e.failures.empty()) {
      failed.push_back(Describe(e, e.failures));
    }
    if (!e.error && !e.settings.empty()) {
      json unlocked = json::array();
      for (const auto& s : e.settings) {
        if (!s.locked) {
          unlocked.push_back(s.key);
        }
      }
      observed[e.user][e.desktop] = {{"idle_seconds", e.idle_seconds},
                                     {"idle_activation", e.idle_activation},
                                     {"lock_enabled", e.lock_enabled},
                                     {"lock_delay_seconds", e.lock_delay_seconds},
                                     {"user_can_change", std::move(unlocked)}};
    }
    users_json.push_back(ToJson(e));
  }
  facts["users"] = std::move(users_json);
  if (!notes.empty()) {
    facts["notes"] = notes;
  }
  r.facts = std::move(facts);
  r.expected = {{"max_idle_seconds", params.max_idle_seconds},
                {"idle_activation", true},
                {"lock_enabled", true},
                {"max_lock_delay_seconds", params.max_lock_delay_seconds},
                {"user_override_allowed", params.allow_user_override}};
  r.observed = std::move(observed);
  const std::string note_text = notes.empty() ? "" : " [" + Join(notes, "; ") + "]";
  if (!failed.empty()) {
    r.status = CheckStatus::kFail;
    r.summary = "screen lock not compliant: " + SummaryList(failed) + note_text;
  } else if (!errors.empty()) {
    r.status = CheckStatus::kError;
    r.summary = "cannot read the screen lock settings: " + SummaryList(errors) + note_text;
  } else {
    r.status = CheckStatus::kPass;
    r.summary = "screen lock compliant on " + Join(env.desktops(), ", ") + " for " +
                std::to_string(users->size() - 1) + " user(s) and new users" + note_text;
  }
  if (r.summary.size() > protocol::kMaxSummary) {
    r.summary.resize(protocol::kMaxSummary - 3);
    r.summary += "...";
  }
  return r;
}

Result<std::vector<Change>> ScreenLockCheck::Remediate(const CheckContext& ctx,
                                                       const CheckResult& /*failed*/,
                                                       bool dry_run) const {
  const Params params = ReadParams(ctx.policy);
  platform::FileSystem& fs = *ctx.platform.fs;
  const Environment env = DetectEnvironment(fs);
  if (!env.gnome && !env.kde) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "screen lock enforcement covers GNOME and KDE; neither is installed (" +
            (env.desktops().empty() ? std::string("no desktop") : Join(env.desktops(), ", ")) +
            ")");
  }
  if (env.kde && params.max_idle_seconds < 60) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "KDE's Timeout is in whole minutes: max_idle_seconds " +
                         std::to_string(params.max_idle_seconds) + " cannot be enforced");
  }
  std::vector<PlannedWrite> writes;
  auto plan = [&](std::string_view path, const std::optional<std::string>& current,
                  std::string desired) {
    if (current != desired) {
      writes.push_back(PlannedWrite{std::string(path), current, std::move(desired)});
    }
  };
  bool run_dconf_update = false;
  if (env.gnome) {
    CG_ASSIGN_OR_RETURN(auto keyfile, ReadOptional(fs, kOwnKeyfile));
    plan(kOwnKeyfile, keyfile, OwnKeyfile(params));
    if (!params.allow_user_override) {
      CG_ASSIGN_OR_RETURN(auto locks, ReadOptional(fs, kOwnLocks));
      plan(kOwnLocks, locks, OwnLocks());
    }
    CG_ASSIGN_OR_RETURN(auto profile, ReadOptional(fs, kDconfProfile));
    std::string base;
    if (profile) {
      base = *profile;
    } else {
      // Creating /etc/dconf/profile/user hides a profile further down the search path: start
      // from the one dconf uses today.
      for (std::string_view path : kDconfProfiles) {
        CG_ASSIGN_OR_RETURN(auto other, ReadOptional(fs, path));
        if (other) {
          base = *other;
          break;
        }
      }
    }
    plan(kDconfProfile, profile, EnsureProfileLines(base));
    run_dconf_update = !writes.empty();
    if (!run_dconf_update) {
      DconfSource local;
      local.name = "local";
      CG_RETURN_IF_ERROR(LoadSystemDb(fs, local));
      run_dconf_update = local.state != "compiled";
    }
  }
  if (env.kde) {
    CG_ASSIGN_OR_RETURN(auto rc, ReadOptional(fs, kKdeSystemFile));
    plan(kKdeSystemFile, rc, RewriteKscreenlockerrc(rc.value_or(""), params));
  }
  std::vector<std::string> argv = {"dconf", "update"};
  if (fs.root() != "/") {
    argv.push_back(fs.HostPath(kDconfDbDir));
  }
  std::vector<Change> changes;
  for (const auto& w : writes) {
    changes.push_back(FileChange(w));
  }
  if (dry_run) {
    if (run_dconf_update) {
      changes.push_back(Change{std::string(kDconfDbDir),
                               "run_command",
                               {{"argv", argv}},
                               {{"argv", argv}, {"planned", true}}});
    }
    return changes;
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    if (auto st = fs.WriteFileAtomic(writes[i].path, writes[i].after, 0644); !st.ok()) {
      std::vector<std::string> done;
      for (size_t k = 0; k < i; ++k) {
        done.push_back(writes[k].path);
      }
      return st.error().Wrap("screen_lock enforcement (already written: " +
                             (done.empty() ? std::string("nothing") : Join(done, ", ")) + ")");
    }
  }
  if (run_dconf_update) {
    // The compiled database is what sessions read; undoing the file changes means running
    // the same command again, so `before` names it.
    Change c{std::string(kDconfDbDir), "run_command", {{"argv", argv}}, {{"argv", argv}}};
    // Recompiling after the keyfiles are restored brings the database back as well.
    c.undo.push_back({{"op", "run"}, {"argv", argv}});
    auto res = ctx.platform.commands->Run(
        argv, std::chrono::duration_cast<std::chrono::milliseconds>(kDconfUpdateTimeout));
    if (!res.ok()) {
      c.after["error"] = res.error().ToString();
    } else {
      c.after["exit_code"] = res->exit_code;
      c.after["timed_out"] = res->timed_out;
      if (!res->err.empty()) {
        c.after["stderr"] = IsValidUtf8(res->err) ? res->err : Base64Encode(res->err);
      }
    }
    changes.push_back(std::move(c));
  }
  return changes;
}

}  // namespace cg::collectors

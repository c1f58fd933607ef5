// screen_lock's GNOME source: dconf as GSettings reads it. The profile's sources in order, a
// lock in a system database hides every source before it; compiled databases are what
// sessions read, so they are the evidence and the keyfiles only tell whether they are out of
// date; a value of the wrong type is ignored by GSettings, which then uses the schema default.
// Enforcement writes CounterGuard-owned, locked system settings (dconf keyfile + locks +
// profile, then `dconf update`).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "collectors/gkeyfile.h"
#include "collectors/gvdb.h"
#include "collectors/screen_lock_source.h"
#include "common/text.h"

namespace cg::collectors::screen_lock {
namespace {

using nlohmann::json;

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
Status LoadSchemaDefaults(const platform::FileSystem& fs,
                          const std::set<std::string>& desktop_names, GnomeSystem& gnome) {
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
      } else if (desktop_names.count(desktop) != 0) {
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

GnomeSystem LoadGnomeSystem(const platform::FileSystem& fs,
                            const std::set<std::string>& desktop_names) {
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
  if (auto st = LoadSchemaDefaults(fs, desktop_names, gnome); !st.ok()) {
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

class GnomeSource final : public Source {
 public:
  GnomeSource(const platform::FileSystem& fs, std::set<std::string> desktop_names)
      : fs_(fs), desktop_names_(std::move(desktop_names)) {}

  std::string_view name() const override { return "gnome"; }

  json LoadSystem(std::vector<std::string>& notes) override {
    system_ = LoadGnomeSystem(fs_, desktop_names_);
    notes.insert(notes.end(), system_.notes.begin(), system_.notes.end());
    return GnomeFacts(system_);
  }

  std::vector<Evaluation> Evaluate(const std::vector<User>& users) const override {
    std::vector<Evaluation> out;
    for (const auto& u : users) {
      out.push_back(EvaluateGnome(fs_, system_, u));
    }
    return out;
  }

  bool Enforces() const override { return true; }

  Status PlanEnforcement(const Params& params, EnforcementPlan& plan) const override {
    const size_t writes_before = plan.writes.size();
    auto plan_write = [&](std::string_view path, const std::optional<std::string>& current,
                          std::string desired) {
      if (current != desired) {
        plan.writes.push_back(PlannedWrite{std::string(path), current, std::move(desired)});
      }
    };
    CG_ASSIGN_OR_RETURN(auto keyfile, ReadOptional(fs_, kOwnKeyfile));
    plan_write(kOwnKeyfile, keyfile, OwnKeyfile(params));
    if (!params.allow_user_override) {
      CG_ASSIGN_OR_RETURN(auto locks, ReadOptional(fs_, kOwnLocks));
      plan_write(kOwnLocks, locks, OwnLocks());
    }
    CG_ASSIGN_OR_RETURN(auto profile, ReadOptional(fs_, kDconfProfile));
    std::string base;
    if (profile) {
      base = *profile;
    } else {
      // Creating /etc/dconf/profile/user hides a profile further down the search path: start
      // from the one dconf uses today.
      for (std::string_view path : kDconfProfiles) {
        CG_ASSIGN_OR_RETURN(auto other, ReadOptional(fs_, path));
        if (other) {
          base = *other;
          break;
        }
      }
    }
    plan_write(kDconfProfile, profile, EnsureProfileLines(base));
    bool run_dconf_update = plan.writes.size() > writes_before;
    if (!run_dconf_update) {
      DconfSource local;
      local.name = "local";
      CG_RETURN_IF_ERROR(LoadSystemDb(fs_, local));
      run_dconf_update = local.state != "compiled";
    }
    if (run_dconf_update) {
      std::vector<std::string> argv = {"dconf", "update"};
      if (fs_.root() != "/") {
        argv.push_back(fs_.HostPath(kDconfDbDir));
      }
      plan.commands.push_back(PlannedCommand{
          std::string(kDconfDbDir), std::move(argv),
          std::chrono::duration_cast<std::chrono::milliseconds>(kDconfUpdateTimeout)});
    }
    return OkStatus();
  }

 private:
  const platform::FileSystem& fs_;
  const std::set<std::string> desktop_names_;
  GnomeSystem system_;
};

}  // namespace

std::unique_ptr<Source> MakeGnomeSource(const platform::FileSystem& fs,
                                        std::set<std::string> desktop_names) {
  return std::make_unique<GnomeSource>(fs, std::move(desktop_names));
}

}  // namespace cg::collectors::screen_lock

// screen_lock's Windows source: the registry. For every loaded user hive under HKEY_USERS, the
// screen saver values of the user policy key over the user's own Control Panel\Desktop, and
// the machine's inactivity limit (InactivityTimeoutSecs), which locks every session whatever
// the screen saver says. Where each value comes from (Microsoft's documentation):
// - HKU\<SID>\Control Panel\Desktop and, set by Group Policy ("Enable screen saver", "Password
//   protect the screen saver", "Screen saver timeout", "Force specific screen saver"),
//   HKU\<SID>\Software\Policies\Microsoft\Windows\Control Panel\Desktop: ScreenSaveActive
//   "1"/"0", ScreenSaverIsSecure "1"/"0", ScreenSaveTimeOut seconds, SCRNSAVE.EXE the screen
//   saver program, all REG_SZ. The policy key wins; without a program the timeout has no
//   effect (the "Screen saver timeout" policy's own help says so).
// - HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System InactivityTimeoutSecs,
//   REG_DWORD 0-599940 ("Interactive logon: Machine inactivity limit"; 0 = off): Windows
//   locks the session after that many idle seconds.
// - HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon ScreenSaverGracePeriod, REG_SZ
//   seconds (default 5): after the screen saver starts, input within it unlocks without a
//   password — the lock delay.
// - Profiles whose user is not logged on (HKLM\...\ProfileList\<SID> without a hive under
//   HKEY_USERS), when the policy asks (read_profiles_not_logged_on): the same values from
//   <ProfileImagePath>\NTUSER.DAT, loaded for reading through the platform
//   (Registry::LoadHiveFile) and unloaded as soon as they are read. They are not enforced:
//   the machine inactivity limit enforcement sets locks their sessions too.
#include <algorithm>
#include <map>

#include "collectors/screen_lock_source.h"
#include "common/text.h"

namespace cg::collectors::screen_lock {
namespace {

using nlohmann::json;
using platform::Registry;
using platform::RegistryHive;
using platform::RegistryValue;
using platform::RegistryValueType;

constexpr std::string_view kDesktop = "windows";
constexpr std::string_view kMachineKey =
    "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System";
constexpr std::string_view kInactivity = "InactivityTimeoutSecs";
constexpr std::string_view kWinlogonKey =
    "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon";
constexpr std::string_view kGrace = "ScreenSaverGracePeriod";
constexpr std::string_view kProfileListKey =
    "SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList";
constexpr std::string_view kUserPolicyKey =
    "Software\\Policies\\Microsoft\\Windows\\Control Panel\\Desktop";
constexpr std::string_view kUserKey = "Control Panel\\Desktop";
constexpr std::string_view kActive = "ScreenSaveActive";
constexpr std::string_view kSecure = "ScreenSaverIsSecure";
constexpr std::string_view kTimeout = "ScreenSaveTimeOut";
constexpr std::string_view kProgram = "SCRNSAVE.EXE";
// Winlogon's grace period when ScreenSaverGracePeriod is not set.
constexpr int64_t kDefaultGraceSeconds = 5;
// The blank screen saver every Windows has in System32: what enforcement sets when no
// program is chosen, so that the timeout takes effect.
constexpr std::string_view kBlankScreenSaver = "scrnsave.scr";

std::string Hku(std::string_view key) { return "HKU\\" + std::string(key); }
std::string Hklm(std::string_view key) { return "HKLM\\" + std::string(key); }

std::string_view TypeName(RegistryValueType type) {
  switch (type) {
    case RegistryValueType::kString:
      return "REG_SZ";
    case RegistryValueType::kExpandString:
      return "REG_EXPAND_SZ";
    case RegistryValueType::kMultiString:
      return "REG_MULTI_SZ";
    case RegistryValueType::kDword:
      return "REG_DWORD";
    case RegistryValueType::kQword:
      return "REG_QWORD";
    case RegistryValueType::kBinary:
      break;
  }
  return "binary";
}

// A value that may be absent: nullopt then; any other failure is an error.
Result<std::optional<RegistryValue>> GetOptional(const Registry& registry, RegistryHive hive,
                                                 std::string_view key, std::string_view name) {
  auto value = registry.GetValue(hive, key, name);
  if (!value.ok()) {
    if (value.error().code == ErrorCode::kNotFound) {
      return std::optional<RegistryValue>();
    }
    return value.error();
  }
  return std::optional<RegistryValue>(std::move(value).value());
}

// Where one user's values are read: their hive loaded under HKU\<SID>, or their NTUSER.DAT
// loaded for the check.
class UserHive {
 public:
  UserHive(const Registry& registry, std::string sid)
      : registry_(&registry), prefix_(std::move(sid)) {}
  UserHive(const platform::RegistryHiveFile& file, std::string path)
      : file_(&file), prefix_(std::move(path)) {}

  Result<std::optional<RegistryValue>> Get(std::string_view key, std::string_view name) const {
    auto value = file_ != nullptr ? file_->GetValue(key, name)
                                  : registry_->GetValue(RegistryHive::kUsers,
                                                        prefix_ + "\\" + std::string(key), name);
    if (!value.ok()) {
      if (value.error().code == ErrorCode::kNotFound) {
        return std::optional<RegistryValue>();
      }
      return value.error();
    }
    return std::optional<RegistryValue>(std::move(value).value());
  }
  // "HKU\<SID>\<key>", or "<path>: <key>" for a hive file.
  std::string Where(std::string_view key) const {
    return file_ != nullptr ? prefix_ + ": " + std::string(key)
                            : Hku(prefix_ + "\\" + std::string(key));
  }

 private:
  const Registry* registry_ = nullptr;
  const platform::RegistryHiveFile* file_ = nullptr;
  std::string prefix_;
};

// One of a user's screen saver values: the policy key's when it holds a REG_SZ, else the user
// key's. A value of another type is skipped with a note: the screen saver reads strings.
struct UserValue {
  std::optional<std::string> text;
  std::string where = "not set";  // the key it came from
  bool from_policy = false;
  std::vector<std::string> notes;
};

Result<UserValue> ReadUserValue(const UserHive& hive, std::string_view name) {
  UserValue out;
  for (const bool policy : {true, false}) {
    const std::string_view key = policy ? kUserPolicyKey : kUserKey;
    CG_ASSIGN_OR_RETURN(auto value, hive.Get(key, name));
    if (!value) {
      continue;
    }
    if (value->type != RegistryValueType::kString) {
      out.notes.push_back(hive.Where(key) + " [" + std::string(name) + "] is " +
                          std::string(TypeName(value->type)) + ", not REG_SZ: not counted");
      continue;
    }
    out.text = value->text;
    out.where = hive.Where(key);
    out.from_policy = policy;
    return out;
  }
  return out;
}

// The four values the judgement needs, read at once (a hive file is unloaded right after).
using UserValues = std::map<std::string_view, UserValue>;

Result<UserValues> ReadUserValues(const UserHive& hive) {
  UserValues out;
  for (std::string_view name : {kActive, kSecure, kTimeout, kProgram}) {
    CG_ASSIGN_OR_RETURN(out[name], ReadUserValue(hive, name));
  }
  return out;
}

// Why a profile's NTUSER.DAT could not be loaded, by the Win32 code in the error.
std::string LoadHint(const Error& error) {
  switch (platform::Win32CodeOf(error).value_or(0)) {
    case 2:
    case 3:
      return "no NTUSER.DAT where ProfileList says: an orphaned profile (remove it, or set the "
             "machine inactivity limit)";
    case 5:
      return "the agent may not open it (it must run as SYSTEM)";
    case 32:
    case 33:
      return "the hive is in use or locked by another program (or the user has just logged on)";
    case 1009:
    case 1015:
    case 1017:
      return "not a readable registry hive (damaged, or not a hive file)";
    default:
      return "";
  }
}

// "1" is on; "0", anything that is not a number, or no value at all is off.
bool IsOn(const UserValue& v) {
  const auto n = v.text ? ParseInt(*v.text) : std::nullopt;
  return n.has_value() && *n != 0;
}

Setting UserSetting(std::string_view name, const UserValue& v, std::string note) {
  Setting s;
  s.key = std::string(name);
  s.value = v.text ? json(*v.text) : json(nullptr);
  s.source = v.where;
  // Only administrators can write the policy key (HKCU\Software\Policies); the user owns
  // Control Panel\Desktop.
  s.locked = v.from_policy;
  std::vector<std::string> notes = v.notes;
  if (!note.empty()) {
    notes.push_back(std::move(note));
  }
  s.note = Join(notes, "; ");
  return s;
}

// A machine value (REG_DWORD, or REG_SZ when `string_ok`), with where it came from.
struct MachineValue {
  std::optional<int64_t> seconds;
  std::string where;
  std::string note;  // a value present but not usable
};

Result<MachineValue> ReadMachineValue(const Registry& registry, std::string_view key,
                                      std::string_view name, bool string_ok) {
  MachineValue out;
  out.where = Hklm(key);
  CG_ASSIGN_OR_RETURN(auto value, GetOptional(registry, RegistryHive::kLocalMachine, key, name));
  if (!value) {
    return out;
  }
  if (value->type == RegistryValueType::kDword || value->type == RegistryValueType::kQword) {
    out.seconds = static_cast<int64_t>(std::min<uint64_t>(value->number, INT64_MAX));
  } else if (string_ok && value->type == RegistryValueType::kString && ParseInt(value->text)) {
    out.seconds = *ParseInt(value->text);
  } else {
    out.note = Hklm(key) + " [" + std::string(name) + "] is " + std::string(TypeName(value->type)) +
               (value->type == RegistryValueType::kString ? " \"" + value->text + "\"" : "") +
               ", which Windows does not read as a number: not counted";
  }
  return out;
}

struct Hive {
  std::string sid;
  std::string name;  // the account name when known
  bool logged_on = true;
  std::string label() const {
    const std::string tail = logged_on ? "" : ", not logged on";
    return name.empty() ? sid + (logged_on ? "" : " (not logged on)")
                        : name + " (" + sid + tail + ")";
  }
};

// A ProfileList entry: the profile folder (ProfileImagePath, REG_EXPAND_SZ, unexpanded).
struct Profile {
  std::string name;  // the folder's last component
  std::string path;
  std::string error;  // ProfileImagePath could not be read
};

// A profile whose user is not logged on, and what its NTUSER.DAT said (values or error).
struct OfflineProfile {
  Hive hive;
  std::optional<UserValues> values;
  std::optional<std::string> error;
  bool machine_decides = false;  // not loaded: the machine limit decides for everyone
};

class WindowsSource final : public Source {
 public:
  WindowsSource(const Registry& registry, Params params) : registry_(registry), params_(params) {}

  std::string_view name() const override { return kDesktop; }

  json LoadSystem(std::vector<std::string>& notes) override {
    json facts = json::object();
    auto inactivity = ReadMachineValue(registry_, kMachineKey, kInactivity, false);
    auto grace = ReadMachineValue(registry_, kWinlogonKey, kGrace, true);
    if (!inactivity.ok() || !grace.ok()) {
      error_ = (!inactivity.ok() ? inactivity.error() : grace.error()).ToString();
      facts["error"] = *error_;
      return facts;
    }
    inactivity_ = std::move(*inactivity);
    grace_ = std::move(*grace);
    facts["machine"] = {
        {std::string(kInactivity),
         {{"value", inactivity_.seconds ? json(*inactivity_.seconds) : json(nullptr)},
          {"source", inactivity_.where}}},
        {std::string(kGrace),
         {{"value", grace_.seconds ? json(*grace_.seconds) : json(nullptr)},
          {"source", grace_.seconds ? grace_.where : "default (5 s)"}}}};
    for (const auto* v : {&inactivity_, &grace_}) {
      if (!v->note.empty()) {
        facts["machine"]["notes"].push_back(v->note);
      }
    }

    auto subkeys = registry_.ListSubkeys(RegistryHive::kUsers, "");
    if (!subkeys.ok()) {
      error_ = subkeys.error().Wrap("listing HKEY_USERS").ToString();
      facts["error"] = *error_;
      return facts;
    }
    std::map<std::string, Profile> profiles = Profiles(facts);
    json skipped = json::array();
    for (const std::string& subkey : *subkeys) {
      const std::string_view why = platform::WhyNotUserHive(subkey);
      if (!why.empty()) {
        skipped.push_back({{"hive", Hku(subkey)}, {"reason", std::string(why)}});
        continue;
      }
      Hive hive{subkey, ""};
      // The logged-on user's own name; else the profile folder's.
      auto user_name =
          registry_.GetString(RegistryHive::kUsers, subkey + "\\Volatile Environment", "USERNAME");
      if (user_name.ok() && !user_name->empty()) {
        hive.name = *user_name;
      } else if (auto it = profiles.find(subkey); it != profiles.end()) {
        hive.name = it->second.name;
      }
      hives_.push_back(std::move(hive));
    }
    json read = json::array();
    for (const auto& h : hives_) {
      read.push_back({{"hive", Hku(h.sid)}, {"user", h.name}});
      profiles.erase(h.sid);
    }
    facts["user_hives"] = std::move(read);
    facts["skipped_hives"] = std::move(skipped);
    // Profiles whose user is not logged on have no hive under HKEY_USERS; their own settings
    // apply again at their next logon.
    facts["profiles_not_logged_on"] = ReadProfilesNotLoggedOn(profiles, notes);
    return facts;
  }

  std::vector<Evaluation> Evaluate(const std::vector<User>& /*users*/) const override {
    std::vector<Evaluation> out;
    if (error_) {
      Evaluation e{std::string(kAllUsers), std::string(kDesktop)};
      e.error = *error_;
      out.push_back(std::move(e));
      return out;
    }
    for (const auto& h : hives_) {
      Evaluation e(h.label(), std::string(kDesktop));
      auto values = ReadUserValues(UserHive(registry_, h.sid));
      if (!values.ok()) {
        e.error = values.error().ToString();
      } else {
        EvaluateValues(e, *values);
      }
      out.push_back(std::move(e));
    }
    for (const auto& p : offline_) {
      Evaluation e(p.hive.label(), std::string(kDesktop));
      if (p.machine_decides) {
        DecideByMachine(e,
                        "profile not logged on; its NTUSER.DAT is not loaded since this "
                        "limit decides for every user");
      } else if (p.error) {
        e.error = *p.error;
      } else {
        EvaluateValues(e, *p.values);
      }
      out.push_back(std::move(e));
    }
    if (out.empty()) {
      // Nobody is logged on: only the machine limit can be judged, and it alone decides.
      Evaluation e{std::string(kAllUsers), std::string(kDesktop)};
      if (MachineLocks()) {
        DecideByMachine(e, "no user hive is loaded (nobody is logged on)");
      } else {
        e.error =
            "no user is logged on (no user hive under HKEY_USERS) and no machine inactivity "
            "limit (" +
            Hklm(kMachineKey) + " [" + std::string(kInactivity) + "]) is set: nothing decides";
      }
      out.push_back(std::move(e));
    }
    return out;
  }

  bool Enforces() const override { return true; }

  Status CheckEnforceable(const Params& /*params*/) const override {
    if (error_) {
      return MakeError(ErrorCode::kUnavailable, "screen_lock enforcement: " + *error_);
    }
    return OkStatus();
  }

  Status PlanEnforcement(const Params& params, EnforcementPlan& plan) const override {
    const std::string max_idle = std::to_string(params.max_idle_seconds);
    // The machine limit locks every session, those of users not logged on now included.
    if (!inactivity_.seconds || *inactivity_.seconds <= 0 ||
        *inactivity_.seconds > params.max_idle_seconds) {
      CG_RETURN_IF_ERROR(Plan(plan, RegistryHive::kLocalMachine, kMachineKey, kInactivity,
                              RegistryValue::Dword(static_cast<uint32_t>(params.max_idle_seconds)),
                              "machine inactivity limit"));
    }
    if (grace_.seconds.value_or(kDefaultGraceSeconds) > params.max_lock_delay_seconds) {
      CG_RETURN_IF_ERROR(Plan(plan, RegistryHive::kLocalMachine, kWinlogonKey, kGrace,
                              RegistryValue::String("0"), "screen saver grace period"));
    }
    for (const auto& h : hives_) {
      const std::string policy_key = h.sid + "\\" + std::string(kUserPolicyKey);
      const UserHive hive(registry_, h.sid);
      CG_ASSIGN_OR_RETURN(UserValue program, ReadUserValue(hive, kProgram));
      CG_ASSIGN_OR_RETURN(UserValue timeout, ReadUserValue(hive, kTimeout));
      const auto seconds = timeout.text ? ParseInt(*timeout.text) : std::nullopt;
      const bool timeout_ok =
          timeout.from_policy && seconds && *seconds > 0 && *seconds <= params.max_idle_seconds;
      std::vector<std::pair<std::string_view, std::string>> wanted = {
          {kActive, "1"},
          {kSecure, "1"},
          // A stricter timeout already in the policy stays.
          {kTimeout, timeout_ok ? *timeout.text : max_idle},
          // The program the user chose, or the blank screen saver: without one the timeout
          // does nothing.
          {kProgram, program.text && !Trim(*program.text).empty() ? *program.text
                                                                  : std::string(kBlankScreenSaver)},
      };
      for (const auto& [value_name, text] : wanted) {
        CG_RETURN_IF_ERROR(Plan(plan, RegistryHive::kUsers, policy_key, value_name,
                                RegistryValue::String(text),
                                "screen saver policy of " + h.label()));
      }
    }
    return OkStatus();
  }

 private:
  // SID -> profile, from the ProfileList (local and domain profiles alike).
  std::map<std::string, Profile> Profiles(json& facts) const {
    std::map<std::string, Profile> out;
    auto sids = registry_.ListSubkeys(RegistryHive::kLocalMachine, kProfileListKey);
    if (!sids.ok()) {
      if (sids.error().code != ErrorCode::kNotFound) {
        facts["profile_list_error"] = sids.error().ToString();
      }
      return out;
    }
    for (const auto& sid : *sids) {
      if (!platform::IsUserHiveName(sid)) {
        continue;
      }
      auto path =
          registry_.GetString(RegistryHive::kLocalMachine,
                              std::string(kProfileListKey) + "\\" + sid, "ProfileImagePath");
      Profile profile;
      if (path.ok()) {
        const size_t slash = path->find_last_of("\\/");
        profile.name = slash == std::string::npos ? *path : path->substr(slash + 1);
        profile.path = *path;
      } else {
        profile.error = path.error().ToString();
      }
      out[sid] = std::move(profile);
    }
    return out;
  }

  // The facts of the profiles not logged on; with read_profiles_not_logged_on, each one's
  // NTUSER.DAT is loaded, its values read, and unloaded at once (offline_).
  json ReadProfilesNotLoggedOn(const std::map<std::string, Profile>& profiles,
                               std::vector<std::string>& notes) {
    json out = json::array();
    const bool machine_decides = MachineLocks() && *inactivity_.seconds <= params_.max_idle_seconds;
    size_t failed = 0;
    for (const auto& [sid, profile] : profiles) {
      json entry = {{"sid", sid}, {"user", profile.name}};
      if (!params_.read_profiles_not_logged_on) {
        entry["read"] = false;
        entry["reason"] = "the policy does not ask (read_profiles_not_logged_on is false)";
        out.push_back(std::move(entry));
        continue;
      }
      OfflineProfile p{Hive{sid, profile.name, false}, std::nullopt, std::nullopt, false};
      const std::string file = profile.path + "\\NTUSER.DAT";
      if (!profile.path.empty()) {
        entry["hive_file"] = file;
      }
      // Enforcement writes no hive file: the machine limit it sets locks these sessions too.
      entry["enforcement"] =
          "not written into the hive file; the machine inactivity limit covers this user";
      if (machine_decides) {
        entry["read"] = false;
        entry["reason"] = "the machine inactivity limit (" + std::to_string(*inactivity_.seconds) +
                          " s) is within the policy and decides for every user";
        p.machine_decides = true;
      } else if (profile.path.empty()) {
        p.error = "profile not logged on: no ProfileImagePath in the ProfileList (" +
                  profile.error + "): its NTUSER.DAT cannot be found";
      } else {
        auto loaded = registry_.LoadHiveFile(file);
        if (!loaded.ok()) {
          const std::string hint = LoadHint(loaded.error());
          p.error = "profile not logged on: " + loaded.error().ToString() +
                    (hint.empty() ? "" : " — " + hint);
          if (auto code = platform::Win32CodeOf(loaded.error())) {
            entry["win32_error"] = *code;
          }
        } else {
          entry["method"] = (*loaded)->method();
          auto values = ReadUserValues(UserHive(**loaded, file));
          loaded->reset();  // unload before anything else: the user may be logging on
          if (values.ok()) {
            p.values = std::move(*values);
          } else {
            p.error = "profile not logged on: reading " + file + ": " + values.error().ToString();
            if (auto code = platform::Win32CodeOf(values.error())) {
              entry["win32_error"] = *code;
            }
          }
        }
        entry["read"] = p.values.has_value();
      }
      if (p.error) {
        entry["read"] = false;
        entry["error"] = *p.error;
        ++failed;
      }
      offline_.push_back(std::move(p));
      out.push_back(std::move(entry));
    }
    if (out.empty()) {
      return out;
    }
    if (!params_.read_profiles_not_logged_on) {
      notes.push_back(std::to_string(out.size()) + " profile(s) not logged on not read; " +
                      (MachineLocks() ? "the machine inactivity limit covers them"
                                      : "only a machine inactivity limit would cover them"));
    } else if (failed > 0) {
      notes.push_back(std::to_string(failed) + " of " + std::to_string(out.size()) +
                      " profile(s) not logged on could not be read");
    }
    return out;
  }

  bool MachineLocks() const { return inactivity_.seconds && *inactivity_.seconds > 0; }

  Setting MachineSetting(std::string note) const {
    Setting s;
    s.key = std::string(kInactivity);
    s.value = inactivity_.seconds ? json(*inactivity_.seconds) : json(nullptr);
    s.source = inactivity_.where;
    s.locked = true;  // HKLM: administrators only
    s.note = std::move(note);
    return s;
  }

  void DecideByMachine(Evaluation& e, const std::string& why) const {
    e.idle_seconds = *inactivity_.seconds;
    e.idle_activation = true;
    e.lock_enabled = true;
    e.lock_delay_seconds = 0;  // the session itself locks: no grace period
    e.settings.push_back(MachineSetting("decides: Windows locks the session after " +
                                        std::to_string(*inactivity_.seconds) +
                                        " s without input (" + why + ")"));
  }

  void EvaluateValues(Evaluation& e, UserValues v) const {
    const bool active = IsOn(v[kActive]);
    const bool secure = IsOn(v[kSecure]);
    const bool has_program = v[kProgram].text && !Trim(*v[kProgram].text).empty();
    // 0 when not set or not a number: no timeout.
    const std::optional<int64_t> parsed =
        v[kTimeout].text ? ParseInt(*v[kTimeout].text) : std::nullopt;
    const int64_t timeout = parsed.value_or(0);
    const std::string timeout_note = v[kTimeout].text && !parsed ? "not a number: no timeout" : "";
    const bool saver_locks = active && secure && has_program && timeout > 0;
    const std::string saver = "screen saver: " + std::string(kTimeout) + " " +
                              (v[kTimeout].text ? *v[kTimeout].text : "not set") + " from " +
                              v[kTimeout].where;

    // The machine limit decides when it alone meets the policy (nothing the user sets can undo
    // it), or when it locks sooner than the screen saver.
    if (MachineLocks() && (*inactivity_.seconds <= params_.max_idle_seconds || !saver_locks ||
                           *inactivity_.seconds < timeout)) {
      DecideByMachine(e, saver_locks ? saver : "the screen saver does not lock: " + saver);
      return;
    }
    const int64_t grace = grace_.seconds.value_or(kDefaultGraceSeconds);
    e.idle_seconds = timeout;
    e.idle_activation = active && has_program;
    e.lock_enabled = secure;
    e.lock_delay_seconds = saver_locks ? grace : 0;
    if (active && !has_program) {
      e.desktop_failures.push_back("no screen saver program (" + std::string(kProgram) +
                                   ") is set, so the screen saver never starts");
    }
    const std::string decides = saver_locks ? "decides" : "";
    e.settings.push_back(UserSetting(kActive, v[kActive], ""));
    e.settings.push_back(UserSetting(kSecure, v[kSecure], ""));
    e.settings.push_back(UserSetting(kTimeout, v[kTimeout], timeout_note));
    e.settings.push_back(UserSetting(kProgram, v[kProgram], ""));
    if (saver_locks) {
      Setting g;
      g.key = std::string(kGrace);
      g.value = grace;
      g.source = grace_.seconds ? grace_.where : "default";
      g.locked = true;
      g.note = grace_.note;
      e.settings.push_back(std::move(g));
    }
    if (!MachineLocks()) {
      e.settings.push_back(MachineSetting(
          inactivity_.note.empty() ? "not set: no machine inactivity limit" : inactivity_.note));
    }
  }

  // Adds a write of `after` unless the value is already exactly that.
  Status Plan(EnforcementPlan& plan, RegistryHive hive, std::string_view key, std::string_view name,
              RegistryValue after, std::string why) const {
    CG_ASSIGN_OR_RETURN(auto before, GetOptional(registry_, hive, key, name));
    if (before && before->type == after.type && before->text == after.text &&
        before->number == after.number) {
      return OkStatus();
    }
    plan.registry_writes.push_back(PlannedRegistryWrite{hive, std::string(key), std::string(name),
                                                        std::move(before), std::move(after),
                                                        std::move(why)});
    return OkStatus();
  }

  const Registry& registry_;
  Params params_;
  std::optional<std::string> error_;
  MachineValue inactivity_;
  MachineValue grace_;
  std::vector<Hive> hives_;
  std::vector<OfflineProfile> offline_;
};

}  // namespace

std::unique_ptr<Source> MakeWindowsSource(const platform::Registry& registry,
                                          const Params& params) {
  return std::make_unique<WindowsSource>(registry, params);
}

}  // namespace cg::collectors::screen_lock

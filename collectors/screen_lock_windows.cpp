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

// One of a user's screen saver values: the policy key's when it holds a REG_SZ, else the user
// key's. A value of another type is skipped with a note: the screen saver reads strings.
struct UserValue {
  std::optional<std::string> text;
  std::string where = "not set";  // the key it came from
  bool from_policy = false;
  std::vector<std::string> notes;
};

Result<UserValue> ReadUserValue(const Registry& registry, const std::string& sid,
                                std::string_view name) {
  UserValue out;
  for (const bool policy : {true, false}) {
    const std::string key = sid + "\\" + std::string(policy ? kUserPolicyKey : kUserKey);
    CG_ASSIGN_OR_RETURN(auto value, GetOptional(registry, RegistryHive::kUsers, key, name));
    if (!value) {
      continue;
    }
    if (value->type != RegistryValueType::kString) {
      out.notes.push_back(Hku(key) + " [" + std::string(name) + "] is " +
                          std::string(TypeName(value->type)) + ", not REG_SZ: not counted");
      continue;
    }
    out.text = value->text;
    out.where = Hku(key);
    out.from_policy = policy;
    return out;
  }
  return out;
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
  std::string label() const { return name.empty() ? sid : name + " (" + sid + ")"; }
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
    std::map<std::string, std::string> profile_names = ProfileNames(facts);
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
      } else if (auto it = profile_names.find(subkey); it != profile_names.end()) {
        hive.name = it->second;
      }
      hives_.push_back(std::move(hive));
    }
    json read = json::array();
    for (const auto& h : hives_) {
      read.push_back({{"hive", Hku(h.sid)}, {"user", h.name}});
      profile_names.erase(h.sid);
    }
    json not_loaded = json::array();
    for (const auto& [sid, name] : profile_names) {
      not_loaded.push_back({{"sid", sid}, {"user", name}});
    }
    facts["user_hives"] = std::move(read);
    facts["skipped_hives"] = std::move(skipped);
    // Profiles whose user is not logged on have no hive under HKEY_USERS; their own settings
    // apply again at their next logon, when the machine limit (if any) covers them as well.
    facts["profiles_not_logged_on"] = std::move(not_loaded);
    if (!facts["profiles_not_logged_on"].empty()) {
      notes.push_back(std::to_string(facts["profiles_not_logged_on"].size()) +
                      " profile(s) not logged on not read; " +
                      (MachineLocks() ? "the machine inactivity limit covers them"
                                      : "only a machine inactivity limit would cover them"));
    }
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
      out.push_back(EvaluateHive(h));
    }
    if (hives_.empty()) {
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
      CG_ASSIGN_OR_RETURN(UserValue program, ReadUserValue(registry_, h.sid, kProgram));
      CG_ASSIGN_OR_RETURN(UserValue timeout, ReadUserValue(registry_, h.sid, kTimeout));
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
  // SID -> profile folder name, from the ProfileList (local and domain profiles alike).
  std::map<std::string, std::string> ProfileNames(json& facts) const {
    std::map<std::string, std::string> out;
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
      std::string name;
      if (path.ok()) {
        const size_t slash = path->find_last_of("\\/");
        name = slash == std::string::npos ? *path : path->substr(slash + 1);
      }
      out[sid] = name;
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

  Evaluation EvaluateHive(const Hive& h) const {
    Evaluation e(h.label(), std::string(kDesktop));
    std::map<std::string_view, UserValue> v;
    for (std::string_view name : {kActive, kSecure, kTimeout, kProgram}) {
      auto read = ReadUserValue(registry_, h.sid, name);
      if (!read.ok()) {
        e.error = read.error().ToString();
        return e;
      }
      v[name] = std::move(read).value();
    }
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
      return e;
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
    return e;
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
};

}  // namespace

std::unique_ptr<Source> MakeWindowsSource(const platform::Registry& registry,
                                          const Params& params) {
  return std::make_unique<WindowsSource>(registry, params);
}

}  // namespace cg::collectors::screen_lock

// screen_lock's Xfce source: xfconf, the system channel file then the user's, with the
// locked="..." / unlocked="..." user lists; xfce4-screensaver's defaults. Not enforced.
#include <map>
#include <optional>
#include <set>

#include "collectors/screen_lock_source.h"
#include "collectors/xfconf.h"
#include "common/text.h"

namespace cg::collectors::screen_lock {
namespace {

using nlohmann::json;

// Xfce
constexpr std::string_view kXfconfSystemFile =
    "/etc/xdg/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml";
constexpr std::string_view kXfconfUserFile =
    "/.config/xfce4/xfconf/xfce-perchannel-xml/xfce4-screensaver.xml";
constexpr std::string_view kXfceScreensaver = "/usr/bin/xfce4-screensaver";
constexpr std::string_view kOtherXfceLockers[] = {"/usr/bin/light-locker", "/usr/bin/xscreensaver"};

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

class XfceSource final : public Source {
 public:
  explicit XfceSource(const platform::FileSystem& fs) : fs_(fs) {}

  std::string_view name() const override { return "xfce"; }

  json LoadSystem(std::vector<std::string>& /*notes*/) override {
    system_ = LoadXfceSystem(fs_);
    return {{"locker", fs_.Exists(kXfceScreensaver) ? "xfce4-screensaver" : "other"},
            {"system_file", system_.channel ? json(kXfconfSystemFile) : json(nullptr)}};
  }

  std::vector<Evaluation> Evaluate(const std::vector<User>& users) const override {
    std::vector<Evaluation> out;
    if (system_.machine_failure) {
      Evaluation e(std::string(kAllUsers), "xfce");
      e.failures.push_back(*system_.machine_failure);
      out.push_back(std::move(e));
      return out;
    }
    for (const auto& u : users) {
      out.push_back(EvaluateXfce(fs_, system_, u));
    }
    return out;
  }

 private:
  const platform::FileSystem& fs_;
  XfceSystem system_;
};

}  // namespace

std::unique_ptr<Source> MakeXfceSource(const platform::FileSystem& fs) {
  return std::make_unique<XfceSource>(fs);
}

}  // namespace cg::collectors::screen_lock

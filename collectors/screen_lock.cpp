// screen_lock: which desktops are installed, then for every interactive user (and for a new
// user without settings of their own) the value each desktop's screen locker would use, read
// by that desktop's source (screen_lock_source.h: GNOME, KDE, Xfce on Linux) and judged here
// against the policy, the same way for every source.
#include "collectors/screen_lock.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "collectors/screen_lock_desktops.h"
#include "collectors/screen_lock_source.h"
#include "common/ids.h"
#include "common/text.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;
using screen_lock::EnforcementPlan;
using screen_lock::Evaluation;
using screen_lock::Join;
using screen_lock::kNewUser;
using screen_lock::Params;
using screen_lock::PlannedWrite;
using screen_lock::ReadParams;
using screen_lock::User;

constexpr std::string_view kCheckId = "screen_lock";

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

// --- the judgement, shared by every source ------------------------------------------------

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

// Judges every evaluation and fills the result: fail when any user fails, else error when any
// could not be read, else pass with `pass_summary`.
void Conclude(CheckResult& r, std::vector<Evaluation>& evals, const Params& params, json facts,
              const std::vector<std::string>& notes, const std::string& pass_summary) {
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
    r.summary = pass_summary + note_text;
  }
  if (r.summary.size() > protocol::kMaxSummary) {
    r.summary.resize(protocol::kMaxSummary - 3);
    r.summary += "...";
  }
}

// Windows: the registry decides (screen_lock_windows.cpp).
CheckResult EvaluateRegistry(const CheckContext& ctx, const Params& params) {
  CheckResult r = MakeResult(kCheckId, ctx.policy);
  auto source = screen_lock::MakeWindowsSource(*ctx.platform.registry, params);
  std::vector<std::string> notes;
  json facts = {{"windows", source->LoadSystem(notes)}};
  std::vector<Evaluation> evals = source->Evaluate({});
  size_t users = 0;
  size_t offline = 0;
  for (const auto& e : evals) {
    if (e.user.ends_with("not logged on)")) {
      ++offline;
    } else if (e.user != screen_lock::kAllUsers) {
      ++users;
    }
  }
  Conclude(
      r, evals, params, std::move(facts), notes,
      "screen lock compliant for " + std::to_string(users) + " logged-on user(s)" +
          (offline > 0 ? " and " + std::to_string(offline) + " profile(s) not logged on" : ""));
  return r;
}

Change RegistryChange(const screen_lock::PlannedRegistryWrite& w) {
  Change c;
  c.target = RegistryValuePath(w.hive, w.key, w.name);
  c.action = "set_registry_value";
  c.before = {{"exists", w.before.has_value()}};
  if (w.before) {
    c.before["value"] = RegistryValueToJson(*w.before);
  }
  c.after = {{"exists", true}, {"value", RegistryValueToJson(w.after)}, {"why", w.why}};
  c.undo.push_back(RestoreRegistryValueOp(w.hive, w.key, w.name, w.before));
  return c;
}

Result<std::vector<Change>> RemediateRegistry(const CheckContext& ctx, const Params& params,
                                              bool dry_run) {
  platform::Registry& registry = *ctx.platform.registry;
  auto source = screen_lock::MakeWindowsSource(registry, params);
  std::vector<std::string> notes;
  (void)source->LoadSystem(notes);
  CG_RETURN_IF_ERROR(source->CheckEnforceable(params));
  EnforcementPlan plan;
  CG_RETURN_IF_ERROR(source->PlanEnforcement(params, plan));
  std::vector<Change> changes;
  for (size_t i = 0; i < plan.registry_writes.size(); ++i) {
    const auto& w = plan.registry_writes[i];
    if (!dry_run) {
      if (auto st = registry.SetValue(w.hive, w.key, w.name, w.after); !st.ok()) {
        // Put back what this run already wrote, newest first: nothing is journaled for a
        // failed enforcement, so nothing may stay changed.
        std::vector<std::string> not_restored;
        for (size_t k = i; k-- > 0;) {
          const auto& done = plan.registry_writes[k];
          const Status back = done.before
                                  ? registry.SetValue(done.hive, done.key, done.name, *done.before)
                                  : registry.DeleteValue(done.hive, done.key, done.name);
          if (!back.ok()) {
            not_restored.push_back(RegistryValuePath(done.hive, done.key, done.name) + " (" +
                                   back.error().message + ")");
          }
        }
        return st.error().Wrap("screen_lock enforcement (" +
                               (i == 0 ? std::string("nothing was changed")
                                : not_restored.empty()
                                    ? std::to_string(i) + " earlier value(s) restored"
                                    : "NOT restored: " + Join(not_restored, ", ")) +
                               ")");
      }
    }
    changes.push_back(RegistryChange(w));
  }
  return changes;
}

}  // namespace

CheckResult ScreenLockCheck::Evaluate(const CheckContext& ctx) const {
  const Params params = ReadParams(ctx.policy);
  if (ctx.platform.registry != nullptr) {
    return EvaluateRegistry(ctx, params);
  }
  CheckResult r = MakeResult(kCheckId, ctx.policy);
  const platform::FileSystem& fs = *ctx.platform.fs;
  const screen_lock::Environment env = screen_lock::DetectEnvironment(fs);
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
  for (const auto& source : screen_lock::MakeSources(fs, env)) {
    facts[std::string(source->name())] = source->LoadSystem(notes);
    for (auto& e : source->Evaluate(*users)) {
      evals.push_back(std::move(e));
    }
  }
  for (auto& e : screen_lock::UnreadDesktops(env)) {
    evals.push_back(std::move(e));
  }
  Conclude(r, evals, params, std::move(facts), notes,
           "screen lock compliant on " + Join(env.desktops(), ", ") + " for " +
               std::to_string(users->size() - 1) + " user(s) and new users");
  return r;
}

Result<std::vector<Change>> ScreenLockCheck::Remediate(const CheckContext& ctx,
                                                       const CheckResult& /*failed*/,
                                                       bool dry_run) const {
  const Params params = ReadParams(ctx.policy);
  if (ctx.platform.registry != nullptr) {
    return RemediateRegistry(ctx, params, dry_run);
  }
  platform::FileSystem& fs = *ctx.platform.fs;
  const screen_lock::Environment env = screen_lock::DetectEnvironment(fs);
  std::vector<std::unique_ptr<screen_lock::Source>> sources;
  for (auto& source : screen_lock::MakeSources(fs, env)) {
    if (source->Enforces()) {
      sources.push_back(std::move(source));
    }
  }
  if (sources.empty()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "screen lock enforcement covers GNOME and KDE; neither is installed (" +
            (env.desktops().empty() ? std::string("no desktop") : Join(env.desktops(), ", ")) +
            ")");
  }
  for (const auto& source : sources) {
    CG_RETURN_IF_ERROR(source->CheckEnforceable(params));
  }
  EnforcementPlan plan;
  for (const auto& source : sources) {
    CG_RETURN_IF_ERROR(source->PlanEnforcement(params, plan));
  }
  std::vector<Change> changes;
  for (const auto& w : plan.writes) {
    changes.push_back(FileChange(w));
  }
  if (dry_run) {
    for (const auto& command : plan.commands) {
      changes.push_back(Change{command.target,
                               "run_command",
                               {{"argv", command.argv}},
                               {{"argv", command.argv}, {"planned", true}}});
    }
    return changes;
  }
  const auto& writes = plan.writes;
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
  for (const auto& command : plan.commands) {
    // The compiled database is what sessions read; undoing the file changes means running
    // the same command again, so `before` names it.
    Change c{command.target, "run_command", {{"argv", command.argv}}, {{"argv", command.argv}}};
    // Recompiling after the keyfiles are restored brings the database back as well.
    c.undo.push_back({{"op", "run"}, {"argv", command.argv}});
    auto res = ctx.platform.commands->Run(command.argv, command.timeout);
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

// password_age: judgement of shadow ageing fields against the policy, and its enforcement
// through login.defs and chage (see password_age.h for the rules).
#include "collectors/password_age.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace cg::collectors {
namespace {

using nlohmann::json;
using platform::AccountDatabase;
using platform::AccountIssue;
using platform::LocalAccount;
using platform::PasswordState;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kLoginDefs = "/etc/login.defs";
constexpr std::string_view kPassMaxDays = "PASS_MAX_DAYS";
constexpr std::chrono::seconds kChageTimeout{30};
// shadow(5) tools write 99999 for "never expires".
constexpr int64_t kNoMaximumSentinel = 99999;
// Accounts named in the summary before "and N more": keeps it one readable line.
constexpr size_t kSummaryNames = 10;
// Reports are size-limited (protocol::kMaxSummary, kMaxReportBytes) and a corrupt shadow
// file can produce one issue per line, so both are capped.
constexpr size_t kMaxSummaryChars = 1024;
constexpr size_t kMaxIssueFacts = 50;

struct Params {
  int64_t max_days = 90;
  int64_t warning_days = 14;
  bool include_root = false;
};

Params ReadParams(const policy::CheckPolicy& p) {
  return Params{p.Int("max_days"), p.Int("expiry_warning_days"), p.Bool("include_root")};
}

// Days since 1970-01-01 (UTC), the unit of /etc/shadow, rounded down.
int64_t DayOf(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count();
}

std::string DayToDate(int64_t day) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{day}}};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

json OptionalJson(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }

struct Verdict {
  const LocalAccount* account = nullptr;
  std::optional<int64_t> days_since_change;
  std::optional<int64_t> expires_in_days;
  bool must_change = false;
  bool needs_max = false;            // remediation: no maximum or one above the policy
  std::vector<std::string> reasons;  // why it fails; empty when compliant
};

struct Assessment {
  int64_t today = 0;
  std::vector<Verdict> judged;
  std::vector<const LocalAccount*> system;
  std::vector<const LocalAccount*> no_login;
  std::vector<const LocalAccount*> locked;
  std::vector<const LocalAccount*> account_expired;
  std::vector<AccountIssue> issues;
  std::optional<std::string> defaults_failure;  // login.defs PASS_MAX_DAYS not compliant
};

Verdict Judge(const LocalAccount& a, int64_t today, const Params& params) {
  Verdict v;
  v.account = &a;
  if (a.password == PasswordState::kEmpty) {
    v.reasons.push_back("empty password");
  }
  if (!a.last_change_day) {
    // shadow(5): an empty last-change field disables ageing, whatever the maximum says.
    v.reasons.push_back("ageing disabled (no last change date)");
  } else if (*a.last_change_day == 0) {
    v.must_change = true;  // the user must pick a new password at the next login
  } else {
    v.days_since_change = today - *a.last_change_day;
    if (*v.days_since_change > params.max_days) {
      v.reasons.push_back(std::to_string(*v.days_since_change) + " d");
    }
  }
  if (!a.max_days) {
    v.needs_max = true;
    v.reasons.push_back(a.password_never_expires ? "password never expires" : "no maximum");
  } else if (*a.max_days > params.max_days) {
    v.needs_max = true;
    // The facts keep the number; the summary says what 99999 means.
    v.reasons.push_back(*a.max_days >= kNoMaximumSentinel
                            ? std::string("no maximum")
                            : "maximum " + std::to_string(*a.max_days) + " d");
  }
  if (a.last_change_day && *a.last_change_day > 0 && a.max_days) {
    v.expires_in_days = *a.last_change_day + *a.max_days - today;
    if (*v.expires_in_days < 0) {
      v.reasons.push_back("expired " + std::to_string(-*v.expires_in_days) + " d ago");
    }
  }
  return v;
}

Assessment Assess(const AccountDatabase& db, int64_t today, const Params& params) {
  Assessment out;
  out.today = today;
  out.issues = db.issues;
  const auto& d = db.defaults;
  for (const auto& a : db.accounts) {
    const bool is_root = a.uid == 0;
    const bool interactive_uid = a.uid >= d.uid_min && a.uid <= d.uid_max;
    if (is_root ? !params.include_root : !interactive_uid) {
      out.system.push_back(&a);
    } else if (!a.login_shell) {
      out.no_login.push_back(&a);
    } else if (a.expire_day && *a.expire_day > 0 && today >= *a.expire_day) {
      out.account_expired.push_back(&a);  // the account itself is disabled: nobody logs in
    } else if (a.password == PasswordState::kLocked) {
      out.locked.push_back(&a);
    } else if (a.password == PasswordState::kUnknown) {
      out.issues.push_back(
          AccountIssue{"/etc/shadow", "account '" + a.name + "' (uid " + std::to_string(a.uid) +
                                          ") has no shadow entry; its password cannot be judged"});
    } else {
      out.judged.push_back(Judge(a, today, params));
    }
  }
  const bool sam = db.store == platform::AccountStore::kWindowsSam;
  if (!d.pass_max_days) {
    out.defaults_failure =
        sam ? "the machine's maximum password age is unlimited (passwords never expire)"
            : "/etc/login.defs sets no PASS_MAX_DAYS (new accounts would not age)";
  } else if (*d.pass_max_days > params.max_days) {
    out.defaults_failure =
        (sam ? "the machine's maximum password age is " : "/etc/login.defs PASS_MAX_DAYS is ") +
        std::to_string(*d.pass_max_days) + (sam ? " days" : "") + " (policy " +
        std::to_string(params.max_days) + ")";
  }
  return out;
}

json Names(const std::vector<const LocalAccount*>& accounts) {
  json out = json::array();
  for (const auto* a : accounts) {
    out.push_back(a->name);
  }
  return out;
}

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// "alice (143 d), bob (no maximum)", capped at kSummaryNames accounts.
template <typename Item, typename Fn>
std::string NameList(const std::vector<Item>& items, Fn describe) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < kSummaryNames; ++i) {
    out += (i == 0 ? "" : ", ") + describe(items[i]);
  }
  if (items.size() > kSummaryNames) {
    out += " and " + std::to_string(items.size() - kSummaryNames) + " more";
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : std::string(sep)) + p;
  }
  return out;
}

// The length of the well-formed UTF-8 sequence of a non-ASCII character at `s[i]` (RFC 3629:
// no overlong forms, no surrogates, at most U+10FFFF), 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    lo = c == 0xe0 ? 0xa0 : 0x80;
    hi = c == 0xed ? 0x9f : 0xbf;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    lo = c == 0xf0 ? 0x90 : 0x80;
    hi = c == 0xf4 ? 0x8f : 0xbf;
  } else {
    return 0;
  }
  if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) {
    return 0;
  }
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
      return 0;
    }
  }
  return n;
}

// The account files are bytes while reports are UTF-8 JSON (nlohmann refuses to serialise
// invalid UTF-8): control characters and bytes that are not UTF-8 are shown as '?'. Names in
// UTF-8 (every name on Windows, where they come from UTF-16: "Nguyễn Văn Ánh") stay as they are.
std::string Printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
      ++i;
    } else if (const size_t n = Utf8SequenceLength(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

void MakePrintable(json& j) {
  if (j.is_string()) {
    j = Printable(j.get_ref<const std::string&>());
  } else if (j.is_structured()) {
    for (auto& child : j) {
      MakePrintable(child);
    }
  }
}

std::string CapSummary(std::string s) {
  if (s.size() > kMaxSummaryChars) {
    s.resize(kMaxSummaryChars - 3);
    s += "...";
  }
  return s;
}

CheckResult BuildResult(const CheckContext& ctx, const AccountDatabase& db, const Assessment& as,
                        const Params& params) {
  CheckResult r = MakeResult(PasswordAgeCheck::kId, ctx.policy);
  const auto& d = db.defaults;

  json accounts = json::array();
  json expiring = json::array();
  std::vector<const Verdict*> failing;
  std::vector<const Verdict*> soon;
  std::optional<int64_t> oldest;
  for (const auto& v : as.judged) {
    const LocalAccount& a = *v.account;
    json last_change = nullptr;
    if (a.last_change_day && *a.last_change_day > 0) {
      last_change = DayToDate(*a.last_change_day);
    }
    accounts.push_back({{"name", a.name},
                        {"uid", a.uid},
                        {"password", a.password == PasswordState::kEmpty ? "empty" : "set"},
                        {"last_change", last_change},
                        {"days_since_change", OptionalJson(v.days_since_change)},
                        {"must_change_at_next_login", v.must_change},
                        {"max_days", OptionalJson(a.max_days)},
                        {"expires_in_days", OptionalJson(v.expires_in_days)},
                        {"compliant", v.reasons.empty()},
                        {"reasons", v.reasons}});
    if (db.store == platform::AccountStore::kWindowsSam) {
      accounts.back()["password_never_expires"] = a.password_never_expires;
    }
    if (!v.reasons.empty()) {
      failing.push_back(&v);
    }
    if (v.expires_in_days && *v.expires_in_days >= 0 && *v.expires_in_days <= params.warning_days) {
      soon.push_back(&v);
      expiring.push_back({{"name", a.name}, {"expires_in_days", *v.expires_in_days}});
    }
    if (v.days_since_change && (!oldest || *v.days_since_change > *oldest)) {
      oldest = v.days_since_change;
    }
  }
  json issues = json::array();
  for (size_t i = 0; i < as.issues.size() && i < kMaxIssueFacts; ++i) {
    issues.push_back({{"source", as.issues[i].source}, {"message", as.issues[i].message}});
  }
  const bool sam = db.store == platform::AccountStore::kWindowsSam;
  r.facts = {{"today", DayToDate(as.today)}};
  if (sam) {
    // NetUserModalsGet level 0 (usrmod0_max_passwd_age); accounts from NetUserEnum and
    // NetUserGetInfo, judged from RID 500 (the built-in Administrator) up when enabled.
    r.facts["machine_password_policy"] = {{"max_password_age_days", OptionalJson(d.pass_max_days)},
                                          {"min_password_age_days", OptionalJson(d.pass_min_days)},
                                          {"source", "NetUserModalsGet"}};
    json directory = json::array();
    for (const auto& a : db.directory_accounts) {
      directory.push_back({{"name", a.name}, {"sid", a.sid}, {"governed_by", a.directory}});
    }
    r.facts["directory_accounts"] = std::move(directory);
  } else {
    r.facts["login_defs"] = {{"pass_max_days", OptionalJson(d.pass_max_days)},
                             {"uid_min", d.uid_min},
                             {"uid_max", d.uid_max}};
  }
  r.facts.update(json{{"accounts", accounts},
                      {"expiring", expiring},
                      {"locked_accounts", Names(as.locked)},
                      {"system_accounts", Names(as.system)},
                      {"no_login_shell_accounts", Names(as.no_login)},
                      {"expired_accounts", Names(as.account_expired)},
                      {"issues", issues},
                      {"issues_total", as.issues.size()}});
  r.expected = {{"max_days", params.max_days}};
  json failing_names = json::array();
  for (const auto* v : failing) {
    failing_names.push_back(v->account->name);
  }
  r.observed = {{sam ? "machine_max_password_age_days" : "login_defs_pass_max_days",
                 OptionalJson(d.pass_max_days)},
                {"oldest_password_days", OptionalJson(oldest)},
                {"failing_accounts", failing_names}};

  const std::string policy_days = std::to_string(params.max_days);
  const bool fails = !failing.empty() || as.defaults_failure.has_value();
  if (!fails && !as.issues.empty()) {
    // Never pass over an entry we could not read.
    const auto& first = as.issues.front();
    r.status = CheckStatus::kError;
    r.summary = "cannot decide: " + first.source + ": " + first.message;
    if (as.issues.size() > 1) {
      r.summary += " (and " + Plural(as.issues.size() - 1, "more issue", "more issues") + ")";
    }
    r.summary = CapSummary(Printable(r.summary));
    MakePrintable(r.facts);
    MakePrintable(r.observed);
    return r;
  }
  std::vector<std::string> parts;
  if (!failing.empty()) {
    parts.push_back(std::to_string(failing.size()) + " of " +
                    Plural(as.judged.size(), "interactive account", "interactive accounts") +
                    (as.judged.size() == 1 ? " has" : " have") + " passwords older than " +
                    policy_days + " days: " + NameList(failing, [](const Verdict* v) {
                      return v->account->name + " (" + Join(v->reasons, ", ") + ")";
                    }));
  }
  if (as.defaults_failure) {
    parts.push_back(*as.defaults_failure);
  }
  if (fails) {
    r.status = CheckStatus::kFail;
    if (!as.issues.empty()) {
      parts.push_back(Plural(as.issues.size(), "issue", "issues") +
                      " in the account files, the first at " + as.issues.front().source);
    }
  } else {
    r.status = CheckStatus::kPass;
    if (as.judged.empty()) {
      parts.push_back("no interactive account has a usable password (" +
                      Plural(as.locked.size(), "locked", "locked") + ", " +
                      Plural(as.system.size(), "system account", "system accounts") +
                      " not judged)");
    } else {
      parts.push_back(Plural(as.judged.size(), "interactive account", "interactive accounts") +
                      (as.judged.size() == 1 ? " complies" : " comply") + " with the " +
                      policy_days + "-day password maximum");
    }
  }
  if (!db.directory_accounts.empty()) {
    parts.push_back(
        Plural(db.directory_accounts.size(), "directory account", "directory accounts") +
        " (domain, Entra ID) governed by the directory's own policy, not judged");
  }
  if (!soon.empty()) {
    parts.push_back(std::to_string(soon.size()) + " expiring within " +
                    std::to_string(params.warning_days) +
                    " days: " + NameList(soon, [](const Verdict* v) {
                      return v->account->name + " (" + std::to_string(*v->expires_in_days) + " d)";
                    }));
  }
  r.summary = CapSummary(Printable(Join(parts, "; ")));
  MakePrintable(r.facts);
  MakePrintable(r.observed);
  return r;
}

// Sets every active `key` line to "key<TAB>value", or appends one; every other byte of the
// file is kept as it was.
std::string SetLoginDefsValue(std::string_view text, std::string_view key, int64_t value) {
  const std::string line_text = std::string(key) + "\t" + std::to_string(value);
  std::string out;
  bool found = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    const bool has_newline = end != std::string_view::npos;
    if (!has_newline) {
      end = text.size();
    }
    std::string_view line = text.substr(pos, end - pos);
    const bool crlf = !line.empty() && line.back() == '\r';
    std::string_view body = crlf ? line.substr(0, line.size() - 1) : line;
    const size_t start = body.find_first_not_of(" \t");
    const std::string_view trimmed =
        start == std::string_view::npos ? std::string_view() : body.substr(start);
    const bool matches = trimmed.size() > key.size() && trimmed.substr(0, key.size()) == key &&
                         (trimmed[key.size()] == ' ' || trimmed[key.size()] == '\t');
    if (matches || trimmed == key) {
      out += line_text;
      out += crlf ? "\r" : "";
      found = true;
    } else {
      out += line;
    }
    out += has_newline ? "\n" : "";
    pos = end + 1;
  }
  if (!found) {
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
    out += line_text + "\n";
  }
  return out;
}

// User names as useradd accepts them; anything else is not passed to a command line.
bool SafeUserName(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.size() > 256) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == '$' || c == '@';
  });
}

std::string DescribeApplied(const std::vector<Change>& applied) {
  if (applied.empty()) {
    return "nothing was changed";
  }
  std::vector<std::string> targets;
  for (const auto& c : applied) {
    targets.push_back(c.target);
  }
  return "already changed: " + Join(targets, ", ");
}

// Windows: the machine's maximum password age (NetUserModalsSet) and "password never expires"
// cleared on judged accounts (NetUserSetInfo), through the platform's account API.
Result<std::vector<Change>> RemediateSam(platform::Accounts& accounts, const AccountDatabase& db,
                                         const Assessment& as, const Params& params, bool dry_run) {
  std::vector<Change> plan;
  std::vector<std::function<Status()>> steps;
  if (as.defaults_failure) {
    Change change{"machine:maximum password age",
                  "set the maximum password age to " + std::to_string(params.max_days) + " days",
                  {{"max_days", OptionalJson(db.defaults.pass_max_days)}},
                  {{"max_days", params.max_days}}};
    change.undo.push_back(
        {{"op", "set_max_password_days"}, {"days", OptionalJson(db.defaults.pass_max_days)}});
    plan.push_back(std::move(change));
    steps.push_back([&accounts, &params] { return accounts.SetMaxPasswordDays(params.max_days); });
  }
  for (const auto& v : as.judged) {
    const LocalAccount& a = *v.account;
    if (!a.password_never_expires) {
      continue;
    }
    Change change{"account:" + a.name,
                  "clear \"password never expires\"",
                  {{"password_never_expires", true}},
                  {{"password_never_expires", false}}};
    change.undo.push_back(
        {{"op", "set_password_never_expires"}, {"account", a.name}, {"never_expires", true}});
    plan.push_back(std::move(change));
    steps.push_back(
        [&accounts, name = a.name] { return accounts.SetPasswordNeverExpires(name, false); });
  }
  if (dry_run) {
    return plan;
  }
  std::vector<Change> applied;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (Status s = steps[i](); !s.ok()) {
      return s.error().Wrap("password_age remediation: " + plan[i].action + " (" +
                            DescribeApplied(applied) + ")");
    }
    applied.push_back(plan[i]);
  }
  return applied;
}

}  // namespace

CheckResult PasswordAgeCheck::Evaluate(const CheckContext& ctx) const {
  const Params params = ReadParams(ctx.policy);
  auto db = ctx.platform.accounts->Read();
  if (!db.ok()) {
    return ErrorResult(kId, ctx.policy, "cannot read the account databases: " + db.error().message);
  }
  const Assessment as = Assess(*db, DayOf(ctx.platform.clock->Now()), params);
  return BuildResult(ctx, *db, as, params);
}

Result<std::vector<Change>> PasswordAgeCheck::Remediate(const CheckContext& ctx,
                                                        const protocol::CheckResult& /*failed*/,
                                                        bool dry_run) const {
  const Params params = ReadParams(ctx.policy);
  auto db = ctx.platform.accounts->Read();
  if (!db.ok()) {
    return db.error().Wrap("password_age remediation: reading accounts");
  }
  const Assessment as = Assess(*db, DayOf(ctx.platform.clock->Now()), params);
  if (!as.issues.empty()) {
    // Rewriting /etc/shadow (chage) next to a line we cannot parse could make matters worse;
    // an administrator has to look first.
    const auto& first = as.issues.front();
    return MakeError(ErrorCode::kConflict, "password_age remediation refused: " +
                                               Printable(first.source + ": " + first.message));
  }

  if (db->store == platform::AccountStore::kWindowsSam) {
    return RemediateSam(*ctx.platform.accounts, *db, as, params, dry_run);
  }
  platform::FileSystem& fs = *ctx.platform.fs;
  std::vector<Change> plan;
  std::optional<std::string> new_login_defs;
  uint32_t login_defs_mode = 0644;
  if (as.defaults_failure) {
    auto text = fs.ReadFile(kLoginDefs);
    if (!text.ok() && text.error().code != ErrorCode::kNotFound) {
      return text.error().Wrap("password_age remediation");
    }
    new_login_defs =
        SetLoginDefsValue(text.ok() ? *text : std::string(), kPassMaxDays, params.max_days);
    if (auto info = fs.Stat(kLoginDefs); info.ok() && info->type == platform::FileType::kRegular) {
      login_defs_mode = info->mode;
    }
    Change change{std::string(kLoginDefs),
                  "set " + std::string(kPassMaxDays) + " " + std::to_string(params.max_days),
                  {{std::string(kPassMaxDays), OptionalJson(db->defaults.pass_max_days)}},
                  {{std::string(kPassMaxDays), params.max_days}}};
    change.undo.push_back(RestoreFileOp(
        kLoginDefs, text.ok() ? std::optional<std::string>(*text) : std::nullopt, login_defs_mode));
    plan.push_back(std::move(change));
  }
  std::vector<std::vector<std::string>> commands;
  for (const auto& v : as.judged) {
    if (!v.needs_max) {
      continue;
    }
    const LocalAccount& a = *v.account;
    if (!SafeUserName(a.name)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "password_age remediation: refusing to pass user name '" +
                           Printable(a.name) + "' to chage");
    }
    std::vector<std::string> argv = {"chage"};
    if (fs.root() != "/") {
      argv.insert(argv.end(), {"--root", fs.HostPath("/")});
    }
    std::vector<std::string> undo_argv = argv;
    argv.insert(argv.end(), {"-M", std::to_string(params.max_days), a.name});
    // chage -M -1 removes the maximum, which is what an empty field means.
    undo_argv.insert(undo_argv.end(),
                     {"-M", a.max_days ? std::to_string(*a.max_days) : "-1", a.name});
    commands.push_back(std::move(argv));
    Change change{"account:" + a.name,
                  "chage -M " + std::to_string(params.max_days),
                  {{"max_days", OptionalJson(a.max_days)}},
                  {{"max_days", params.max_days}}};
    change.undo.push_back({{"op", "run"}, {"argv", undo_argv}});
    plan.push_back(std::move(change));
  }
  if (dry_run) {
    return plan;
  }

  std::vector<Change> applied;
  size_t next = 0;
  if (new_login_defs) {
    if (Status s = fs.WriteFileAtomic(kLoginDefs, *new_login_defs, login_defs_mode); !s.ok()) {
      return s.error().Wrap("password_age remediation");
    }
    applied.push_back(plan[next++]);
  }
  for (const auto& argv : commands) {
    auto r = ctx.platform.commands->Run(argv, kChageTimeout, 64u << 10);
    const std::string what = Join(argv, " ");
    if (!r.ok()) {
      return r.error().Wrap("password_age remediation: " + what + " (" + DescribeApplied(applied) +
                            ")");
    }
    if (r->timed_out || r->exit_code != 0) {
      std::string err = r->err.substr(0, r->err.find('\n'));
      return MakeError(
          ErrorCode::kIo,
          "password_age remediation: " + what +
              (r->timed_out ? " timed out" : " exited " + std::to_string(r->exit_code)) +
              (err.empty() ? "" : ": " + err) + " (" + DescribeApplied(applied) + ")");
    }
    applied.push_back(plan[next++]);
  }
  return applied;
}

}  // namespace cg::collectors

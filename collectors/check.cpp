// The check registry and the runner that evaluates, enforces and records.
#include "collectors/check.h"

#include <algorithm>
#include <exception>
#include <functional>

#include "common/ids.h"

namespace cg::collectors {

using protocol::CheckResult;
using protocol::CheckStatus;

Result<std::vector<Change>> Check::Remediate(const CheckContext&, const CheckResult&, bool) const {
  return MakeError(ErrorCode::kInvalidArgument,
                   "check '" + std::string(id()) + "' has no remediation");
}

void CheckRegistry::Register(std::unique_ptr<Check> check) { checks_.push_back(std::move(check)); }

const Check* CheckRegistry::Find(std::string_view id) const {
  for (const auto& c : checks_) {
    if (c->id() == id) {
      return c.get();
    }
  }
  return nullptr;
}

CheckResult MakeResult(std::string_view id, const policy::CheckPolicy& policy) {
  CheckResult r;
  r.id = std::string(id);
  r.severity = policy.severity;
  r.status = CheckStatus::kError;
  return r;
}

CheckResult ErrorResult(std::string_view id, const policy::CheckPolicy& policy,
                        std::string reason) {
  CheckResult r = MakeResult(id, policy);
  r.status = CheckStatus::kError;
  r.summary = std::move(reason);
  return r;
}

std::optional<CheckResult> NoWindowsSource(std::string_view id, const policy::CheckPolicy& policy,
                                           const platform::Platform& platform,
                                           std::string_view needs) {
  auto host = platform.host->Identity();
  if (!host.ok() || host->os_id != "windows") {
    return std::nullopt;
  }
  CheckResult r = ErrorResult(id, policy,
                              "cannot decide on Windows: this build has no Windows source for " +
                                  std::string(id) + " (it needs " + std::string(needs) + ")");
  r.facts["os"] = host->os_name + " " + host->os_version;
  r.facts["windows_source"] = "missing";
  return r;
}

namespace {

// A check that throws (a library surprise) must not take the agent down or pass silently.
CheckResult SafeEvaluate(const Check& check, const CheckContext& ctx) {
  try {
    return check.Evaluate(ctx);
  } catch (const std::exception& e) {
    return ErrorResult(check.id(), ctx.policy, std::string("internal error: ") + e.what());
  }
}

nlohmann::json ChangesToJson(const std::vector<Change>& changes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : changes) {
    out.push_back({{"target", c.target},
                   {"action", c.action},
                   {"before", c.before},
                   {"after", c.after},
                   {"undo", c.undo}});
  }
  return out;
}

std::string JoinArgv(const nlohmann::json& argv) {
  std::string out;
  for (const auto& a : argv) {
    out += (out.empty() ? "" : " ") + a.get<std::string>();
  }
  return out;
}

}  // namespace

nlohmann::json RestoreFileOp(std::string_view path, const std::optional<std::string>& previous,
                             uint32_t mode) {
  nlohmann::json op = {{"op", "restore_file"},
                       {"path", std::string(path)},
                       {"exists", previous.has_value()},
                       {"mode", mode}};
  if (previous) {
    // JSON strings must be UTF-8; anything else travels as base64 so the bytes come back exact.
    try {
      (void)nlohmann::json(*previous).dump();
      op["content"] = *previous;
    } catch (const nlohmann::json::exception&) {
      op["content_base64"] = Base64Encode(*previous);
    }
  }
  return op;
}

std::string_view RegistryHiveName(platform::RegistryHive hive) {
  return hive == platform::RegistryHive::kLocalMachine ? "HKLM" : "HKU";
}

std::string RegistryValuePath(platform::RegistryHive hive, std::string_view key,
                              std::string_view name) {
  return std::string(RegistryHiveName(hive)) + "\\" + std::string(key) + " [" + std::string(name) +
         "]";
}

nlohmann::json RegistryValueToJson(const platform::RegistryValue& value) {
  using platform::RegistryValueType;
  switch (value.type) {
    case RegistryValueType::kString:
      return {{"type", "REG_SZ"}, {"data", value.text}};
    case RegistryValueType::kExpandString:
      return {{"type", "REG_EXPAND_SZ"}, {"data", value.text}};
    case RegistryValueType::kMultiString:
      return {{"type", "REG_MULTI_SZ"}, {"data", value.strings}};
    case RegistryValueType::kDword:
      return {{"type", "REG_DWORD"}, {"data", value.number}};
    case RegistryValueType::kQword:
      return {{"type", "REG_QWORD"}, {"data", value.number}};
    case RegistryValueType::kBinary:
      break;
  }
  return {{"type", "REG_BINARY"}, {"data_base64", Base64Encode(value.bytes)}};
}

Result<platform::RegistryValue> RegistryValueFromJson(const nlohmann::json& j) {
  using platform::RegistryValue;
  auto bad = [&j]() {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a registry value: " + j.dump().substr(0, 200));
  };
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return bad();
  }
  const std::string type = j["type"].get<std::string>();
  const nlohmann::json data = j.value("data", nlohmann::json());
  if (type == "REG_SZ" || type == "REG_EXPAND_SZ") {
    if (!data.is_string()) {
      return bad();
    }
    RegistryValue v = RegistryValue::String(data.get<std::string>());
    if (type == "REG_EXPAND_SZ") {
      v.type = platform::RegistryValueType::kExpandString;
    }
    return v;
  }
  if (type == "REG_DWORD" || type == "REG_QWORD") {
    if (!data.is_number_unsigned() && !(data.is_number_integer() && data.get<int64_t>() >= 0)) {
      return bad();
    }
    const uint64_t n = data.get<uint64_t>();
    if (type == "REG_DWORD") {
      if (n > UINT32_MAX) {
        return bad();
      }
      return RegistryValue::Dword(static_cast<uint32_t>(n));
    }
    return RegistryValue::Qword(n);
  }
  if (type == "REG_MULTI_SZ") {
    if (!data.is_array() ||
        !std::all_of(data.begin(), data.end(), [](const auto& s) { return s.is_string(); })) {
      return bad();
    }
    return RegistryValue::MultiString(data.get<std::vector<std::string>>());
  }
  if (type == "REG_BINARY") {
    RegistryValue v;
    v.type = platform::RegistryValueType::kBinary;
    CG_ASSIGN_OR_RETURN(v.bytes, Base64Decode(j.value("data_base64", "")));
    return v;
  }
  return bad();
}

nlohmann::json RestoreRegistryValueOp(platform::RegistryHive hive, std::string_view key,
                                      std::string_view name,
                                      const std::optional<platform::RegistryValue>& previous) {
  nlohmann::json op = {{"op", "restore_registry_value"},
                       {"hive", RegistryHiveName(hive)},
                       {"key", std::string(key)},
                       {"name", std::string(name)},
                       {"exists", previous.has_value()}};
  if (previous) {
    op["value"] = RegistryValueToJson(*previous);
  }
  return op;
}

namespace {

// One restore_registry_value operation; with dry_run only its description.
Result<std::string> UndoRegistryValue(platform::Platform& platform, const nlohmann::json& op,
                                      bool dry_run) {
  const std::string hive_name = op.value("hive", "");
  if ((hive_name != "HKLM" && hive_name != "HKU") || !op.contains("key") ||
      !op["key"].is_string() || !op.contains("name") || !op["name"].is_string()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "undo: malformed registry operation " + op.dump().substr(0, 200));
  }
  const auto hive =
      hive_name == "HKLM" ? platform::RegistryHive::kLocalMachine : platform::RegistryHive::kUsers;
  const std::string key = op["key"].get<std::string>();
  const std::string name = op["name"].get<std::string>();
  const std::string where = RegistryValuePath(hive, key, name);
  std::optional<platform::RegistryValue> value;
  if (op.value("exists", false)) {
    CG_ASSIGN_OR_RETURN(value, RegistryValueFromJson(op.value("value", nlohmann::json())));
  }
  if (!dry_run) {
    if (platform.registry == nullptr) {
      return MakeError(ErrorCode::kUnavailable, "undo: " + where + ": this system has no registry");
    }
    CG_RETURN_IF_ERROR(value ? platform.registry->SetValue(hive, key, name, *value)
                             : platform.registry->DeleteValue(hive, key, name));
  }
  return (value ? "restore " : "delete ") + where;
}

// set_max_password_days / set_password_never_expires through the platform's account API.
Result<std::string> UndoAccountSetting(platform::Platform& platform, const nlohmann::json& op,
                                       bool dry_run) {
  const std::string kind = op.value("op", "");
  std::string line;
  std::function<Status()> apply;
  if (kind == "set_max_password_days") {
    const nlohmann::json days = op.value("days", nlohmann::json());
    if (!days.is_null() && !days.is_number_integer()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "undo: malformed operation " + op.dump().substr(0, 200));
    }
    std::optional<int64_t> value;
    if (!days.is_null()) {
      value = days.get<int64_t>();
    }
    line = "set the maximum password age back to " +
           (value ? std::to_string(*value) + " days" : std::string("unlimited"));
    apply = [&platform, value] { return platform.accounts->SetMaxPasswordDays(value); };
  } else {
    if (!op.contains("account") || !op["account"].is_string() || !op.contains("never_expires") ||
        !op["never_expires"].is_boolean()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "undo: malformed operation " + op.dump().substr(0, 200));
    }
    const std::string account = op["account"].get<std::string>();
    const bool never = op["never_expires"].get<bool>();
    line = std::string(never ? "set" : "clear") + " \"password never expires\" on " + account;
    apply = [&platform, account, never] {
      return platform.accounts->SetPasswordNeverExpires(account, never);
    };
  }
  if (!dry_run) {
    if (Status s = apply(); !s.ok()) {
      return s.error().Wrap("undo");
    }
  }
  return line;
}

}  // namespace

Result<std::vector<std::string>> UndoChanges(platform::Platform& platform,
                                             const nlohmann::json& changes, bool dry_run) {
  if (!changes.is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "undo: changes must be an array");
  }
  std::vector<const nlohmann::json*> restores;
  std::vector<const nlohmann::json*> runs;
  for (const auto& change : changes) {
    // By reference: the pointers kept below must point into `changes`, not into a copy.
    auto undo = change.is_object() ? change.find("undo") : change.end();
    if (undo == change.end() || !undo->is_array()) {
      continue;
    }
    for (const auto& op : *undo) {
      const std::string kind = op.value("op", "");
      if ((kind == "restore_file" && op.contains("path") && op["path"].is_string()) ||
          kind == "restore_registry_value" || kind == "set_max_password_days" ||
          kind == "set_password_never_expires") {
        restores.push_back(&op);
      } else if (kind == "run" && op.contains("argv") && op["argv"].is_array() &&
                 !op["argv"].empty() &&
                 std::all_of(op["argv"].begin(), op["argv"].end(),
                             [](const nlohmann::json& a) { return a.is_string(); })) {
        runs.push_back(&op);
      } else {
        return MakeError(ErrorCode::kInvalidArgument,
                         "undo: unknown or malformed operation " + op.dump().substr(0, 200));
      }
    }
  }
  std::vector<std::string> done;
  for (auto it = restores.rbegin(); it != restores.rend(); ++it) {
    const auto& op = **it;
    if (const std::string kind = op.value("op", ""); kind != "restore_file") {
      CG_ASSIGN_OR_RETURN(std::string line, kind == "restore_registry_value"
                                                ? UndoRegistryValue(platform, op, dry_run)
                                                : UndoAccountSetting(platform, op, dry_run));
      done.push_back(std::move(line));
      continue;
    }
    const std::string path = op["path"].get<std::string>();
    if (!op.value("exists", false)) {
      done.push_back("remove " + path);
      if (!dry_run) {
        if (auto s = platform.fs->RemoveFile(path);
            !s.ok() && s.error().code != ErrorCode::kNotFound) {
          return s.error().Wrap("undo");
        }
      }
      continue;
    }
    std::string content;
    if (op.contains("content_base64")) {
      CG_ASSIGN_OR_RETURN(content, Base64Decode(op.value("content_base64", "")));
    } else {
      content = op.value("content", "");
    }
    done.push_back("restore " + path + " (" + std::to_string(content.size()) + " bytes)");
    if (!dry_run) {
      CG_RETURN_IF_ERROR(platform.fs->WriteFileAtomic(path, content, op.value("mode", 0644u)));
    }
  }
  for (const auto* op : runs) {
    std::vector<std::string> argv;
    for (const auto& a : (*op)["argv"]) {
      argv.push_back(a.get<std::string>());
    }
    done.push_back("run " + JoinArgv((*op)["argv"]));
    if (!dry_run) {
      CG_ASSIGN_OR_RETURN(auto r, platform.commands->Run(argv, std::chrono::seconds(60)));
      if (r.timed_out || r.exit_code != 0) {
        return MakeError(
            ErrorCode::kIo,
            "undo: " + JoinArgv((*op)["argv"]) +
                (r.timed_out ? " timed out" : " exited " + std::to_string(r.exit_code)) + ": " +
                r.err.substr(0, r.err.find('\n')));
      }
    }
  }
  return done;
}

Result<std::vector<CheckResult>> RunChecks(const CheckRegistry& registry,
                                           platform::Platform& platform,
                                           const policy::Policy& policy,
                                           const RunOptions& options) {
  for (const auto& id : options.only) {
    if (registry.Find(id) == nullptr) {
      return MakeError(ErrorCode::kInvalidArgument, "unknown check '" + id + "'");
    }
  }
  std::vector<CheckResult> results;
  for (const auto& check : registry.checks()) {
    const auto& id = check->id();
    const bool selected =
        options.only.empty() ||
        std::find(options.only.begin(), options.only.end(), id) != options.only.end();
    const auto& section = policy.Check(id);
    if (!selected || (!section.enabled && options.only.empty())) {
      continue;
    }
    CheckContext ctx{platform, section};
    CheckResult result = SafeEvaluate(*check, ctx);
    const bool wants_enforce = options.enforce == EnforceMode::kForce ||
                               options.enforce == EnforceMode::kDryRun ||
                               (options.enforce == EnforceMode::kPolicy && section.enforce);
    if (result.status == CheckStatus::kFail && wants_enforce && check->CanRemediate()) {
      const bool dry_run = options.enforce == EnforceMode::kDryRun;
      auto changes = check->Remediate(ctx, result, dry_run);
      nlohmann::json record = {{"dry_run", dry_run}};
      if (!changes.ok()) {
        record["result"] = "error";
        record["error"] = changes.error().message;
      } else {
        record["result"] = dry_run ? "planned" : "applied";
        record["changes"] = ChangesToJson(*changes);
        if (!dry_run) {
          // Report what the machine looks like now, not what it looked like before.
          result = SafeEvaluate(*check, ctx);
        }
      }
      result.remediation = std::move(record);
    }
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace cg::collectors

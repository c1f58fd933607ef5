// The check registry and the runner that evaluates, enforces and records.
#include "collectors/check.h"

#include <algorithm>
#include <exception>

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
      if (kind == "restore_file" && op.contains("path") && op["path"].is_string()) {
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

// Scheduled and on-demand YARA scans of the service: see background_scan.h.
#include "agent/background_scan.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "collectors/yara.h"
#include "collectors/yara_engine.h"
#include "platform/os/files.h"

namespace cg::agent {

using nlohmann::json;

BackgroundScan::~BackgroundScan() {
  cancel_ = true;
  Join();
}

void BackgroundScan::Join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool BackgroundScan::Start(const policy::CheckPolicy& yara, bool on_demand) {
  if (running_) {
    return false;
  }
  Join();  // the previous scan's thread has ended (running_ is false)
  policy::CheckPolicy scan_policy = yara;
  if (on_demand) {
    scan_policy.params["cpu_budget_percent"] = 0;  // an inspection: as fast as the PC allows
  }
  running_ = true;
  cancel_ = false;
  thread_ = std::thread([this, scan_policy = std::move(scan_policy), on_demand] {
    spdlog::info("{} YARA scan started", on_demand ? "on-demand" : "scheduled");
    auto summary = collectors::RunScheduledScan(platform_, scan_policy, state_dir_, &cancel_);
    const SysTime now = platform_.clock->Now();
    json details = {{"on_demand", on_demand}};
    if (summary.ok()) {
      details["files_scanned"] = summary->files_scanned;
      details["bytes_scanned"] = summary->bytes_scanned;
      details["files_unchanged"] = summary->files_unchanged;
      details["matches"] = summary->matches_total;
      details["errors"] = summary->errors_total;
      details["duration_ms"] = summary->duration.count();
      details["cancelled"] = summary->cancelled;
      spdlog::info("YARA scan done: {} files, {} matches{}", summary->files_scanned,
                   summary->matches_total, summary->cancelled ? " (cancelled)" : "");
    } else {
      details["error"] = summary.error().message;
      spdlog::error("YARA scan failed: {}", summary.error().ToString());
    }
    inbox_.AddEvent({"yara_scan", FormatRfc3339(now), std::move(details)});
    running_ = false;
    inbox_.RequestCycle();
  });
  return true;
}

std::optional<SysTime> BackgroundScan::LastScanTime() const {
  auto text = ReadFileToString(collectors::YaraStatePaths(state_dir_).last_scan, 16u << 20);
  if (!text.ok()) {
    return std::nullopt;
  }
  json state = json::parse(*text, nullptr, false);
  if (state.is_discarded() || !state.is_object()) {
    return std::nullopt;
  }
  auto finished = ParseRfc3339(state.value("finished_at", ""));
  if (!finished.ok()) {
    return std::nullopt;
  }
  return *finished;
}

std::optional<protocol::Event> CheckPolicyRules(const policy::CheckPolicy& yara,
                                                const std::string& state_dir, SysTime now) {
  auto parsed = collectors::ParseYaraPolicy(yara);
  if (!parsed.ok() || parsed->rules.empty()) {
    return std::nullopt;
  }
  const collectors::YaraStatePaths paths(state_dir);
  if (auto s = EnsureDirectory(paths.dir, 0700); !s.ok()) {
    return std::nullopt;
  }
  if (auto s = EnsureDirectory(paths.compiled, 0700); !s.ok()) {
    return std::nullopt;
  }
  collectors::CompileReport report;
  auto compiled = collectors::CompileRules(
      parsed->rules, collectors::CompileOptions{paths.compiled, false}, &report);
  if (compiled.ok() && report.errors.empty() && report.warnings.empty()) {
    return std::nullopt;
  }
  json details = collectors::ToJson(report);
  details["compiled"] = compiled.ok();
  if (!compiled.ok()) {
    details["error"] = compiled.error().message;
    spdlog::error("the policy's YARA rules do not compile (the previous rules stay in force): {}",
                  compiled.error().message);
  }
  return protocol::Event{compiled.ok() ? "yara_rules_warnings" : "yara_rules_rejected",
                         FormatRfc3339(now), std::move(details)};
}

}  // namespace cg::agent

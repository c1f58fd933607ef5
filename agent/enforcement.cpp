// Enforcement journal and undo.
#include "agent/enforcement.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "collectors/check.h"
#include "platform/os/files.h"
#include "platform/platform.h"

namespace cg::agent {
namespace {

using nlohmann::json;

std::string JournalDir(const std::string& state_dir) { return state_dir + "/enforcement"; }

// Sortable, unique enough for one agent: UTC time to the second plus a sequence number.
std::string RecordName(SysTime now, size_t seq, const std::string& check) {
  std::string stamp = FormatRfc3339(now);
  stamp.erase(std::remove(stamp.begin(), stamp.end(), ':'), stamp.end());
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%03zu", seq);
  return stamp + "-" + buf + "-" + check + ".json";
}

}  // namespace

Status RecordEnforcement(const std::string& state_dir, const std::string& root,
                         const std::vector<protocol::CheckResult>& results, SysTime now) {
  size_t seq = 0;
  for (const auto& r : results) {
    const json& rem = r.remediation;
    if (!rem.is_object() || rem.value("result", "") != "applied" ||
        rem.value("changes", json::array()).empty()) {
      continue;
    }
    for (const auto& c : rem["changes"]) {
      spdlog::info("enforcement {}: {} {} (before {}, after {})", r.id, c.value("target", ""),
                   c.value("action", ""), c.value("before", json()).dump().substr(0, 200),
                   c.value("after", json()).dump().substr(0, 200));
    }
    CG_RETURN_IF_ERROR(EnsureDirectory(JournalDir(state_dir), 0700));
    const json record = {
        {"check", r.id}, {"time", FormatRfc3339(now)}, {"root", root}, {"changes", rem["changes"]}};
    CG_RETURN_IF_ERROR(WriteFileAtomic(JournalDir(state_dir) + "/" + RecordName(now, seq++, r.id),
                                       record.dump(2) + "\n", 0600));
  }
  return OkStatus();
}

int RunUndoCommand(const UndoOptions& options, platform::Platform& machine,
                   const PlatformForRoot& platform_for_root) {
  auto fail = [](const std::string& m) {
    std::fprintf(stderr, "cg-agent: %s\n", m.c_str());
    return 2;
  };
  std::vector<std::string> records;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(JournalDir(options.state_dir), ec)) {
    const auto name = e.path().filename().string();
    if (name.ends_with(".json") && !name.ends_with(".undone.json") && name[0] != '.') {
      records.push_back(e.path().string());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return fail("reading " + JournalDir(options.state_dir) + ": " + ec.message());
  }
  if (records.empty()) {
    std::printf("nothing to undo (no enforcement records in %s)\n",
                JournalDir(options.state_dir).c_str());
    return 0;
  }
  std::sort(records.rbegin(), records.rend());  // newest first
  if (!options.all) {
    records.resize(1);
  }
  std::map<std::string, platform::Platform> other_roots;
  for (const auto& path : records) {
    auto text = ReadFileToString(path, 16u << 20);
    if (!text.ok()) {
      return fail(text.error().ToString());
    }
    const json record = json::parse(*text, nullptr, false);
    if (record.is_discarded() || !record.is_object() || !record.contains("changes")) {
      return fail(path + ": not an enforcement record");
    }
    const std::string root = record.value("root", "/");
    platform::Platform* platform = &machine;
    if (root != "/") {
      auto it = other_roots.find(root);
      if (it == other_roots.end()) {
        auto made = platform_for_root(root);
        if (!made.ok()) {
          return fail(made.error().ToString());
        }
        it = other_roots.emplace(root, std::move(made).value()).first;
      }
      platform = &it->second;
    }
    auto done = collectors::UndoChanges(*platform, record["changes"], options.dry_run);
    if (!done.ok()) {
      return fail(path + ": " + done.error().ToString());
    }
    std::printf("%s %s (%s):\n", options.dry_run ? "would undo" : "undone",
                record.value("check", "").c_str(), record.value("time", "").c_str());
    for (const auto& line : *done) {
      std::printf("  %s\n", line.c_str());
    }
    if (!options.dry_run) {
      spdlog::info("enforcement record {} undone", path);
      const std::string undone = path.substr(0, path.size() - 5) + ".undone.json";
      std::filesystem::rename(path, undone, ec);
      if (ec) {
        return fail("marking " + path + " undone: " + ec.message());
      }
    }
  }
  return 0;
}

}  // namespace cg::agent

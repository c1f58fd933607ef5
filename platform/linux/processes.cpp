// /proc walker. Everything goes through the rooted file system, so a fixture tree with a small
// proc/ directory stands in for a live machine.
#include "platform/linux/processes.h"

#include <algorithm>
#include <charconv>

namespace cg::platform::linux_ {
namespace {

std::optional<int64_t> ParsePid(std::string_view name) {
  int64_t pid = 0;
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  if (ec != std::errc() || end != name.data() + name.size() || pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

std::vector<std::string> SplitNul(std::string_view data) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find('\0', pos);
    if (end == std::string_view::npos) {
      end = data.size();
    }
    out.emplace_back(data.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

Result<std::vector<ProcessInfo>> ProcProcessTable::List() const {
  CG_ASSIGN_OR_RETURN(auto entries, fs_.ListDir("/proc"));
  std::vector<ProcessInfo> out;
  for (const auto& e : entries) {
    const auto pid = ParsePid(e.name);
    if (!pid || e.type != FileType::kDirectory) {
      continue;
    }
    const std::string dir = "/proc/" + e.name;
    // comm is readable for every live process: failing to read it means the process is gone.
    auto comm = fs_.ReadFile(dir + "/comm", 4096);
    if (!comm.ok()) {
      continue;
    }
    ProcessInfo info;
    info.pid = *pid;
    info.name = std::move(comm).value();
    while (!info.name.empty() && (info.name.back() == '\n' || info.name.back() == '\0')) {
      info.name.pop_back();
    }
    if (auto cmdline = fs_.ReadFile(dir + "/cmdline", 1u << 20); cmdline.ok()) {
      info.cmdline = SplitNul(*cmdline);
    }
    if (auto exe = fs_.ReadLink(dir + "/exe"); exe.ok()) {
      info.exe = std::move(exe).value();
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });
  return out;
}

}  // namespace cg::platform::linux_

// See packages.h.
#include "collectors/packages.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/text.h"

namespace cg::collectors {
namespace {

constexpr std::string_view kDpkgStatus = "/var/lib/dpkg/status";
// A desktop's dpkg status file is a few MB; the bound only stops a runaway file.
constexpr size_t kMaxDpkgStatus = 256u << 20;
constexpr auto kRpmTimeout = std::chrono::seconds(60);

Error ParseError(std::string message) { return MakeError(ErrorCode::kParse, std::move(message)); }

bool IsDpkgState(std::string_view state) {
  static constexpr std::string_view kStates[] = {
      "not-installed",   "config-files",     "half-installed",   "unpacked",
      "half-configured", "triggers-awaited", "triggers-pending", "installed"};
  return std::find(std::begin(kStates), std::end(kStates), state) != std::end(kStates);
}

}  // namespace

Result<std::vector<InstalledPackage>> ParseDpkgStatus(std::string_view text) {
  std::vector<InstalledPackage> out;
  struct Stanza {
    size_t line = 0;
    std::string package;
    std::string status;
    std::string version;
    std::string arch;
  };
  std::optional<Stanza> cur;
  auto finish = [&]() -> Status {
    if (!cur) {
      return OkStatus();
    }
    const std::string where = "stanza at line " + std::to_string(cur->line);
    if (cur->package.empty()) {
      return ParseError(where + ": no Package field");
    }
    if (cur->status.empty()) {
      return ParseError(where + " (" + cur->package + "): no Status field");
    }
    const auto words = SplitWords(cur->status);
    if (words.size() != 3 || !IsDpkgState(words[2])) {
      return ParseError(where + " (" + cur->package + "): bad Status '" + cur->status + "'");
    }
    if (words[2] != "not-installed" && words[2] != "config-files") {
      if (cur->version.empty()) {
        return ParseError(where + " (" + cur->package + "): installed without a Version");
      }
      out.push_back({cur->package, cur->version, cur->arch, std::string(words[2]), "dpkg"});
    }
    cur.reset();
    return OkStatus();
  };
  const auto lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];  // without its '\r'
    const std::string where = "line " + std::to_string(i + 1);
    if (line.find('\0') != std::string_view::npos) {
      return ParseError(where + ": NUL byte");
    }
    if (line.empty()) {
      CG_RETURN_IF_ERROR(finish());
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (!cur) {
        return ParseError(where + ": continuation line outside a stanza");
      }
      continue;  // continuation of a multi-line field (Description, Conffiles): not needed
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
      return ParseError(where + ": expected 'Field: value'");
    }
    if (!cur) {
      cur = Stanza{};
      cur->line = i + 1;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string value(Trim(line.substr(colon + 1)));
    if (EqualsIgnoreCase(name, "Package")) {
      cur->package = value;
    } else if (EqualsIgnoreCase(name, "Status")) {
      cur->status = value;
    } else if (EqualsIgnoreCase(name, "Version")) {
      cur->version = value;
    } else if (EqualsIgnoreCase(name, "Architecture")) {
      cur->arch = value;
    }
  }
  CG_RETURN_IF_ERROR(finish());
  return out;
}

Result<std::vector<InstalledPackage>> ParseRpmQuery(std::string_view text) {
  std::vector<InstalledPackage> out;
  const auto lines = SplitLines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (Trim(line).empty()) {
      continue;
    }
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    if (tab1 == 0 || tab2 == std::string_view::npos) {
      return ParseError("rpm output line " + std::to_string(i + 1) +
                        ": expected NAME<TAB>VERSION-RELEASE<TAB>ARCH");
    }
    out.push_back({std::string(line.substr(0, tab1)),
                   std::string(line.substr(tab1 + 1, tab2 - tab1 - 1)),
                   std::string(Trim(line.substr(tab2 + 1))), "installed", "rpm"});
  }
  return out;
}

Result<PackageInventory> ReadInstalledPackages(platform::Platform& platform) {
  PackageInventory inv;
  auto status = platform.fs->ReadFile(kDpkgStatus, kMaxDpkgStatus);
  if (status.ok()) {
    auto parsed = ParseDpkgStatus(*status);
    if (!parsed.ok()) {
      return parsed.error().Wrap(kDpkgStatus);
    }
    inv.packages = std::move(parsed).value();
    inv.sources.emplace_back("dpkg");
  } else if (status.error().code != ErrorCode::kNotFound) {
    return status.error().Wrap(std::string("reading ") + std::string(kDpkgStatus));
  }
  // rpm is consulted only when the machine has it. Commands run on the host, so under a
  // fixture root the host's rpm reads the tree's database through its own --root.
  if (!platform.commands->Which("rpm").empty()) {
    std::vector<std::string> argv = {"rpm"};
    if (platform.fs->root() != "/") {
      argv.insert(argv.end(), {"--root", platform.fs->root()});
    }
    argv.insert(argv.end(), {"-qa", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"});
    auto run = platform.commands->Run(argv, kRpmTimeout, 64u << 20);
    if (!run.ok()) {
      return run.error().Wrap("rpm -qa");
    }
    if (run->timed_out || run->exit_code != 0) {
      return MakeError(ErrorCode::kIo, "rpm -qa failed (exit " + std::to_string(run->exit_code) +
                                           (run->timed_out ? ", timed out" : "") +
                                           "): " + std::string(Trim(run->err.substr(0, 200))));
    }
    auto parsed = ParseRpmQuery(run->out);
    if (!parsed.ok()) {
      return parsed.error();
    }
    inv.packages.insert(inv.packages.end(), parsed->begin(), parsed->end());
    inv.sources.emplace_back("rpm");
  }
  if (inv.sources.empty()) {
    return MakeError(ErrorCode::kNotFound,
                     "no package database: neither /var/lib/dpkg/status nor an rpm binary");
  }
  return inv;
}

}  // namespace cg::collectors

// office_license: the package inventory (collectors/packages.h) plus system Flatpak/Snap apps,
// matched against the shipped suite table; commercial suites are checked against the policy's
// licences.
#include "collectors/office_license.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <set>
#include <tuple>

#include "collectors/packages.h"
#include "common/text.h"
#include "common/timeutil.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kSuiteTableJson =
#include "collectors/data/office_suites.inc"
    ;

constexpr std::string_view kFlatpakApps = "/var/lib/flatpak/app";
constexpr std::string_view kSnaps = "/var/lib/snapd/snaps";
struct SuiteSpec {
  std::string suite;
  std::string name;
  std::string licence;  // "free" or "commercial"
  std::vector<std::string> packages;
  std::vector<std::string> flatpak;
  std::vector<std::string> snap;
};

struct SuiteTable {
  std::string compiled;
  std::vector<SuiteSpec> suites;
};

Error ParseError(std::string message) { return MakeError(ErrorCode::kParse, std::move(message)); }

Result<std::vector<std::string>> StringList(const json& object, const char* key,
                                            const std::string& where) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end()) {
    return out;
  }
  if (!it->is_array()) {
    return ParseError(where + "." + key + " must be an array");
  }
  for (const auto& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
      return ParseError(where + "." + key + " must hold non-empty strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::string> RequiredString(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return ParseError(where + "." + key + " must be a non-empty string");
  }
  return it->get<std::string>();
}

Result<SuiteTable> ParseSuiteTable() {
  const json doc = json::parse(kSuiteTableJson, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return ParseError("office suite table is not a JSON object");
  }
  SuiteTable table;
  CG_ASSIGN_OR_RETURN(table.compiled, RequiredString(doc, "compiled", "table"));
  auto suites = doc.find("suites");
  if (suites == doc.end() || !suites->is_array()) {
    return ParseError("office suite table: suites must be an array");
  }
  for (size_t i = 0; i < suites->size(); ++i) {
    const json& s = (*suites)[i];
    const std::string where = "suites[" + std::to_string(i) + "]";
    if (!s.is_object()) {
      return ParseError(where + " must be an object");
    }
    SuiteSpec spec;
    CG_ASSIGN_OR_RETURN(spec.suite, RequiredString(s, "suite", where));
    CG_ASSIGN_OR_RETURN(spec.name, RequiredString(s, "name", where));
    CG_ASSIGN_OR_RETURN(spec.licence, RequiredString(s, "licence", where));
    if (spec.licence != "free" && spec.licence != "commercial") {
      return ParseError(where + ".licence must be free or commercial");
    }
    CG_ASSIGN_OR_RETURN(spec.packages, StringList(s, "packages", where));
    CG_ASSIGN_OR_RETURN(spec.flatpak, StringList(s, "flatpak", where));
    CG_ASSIGN_OR_RETURN(spec.snap, StringList(s, "snap", where));
    table.suites.push_back(std::move(spec));
  }
  return table;
}

const Result<SuiteTable>& Suites() {
  static const Result<SuiteTable> table = ParseSuiteTable();
  return table;
}

const SuiteSpec* FindSuite(const SuiteTable& table, std::string_view suite) {
  for (const auto& s : table.suites) {
    if (s.suite == suite) {
      return &s;
    }
  }
  return nullptr;
}

// The first instant after the last valid day of "YYYY-MM-DD".
Result<SysTime> EndOfDay(std::string_view date) {
  auto start = ParseRfc3339(std::string(date) + "T00:00:00Z");
  if (!start.ok() || date.size() != 10) {
    return ParseError("'" + std::string(date) + "' is not a date (YYYY-MM-DD)");
  }
  return *start + std::chrono::hours(24);
}

// One suite found on the machine.
struct FoundSuite {
  const SuiteSpec* spec = nullptr;
  std::string version;
  std::string source;   // dpkg, rpm, flatpak, snap
  std::string package;  // package name or app id
  std::string state;
};

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matcher with single-star backtracking: linear in practice, no recursion.
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

Result<std::vector<LicenceRecord>> ParseLicenceRecords(const json& licences) {
  // `what` starts with ".key: ..." or ": ...".
  auto bad = [](size_t i, const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument, "licences[" + std::to_string(i) + "]" + what);
  };
  if (!licences.is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "licences: must be an array");
  }
  const auto& table = Suites();
  if (!table.ok()) {
    return table.error();
  }
  std::vector<LicenceRecord> out;
  for (size_t i = 0; i < licences.size(); ++i) {
    const json& r = licences[i];
    if (!r.is_object()) {
      return bad(i, ": must be an object {suite, evidence, expires?, note?}");
    }
    for (auto it = r.begin(); it != r.end(); ++it) {
      static const std::set<std::string> kKeys = {"suite", "evidence", "expires", "note"};
      if (kKeys.count(it.key()) == 0) {
        return bad(i, "." + it.key() + ": unknown key");
      }
      if (!it->is_string()) {
        return bad(i, "." + it.key() + ": must be a string");
      }
    }
    LicenceRecord rec;
    rec.suite = r.value("suite", "");
    rec.evidence = std::string(Trim(r.value("evidence", "")));
    rec.expires = r.value("expires", "");
    const SuiteSpec* spec = FindSuite(*table, rec.suite);
    if (spec == nullptr || spec->licence != "commercial") {
      std::string known;
      for (const auto& s : table->suites) {
        if (s.licence == "commercial") {
          known += (known.empty() ? "" : ", ") + s.suite;
        }
      }
      return bad(i, ".suite: '" + rec.suite + "' is not a commercial suite id (" + known + ")");
    }
    if (rec.evidence.empty()) {
      return bad(i, ".evidence: must name the contract, invoice or licence key reference");
    }
    if (!rec.expires.empty()) {
      auto end = EndOfDay(rec.expires);
      if (!end.ok()) {
        return bad(i, ".expires: " + end.error().message);
      }
    }
    out.push_back(std::move(rec));
  }
  return out;
}

CheckResult OfficeLicenseCheck::Evaluate(const CheckContext& ctx) const {
  if (auto r =
          NoWindowsSource(id(), ctx.policy, ctx.platform,
                          "Software Licensing, Office's registry keys and the Uninstall keys")) {
    return *r;
  }
  const auto& table = Suites();
  if (!table.ok()) {
    return ErrorResult(id(), ctx.policy, "office suite table: " + table.error().message);
  }
  auto licences = ParseLicenceRecords(ctx.policy.params.value("licences", json::array()));
  if (!licences.ok()) {
    return ErrorResult(id(), ctx.policy,
                       "policy checks.office_license." + licences.error().message);
  }
  auto inventory = ReadInstalledPackages(ctx.platform);
  if (!inventory.ok()) {
    return ErrorResult(id(), ctx.policy,
                       "cannot read the package databases: " + inventory.error().ToString());
  }
  std::vector<std::string> sources = inventory->sources;

  std::vector<FoundSuite> found;
  std::set<std::tuple<std::string, std::string, std::string, std::string>> seen;
  auto add = [&](const SuiteSpec& spec, std::string version, std::string source,
                 std::string package, std::string state) {
    // Multi-arch installs list one package twice; report it once.
    if (seen.emplace(spec.suite, package, version, source).second) {
      found.push_back(
          {&spec, std::move(version), std::move(source), std::move(package), std::move(state)});
    }
  };
  for (const auto& pkg : inventory->packages) {
    for (const auto& spec : table->suites) {
      const bool match = std::any_of(spec.packages.begin(), spec.packages.end(),
                                     [&](const auto& p) { return GlobMatch(p, pkg.name); });
      if (match) {
        add(spec, pkg.version, pkg.source, pkg.name, pkg.state);
        break;
      }
    }
  }

  // System-wide Flatpak and Snap installs carry no package database entry.
  auto apps = ctx.platform.fs->ListDir(kFlatpakApps);
  if (apps.ok()) {
    sources.emplace_back("flatpak");
    for (const auto& e : *apps) {
      for (const auto& spec : table->suites) {
        if (std::find(spec.flatpak.begin(), spec.flatpak.end(), e.name) != spec.flatpak.end()) {
          add(spec, "", "flatpak", e.name, "installed");
        }
      }
    }
  } else if (apps.error().code != ErrorCode::kNotFound) {
    return ErrorResult(
        id(), ctx.policy,
        std::string("cannot list ") + std::string(kFlatpakApps) + ": " + apps.error().ToString());
  }
  auto snaps = ctx.platform.fs->ListDir(kSnaps);
  if (snaps.ok()) {
    sources.emplace_back("snap");
    for (const auto& e : *snaps) {
      // <name>_<revision>.snap; names cannot contain '_'.
      std::string_view file = e.name;
      constexpr std::string_view kExt = ".snap";
      if (file.size() <= kExt.size() || file.substr(file.size() - kExt.size()) != kExt) {
        continue;
      }
      file.remove_suffix(kExt.size());
      const size_t us = file.rfind('_');
      if (us == std::string_view::npos || us == 0) {
        continue;
      }
      const std::string name(file.substr(0, us));
      for (const auto& spec : table->suites) {
        if (std::find(spec.snap.begin(), spec.snap.end(), name) != spec.snap.end()) {
          add(spec, "snap revision " + std::string(file.substr(us + 1)), "snap", name, "installed");
        }
      }
    }
  } else if (snaps.error().code != ErrorCode::kNotFound) {
    return ErrorResult(
        id(), ctx.policy,
        std::string("cannot list ") + std::string(kSnaps) + ": " + snaps.error().ToString());
  }

  const SysTime now = ctx.platform.clock->Now();
  CheckResult r = MakeResult(id(), ctx.policy);
  json suites = json::array();
  json unlicensed = json::array();
  std::vector<std::string> described;
  std::vector<std::string> problems;
  for (const auto& f : found) {
    const std::string label = f.spec->name + (f.version.empty() ? "" : " " + f.version);
    json entry = {{"suite", f.spec->suite},     {"name", f.spec->name}, {"version", f.version},
                  {"licence", f.spec->licence}, {"source", f.source},   {"package", f.package}};
    if (f.state != "installed") {
      entry["package_state"] = f.state;
    }
    if (f.spec->licence == "free") {
      described.push_back(label + " (free)");
      suites.push_back(std::move(entry));
      continue;
    }
    const LicenceRecord* valid = nullptr;
    std::string expired_on;
    for (const auto& rec : *licences) {
      if (rec.suite != f.spec->suite) {
        continue;
      }
      // Validated by ParseLicenceRecords, so EndOfDay succeeds here.
      if (rec.expires.empty() || now < EndOfDay(rec.expires).value_or(SysTime{})) {
        if (valid == nullptr || rec.expires.empty() ||
            (!valid->expires.empty() && rec.expires > valid->expires)) {
          valid = &rec;
        }
      } else if (rec.expires > expired_on) {
        expired_on = rec.expires;
      }
    }
    if (valid != nullptr) {
      entry["licensed"] = true;
      entry["licence_record"] = {
          {"evidence", valid->evidence},
          {"expires", valid->expires.empty() ? json("perpetual") : json(valid->expires)}};
      described.push_back(label + " (commercial, licensed: " + valid->evidence + ")");
    } else {
      entry["licensed"] = false;
      const std::string why = expired_on.empty() ? "no licence record in the policy"
                                                 : "licence record expired on " + expired_on;
      entry["licence_problem"] = why;
      problems.push_back(label + " (" + why + ")");
      unlicensed.push_back(label);
    }
    suites.push_back(std::move(entry));
  }

  r.facts["suites"] = suites;
  r.facts["found"] =
      found.empty() ? std::string("none found") : std::to_string(found.size()) + " suite(s)";
  r.facts["sources"] = sources;
  r.facts["suite_table_compiled"] = table->compiled;
  r.expected = {{"unlicensed_commercial_suites", json::array()}};
  r.observed = {{"unlicensed_commercial_suites", unlicensed}};
  auto join = [](const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) {
      s += (s.empty() ? "" : ", ") + p;
    }
    return s;
  };
  if (!problems.empty()) {
    r.status = CheckStatus::kFail;
    r.summary = "commercial office suite without a valid licence: " + join(problems);
  } else if (found.empty()) {
    r.status = CheckStatus::kPass;
    r.summary = "no office suite installed (searched " + join(sources) + ")";
  } else {
    r.status = CheckStatus::kPass;
    r.summary = "office suites free or licensed: " + join(described);
  }
  return r;
}

}  // namespace cg::collectors

// The office_license check's suite table and verdict, shared by its Linux sources
// (office_license.cpp: packages, Flatpak, Snap) and its Windows sources
// (office_license_windows.cpp: Uninstall keys, Click-to-Run, Software Licensing).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "collectors/office_license.h"
#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::collectors::office {

struct SuiteSpec {
  std::string suite;
  std::string name;
  std::string licence;  // "free" or "commercial"
  std::vector<std::string> packages;
  std::vector<std::string> flatpak;
  std::vector<std::string> snap;
  // Windows: DisplayName patterns of the Uninstall entries, and patterns that exclude an entry
  // the first ones match (LibreOffice's separate "Help Pack" entries).
  std::vector<std::string> windows;
  std::vector<std::string> windows_exclude;
};

struct SuiteTable {
  std::string compiled;
  std::vector<SuiteSpec> suites;
};

// The table compiled into the agent (collectors/data/office_suites.inc), parsed once.
const Result<SuiteTable>& Suites();
const SuiteSpec* FindSuite(const SuiteTable& table, std::string_view suite);

// One suite found on the machine.
struct FoundSuite {
  const SuiteSpec* spec = nullptr;
  std::string version;
  std::string source;   // dpkg, rpm, flatpak, snap, uninstall, click-to-run, ...
  std::string package;  // package name, app id, DisplayName or release id
  std::string state;
  nlohmann::json details = nlohmann::json::object();  // merged into the suite's facts
  // The vendor's own licence verdict where the OS has one (Windows/Office activation): true
  // licenses the suite whatever the policy says; false fails it with `activation_detail`.
  std::optional<bool> activated;
  std::string activation_detail;
};

// Judges the suites against the policy's licence records and fills status, summary, facts,
// expected and observed. `sources` are what was searched.
void JudgeSuites(const std::vector<FoundSuite>& found, const std::vector<std::string>& sources,
                 const std::vector<LicenceRecord>& licences, SysTime now, const SuiteTable& table,
                 protocol::CheckResult& r);

}  // namespace cg::collectors::office

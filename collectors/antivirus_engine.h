// The antivirus check's per-engine verdict, shared by its Linux sources (antivirus.cpp) and its
// Windows sources (antivirus_windows.cpp): one EngineReport per engine found, and one way to
// turn them into the check's result and facts.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/timeutil.h"
#include "protocol/report.h"

namespace cg::collectors::antivirus {

// What one engine looks like on this machine.
struct EngineReport {
  std::string id;
  std::string name;
  std::vector<std::string> evidence;
  std::string version;
  std::optional<bool> running;
  std::optional<bool> realtime;
  std::optional<SysTime> signature_time;
  std::optional<int64_t> age_hours;
  std::vector<std::string> fails;
  std::vector<std::string> unknowns;
  nlohmann::json details = nlohmann::json::object();

  protocol::CheckStatus Status() const {
    if (!fails.empty()) {
      return protocol::CheckStatus::kFail;
    }
    return unknowns.empty() ? protocol::CheckStatus::kPass : protocol::CheckStatus::kError;
  }
};

std::string Join(const std::vector<std::string>& parts, std::string_view sep);
nlohmann::json OptionalJson(const std::optional<bool>& b);

// Sets age_hours from signature_time and fails the engine beyond `max_age_hours`; a time more
// than an hour in the future is undecided (the machine's clock is wrong).
void AgeJudgement(EngineReport& e, SysTime now, int64_t max_age_hours);
// Applies `require_realtime` and `accept_unknown_signature_age` (docs/policy.md) to an engine
// whose signature age was judged (or could not be). `age_known_otherwise`: the engine's
// freshness was decided without an age (Security Center's up-to-date flag).
void PolicyJudgement(EngineReport& e, bool require_realtime, bool accept_unknown_age,
                     bool age_known_otherwise);

nlohmann::json EngineJson(const EngineReport& e);
std::string EngineLine(const EngineReport& e);

// Status, summary, observed and the engine facts of a result from a non-empty list of engines:
// one fully working engine passes; otherwise an undecided one makes it error, else fail.
void Summarise(const std::vector<EngineReport>& engines, protocol::CheckResult& r);

}  // namespace cg::collectors::antivirus

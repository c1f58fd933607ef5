// Per-engine verdicts of the antivirus check and the result they add up to.
#include "collectors/antivirus_engine.h"

#include <algorithm>
#include <chrono>

namespace cg::collectors::antivirus {

using nlohmann::json;
using protocol::CheckStatus;

namespace {
// A database built slightly "in the future" is clock skew between the builder and this machine;
// more than this means the machine's clock is wrong and no age can be trusted.
constexpr auto kClockSkewTolerance = std::chrono::hours(1);
}  // namespace

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (const auto& p : parts) {
    if (!s.empty()) {
      s += sep;
    }
    s += p;
  }
  return s;
}

json OptionalJson(const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); }

void AgeJudgement(EngineReport& e, const SysTime now, int64_t max_age_hours) {
  if (!e.signature_time) {
    return;
  }
  const auto age = now - *e.signature_time;
  if (age < -kClockSkewTolerance) {
    e.unknowns.push_back("signature build time " + FormatRfc3339(*e.signature_time) +
                         " is in the future: the machine clock is wrong");
    return;
  }
  e.age_hours = std::max<int64_t>(0, std::chrono::floor<std::chrono::hours>(age).count());
  if (*e.age_hours > max_age_hours) {
    e.fails.push_back("signatures are " + std::to_string(*e.age_hours) + " h old (limit " +
                      std::to_string(max_age_hours) + " h)");
  }
}

void PolicyJudgement(EngineReport& e, bool require_realtime, bool accept_unknown_age,
                     bool age_known_otherwise) {
  if (!e.signature_time && !age_known_otherwise && !accept_unknown_age) {
    e.unknowns.push_back(
        "CounterGuard cannot read this engine's signature age (policy "
        "accept_unknown_signature_age is false)");
  }
  if (require_realtime) {
    if (e.realtime == false) {
      e.fails.push_back("real-time scanning is off");
    } else if (!e.realtime) {
      e.unknowns.push_back("the real-time scanning state cannot be read");
    }
  }
}

json EngineJson(const EngineReport& e) {
  json j = {
      {"engine", e.id},
      {"name", e.name},
      {"status", std::string(protocol::ToString(e.Status()))},
      {"evidence", e.evidence},
      {"version", e.version.empty() ? json(nullptr) : json(e.version)},
      {"running", OptionalJson(e.running)},
      {"realtime", OptionalJson(e.realtime)},
      {"signature_time", e.signature_time ? json(FormatRfc3339(*e.signature_time)) : json(nullptr)},
      {"age_hours", e.age_hours ? json(*e.age_hours) : json(nullptr)}};
  if (!e.fails.empty()) {
    j["problems"] = e.fails;
  }
  if (!e.unknowns.empty()) {
    j["undecided"] = e.unknowns;
  }
  for (auto it = e.details.begin(); it != e.details.end(); ++it) {
    j[it.key()] = it.value();
  }
  return j;
}

std::string EngineLine(const EngineReport& e) {
  std::string line = e.name + (e.version.empty() ? "" : " " + e.version);
  if (e.Status() == CheckStatus::kPass) {
    line += " running";
    if (e.age_hours) {
      line += ", signatures " + std::to_string(*e.age_hours) + " h old";
    }
    if (e.realtime) {
      line += *e.realtime ? ", real-time on" : ", real-time off";
    }
    return line;
  }
  const auto& reasons = e.fails.empty() ? e.unknowns : e.fails;
  return line + ": " + Join(reasons, "; ");
}

void Summarise(const std::vector<EngineReport>& engines, protocol::CheckResult& r) {
  // One fully working engine is enough; a broken second engine does not undo it.
  const auto pass = std::find_if(engines.begin(), engines.end(),
                                 [](const auto& e) { return e.Status() == CheckStatus::kPass; });
  const auto undecided = std::find_if(engines.begin(), engines.end(), [](const auto& e) {
    return e.Status() == CheckStatus::kError;
  });
  const EngineReport& primary =
      pass != engines.end() ? *pass : (undecided != engines.end() ? *undecided : engines.front());
  r.status = pass != engines.end()        ? CheckStatus::kPass
             : undecided != engines.end() ? CheckStatus::kError
                                          : CheckStatus::kFail;

  json all = json::array();
  std::vector<std::string> lines;
  for (const auto& e : engines) {
    all.push_back(EngineJson(e));
    lines.push_back(EngineLine(e));
  }
  r.facts["engine"] = primary.id;
  r.facts["version"] = primary.version.empty() ? json(nullptr) : json(primary.version);
  r.facts["running"] = OptionalJson(primary.running);
  r.facts["realtime"] = OptionalJson(primary.realtime);
  r.facts["signature_time"] =
      primary.signature_time ? json(FormatRfc3339(*primary.signature_time)) : json(nullptr);
  r.facts["age_hours"] = primary.age_hours ? json(*primary.age_hours) : json(nullptr);
  r.facts["engines"] = all;
  r.observed = {{"engine", primary.id},
                {"running", OptionalJson(primary.running)},
                {"age_hours", r.facts["age_hours"]},
                {"realtime", OptionalJson(primary.realtime)}};
  r.summary = r.status == CheckStatus::kPass ? EngineLine(primary) : Join(lines, "; ");
}

}  // namespace cg::collectors::antivirus

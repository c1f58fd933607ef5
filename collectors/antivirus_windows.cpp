// antivirus on Windows: Security Center (COM, then WMI) + Defender (WMI), OS-neutral judgement.
#include "collectors/antivirus_windows.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "collectors/antivirus_engine.h"
#include "platform/hresult.h"

namespace cg::collectors {
namespace {

using antivirus::EngineReport;
using nlohmann::json;
using platform::AvProductState;
using platform::AvSignatureStatus;
using protocol::CheckResult;
using protocol::CheckStatus;

// "error" + the HRESULT of a failed source, for the facts.
json SourceError(const Error& error) {
  json j = {{"error", error.message}};
  if (auto hr = platform::HresultOf(error)) {
    j["hresult"] = *hr;
  }
  return j;
}

std::string Slug(std::string_view name) {
  std::string id;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      id += static_cast<char>(std::tolower(c));
    } else if (!id.empty() && id.back() != '-') {
      id += '-';
    }
  }
  while (!id.empty() && id.back() == '-') {
    id.pop_back();
  }
  return id.empty() ? "unnamed" : id;
}

bool IsDefender(std::string_view name) {
  // "Windows Defender" (Windows 10), "Microsoft Defender Antivirus" (later builds).
  return name.find("Defender") != std::string_view::npos;
}

std::string_view StateName(AvProductState s) {
  switch (s) {
    case AvProductState::kOn:
      return "on";
    case AvProductState::kOff:
      return "off";
    case AvProductState::kSnoozed:
      return "snoozed";
    case AvProductState::kExpired:
      return "expired";
    case AvProductState::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view SignatureName(AvSignatureStatus s) {
  switch (s) {
    case AvSignatureStatus::kUpToDate:
      return "up_to_date";
    case AvSignatureStatus::kOutOfDate:
      return "out_of_date";
    case AvSignatureStatus::kUnknown:
      return "unknown";
  }
  return "unknown";
}

// A Security Center product: its state is the real-time (on-access) protection Windows shows
// in "Virus & threat protection"; its signature flag is the vendor's own freshness verdict,
// the only one Security Center has (it carries no update time).
EngineReport FromSecurityCenter(std::string name, AvProductState state, AvSignatureStatus sigs,
                                std::string source) {
  EngineReport e;
  e.id = IsDefender(name) ? "defender" : Slug(name);
  e.name = std::move(name);
  e.evidence.push_back(source);
  e.details["security_center_state"] = std::string(StateName(state));
  e.details["security_center_signatures"] = std::string(SignatureName(sigs));
  switch (state) {
    case AvProductState::kOn:
      e.running = true;
      e.realtime = true;
      break;
    case AvProductState::kOff:
      e.running = false;
      e.realtime = false;
      e.fails.push_back("turned off (Security Center state: off)");
      break;
    case AvProductState::kSnoozed:
      e.running = false;
      e.realtime = false;
      e.fails.push_back("protection snoozed (temporarily turned off)");
      break;
    case AvProductState::kExpired:
      e.running = false;
      e.fails.push_back(
          "the product's licence or subscription has expired (Security Center "
          "state: expired)");
      break;
    case AvProductState::kUnknown:
      e.unknowns.push_back("Security Center reports a product state CounterGuard does not know");
      break;
  }
  if (sigs == AvSignatureStatus::kOutOfDate) {
    e.fails.push_back("Security Center reports the signatures out of date");
  } else if (sigs == AvSignatureStatus::kUnknown) {
    e.unknowns.push_back("Security Center reports a signature status CounterGuard does not know");
  }
  return e;
}

// Defender's own status: the age of its signatures and the real-time switch, which Security
// Center does not carry.
void ApplyDefender(EngineReport& e, const platform::DefenderStatus& d, SysTime now,
                   int64_t max_age_hours) {
  e.evidence.push_back("MSFT_MpComputerStatus");
  if (!d.product_version.empty()) {
    e.version = d.product_version;
  }
  json status = json::object();
  status["service_enabled"] = antivirus::OptionalJson(d.service_enabled);
  status["antivirus_enabled"] = antivirus::OptionalJson(d.antivirus_enabled);
  status["realtime_protection_enabled"] = antivirus::OptionalJson(d.realtime_enabled);
  status["signature_age_days"] = d.signature_age_days ? json(*d.signature_age_days) : json(nullptr);
  status["signature_version"] = d.signature_version;
  if (d.tamper_protected) {
    status["tamper_protected"] = *d.tamper_protected;
  }
  e.details["defender_status"] = status;
  if (d.service_enabled == false) {
    e.running = false;
    e.fails.push_back("the Defender antimalware service is not running (AMServiceEnabled false)");
  } else if (d.antivirus_enabled == false) {
    e.running = false;
    e.fails.push_back("Defender antivirus is disabled (AntivirusEnabled false)");
  } else if (d.service_enabled && d.antivirus_enabled && !e.running) {
    e.running = true;
  }
  if (d.realtime_enabled) {
    e.realtime = d.realtime_enabled;
  }
  // The update time is exact; the age is whole days (the fallback when the time is absent).
  if (d.signature_updated) {
    e.signature_time = d.signature_updated;
    antivirus::AgeJudgement(e, now, max_age_hours);
  } else if (d.signature_age_days) {
    e.age_hours = static_cast<int64_t>(*d.signature_age_days) * 24;
    e.details["age_from"] = "AntivirusSignatureAge (whole days)";
    if (*e.age_hours > max_age_hours) {
      e.fails.push_back("signatures are " + std::to_string(*d.signature_age_days) +
                        " day(s) old (limit " + std::to_string(max_age_hours) + " h)");
    }
  }
}

}  // namespace

ProductStateBits DecodeProductState(uint32_t product_state) {
  ProductStateBits b;
  b.provider = (product_state >> 16) & 0xFF;
  switch ((product_state >> 12) & 0xF) {
    case 0:
      b.state = AvProductState::kOff;
      break;
    case 1:
      b.state = AvProductState::kOn;
      break;
    case 2:
      b.state = AvProductState::kSnoozed;
      break;
    case 3:
      b.state = AvProductState::kExpired;
      break;
    default:
      b.state = AvProductState::kUnknown;
  }
  b.microsoft = ((product_state >> 8) & 0xF) == 1;
  switch ((product_state >> 4) & 0xF) {
    case 0:
      b.signatures = AvSignatureStatus::kUpToDate;
      break;
    case 1:
      b.signatures = AvSignatureStatus::kOutOfDate;
      break;
    default:
      b.signatures = AvSignatureStatus::kUnknown;
  }
  return b;
}

CheckResult EvaluateSecurityCenter(const CheckContext& ctx, CheckResult r) {
  const auto& sc = *ctx.platform.security_center;
  const int64_t max_age = ctx.policy.Int("max_signature_age_hours");
  const bool require_realtime = ctx.policy.Bool("require_realtime");
  const bool accept_unknown_age = ctx.policy.Bool("accept_unknown_signature_age");
  const SysTime now = ctx.platform.clock->Now();
  r.expected = {{"engine_running", true},
                {"max_signature_age_hours", max_age},
                {"realtime", require_realtime ? json(true) : json("not required")}};

  json sources = json::object();
  std::vector<EngineReport> engines;
  // Products whose freshness Security Center decided (its up-to-date flag).
  std::vector<bool> flag_decided;
  std::vector<std::string> failures;

  auto wsc = sc.Products();
  bool have_products = false;
  if (wsc.ok()) {
    have_products = true;
    sources["security_center"] = "read";
    for (const auto& p : *wsc) {
      EngineReport e = FromSecurityCenter(p.name, p.state, p.signatures, "Security Center");
      e.details["security_center_raw"] = {{"state", p.raw_state},
                                          {"signature_status", p.raw_signatures}};
      if (!p.state_timestamp.empty()) {
        e.details["state_timestamp"] = p.state_timestamp;
      }
      flag_decided.push_back(p.signatures == AvSignatureStatus::kUpToDate);
      engines.push_back(std::move(e));
    }
  } else {
    sources["security_center"] = SourceError(wsc.error());
    failures.push_back(wsc.error().message);
    auto wmi = sc.WmiProducts();
    if (wmi.ok()) {
      have_products = true;
      sources["wmi_security_center2"] = "read";
      for (const auto& p : *wmi) {
        const ProductStateBits bits = DecodeProductState(p.product_state);
        EngineReport e =
            FromSecurityCenter(p.name, bits.state, bits.signatures, "root\\SecurityCenter2");
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%06X", static_cast<unsigned>(p.product_state));
        e.details["product_state"] = {{"value", p.product_state},
                                      {"hex", hex},
                                      {"microsoft", bits.microsoft},
                                      {"provider_flags", bits.provider}};
        if (!p.timestamp.empty()) {
          e.details["state_timestamp"] = p.timestamp;
        }
        if (!p.exe_path.empty()) {
          e.details["executable"] = p.exe_path;
        }
        flag_decided.push_back(bits.signatures == AvSignatureStatus::kUpToDate);
        engines.push_back(std::move(e));
      }
    } else {
      sources["wmi_security_center2"] = SourceError(wmi.error());
      failures.push_back(wmi.error().message);
    }
  }

  auto defender = sc.Defender();
  bool have_defender = false;
  if (defender.ok()) {
    have_defender = true;
    sources["defender"] = defender->has_value() ? json("read") : json("no instance");
    if (defender->has_value()) {
      auto it = std::find_if(engines.begin(), engines.end(),
                             [](const EngineReport& e) { return e.id == "defender"; });
      if (it == engines.end()) {
        // Windows Server (no Security Center), or a client whose Security Center failed.
        EngineReport e;
        e.id = "defender";
        e.name = "Microsoft Defender Antivirus";
        engines.push_back(std::move(e));
        flag_decided.push_back(false);
        it = engines.end() - 1;
      }
      ApplyDefender(*it, **defender, now, max_age);
      if (!it->running) {
        it->unknowns.push_back("Defender reports neither AMServiceEnabled nor AntivirusEnabled");
      }
    }
  } else {
    sources["defender"] = SourceError(defender.error());
    failures.push_back(defender.error().message);
  }
  r.facts["sources"] = sources;

  for (size_t i = 0; i < engines.size(); ++i) {
    // Freshness decided without an update time: Security Center's flag, or Defender's age in
    // whole days.
    antivirus::PolicyJudgement(engines[i], require_realtime, accept_unknown_age,
                               flag_decided[i] || engines[i].age_hours.has_value());
  }

  if (engines.empty()) {
    r.facts["engine"] = "none";
    r.facts["running"] = false;
    r.facts["engines"] = json::array();
    r.observed = {{"engine", "none"}, {"running", false}};
    if (!have_products && !have_defender) {
      r.status = CheckStatus::kError;
      r.summary = "cannot read the antivirus state: " + antivirus::Join(failures, "; ");
      return r;
    }
    r.status = CheckStatus::kFail;
    r.summary = have_products ? "no antivirus product is registered with Windows Security Center"
                              : "no antivirus: Security Center cannot be read and Defender "
                                "reports no status";
    return r;
  }
  antivirus::Summarise(engines, r);
  return r;
}

}  // namespace cg::collectors

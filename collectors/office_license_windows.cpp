// office_license on Windows: Uninstall entries + Click-to-Run + Software Licensing.
#include "collectors/office_license_windows.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <set>
#include <tuple>

#include "collectors/office_subscription_windows.h"
#include "collectors/office_suites.h"
#include "collectors/os_license_windows.h"
#include "common/text.h"
#include "platform/hresult.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using office::FoundSuite;
using office::SuiteSpec;
using platform::RegistryHive;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kUninstall = R"(SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall)";
constexpr std::string_view kUninstall32 =
    R"(SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall)";
constexpr std::string_view kUserUninstall =
    R"(Software\Microsoft\Windows\CurrentVersion\Uninstall)";
constexpr std::string_view kClickToRun = R"(SOFTWARE\Microsoft\Office\ClickToRun\Configuration)";

struct UninstallEntry {
  std::string where;  // "HKLM\...\Uninstall\{GUID}"
  std::string name;   // DisplayName
  std::string version;
  std::string publisher;
};

// A value that may be absent: "" then; other failures are errors.
Result<std::string> OptionalString(const platform::Registry& reg, RegistryHive hive,
                                   const std::string& key, std::string_view name) {
  auto v = reg.GetString(hive, key, name);
  if (!v.ok() && v.error().code == ErrorCode::kNotFound) {
    return std::string();
  }
  return v;
}

// The entries of one Uninstall key; a missing key is none. Entries Windows itself hides from
// "Apps & features" (SystemComponent = 1, no DisplayName) are skipped, as Windows does.
Status ReadUninstall(const platform::Registry& reg, RegistryHive hive, const std::string& key,
                     const std::string& label, std::vector<UninstallEntry>& out) {
  auto subkeys = reg.ListSubkeys(hive, key);
  if (!subkeys.ok()) {
    if (subkeys.error().code == ErrorCode::kNotFound) {
      return OkStatus();
    }
    return subkeys.error().Wrap(label);
  }
  for (const auto& sub : *subkeys) {
    const std::string path = key + "\\" + sub;
    auto system = reg.GetNumber(hive, path, "SystemComponent");
    if (system.ok() && *system == 1) {
      continue;
    }
    UninstallEntry e;
    e.where = label + "\\" + sub;
    CG_ASSIGN_OR_RETURN(e.name, OptionalString(reg, hive, path, "DisplayName"));
    if (e.name.empty()) {
      continue;
    }
    CG_ASSIGN_OR_RETURN(e.version, OptionalString(reg, hive, path, "DisplayVersion"));
    CG_ASSIGN_OR_RETURN(e.publisher, OptionalString(reg, hive, path, "Publisher"));
    out.push_back(std::move(e));
  }
  return OkStatus();
}

// People's hives under HKEY_USERS: "S-1-5-21-..." (not .DEFAULT, the service accounts or the
// "_Classes" halves).
bool IsUserHive(std::string_view sid) {
  return sid.starts_with("S-1-5-21-") && !sid.ends_with("_Classes");
}

const SuiteSpec* MatchWindows(const office::SuiteTable& table, std::string_view display_name) {
  for (const auto& spec : table.suites) {
    const bool match = std::any_of(spec.windows.begin(), spec.windows.end(),
                                   [&](const auto& p) { return GlobMatch(p, display_name); });
    const bool excluded = std::any_of(spec.windows_exclude.begin(), spec.windows_exclude.end(),
                                      [&](const auto& p) { return GlobMatch(p, display_name); });
    if (match && !excluded) {
      return &spec;
    }
  }
  return nullptr;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string s;
  for (const auto& part : parts) {
    s += (s.empty() ? "" : std::string(sep)) + part;
  }
  return s;
}

json SourceError(const Error& error) {
  json j = {{"error", error.message}};
  if (auto hr = platform::HresultOf(error)) {
    j["hresult"] = *hr;
  }
  return j;
}

}  // namespace

bool IsSubscriptionReleaseId(std::string_view id) {
  return id.starts_with("O365") || id.starts_with("M365");
}

CheckResult EvaluateWindowsOffice(const CheckContext& ctx,
                                  const std::vector<LicenceRecord>& licences) {
  const auto& table = office::Suites();  // parsed by the caller already
  if (!table.ok()) {
    return ErrorResult("office_license", ctx.policy, table.error().message);
  }
  auto& p = ctx.platform;
  if (!p.registry) {
    return ErrorResult("office_license", ctx.policy,
                       "no registry: cannot read the installed programs");
  }
  const auto& reg = *p.registry;
  std::vector<std::string> sources;
  json source_facts = json::object();

  // 1. Installed programs.
  std::vector<UninstallEntry> entries;
  struct Where {
    RegistryHive hive;
    std::string key;
    std::string label;
  };
  std::vector<Where> keys = {
      {RegistryHive::kLocalMachine, std::string(kUninstall), "HKLM\\" + std::string(kUninstall)},
      {RegistryHive::kLocalMachine, std::string(kUninstall32),
       "HKLM\\" + std::string(kUninstall32)}};
  auto users = reg.ListSubkeys(RegistryHive::kUsers, "");
  if (!users.ok()) {
    return ErrorResult("office_license", ctx.policy,
                       "cannot list HKEY_USERS: " + users.error().message);
  }
  for (const auto& sid : *users) {
    if (IsUserHive(sid)) {
      // WPS Office installs per user by default.
      keys.push_back({RegistryHive::kUsers, sid + "\\" + std::string(kUserUninstall),
                      "HKU\\" + sid + "\\" + std::string(kUserUninstall)});
    }
  }
  for (const auto& k : keys) {
    Status s = ReadUninstall(reg, k.hive, k.key, k.label, entries);
    if (!s.ok()) {
      return ErrorResult("office_license", ctx.policy,
                         "cannot read the installed programs: " + s.error().message);
    }
    sources.push_back(k.label);
  }

  std::vector<FoundSuite> found;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  json microsoft_entries = json::array();
  for (const auto& e : entries) {
    const SuiteSpec* spec = MatchWindows(*table, e.name);
    if (spec == nullptr) {
      continue;
    }
    if (spec->suite == "microsoft-office") {
      microsoft_entries.push_back(
          {{"display_name", e.name}, {"version", e.version}, {"key", e.where}});
      continue;  // one Microsoft Office entry, built below from every source
    }
    // The same program registered in two views (or by two users) is one finding per key.
    if (!seen.emplace(spec->suite, e.name, e.where).second) {
      continue;
    }
    FoundSuite f;
    f.spec = spec;
    f.version = e.version;
    f.source = "uninstall";
    f.package = e.name;
    f.state = "installed";
    f.details = {{"registry_key", e.where}};
    if (!e.publisher.empty()) {
      f.details["publisher"] = e.publisher;
    }
    found.push_back(std::move(f));
  }

  // 2. Click-to-Run (Microsoft 365 Apps, Office 2016-2024 retail/volume).
  std::vector<std::string> release_ids;
  std::string c2r_version;
  {
    auto ids = reg.GetString(RegistryHive::kLocalMachine, kClickToRun, "ProductReleaseIds");
    if (ids.ok()) {
      sources.push_back("HKLM\\" + std::string(kClickToRun));
      std::string_view rest = *ids;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const std::string_view part = Trim(rest.substr(0, comma));
        if (!part.empty()) {
          release_ids.emplace_back(part);
        }
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      c2r_version = OptionalString(reg, RegistryHive::kLocalMachine, std::string(kClickToRun),
                                   "VersionToReport")
                        .value_or(std::string());
    } else if (ids.error().code != ErrorCode::kNotFound) {
      return ErrorResult("office_license", ctx.policy,
                         "cannot read Click-to-Run's configuration: " + ids.error().message);
    }
  }

  // 3. Activation: Office 2013+ in SoftwareLicensingProduct; Office 2010 (and 2013 on Windows
  // 7) in OfficeSoftwareProtectionProduct, a class that exists only where osppsvc is installed.
  std::vector<platform::LicensingProduct> office_products;
  std::vector<std::string> undecided;
  if (!p.licensing) {
    undecided.push_back("no Software Licensing source");
  } else {
    auto sl = p.licensing->Products(platform::LicensingService::kSoftwareLicensing,
                                    platform::kOfficeApplicationId);
    if (sl.ok()) {
      source_facts["SoftwareLicensingProduct"] = "read";
      office_products.insert(office_products.end(), sl->begin(), sl->end());
    } else {
      source_facts["SoftwareLicensingProduct"] = SourceError(sl.error());
      undecided.push_back("SoftwareLicensingProduct cannot be read: " + sl.error().message);
    }
    for (const auto app : {platform::kOffice2010ApplicationId, platform::kOfficeApplicationId}) {
      auto ospp = p.licensing->Products(platform::LicensingService::kOfficeSoftwareProtection, app);
      if (ospp.ok()) {
        source_facts["OfficeSoftwareProtectionProduct"] = "read";
        office_products.insert(office_products.end(), ospp->begin(), ospp->end());
      } else if (ospp.error().code == ErrorCode::kUnavailable) {
        // WBEM_E_INVALID_CLASS: no Office Software Protection Platform on this machine.
        source_facts["OfficeSoftwareProtectionProduct"] = "not installed";
        break;
      } else {
        source_facts["OfficeSoftwareProtectionProduct"] = SourceError(ospp.error());
        undecided.push_back("OfficeSoftwareProtectionProduct cannot be read: " +
                            ospp.error().message);
        break;
      }
    }
  }
  sources.push_back("Software Licensing");

  if (!release_ids.empty() || !office_products.empty() || !microsoft_entries.empty()) {
    FoundSuite f;
    f.spec = office::FindSuite(*table, "microsoft-office");
    f.state = "installed";
    f.version = c2r_version;
    if (!release_ids.empty()) {
      f.source = "click-to-run";
      f.package = Join(release_ids, ",");
    } else if (!microsoft_entries.empty()) {
      f.source = "uninstall";
      f.package = microsoft_entries.front().value("display_name", "");
      f.version = microsoft_entries.front().value("version", "");
    } else {
      f.source = "software-licensing";
      f.package = office_products.front().name;
    }
    json products = json::array();
    const platform::LicensingProduct* licensed = nullptr;
    const platform::LicensingProduct* other = nullptr;
    for (const auto& lp : office_products) {
      json j = {{"name", lp.name},
                {"partial_product_key", lp.partial_key},
                {"license_status", lp.license_status},
                {"license_status_name", LicenseStatusName(lp.license_status)},
                {"source", lp.source}};
      if (lp.grace_minutes) {
        j["grace_period_remaining_minutes"] = *lp.grace_minutes;
      }
      if (!lp.channel.empty()) {
        j["channel"] = lp.channel;
      }
      if (!lp.kms_machine.empty()) {
        j["kms_machine"] = lp.kms_machine;
      }
      products.push_back(std::move(j));
      if (lp.license_status == static_cast<uint32_t>(platform::LicenseStatus::kLicensed)) {
        licensed = licensed ? licensed : &lp;
      } else if (other == nullptr) {
        other = &lp;
      }
    }
    f.details = {{"licensing_products", products}};
    if (!release_ids.empty()) {
      f.details["click_to_run"] = {{"product_release_ids", release_ids}};
    }
    if (!microsoft_entries.empty()) {
      f.details["uninstall_entries"] = microsoft_entries;
    }
    std::vector<std::string> subscription_ids;
    std::copy_if(release_ids.begin(), release_ids.end(), std::back_inserter(subscription_ids),
                 IsSubscriptionReleaseId);
    const bool subscription = !subscription_ids.empty();
    // Microsoft 365: its per-user (or per-device) licence files, read as vNextDiag.ps1 does.
    std::optional<bool> vnext;
    std::string vnext_detail;
    if (subscription && p.fs) {
      const OfficeSubscription sub =
          ReadOfficeSubscription(reg, *p.fs, subscription_ids, p.clock->Now());
      f.details["microsoft_365"] = sub.facts;
      vnext = SubscriptionVerdict(sub, subscription_ids, vnext_detail);
    }
    if (licensed != nullptr) {
      f.activated = true;
      f.activation_detail = "activated: " + licensed->name + " (key ..." + licensed->partial_key +
                            (licensed->channel.empty() ? "" : ", " + licensed->channel) + ")";
    } else if (other != nullptr) {
      f.activated = false;
      f.activation_detail =
          "not activated: " + other->name + " is " + LicenseStatusName(other->license_status);
      if (other->grace_minutes && *other->grace_minutes > 0) {
        f.activation_detail +=
            ", " + std::to_string(*other->grace_minutes / (24 * 60)) + " day(s) of grace left";
      }
    } else if (vnext) {
      // Microsoft 365's own licence (vNext): Licensed passes; Grace and RFM fail.
      f.activated = *vnext;
      f.activation_detail = "Microsoft 365 " + vnext_detail;
      f.details["licence_basis"] =
          "Microsoft 365 subscription: judged by its licence files, as Microsoft's "
          "vNextDiag.ps1 judges them (RFM after Metadata.NotAfter, Licensed before ExpiresOn, "
          "Grace after it)";
    } else if (subscription) {
      // No licence file decides (none, or one that cannot be judged): only the policy's record
      // can vouch for the subscription.
      f.details["licence_basis"] =
          "Microsoft 365 subscription: the licence is a per-user sign-in licence that the "
          "Software Licensing service does not report, and " +
          (vnext_detail.empty() ? std::string("its licence files were not read") : vnext_detail) +
          "; judged by the policy's licence record";
    } else {
      f.details["licence_basis"] =
          "no Office product key is installed; judged by the policy's licence record";
    }
    // An activation verdict stands on its own; without one the Software Licensing failure
    // leaves the Office licence undecided.
    if (!f.activated && !undecided.empty()) {
      CheckResult r = MakeResult("office_license", ctx.policy);
      r.status = CheckStatus::kError;
      r.summary = "Microsoft Office is installed but its activation cannot be read: " +
                  Join(undecided, "; ");
      r.facts["sources"] = sources;
      r.facts["licensing_sources"] = source_facts;
      r.facts["microsoft_office"] = f.details;
      return r;
    }
    found.push_back(std::move(f));
  }

  CheckResult r = MakeResult("office_license", ctx.policy);
  office::JudgeSuites(found, sources, licences, p.clock->Now(), *table, r);
  r.facts["licensing_sources"] = source_facts;
  // Without Software Licensing the search is incomplete: a key-activated Office leaves no
  // Uninstall entry under some deployments (App-V, portable), so no verdict can be "none".
  if (r.status == CheckStatus::kPass && !undecided.empty()) {
    r.status = CheckStatus::kError;
    r.summary = "cannot tell whether Microsoft Office is licensed: " + Join(undecided, "; ") +
                " (" + r.summary + ")";
  }
  return r;
}

}  // namespace cg::collectors

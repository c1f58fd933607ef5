// os_license on Windows: end of servicing by build and edition, activation by LicenseStatus.
#include "collectors/os_license_windows.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <vector>

#include "common/timeutil.h"
#include "platform/hresult.h"

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kTableJson =
#include "collectors/data/windows_support.inc"
    ;
constexpr std::string_view kCurrentVersion = R"(SOFTWARE\Microsoft\Windows NT\CurrentVersion)";
constexpr auto kDay = std::chrono::hours(24);
constexpr std::string_view kGroups[] = {"home_pro", "enterprise_education", "ltsc", "iot_ltsc",
                                        "server"};

struct Release {
  uint32_t build = 0;
  std::string name;
  std::string server_name;
  std::string version;
  json ends;  // group -> "YYYY-MM-DD"
};

struct Table {
  std::string compiled;
  std::vector<Release> releases;
};

Result<SysTime> EndOfDay(std::string_view date) {
  auto start = ParseRfc3339(std::string(date) + "T00:00:00Z");
  if (!start.ok() || date.size() != 10) {
    return MakeError(ErrorCode::kParse, "'" + std::string(date) + "' is not a date (YYYY-MM-DD)");
  }
  return *start + kDay;
}

Result<Table> ParseTable() {
  const json doc = json::parse(kTableJson, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("releases") ||
      !doc["releases"].is_array() || !doc.value("compiled", json()).is_string()) {
    return MakeError(ErrorCode::kParse, "Windows support table is malformed");
  }
  Table t;
  t.compiled = doc["compiled"].get<std::string>();
  for (const auto& r : doc["releases"]) {
    Release rel;
    if (!r.is_object() || !r.value("build", json()).is_number_unsigned() ||
        !r.value("name", json()).is_string()) {
      return MakeError(ErrorCode::kParse, "Windows support table: a release lacks build or name");
    }
    rel.build = r["build"].get<uint32_t>();
    rel.name = r["name"].get<std::string>();
    rel.server_name = r.value("server_name", "");
    rel.version = r.value("version", "");
    rel.ends = json::object();
    for (const auto group : kGroups) {
      if (auto it = r.find(std::string(group)); it != r.end()) {
        if (!it->is_string() || !EndOfDay(it->get<std::string>()).ok()) {
          return MakeError(ErrorCode::kParse, "Windows support table: build " +
                                                  std::to_string(rel.build) + "." +
                                                  std::string(group) + " is not a date");
        }
        rel.ends[std::string(group)] = *it;
      }
    }
    t.releases.push_back(std::move(rel));
  }
  return t;
}

const Result<Table>& SupportTable() {
  static const Result<Table> table = ParseTable();
  return table;
}

// "10.0.19045" -> 19045.
std::optional<uint32_t> BuildOf(std::string_view os_version) {
  const size_t dot = os_version.rfind('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view digits = os_version.substr(dot + 1);
  uint32_t build = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), build);
  if (ec != std::errc() || p != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return build;
}

enum class Activation { kActive, kInactive, kUnknown };

std::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kActive:
      return "active";
    case Activation::kInactive:
      return "inactive";
    case Activation::kUnknown:
      return "unknown";
  }
  return "unknown";
}

json ProductJson(const platform::LicensingProduct& p) {
  json j = {{"name", p.name},
            {"description", p.description},
            {"partial_product_key", p.partial_key},
            {"license_status", p.license_status},
            {"license_status_name", LicenseStatusName(p.license_status)},
            {"source", p.source}};
  if (p.grace_minutes) {
    j["grace_period_remaining_minutes"] = *p.grace_minutes;
  }
  if (p.status_reason) {
    j["license_status_reason"] = platform::FormatHresult(*p.status_reason);
  }
  if (p.is_addon) {
    j["addon"] = *p.is_addon;
  }
  if (!p.channel.empty()) {
    j["channel"] = p.channel;
  }
  if (!p.kms_machine.empty()) {
    j["kms_machine"] = p.kms_machine;
  }
  return j;
}

struct ActivationVerdict {
  Activation state = Activation::kUnknown;
  std::string detail;
  json facts = json::object();
};

// Windows is activated when one of its (non add-on) products with a key is Licensed.
ActivationVerdict JudgeActivation(const platform::Licensing& licensing) {
  ActivationVerdict v;
  auto products = licensing.Products(platform::LicensingService::kSoftwareLicensing,
                                     platform::kWindowsApplicationId);
  if (!products.ok()) {
    v.detail = "SoftwareLicensingProduct cannot be read: " + products.error().message;
    v.facts["error"] = products.error().message;
    if (auto hr = platform::HresultOf(products.error())) {
      v.facts["hresult"] = *hr;
    }
    return v;
  }
  json list = json::array();
  const platform::LicensingProduct* licensed = nullptr;
  const platform::LicensingProduct* best = nullptr;
  for (const auto& p : *products) {
    list.push_back(ProductJson(p));
    if (p.is_addon == true) {
      continue;  // ESU and other add-ons do not license Windows itself
    }
    if (p.license_status == static_cast<uint32_t>(platform::LicenseStatus::kLicensed)) {
      licensed = licensed ? licensed : &p;
    } else if (best == nullptr) {
      best = &p;
    }
  }
  v.facts["products"] = list;
  if (licensed != nullptr) {
    v.state = Activation::kActive;
    v.detail = "Windows is activated (" + licensed->name +
               (licensed->channel.empty() ? "" : ", " + licensed->channel) + ", key ..." +
               licensed->partial_key + ")";
    return v;
  }
  if (best == nullptr) {
    v.state = Activation::kInactive;
    v.detail = "no Windows product key is installed (SoftwareLicensingProduct lists none)";
    return v;
  }
  if (best->license_status > static_cast<uint32_t>(platform::LicenseStatus::kExtendedGrace)) {
    v.detail = "Windows reports LicenseStatus " + std::to_string(best->license_status) +
               ", which is not documented";
    return v;
  }
  v.state = Activation::kInactive;
  v.detail = "Windows is not activated: " + LicenseStatusName(best->license_status);
  if (best->grace_minutes && *best->grace_minutes > 0) {
    v.detail +=
        ", " + std::to_string(*best->grace_minutes / (24 * 60)) + " day(s) of grace period left";
  }
  if (best->status_reason && *best->status_reason != 0) {
    v.detail += " (reason " + platform::FormatHresult(*best->status_reason) + ")";
  }
  return v;
}

}  // namespace

std::string ServicingGroup(std::string_view e) {
  static const std::vector<std::string_view> home_pro = {"Core",
                                                         "CoreN",
                                                         "CoreSingleLanguage",
                                                         "CoreCountrySpecific",
                                                         "Professional",
                                                         "ProfessionalN",
                                                         "ProfessionalEducation",
                                                         "ProfessionalEducationN",
                                                         "ProfessionalWorkstation",
                                                         "ProfessionalWorkstationN",
                                                         "ProfessionalSingleLanguage",
                                                         "ProfessionalCountrySpecific",
                                                         "Cloud",
                                                         "CloudN",
                                                         "Ultimate",
                                                         "HomePremium",
                                                         "HomeBasic",
                                                         "Starter"};
  static const std::vector<std::string_view> enterprise = {
      "Enterprise",   "EnterpriseN",   "Education", "EducationN", "EnterpriseG",
      "EnterpriseGN", "IoTEnterprise", "ServerRdsh"};  // ServerRdsh: Enterprise multi-session
  auto in = [&](const std::vector<std::string_view>& list) {
    return std::find(list.begin(), list.end(), e) != list.end();
  };
  if (in(home_pro)) {
    return "home_pro";
  }
  if (in(enterprise)) {
    return "enterprise_education";
  }
  if (e == "EnterpriseS" || e == "EnterpriseSN") {
    return "ltsc";
  }
  if (e == "IoTEnterpriseS") {
    return "iot_ltsc";
  }
  if (e.starts_with("Server")) {
    return "server";
  }
  return "";
}

std::string LicenseStatusName(uint32_t status) {
  static constexpr std::string_view kNames[] = {"Unlicensed",
                                                "Licensed",
                                                "OOBGrace (not activated yet)",
                                                "OOTGrace (hardware changed, re-activation needed)",
                                                "NonGenuineGrace (failed genuine validation)",
                                                "Notification (activation period over)",
                                                "ExtendedGrace"};
  if (status < std::size(kNames)) {
    return std::string(kNames[status]);
  }
  return "unknown (" + std::to_string(status) + ")";
}

CheckResult EvaluateWindowsLicense(const CheckContext& ctx, CheckResult r) {
  auto& p = ctx.platform;
  auto undecided = [&](std::string reason) {
    r.status = CheckStatus::kError;
    r.summary = std::move(reason);
    return r;
  };
  const auto& table = SupportTable();
  if (!table.ok()) {
    return undecided(table.error().message);
  }
  r.facts["support_table_compiled"] = table->compiled;
  auto identity = p.host->Identity();
  if (!identity.ok()) {
    return undecided("cannot identify Windows: " + identity.error().ToString());
  }
  r.facts["distribution"] = identity->os_name;
  r.facts["version"] = identity->os_version;
  const std::optional<uint32_t> build = BuildOf(identity->os_version);
  if (!build) {
    return undecided("cannot read the build number from '" + identity->os_version + "'");
  }
  r.facts["build"] = *build;

  std::vector<std::string> fails;
  std::vector<std::string> unknowns;
  const SysTime now = p.clock->Now();
  const int64_t min_days_left = ctx.policy.Int("min_days_left");

  // The edition decides the servicing group (Home/Pro and Enterprise/Education end apart).
  std::string edition;
  if (!p.registry) {
    unknowns.push_back("no registry to read the edition from");
  } else {
    auto value =
        p.registry->GetString(platform::RegistryHive::kLocalMachine, kCurrentVersion, "EditionID");
    if (value.ok()) {
      edition = *value;
    } else {
      unknowns.push_back("cannot read the Windows edition (EditionID): " + value.error().message);
    }
  }
  r.facts["edition_id"] = edition.empty() ? json(nullptr) : json(edition);

  std::string label = identity->os_name + " (build " + std::to_string(*build) + ")";
  std::string programme = "unknown";
  json days_left_fact = nullptr;
  const auto rel = std::find_if(table->releases.begin(), table->releases.end(),
                                [&](const Release& x) { return x.build == *build; });
  if (rel == table->releases.end()) {
    unknowns.push_back("Windows build " + std::to_string(*build) +
                       " is not in the support table (compiled " + table->compiled + ")");
  } else if (!edition.empty()) {
    std::string group = ServicingGroup(edition);
    if (group == "iot_ltsc" && !rel->ends.contains("iot_ltsc")) {
      group = "ltsc";
    }
    r.facts["servicing_group"] = group.empty() ? json(nullptr) : json(group);
    const std::string name = group == "server" && !rel->server_name.empty()
                                 ? rel->server_name
                                 : rel->name + (rel->version.empty() ? "" : " " + rel->version);
    label = name + " " + edition + " (build " + std::to_string(*build) + ")";
    r.facts["release"] = name;
    if (group.empty()) {
      unknowns.push_back("edition '" + edition + "' is not in the support table");
    } else if (!rel->ends.contains(group)) {
      unknowns.push_back(name + " has no " + group + " servicing in the support table");
    } else {
      const std::string last_day = rel->ends[group].get<std::string>();
      const SysTime end = EndOfDay(last_day).value_or(SysTime{});
      const auto days_left =
          static_cast<int64_t>(std::chrono::floor<std::chrono::days>(end - now).count());
      r.facts["support_end"] = last_day;
      r.facts["days_left"] = days_left;
      days_left_fact = days_left;
      if (now >= end) {
        programme = "none";
        fails.push_back("Microsoft ended security updates on " + last_day +
                        " (extended security updates are not counted)");
      } else {
        programme = "standard";
        if (days_left < min_days_left) {
          fails.push_back("support ends on " + last_day + ", " + std::to_string(days_left) +
                          " day(s) left, policy wants at least " + std::to_string(min_days_left));
        }
      }
    }
  }
  r.facts["programme"] = programme;

  const bool required = ctx.policy.Bool("require_subscription");
  ActivationVerdict activation;
  if (!p.licensing) {
    activation.detail = "no Software Licensing source on this platform";
  } else {
    activation = JudgeActivation(*p.licensing);
  }
  r.facts["subscription"] = {{"kind", "windows-activation"},
                             {"state", std::string(ActivationName(activation.state))},
                             {"detail", activation.detail},
                             {"required", required}};
  r.facts["licensing"] = activation.facts;
  if (required) {
    if (activation.state == Activation::kInactive) {
      fails.push_back(activation.detail);
    } else if (activation.state == Activation::kUnknown) {
      unknowns.push_back("activation cannot be verified: " + activation.detail);
    }
  }

  r.expected = {{"vendor_support", true},
                {"min_days_left", min_days_left},
                {"subscription", required ? "active" : "not required"}};
  r.observed = {{"vendor_support", programme == "standard"},
                {"programme", programme},
                {"days_left", days_left_fact},
                {"subscription", std::string(ActivationName(activation.state))}};
  auto join = [](const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& x : parts) {
      s += (s.empty() ? "" : "; ") + x;
    }
    return s;
  };
  if (!fails.empty()) {
    r.status = CheckStatus::kFail;
    r.summary = label + ": " + join(fails);
  } else if (!unknowns.empty()) {
    r.status = CheckStatus::kError;
    r.summary = label + ": " + join(unknowns);
  } else {
    r.status = CheckStatus::kPass;
    r.summary = label + ": supported until " + r.facts["support_end"].get<std::string>() + ", " +
                std::to_string(days_left_fact.get<int64_t>()) + " day(s) left" +
                (required ? "; " + activation.detail : "");
  }
  return r;
}

}  // namespace cg::collectors

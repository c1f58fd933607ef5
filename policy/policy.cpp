// Policy defaults, validation and canonical form.
#include "policy/policy.h"

#include <cstdio>
#include <cstdlib>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"

namespace cg::policy {
namespace {

using nlohmann::json;

[[noreturn]] void Die(std::string_view what) {
  std::fprintf(stderr, "fatal: policy invariant: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

struct ParamSpec {
  const char* name;
  json default_value;
  int64_t min = 0;  // for integers
  int64_t max = 0;
};

struct CheckSpec {
  const char* id;
  protocol::Severity severity;
  std::vector<ParamSpec> params;
};

// The one table of checks and their parameters; docs/policy.md documents the same.
const std::vector<CheckSpec>& Specs() {
  static const std::vector<CheckSpec> specs = {
      {"antivirus",
       protocol::Severity::kHigh,
       {
           {"max_signature_age_hours", 72, 1, 8760},
           {"require_realtime", false},
           {"accept_unknown_signature_age", false},
       }},
      {"yara",
       protocol::Severity::kHigh,
       {
           {"rules", json::array()},
           {"paths", json::array({"~", "/home", "/root", "/tmp", "/var/tmp", "/opt", "/srv",
                                  "/usr/local", "/etc"})},
           {"include", json::array()},
           {"exclude", json::array()},
           {"max_file_size", int64_t{256} << 20, 0, int64_t{1} << 50},
           {"skip_extensions", json::array()},
           {"follow_symlinks", false},
           {"one_filesystem", true},
           {"threads", 0, 0, 32},
           {"cpu_budget_percent", 25, 0, 100},
           {"pause_on_battery", false},
           {"file_timeout_seconds", 10, 0, 3600},
           {"severity_threshold", "high"},
           {"schedule_window", "11:30-13:30"},
       }},
      {"os_license",
       protocol::Severity::kMedium,
       {
           {"require_subscription", true},
           {"min_days_left", 0, 0, 3650},
       }},
      {"office_license",
       protocol::Severity::kMedium,
       {
           {"licences", json::array()},
       }},
      {"screen_lock",
       protocol::Severity::kMedium,
       {
           {"max_idle_seconds", 300, 1, 86400},
           {"max_lock_delay_seconds", 5, 0, 3600},
           {"allow_user_override", false},
           {"read_profiles_not_logged_on", false},
       }},
      {"password_age",
       protocol::Severity::kHigh,
       {
           {"max_days", 90, 1, 3650},
           {"expiry_warning_days", 14, 0, 365},
           {"include_root", false},
       }},
  };
  return specs;
}

const CheckSpec* FindSpec(std::string_view id) {
  for (const auto& s : Specs()) {
    if (id == s.id) {
      return &s;
    }
  }
  return nullptr;
}

Error Invalid(const std::string& path, const std::string& msg) {
  return MakeError(ErrorCode::kInvalidArgument, "policy " + path + ": " + msg);
}

Status CheckParam(const std::string& path, const ParamSpec& spec, const json& v) {
  const json& d = spec.default_value;
  if (d.is_boolean()) {
    if (!v.is_boolean()) {
      return Invalid(path, "must be true or false");
    }
  } else if (d.is_number_integer()) {
    if (!v.is_number_integer()) {
      return Invalid(path, "must be an integer");
    }
    const auto n = v.get<int64_t>();
    if (n < spec.min || n > spec.max) {
      return Invalid(
          path, "must be between " + std::to_string(spec.min) + " and " + std::to_string(spec.max));
    }
  } else if (d.is_string()) {
    if (!v.is_string()) {
      return Invalid(path, "must be a string");
    }
  } else if (d.is_array()) {
    if (!v.is_array()) {
      return Invalid(path, "must be an array");
    }
  } else if (d.is_object()) {
    if (!v.is_object()) {
      return Invalid(path, "must be an object");
    }
  }
  return OkStatus();
}

// Floating-point numbers have no single canonical text form; the policy has no use for them.
Status RejectFloats(const json& j, const std::string& path) {
  if (j.is_number_float()) {
    return Invalid(path, "floating-point numbers are not allowed (use integers)");
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      CG_RETURN_IF_ERROR(RejectFloats(*it, path.empty() ? it.key() : path + "." + it.key()));
    }
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      CG_RETURN_IF_ERROR(RejectFloats(j[i], path + "[" + std::to_string(i) + "]"));
    }
  }
  return OkStatus();
}

// The fields that decide whether a signed policy applies (target, validity, key rotation).
Status CheckEnvelopeFields(const json& doc) {
  CG_RETURN_IF_ERROR(RejectFloats(doc, ""));
  if (auto it = doc.find("target"); it != doc.end()) {
    if (!it->is_object()) {
      return Invalid("target", "must be an object");
    }
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (t.key() != "groups") {
        return Invalid("target." + t.key(), "unknown key");
      }
    }
    const json groups = it->value("groups", json::array());
    if (!groups.is_array() || groups.empty()) {
      return Invalid("target.groups", "must be a non-empty array of group prefixes");
    }
    for (const auto& g : groups) {
      if (!g.is_string() || g.get_ref<const std::string&>().empty() ||
          g.get_ref<const std::string&>().size() > 128) {
        return Invalid("target.groups", "entries must be non-empty strings (at most 128)");
      }
    }
  }
  for (const char* key : {"not_before", "expires_at"}) {
    if (auto it = doc.find(key); it != doc.end()) {
      if (!it->is_string() || !ParseRfc3339(it->get<std::string>()).ok()) {
        return Invalid(key, "must be an RFC 3339 time like 2026-12-01T00:00:00Z");
      }
    }
  }
  if (auto it = doc.find("trusted_keys"); it != doc.end()) {
    if (!it->is_array() || it->empty()) {
      return Invalid("trusted_keys", "must be a non-empty array of public keys (PEM)");
    }
    for (const auto& k : *it) {
      if (!k.is_string()) {
        return Invalid("trusted_keys", "entries must be PEM strings");
      }
    }
  }
  if (auto it = doc.find("description"); it != doc.end() && !it->is_string()) {
    return Invalid("description", "must be a string");
  }
  return OkStatus();
}

}  // namespace

int64_t CheckPolicy::Int(std::string_view key) const {
  auto it = params.find(std::string(key));
  if (it == params.end() || !it->is_number_integer()) {
    Die(key);
  }
  return it->get<int64_t>();
}

bool CheckPolicy::Bool(std::string_view key) const {
  auto it = params.find(std::string(key));
  if (it == params.end() || !it->is_boolean()) {
    Die(key);
  }
  return it->get<bool>();
}

std::string CheckPolicy::String(std::string_view key) const {
  auto it = params.find(std::string(key));
  if (it == params.end() || !it->is_string()) {
    Die(key);
  }
  return it->get<std::string>();
}

const CheckPolicy& Policy::Check(std::string_view id) const {
  auto it = checks.find(id);
  if (it == checks.end()) {
    Die(id);
  }
  return it->second;
}

const std::vector<std::string>& KnownCheckIds() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& s : Specs()) {
      v.emplace_back(s.id);
    }
    return v;
  }();
  return ids;
}

Policy DefaultPolicy() {
  auto p = ParsePolicy(json::object());
  if (!p.ok()) {
    Die(p.error().message);
  }
  return std::move(p).value();
}

Result<Policy> ParsePolicy(const json& document) {
  if (!document.is_object()) {
    return Invalid("", "document must be a JSON object");
  }
  Policy p;
  p.version = 0;
  json doc = document;
  if (auto it = doc.find("version"); it != doc.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return Invalid("version", "must be a non-negative integer");
    }
    p.version = it->get<int64_t>();
  }
  if (auto it = doc.find("name"); it != doc.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().size() > 200) {
      return Invalid("name", "must be a string of at most 200 characters");
    }
    p.name = it->get<std::string>();
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    static const std::vector<std::string> kTopLevel = {"version",     "name",         "checks",
                                                       "target",      "not_before",   "expires_at",
                                                       "description", "trusted_keys", "reporting"};
    if (std::find(kTopLevel.begin(), kTopLevel.end(), it.key()) == kTopLevel.end()) {
      return Invalid(it.key(), "unknown key");
    }
  }
  CG_RETURN_IF_ERROR(CheckEnvelopeFields(doc));
  if (auto it = doc.find("reporting"); it != doc.end()) {
    if (!it->is_object()) {
      return Invalid("reporting", "must be an object");
    }
    struct Field {
      const char* key;
      int64_t min, max;
      std::optional<int64_t>* out;
    };
    const Field fields[] = {
        {"interval_seconds", 60, 86400, &p.reporting.interval_seconds},
        {"stale_after_intervals", 1, 10000, &p.reporting.stale_after_intervals},
        {"spool_max_bytes", int64_t{1} << 20, int64_t{1} << 32, &p.reporting.spool_max_bytes}};
    for (auto r = it->begin(); r != it->end(); ++r) {
      const Field* field = nullptr;
      for (const auto& f : fields) {
        field = r.key() == f.key ? &f : field;
      }
      if (field == nullptr) {
        return Invalid("reporting." + r.key(), "unknown key");
      }
      if (!r->is_number_integer() || r->get<int64_t>() < field->min ||
          r->get<int64_t>() > field->max) {
        return Invalid("reporting." + r.key(), "must be an integer between " +
                                                   std::to_string(field->min) + " and " +
                                                   std::to_string(field->max));
      }
      *field->out = r->get<int64_t>();
    }
  }
  json checks = doc.value("checks", json::object());
  if (!checks.is_object()) {
    return Invalid("checks", "must be an object");
  }
  for (auto it = checks.begin(); it != checks.end(); ++it) {
    if (FindSpec(it.key()) == nullptr) {
      return Invalid("checks." + it.key(), "unknown check");
    }
    if (!it->is_object()) {
      return Invalid("checks." + it.key(), "must be an object");
    }
  }
  json merged_checks = json::object();
  for (const auto& spec : Specs()) {
    const std::string base = std::string("checks.") + spec.id;
    const json section = checks.value(spec.id, json::object());
    CheckPolicy cp;
    cp.severity = spec.severity;
    for (auto it = section.begin(); it != section.end(); ++it) {
      const std::string path = base + "." + it.key();
      if (it.key() == "enabled" || it.key() == "enforce") {
        if (!it->is_boolean()) {
          return Invalid(path, "must be true or false");
        }
        (it.key() == "enabled" ? cp.enabled : cp.enforce) = it->get<bool>();
        continue;
      }
      if (it.key() == "severity") {
        if (!it->is_string()) {
          return Invalid(path, "must be a string");
        }
        auto sev = protocol::ParseSeverity(it->get<std::string>());
        if (!sev.ok()) {
          return Invalid(path, sev.error().message);
        }
        cp.severity = *sev;
        continue;
      }
      const ParamSpec* ps = nullptr;
      for (const auto& candidate : spec.params) {
        if (it.key() == candidate.name) {
          ps = &candidate;
        }
      }
      if (ps == nullptr) {
        return Invalid(path, "unknown parameter");
      }
      CG_RETURN_IF_ERROR(CheckParam(path, *ps, *it));
      cp.params[it.key()] = *it;
    }
    for (const auto& ps : spec.params) {
      if (!cp.params.contains(ps.name)) {
        cp.params[ps.name] = ps.default_value;
      }
    }
    json merged = cp.params;
    merged["enabled"] = cp.enabled;
    merged["enforce"] = cp.enforce;
    merged["severity"] = std::string(protocol::ToString(cp.severity));
    merged_checks[spec.id] = std::move(merged);
    p.checks.emplace(spec.id, std::move(cp));
  }
  doc["checks"] = std::move(merged_checks);
  doc["version"] = p.version;
  doc["name"] = p.name;
  p.document = std::move(doc);
  return p;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 4u << 20));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return MakeError(ErrorCode::kParse, path + ": not valid JSON");
  }
  auto p = ParsePolicy(doc);
  if (!p.ok()) {
    return p.error().Wrap(path);
  }
  return p;
}

std::string CanonicalJson(const json& j) {
  // nlohmann::json objects are std::map-backed: keys are already sorted by byte value, and
  // dump() without indent emits no insignificant whitespace.
  return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::strict);
}

std::string PolicyHash(const Policy& p) { return Sha256Hex(CanonicalJson(p.document)); }

}  // namespace cg::policy

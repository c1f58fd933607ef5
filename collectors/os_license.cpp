// os_license: os-release + the shipped support table + the vendor's subscription evidence.
#include "collectors/os_license.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <ctime>
#include <memory>
#include <vector>

namespace cg::collectors {
namespace {

using nlohmann::json;
using protocol::CheckResult;
using protocol::CheckStatus;

constexpr std::string_view kSupportTableJson =
#include "collectors/data/os_support.inc"
    ;

constexpr std::string_view kOsReleasePaths[] = {"/etc/os-release", "/usr/lib/os-release"};
constexpr std::string_view kEntitlementDir = "/etc/pki/entitlement";
constexpr std::string_view kProStatus = "/var/lib/ubuntu-advantage/status.json";
constexpr std::string_view kProMachineToken =
    "/var/lib/ubuntu-advantage/private/machine-token.json";
constexpr auto kSuseConnectTimeout = std::chrono::seconds(60);
constexpr auto kDay = std::chrono::hours(24);

Error ParseError(std::string message) { return MakeError(ErrorCode::kParse, std::move(message)); }

// The first instant after the last supported day "YYYY-MM-DD".
Result<SysTime> EndOfDay(std::string_view date) {
  auto start = ParseRfc3339(std::string(date) + "T00:00:00Z");
  if (!start.ok() || date.size() != 10) {
    return ParseError("'" + std::string(date) + "' is not a date (YYYY-MM-DD)");
  }
  return *start + kDay;
}

std::string DateOf(SysTime t) { return FormatRfc3339(t).substr(0, 10); }

// Vendors write "no expiry" as a far-future date (Ubuntu Pro's 9999-12-31, X.509's
// 99991231235959Z) that does not fit a nanosecond time_point; anything from 2200 on is that
// far future.
constexpr int64_t kFarFutureUnix = 7258118400;  // 2200-01-01T00:00:00Z

SysTime ClampedFromUnix(int64_t seconds) {
  return FromUnixSeconds(std::min(seconds, kFarFutureUnix));
}

bool IsFarFuture(SysTime t) { return ToUnixSeconds(t) >= kFarFutureUnix; }

std::string FormatExpiry(SysTime t) { return IsFarFuture(t) ? "no expiry" : FormatRfc3339(t); }

// RFC 3339, with years from 2200 on read as the far future instead of overflowing.
Result<SysTime> ParseExpiryTime(const std::string& text) {
  int year = 0;
  if (text.size() >= 4 && std::all_of(text.begin(), text.begin() + 4, [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
      })) {
    year = std::stoi(text.substr(0, 4));
  }
  if (year >= 2200) {
    CG_RETURN_IF_ERROR(ParseRfc3339("2000" + text.substr(4)));  // still well-formed
    return FromUnixSeconds(kFarFutureUnix);
  }
  return ParseRfc3339(text);
}

struct Release {
  std::string version;
  std::string codename;
  std::string standard_end;  // last day, "YYYY-MM-DD"
  std::string extended_end;  // empty: no extended programme
  std::string els_end;       // RHEL ELS, informational
  bool approximate = false;
};

struct Distribution {
  std::string id;
  std::string name;
  std::vector<std::string> os_release_ids;
  std::string name_includes;
  std::string name_excludes;
  bool match_major = false;
  std::string extended_programme;  // "lts", "esm" or empty
  std::string extended_requires;   // "ubuntu-pro" or empty
  std::string subscription;        // "none", "rhel-entitlement", "suse-connect"
  std::vector<Release> releases;
};

struct SupportTable {
  std::string compiled;
  std::vector<Distribution> distributions;
};

Result<std::string> TableString(const json& o, const char* key, const std::string& where,
                                bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) {
      return ParseError(where + "." + key + " is missing");
    }
    return std::string();
  }
  if (!it->is_string()) {
    return ParseError(where + "." + key + " must be a string");
  }
  return it->get<std::string>();
}

Result<std::string> TableDate(const json& o, const char* key, const std::string& where,
                              bool required) {
  CG_ASSIGN_OR_RETURN(std::string date, TableString(o, key, where, required));
  if (!date.empty()) {
    CG_RETURN_IF_ERROR(EndOfDay(date));
  }
  return date;
}

Result<SupportTable> ParseSupportTable() {
  const json doc = json::parse(kSupportTableJson, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return ParseError("support table is not a JSON object");
  }
  SupportTable table;
  CG_ASSIGN_OR_RETURN(table.compiled, TableDate(doc, "compiled", "table", true));
  auto dists = doc.find("distributions");
  if (dists == doc.end() || !dists->is_array()) {
    return ParseError("support table: distributions must be an array");
  }
  for (size_t i = 0; i < dists->size(); ++i) {
    const json& d = (*dists)[i];
    const std::string where = "distributions[" + std::to_string(i) + "]";
    if (!d.is_object()) {
      return ParseError(where + " must be an object");
    }
    Distribution dist;
    CG_ASSIGN_OR_RETURN(dist.id, TableString(d, "id", where, true));
    CG_ASSIGN_OR_RETURN(dist.name, TableString(d, "name", where, true));
    CG_ASSIGN_OR_RETURN(dist.name_includes, TableString(d, "name_includes", where, false));
    CG_ASSIGN_OR_RETURN(dist.name_excludes, TableString(d, "name_excludes", where, false));
    CG_ASSIGN_OR_RETURN(std::string match, TableString(d, "version_match", where, true));
    if (match != "exact" && match != "major") {
      return ParseError(where + ".version_match must be exact or major");
    }
    dist.match_major = match == "major";
    CG_ASSIGN_OR_RETURN(dist.extended_programme,
                        TableString(d, "extended_programme", where, false));
    CG_ASSIGN_OR_RETURN(dist.extended_requires, TableString(d, "extended_requires", where, false));
    CG_ASSIGN_OR_RETURN(dist.subscription, TableString(d, "subscription", where, true));
    if (dist.subscription != "none" && dist.subscription != "rhel-entitlement" &&
        dist.subscription != "suse-connect") {
      return ParseError(where + ".subscription '" + dist.subscription + "' is unknown");
    }
    if (!dist.extended_requires.empty() && dist.extended_requires != "ubuntu-pro") {
      return ParseError(where + ".extended_requires '" + dist.extended_requires + "' is unknown");
    }
    auto ids = d.find("os_release_ids");
    if (ids == d.end() || !ids->is_array() || ids->empty()) {
      return ParseError(where + ".os_release_ids must be a non-empty array");
    }
    for (const auto& id : *ids) {
      if (!id.is_string()) {
        return ParseError(where + ".os_release_ids must hold strings");
      }
      dist.os_release_ids.push_back(id.get<std::string>());
    }
    auto releases = d.find("releases");
    if (releases == d.end() || !releases->is_array()) {
      return ParseError(where + ".releases must be an array");
    }
    for (size_t j = 0; j < releases->size(); ++j) {
      const json& r = (*releases)[j];
      const std::string rwhere = where + ".releases[" + std::to_string(j) + "]";
      if (!r.is_object()) {
        return ParseError(rwhere + " must be an object");
      }
      Release rel;
      CG_ASSIGN_OR_RETURN(rel.version, TableString(r, "version", rwhere, true));
      CG_ASSIGN_OR_RETURN(rel.codename, TableString(r, "codename", rwhere, false));
      CG_ASSIGN_OR_RETURN(rel.standard_end, TableDate(r, "standard_end", rwhere, true));
      CG_ASSIGN_OR_RETURN(rel.extended_end, TableDate(r, "extended_end", rwhere, false));
      CG_ASSIGN_OR_RETURN(rel.els_end, TableDate(r, "els_end", rwhere, false));
      if (!rel.extended_end.empty() && dist.extended_programme.empty()) {
        return ParseError(rwhere + ".extended_end without an extended_programme");
      }
      // ISO dates compare as strings.
      if (!rel.extended_end.empty() && rel.extended_end <= rel.standard_end) {
        return ParseError(rwhere + ".extended_end must be after standard_end");
      }
      if (std::any_of(dist.releases.begin(), dist.releases.end(),
                      [&](const Release& other) { return other.version == rel.version; })) {
        return ParseError(rwhere + ": version " + rel.version + " listed twice");
      }
      if (auto a = r.find("approximate"); a != r.end()) {
        if (!a->is_boolean()) {
          return ParseError(rwhere + ".approximate must be a boolean");
        }
        rel.approximate = a->get<bool>();
      }
      dist.releases.push_back(std::move(rel));
    }
    table.distributions.push_back(std::move(dist));
  }
  return table;
}

const Result<SupportTable>& Table() {
  static const Result<SupportTable> table = ParseSupportTable();
  return table;
}

// What the check could learn about a subscription.
enum class SubState { kActive, kInactive, kUnknown, kNotRequired };

std::string_view SubStateName(SubState s) {
  switch (s) {
    case SubState::kActive:
      return "active";
    case SubState::kInactive:
      return "inactive";
    case SubState::kUnknown:
      return "unknown";
    case SubState::kNotRequired:
      return "not_required";
  }
  return "unknown";
}

struct Subscription {
  SubState state = SubState::kUnknown;
  std::string kind;    // "rhel-entitlement", "suse-connect", "ubuntu-pro", "none"
  std::string detail;  // one line of evidence
};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

Result<SysTime> Asn1ToTime(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return ParseError("certificate has an unreadable validity time");
  }
  return ClampedFromUnix(UnixSecondsFromUtc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                            tm.tm_hour, tm.tm_min, tm.tm_sec));
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// RHEL: an entitlement certificate (or the Simple Content Access certificate, which lives in the
// same directory) valid now. The key files beside them are "<serial>-key.pem".
Subscription ReadRhelEntitlement(const platform::FileSystem& fs, SysTime now) {
  Subscription sub;
  sub.kind = "rhel-entitlement";
  auto entries = fs.ListDir(kEntitlementDir);
  if (!entries.ok()) {
    if (entries.error().code == ErrorCode::kNotFound) {
      sub.state = SubState::kInactive;
      sub.detail = "not registered: no " + std::string(kEntitlementDir);
    } else {
      sub.detail = "cannot list " + std::string(kEntitlementDir) + ": " + entries.error().message;
    }
    return sub;
  }
  size_t certs = 0;
  size_t valid = 0;
  std::optional<SysTime> valid_until;
  std::optional<SysTime> last_ended;
  std::vector<std::string> issues;
  for (const auto& e : *entries) {
    if (!EndsWith(e.name, ".pem") || EndsWith(e.name, "-key.pem")) {
      continue;
    }
    const std::string path = std::string(kEntitlementDir) + "/" + e.name;
    auto pem = fs.ReadFile(path, 1u << 20);
    auto validity =
        pem.ok() ? ReadCertificateValidity(*pem) : Result<CertificateValidity>(pem.error());
    if (!validity.ok()) {
      issues.push_back(e.name + ": " + validity.error().message);
      continue;
    }
    ++certs;
    if (validity->not_before <= now && now < validity->not_after) {
      ++valid;
      if (!valid_until || validity->not_after > *valid_until) {
        valid_until = validity->not_after;
      }
    } else if (validity->not_after <= now && (!last_ended || validity->not_after > *last_ended)) {
      last_ended = validity->not_after;
    }
  }
  if (valid > 0) {
    sub.state = SubState::kActive;
    sub.detail = std::to_string(valid) + " of " + std::to_string(certs) +
                 " entitlement certificate(s) valid, until " + FormatExpiry(*valid_until);
  } else if (!issues.empty()) {
    std::string joined;
    for (const auto& i : issues) {
      joined += (joined.empty() ? "" : "; ") + i;
    }
    sub.detail = "unreadable entitlement certificate(s): " + joined;
  } else if (certs > 0) {
    sub.state = SubState::kInactive;
    sub.detail = "all " + std::to_string(certs) + " entitlement certificate(s) expired" +
                 (last_ended ? ", the last on " + FormatRfc3339(*last_ended) : "");
  } else {
    sub.state = SubState::kInactive;
    sub.detail = "no entitlement certificate in " + std::string(kEntitlementDir);
  }
  return sub;
}

// SUSEConnect prints "2026-04-21 15:08:32 UTC"; accept RFC 3339 too.
Result<SysTime> ParseSuseTime(std::string text) {
  if (text.size() == 23 && text[10] == ' ' && EndsWith(text, " UTC")) {
    text = text.substr(0, 10) + "T" + text.substr(11, 8) + "Z";
  }
  return ParseExpiryTime(text);
}

// SUSE: `SUSEConnect --status` (JSON) for the base product named by os-release's ID.
Subscription ReadSuseConnect(platform::Platform& p, std::string_view os_id, SysTime now) {
  Subscription sub;
  sub.kind = "suse-connect";
  if (p.commands->Which("SUSEConnect").empty()) {
    sub.detail = "SUSEConnect is not installed: the registration cannot be read";
    return sub;
  }
  // Commands run on the host; under a fixture root SUSEConnect reads the tree via --root.
  std::vector<std::string> argv = {"SUSEConnect", "--status"};
  if (p.fs->root() != "/") {
    argv.insert(argv.end(), {"--root", p.fs->root()});
  }
  auto run = p.commands->Run(argv, kSuseConnectTimeout);
  if (!run.ok() || run->timed_out || run->exit_code != 0) {
    sub.detail =
        "SUSEConnect --status failed: " +
        (run.ok() ? "exit " + std::to_string(run->exit_code) + " " + run->err.substr(0, 200)
                  : run.error().message);
    return sub;
  }
  const json doc = json::parse(run->out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_array()) {
    sub.detail = "SUSEConnect --status did not print a JSON array";
    return sub;
  }
  std::string upper(os_id);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (const auto& product : doc) {
    if (!product.is_object() || product.value("identifier", "") != upper) {
      continue;
    }
    const std::string status = product.value("status", "");
    const std::string sub_status = product.value("subscription_status", "");
    const std::string expires = product.value("expires_at", "");
    if (status != "Registered") {
      sub.state = SubState::kInactive;
      sub.detail = upper + " is not registered (" + status + ")";
      return sub;
    }
    auto until = ParseSuseTime(expires);
    if (!until.ok()) {
      sub.detail = upper + " registration has an unreadable expires_at '" + expires + "'";
      return sub;
    }
    if (sub_status != "ACTIVE" || *until <= now) {
      sub.state = SubState::kInactive;
      sub.detail = upper + " subscription " + sub_status + ", expires " + FormatRfc3339(*until);
      return sub;
    }
    sub.state = SubState::kActive;
    sub.detail = upper + " subscription ACTIVE until " + FormatExpiry(*until);
    return sub;
  }
  sub.state = SubState::kInactive;
  sub.detail = "SUSEConnect lists no " + upper + " base product: not registered";
  return sub;
}

// Ubuntu Pro, from the status cache the pro client keeps (same schema as `pro status
// --format json`). ESM counts only when attached, esm-infra enabled and the contract unexpired.
Subscription ReadUbuntuPro(const platform::FileSystem& fs, SysTime now) {
  Subscription sub;
  sub.kind = "ubuntu-pro";
  auto text = fs.ReadFile(kProStatus, 4u << 20);
  if (!text.ok()) {
    if (text.error().code != ErrorCode::kNotFound) {
      sub.detail = "cannot read " + std::string(kProStatus) + ": " + text.error().message;
    } else if (fs.Exists(kProMachineToken)) {
      sub.detail = "attached (machine token present) but " + std::string(kProStatus) +
                   " is missing: run 'pro status' to refresh it";
    } else {
      sub.state = SubState::kInactive;
      sub.detail = "not attached";
    }
    return sub;
  }
  const json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("attached") ||
      !doc["attached"].is_boolean()) {
    sub.detail = std::string(kProStatus) + " is not a Pro status document";
    return sub;
  }
  if (!doc["attached"].get<bool>()) {
    sub.state = SubState::kInactive;
    sub.detail = "not attached";
    return sub;
  }
  bool esm_infra = false;
  if (auto s = doc.find("services"); s != doc.end() && s->is_array()) {
    for (const auto& svc : *s) {
      if (svc.is_object() && svc.value("name", "") == "esm-infra" &&
          svc.value("status", "") == "enabled") {
        esm_infra = true;
      }
    }
  }
  std::optional<SysTime> expires;
  if (auto e = doc.find("expires"); e != doc.end() && e->is_string()) {
    auto t = ParseExpiryTime(e->get<std::string>());
    if (!t.ok()) {
      sub.detail = "attached, but the contract expiry is unreadable: " + t.error().message;
      return sub;
    }
    if (!IsFarFuture(*t)) {
      expires = *t;
    }
  }
  if (expires && *expires <= now) {
    sub.state = SubState::kInactive;
    sub.detail = "attached, contract expired " + FormatRfc3339(*expires);
  } else if (!esm_infra) {
    sub.state = SubState::kInactive;
    sub.detail = "attached, but esm-infra is not enabled";
  } else {
    sub.state = SubState::kActive;
    sub.detail = "attached, esm-infra enabled" +
                 (expires ? ", contract until " + FormatRfc3339(*expires) : std::string());
  }
  return sub;
}

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

const Distribution* MatchDistribution(const SupportTable& table, const std::string& id,
                                      const std::string& name) {
  for (const auto& d : table.distributions) {
    if (std::find(d.os_release_ids.begin(), d.os_release_ids.end(), id) == d.os_release_ids.end()) {
      continue;
    }
    if (!d.name_includes.empty() && !Contains(name, d.name_includes)) {
      continue;
    }
    if (!d.name_excludes.empty() && Contains(name, d.name_excludes)) {
      continue;
    }
    return &d;
  }
  return nullptr;
}

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

}  // namespace

Result<std::map<std::string, std::string>> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string> out;
  size_t lineno = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++lineno;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;
    }
    line = line.substr(first);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    const std::string where = "line " + std::to_string(lineno);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return ParseError(where + ": expected KEY=VALUE");
    }
    const std::string_view key = line.substr(0, eq);
    for (char c : key) {
      if (!(std::isupper(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
        return ParseError(where + ": bad key '" + std::string(key.substr(0, 40)) + "'");
      }
    }
    std::string_view raw = line.substr(eq + 1);
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (c == '\\' && quote == '"' && i + 1 < raw.size()) {
          value += raw[++i];
          continue;
        }
        value += c;
      }
      if (!closed || i + 1 != raw.size()) {
        return ParseError(where + ": unbalanced quotes");
      }
    } else {
      if (raw.find_first_of(" \t\"'`$\\") != std::string_view::npos) {
        return ParseError(where + ": unquoted value with spaces or shell characters");
      }
      value = std::string(raw);
    }
    if (value.find('\0') != std::string::npos) {
      return ParseError(where + ": NUL byte");
    }
    out[std::string(key)] = std::move(value);
  }
  return out;
}

Result<CertificateValidity> ReadCertificateValidity(std::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return MakeError(ErrorCode::kCrypto, "BIO_new_mem_buf failed");
  }
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return ParseError("not a PEM certificate");
  }
  CertificateValidity v;
  CG_ASSIGN_OR_RETURN(v.not_before, Asn1ToTime(X509_get0_notBefore(cert.get())));
  CG_ASSIGN_OR_RETURN(v.not_after, Asn1ToTime(X509_get0_notAfter(cert.get())));
  return v;
}

CheckResult OsLicenseCheck::Evaluate(const CheckContext& ctx) const {
  if (auto r = NoWindowsSource(id(), ctx.policy, ctx.platform,
                               "Software Licensing (SoftwareLicensingProduct)")) {
    return *r;
  }
  auto& p = ctx.platform;
  CheckResult r = MakeResult(id(), ctx.policy);
  auto undecided = [&](std::string reason) {
    r.status = CheckStatus::kError;
    r.summary = std::move(reason);
    return r;
  };
  const auto& table = Table();
  if (!table.ok()) {
    return undecided("OS support table: " + table.error().message);
  }
  r.facts["support_table_compiled"] = table->compiled;

  std::string path;
  std::string text;
  for (const auto candidate : kOsReleasePaths) {
    auto t = p.fs->ReadFile(candidate, 64u << 10);
    if (t.ok()) {
      path = std::string(candidate);
      text = std::move(t).value();
      break;
    }
    if (t.error().code != ErrorCode::kNotFound) {
      return undecided("cannot read " + std::string(candidate) + ": " + t.error().message);
    }
  }
  if (path.empty()) {
    return undecided(
        "no os-release file (/etc/os-release, /usr/lib/os-release): cannot identify the "
        "distribution");
  }
  auto osr = ParseOsRelease(text);
  if (!osr.ok()) {
    return undecided(path + " is corrupt: " + osr.error().message);
  }
  auto field = [&](const char* key) {
    auto it = osr->find(key);
    return it == osr->end() ? std::string() : it->second;
  };
  const std::string os_id = field("ID");
  const std::string os_name = field("NAME");
  const std::string version_id = field("VERSION_ID");
  r.facts["os_release_id"] = os_id;
  r.facts["distribution"] = os_name.empty() ? os_id : os_name;
  r.facts["version"] = version_id;
  if (os_id.empty()) {
    return undecided(path + " has no ID: cannot identify the distribution");
  }
  const Distribution* dist = MatchDistribution(*table, os_id, os_name);
  if (dist == nullptr) {
    return undecided("distribution '" + os_id + "' (" + os_name +
                     ") is not in the vendor support table (compiled " + table->compiled +
                     "): cannot decide");
  }
  r.facts["distribution"] = dist->name;
  if (version_id.empty()) {
    return undecided(dist->name + " without VERSION_ID in " + path +
                     " (testing/unstable or a rolling release): no support window to judge");
  }
  const std::string key =
      dist->match_major ? version_id.substr(0, version_id.find('.')) : version_id;
  const auto rel_it = std::find_if(dist->releases.begin(), dist->releases.end(),
                                   [&](const Release& rel) { return rel.version == key; });
  if (rel_it == dist->releases.end()) {
    return undecided(dist->name + " " + version_id +
                     " is not in the vendor support table (compiled " + table->compiled +
                     "): cannot decide");
  }
  const Release& rel = *rel_it;
  const std::string label =
      dist->name + " " + version_id + (rel.codename.empty() ? "" : " (" + rel.codename + ")");
  if (!rel.codename.empty()) {
    r.facts["codename"] = rel.codename;
  }
  r.facts["standard_end"] = rel.standard_end;
  if (!rel.extended_end.empty()) {
    r.facts[dist->extended_programme + "_end"] = rel.extended_end;
  }
  if (!rel.els_end.empty()) {
    r.facts["els_end_not_counted"] = rel.els_end;
  }
  if (rel.approximate) {
    r.facts["dates_approximate"] = true;
  }

  const SysTime now = p.clock->Now();
  // Validated when the table was parsed.
  const SysTime standard_end = EndOfDay(rel.standard_end).value_or(SysTime{});
  // A plain value and a flag rather than std::optional: g++ 12 reports a false
  // maybe-uninitialized on optional<time_point> arithmetic at -O2.
  const bool has_extended = !rel.extended_end.empty();
  const SysTime extended_end =
      has_extended ? EndOfDay(rel.extended_end).value_or(SysTime{}) : SysTime{};

  std::vector<std::string> fails;
  std::vector<std::string> unknowns;

  std::optional<Subscription> pro;
  if (dist->extended_requires == "ubuntu-pro") {
    pro = ReadUbuntuPro(*p.fs, now);
  }
  std::string programme = "none";
  SysTime support_end = standard_end;
  if (now < standard_end) {
    programme = "standard";
    if (has_extended &&
        (dist->extended_requires.empty() || (pro && pro->state == SubState::kActive))) {
      support_end = extended_end;
    }
  } else if (has_extended && now < extended_end) {
    if (dist->extended_requires.empty()) {
      programme = dist->extended_programme;
      support_end = extended_end;
    } else if (pro && pro->state == SubState::kActive) {
      programme = dist->extended_programme;
      support_end = extended_end;
    } else if (pro && pro->state == SubState::kUnknown) {
      unknowns.push_back("standard support ended on " + rel.standard_end +
                         " and the Ubuntu Pro status cannot be read: " + pro->detail);
    } else {
      fails.push_back("standard support ended on " + rel.standard_end + "; ESM (until " +
                      rel.extended_end + ") needs Ubuntu Pro attached with esm-infra: " +
                      (pro ? pro->detail : std::string("no Pro status")));
    }
  } else {
    support_end = has_extended ? extended_end : standard_end;
    fails.push_back("vendor support ended on " + DateOf(support_end - kDay));
  }
  const auto days_left =
      static_cast<int64_t>(std::chrono::floor<std::chrono::days>(support_end - now).count());
  const std::string support_end_date = DateOf(support_end - kDay);
  r.facts["programme"] = programme;
  r.facts["support_end"] = support_end_date;
  r.facts["days_left"] = days_left;

  const int64_t min_days_left = ctx.policy.Int("min_days_left");
  if (programme != "none" && days_left < min_days_left) {
    fails.push_back("support ends on " + support_end_date + ", " + std::to_string(days_left) +
                    " day(s) left, policy wants at least " + std::to_string(min_days_left));
  }

  Subscription sub;
  if (dist->subscription == "rhel-entitlement") {
    sub = ReadRhelEntitlement(*p.fs, now);
  } else if (dist->subscription == "suse-connect") {
    sub = ReadSuseConnect(p, os_id, now);
  } else if (pro) {
    sub = *pro;
    if (programme == "standard") {
      // Ubuntu needs Pro only for ESM; report it, do not require it.
      sub.detail += " (not required during standard support)";
    }
  } else {
    sub.state = SubState::kNotRequired;
    sub.kind = "none";
    sub.detail = dist->name + " has no subscription";
  }
  const bool subscription_required =
      dist->subscription != "none" && ctx.policy.Bool("require_subscription");
  r.facts["subscription"] = {{"kind", sub.kind},
                             {"state", std::string(SubStateName(sub.state))},
                             {"detail", sub.detail},
                             {"required", subscription_required}};
  if (subscription_required) {
    if (sub.state == SubState::kInactive) {
      fails.push_back("no active " + dist->name + " subscription: " + sub.detail);
    } else if (sub.state == SubState::kUnknown) {
      unknowns.push_back("subscription cannot be verified: " + sub.detail);
    }
  }

  r.expected = {{"vendor_support", true},
                {"min_days_left", min_days_left},
                {"subscription", subscription_required ? "active" : "not required"}};
  r.observed = {{"vendor_support", programme != "none"},
                {"programme", programme},
                {"days_left", days_left},
                {"subscription", std::string(SubStateName(sub.state))}};
  if (!fails.empty()) {
    r.status = CheckStatus::kFail;
    r.summary = label + ": " + Join(fails, "; ");
  } else if (!unknowns.empty()) {
    r.status = CheckStatus::kError;
    r.summary = label + ": " + Join(unknowns, "; ");
  } else {
    r.status = CheckStatus::kPass;
    r.summary = label + ": supported (" + programme + ") until " + support_end_date + ", " +
                std::to_string(days_left) + " day(s) left" +
                (subscription_required ? "; subscription " + sub.detail : "");
  }
  return r;
}

}  // namespace cg::collectors

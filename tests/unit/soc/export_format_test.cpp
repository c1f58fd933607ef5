// Tests for soc/export_format.cpp: every ECS document is checked against the ECS field types
// (and allowed values) of the fields it claims; CEF escaping per the CEF specification; RFC 5424
// messages with RFC 6587 octet counting.
#include "soc/export_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/timeutil.h"
#include "soc/export_event.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr SysTime kT0{std::chrono::seconds(1'790'000'000)};

// The ECS field types (ECS 8.11 reference, "Field details") of every field the export emits.
// "flattened": an object of any shape; "text": match_only_text.
const std::map<std::string, std::string>& EcsTypes() {
  static const std::map<std::string, std::string> types = {
      {"@timestamp", "date"},
      {"message", "text"},
      {"ecs.version", "keyword"},
      {"event.id", "keyword"},
      {"event.kind", "keyword"},
      {"event.category", "keyword"},
      {"event.type", "keyword"},
      {"event.action", "keyword"},
      {"event.outcome", "keyword"},
      {"event.severity", "long"},
      {"event.module", "keyword"},
      {"event.dataset", "keyword"},
      {"event.provider", "keyword"},
      {"host.id", "keyword"},
      {"host.hostname", "keyword"},
      {"host.name", "keyword"},
      {"host.architecture", "keyword"},
      {"host.os.name", "keyword"},
      {"host.os.version", "keyword"},
      {"host.os.kernel", "keyword"},
      {"agent.id", "keyword"},
      {"agent.type", "keyword"},
      {"agent.name", "keyword"},
      {"agent.version", "keyword"},
      {"rule.id", "keyword"},
      {"rule.name", "keyword"},
      {"rule.ruleset", "keyword"},
      {"file.path", "keyword"},
      {"file.hash.sha256", "keyword"},
      {"file.size", "long"},
      // Not ECS: Elastic's posture findings (cloud_security_posture) carry it this way.
      {"result.evaluation", "keyword"},
      // CounterGuard's own namespace (custom fields, as ECS asks: not under an ECS field set).
      {"counterguard.group", "keyword"},
      {"counterguard.status", "keyword"},
      {"counterguard.previous_status", "keyword"},
      {"counterguard.report_id", "keyword"},
      {"counterguard.evidence", "flattened"},
  };
  return types;
}

// ECS's allowed values (event.kind, event.category, event.outcome) and, per category, the
// event.type values ECS lists as expected with it.
const std::set<std::string> kKinds = {"alert",  "asset", "enrichment",     "event",
                                      "metric", "state", "pipeline_error", "signal"};
const std::map<std::string, std::set<std::string>> kTypesByCategory = {
    {"configuration", {"access", "change", "creation", "deletion", "info"}},
    {"malware", {"info"}},
    {"host", {"access", "change", "end", "info", "start"}},
};
const std::set<std::string> kOutcomes = {"failure", "success", "unknown"};

void CheckType(const std::string& path, const json& value, const std::string& type,
               std::vector<std::string>& errors) {
  auto scalar_ok = [&](const json& v) {
    if (type == "keyword" || type == "text") {
      return v.is_string();
    }
    if (type == "date") {
      return v.is_string() && ParseRfc3339(v.get<std::string>()).ok();
    }
    if (type == "long") {
      return v.is_number_integer();
    }
    if (type == "flattened") {
      return v.is_object();
    }
    return false;
  };
  // Any ECS field may hold an array of its type.
  if (value.is_array() && type != "flattened") {
    for (const auto& v : value) {
      if (!scalar_ok(v)) {
        errors.push_back(path + ": array element " + v.dump() + " is not a " + type);
      }
    }
    return;
  }
  if (!scalar_ok(value)) {
    errors.push_back(path + ": " + value.dump() + " is not a " + type);
  }
}

void Walk(const json& doc, const std::string& prefix, std::vector<std::string>& errors) {
  for (const auto& [key, value] : doc.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    auto it = EcsTypes().find(path);
    if (it != EcsTypes().end()) {
      CheckType(path, value, it->second, errors);
    } else if (value.is_object()) {
      Walk(value, path, errors);
    } else {
      errors.push_back(path + ": not a field of the table (not ECS, not counterguard.*)");
    }
  }
}

std::vector<std::string> ValidateEcs(const json& doc) {
  std::vector<std::string> errors;
  Walk(doc, "", errors);
  for (const char* required : {"@timestamp", "ecs", "event", "message"}) {
    if (!doc.contains(required)) {
      errors.push_back(std::string("missing ") + required);
    }
  }
  const json& event = doc.value("event", json::object());
  if (!kKinds.count(event.value("kind", ""))) {
    errors.push_back("event.kind " + event.value("kind", "") + " is not an ECS value");
  }
  if (!kOutcomes.count(event.value("outcome", ""))) {
    errors.push_back("event.outcome " + event.value("outcome", "") + " is not an ECS value");
  }
  for (const auto& category : event.value("category", json::array())) {
    auto allowed = kTypesByCategory.find(category.get<std::string>());
    if (allowed == kTypesByCategory.end()) {
      errors.push_back("event.category " + category.dump() + " not expected");
      continue;
    }
    for (const auto& type : event.value("type", json::array())) {
      if (!allowed->second.count(type.get<std::string>())) {
        errors.push_back("event.type " + type.dump() + " is not expected with category " +
                         category.dump());
      }
    }
  }
  return errors;
}

protocol::CheckResult Check(const std::string& id, protocol::CheckStatus status,
                            const std::string& summary = "s") {
  protocol::CheckResult c;
  c.id = id;
  c.status = status;
  c.severity = protocol::Severity::kHigh;
  c.summary = summary;
  c.expected = {{"max_idle_seconds", 600}};
  c.observed = {{"max_idle_seconds", 3600}};
  return c;
}

// A report that produces one event of every kind a report can produce.
std::vector<ExportEvent> EveryEvent() {
  protocol::Report r;
  r.report_id = "r-1";
  r.device_id = "dev-1";
  r.hostname = "Bắc Hà 01";
  r.os = {"Debian GNU/Linux", "12", "6.1.0-18-amd64", "x86_64"};
  r.agent_version = "0.1.0";
  r.collected_at = FormatRfc3339(kT0 + std::chrono::hours(1));  // clock ahead
  r.policy_version = 3;
  r.policy_hash = "abc";
  auto lock = Check("screen_lock", protocol::CheckStatus::kFail, "idle 3600 s > 600 s\nline2");
  lock.remediation = {{"dry_run", false},
                      {"result", "applied"},
                      {"changes", {{{"target", "/etc/dconf"}, {"before", "0"}, {"after", "600"}}}}};
  r.checks.push_back(lock);
  auto yara = Check("yara", protocol::CheckStatus::kFail);
  yara.facts = {{"matches",
                 {{{"rule", "EICAR"},
                   {"namespace", "default"},
                   {"severity", "critical"},
                   {"path", "C:\\Users\\a|b=c.exe"},
                   {"sha256", std::string(64, 'a')},
                   {"size", 68}}}}};
  r.checks.push_back(yara);
  r.events.push_back({"policy_refused", FormatRfc3339(kT0), {{"message", "bad signature"}}});
  DeviceBefore before;
  before.device_id = "dev-1";
  before.hostname = "Bắc Hà 01";
  before.group = "laocai/bac-ha";
  before.status = protocol::DeviceStatus::kCompliant;
  before.checks = {{"screen_lock", protocol::CheckStatus::kPass}};
  auto events = DeriveReportEvents(before, r, "unverified", kT0, EventOptions{});
  events.push_back(RevokedEvent("dev-1", "Bắc Hà 01", "laocai/bac-ha", kT0));
  events.push_back(StaleEvent("dev-1", "Bắc Hà 01", "laocai/bac-ha", kT0 - std::chrono::hours(80),
                              "noncompliant", kT0));
  return events;
}

TEST(EcsTest, EveryEventKindValidatesAgainstTheEcsFieldTypes) {
  const auto events = EveryEvent();
  std::set<std::string> actions;
  for (const auto& e : events) {
    actions.insert(e.action);
    const std::string line = EcsLine(e);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    const json doc = json::parse(line);
    const auto errors = ValidateEcs(doc);
    EXPECT_TRUE(errors.empty()) << e.action << ":\n"
                                << ::testing::PrintToString(errors) << "\n"
                                << doc.dump(2);
    EXPECT_EQ(doc["ecs"]["version"], kEcsVersion);
    EXPECT_EQ(doc["event"]["id"], e.id);
  }
  EXPECT_EQ(actions,
            (std::set<std::string>{export_action::kDeviceNoncompliant, export_action::kCheckFailed,
                                   export_action::kYaraMatch, export_action::kEnforcementChange,
                                   export_action::kPolicyRefused, export_action::kPolicyUnverified,
                                   export_action::kClockSkew, export_action::kDeviceRevoked,
                                   export_action::kDeviceStale}));
}

TEST(EcsTest, TheValidatorRefusesWrongTypesAndUnknownFields) {
  // The validator itself must be able to fail.
  json doc = json::parse(EcsLine(EveryEvent().front()));
  doc["event"]["severity"] = "high";
  doc["host"]["ip_address"] = "10.0.0.1";
  doc["@timestamp"] = "yesterday";
  doc["event"]["type"] = json::array({"denied"});
  const auto errors = ValidateEcs(doc);
  EXPECT_EQ(errors.size(), 4u) << ::testing::PrintToString(errors);
}

TEST(EcsTest, YaraMatchCarriesTheFileRuleAndEvaluation) {
  for (const auto& e : EveryEvent()) {
    if (e.action != export_action::kYaraMatch) {
      continue;
    }
    const json doc = ToEcs(e);
    EXPECT_EQ(doc["event"]["kind"], "alert");
    EXPECT_EQ(doc["event"]["category"], json::array({"malware"}));
    EXPECT_EQ(doc["rule"]["name"], "EICAR");
    EXPECT_EQ(doc["rule"]["ruleset"], "default");
    EXPECT_EQ(doc["file"]["path"], "C:\\Users\\a|b=c.exe");
    EXPECT_EQ(doc["file"]["size"], 68);
    EXPECT_EQ(doc["result"]["evaluation"], "failed");
    EXPECT_EQ(doc["event"]["severity"], EcsSeverity(protocol::Severity::kCritical));
    EXPECT_EQ(doc["host"]["hostname"], "Bắc Hà 01");
    EXPECT_EQ(doc["host"]["os"]["kernel"], "6.1.0-18-amd64");
    EXPECT_EQ(doc["agent"]["version"], "0.1.0");
    EXPECT_EQ(doc["counterguard"]["group"], "laocai/bac-ha");
    return;
  }
  FAIL() << "no yara-match event";
}

TEST(EcsTest, OversizedEvidenceIsReplacedNotTheEvent) {
  ExportEvent e = RevokedEvent("dev-1", "h", "g", kT0);
  e.evidence = {{"blob", std::string(100000, 'x')}};
  const std::string line = EcsLine(e, 4096);
  EXPECT_LE(line.size(), 4096u);
  const json doc = json::parse(line);
  EXPECT_EQ(doc["counterguard"]["evidence"]["truncated"], true);
  EXPECT_EQ(doc["event"]["id"], e.id);
}

TEST(CefTest, EscapesHeaderAndExtensionPerTheSpecification) {
  struct Case {
    std::string in, header, value;
  };
  const std::vector<Case> cases = {
      {"plain", "plain", "plain"},           {"a|b", "a\\|b", "a|b"},
      {"a\\b", "a\\\\b", "a\\\\b"},          {"k=v", "k=v", "k\\=v"},
      {"l1\nl2", "l1 l2", "l1\\nl2"},        {"l1\r\nl2", "l1  l2", "l1\\r\\nl2"},
      {"tab\there", "tab here", "tab here"}, {"Bắc Hà", "Bắc Hà", "Bắc Hà"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CefEscapeHeader(c.in), c.header) << c.in;
    EXPECT_EQ(CefEscapeValue(c.in), c.value) << c.in;
  }
}

TEST(CefTest, LineHasSevenHeaderFieldsAndParsableExtensions) {
  for (const auto& e : EveryEvent()) {
    const std::string line = ToCef(e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    ASSERT_THAT(line, StartsWith("CEF:0|CounterGuard|cg-soc|"));
    // Split the header on unescaped '|'.
    std::vector<std::string> fields;
    std::string cur;
    size_t i = 0;
    for (; i < line.size() && fields.size() < 7; ++i) {
      if (line[i] == '\\' && i + 1 < line.size()) {
        cur += line[++i];
      } else if (line[i] == '|') {
        fields.push_back(cur);
        cur.clear();
      } else {
        cur += line[i];
      }
    }
    ASSERT_EQ(fields.size(), 7u) << line;
    EXPECT_EQ(fields[4], e.action);
    const int severity = std::stoi(fields[6]);
    EXPECT_GE(severity, 0);
    EXPECT_LE(severity, 10);
    // Extensions: key=value pairs; a value's '=' is always escaped, so every unescaped '='
    // follows a key.
    const std::string ext = line.substr(i);
    EXPECT_THAT(ext, HasSubstr("externalId=" + e.id));
    EXPECT_THAT(ext, HasSubstr("act=" + e.action));
    if (e.action == export_action::kYaraMatch) {
      EXPECT_THAT(ext, HasSubstr("fname=C:\\\\Users\\\\a|b\\=c.exe"));
    }
    if (e.action == export_action::kCheckFailed && e.rule_id == "screen_lock") {
      EXPECT_THAT(ext, HasSubstr("\\n")) << "the summary's line break, escaped";
    }
  }
}

TEST(SyslogTest, Rfc5424HeaderAndOctetCounting) {
  const ExportEvent e = RevokedEvent("dev-1", "h", "g", kT0);
  SyslogOptions options;
  options.hostname = "soc 1";  // a space is not PRINTUSASCII: dropped
  const std::string msg = Syslog5424(e, "{\"a\":1}", options);
  // local0 (16) * 8 + warning/error: alerts of high severity are error (3), states warning (4).
  EXPECT_EQ(msg, "<132>1 " + FormatRfc3339(kT0) + " soc1 cg-soc - device-revoked - {\"a\":1}");
  EXPECT_EQ(OctetCounted(msg), std::to_string(msg.size()) + " " + msg);
  EXPECT_EQ(OctetCounted("é"), "2 é");  // octets, not characters
}

}  // namespace
}  // namespace cg::soc

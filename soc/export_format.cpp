// ECS, CEF and RFC 5424 renderings of exported events.
#include "soc/export_format.h"

#include <chrono>

#include "soc/text_width.h"

namespace cg::soc {

using nlohmann::json;

Result<ExportBody> ParseExportBody(std::string_view text) {
  if (text == "ecs") {
    return ExportBody::kEcs;
  }
  if (text == "cef") {
    return ExportBody::kCef;
  }
  return MakeError(ErrorCode::kInvalidArgument,
                   "format must be \"ecs\" or \"cef\", not \"" + std::string(text) + "\"");
}

int EcsSeverity(protocol::Severity s) {
  // Elastic's risk-score bands, so that a SIEM rule on event.severity reads naturally.
  switch (s) {
    case protocol::Severity::kInfo:
      return 1;
    case protocol::Severity::kLow:
      return 21;
    case protocol::Severity::kMedium:
      return 47;
    case protocol::Severity::kHigh:
      return 73;
    case protocol::Severity::kCritical:
      return 99;
  }
  return 47;
}

int CefSeverity(protocol::Severity s) {
  switch (s) {
    case protocol::Severity::kInfo:
      return 1;
    case protocol::Severity::kLow:
      return 3;
    case protocol::Severity::kMedium:
      return 5;
    case protocol::Severity::kHigh:
      return 8;
    case protocol::Severity::kCritical:
      return 10;
  }
  return 5;
}

json ToEcs(const ExportEvent& e) {
  json doc = {{"@timestamp", FormatRfc3339(e.time)},
              {"ecs", {{"version", kEcsVersion}}},
              {"message", e.message}};
  json event = {{"id", e.id},
                {"kind", e.kind},
                {"category", json::array({e.category})},
                {"type", json::array({e.type})},
                {"action", e.action},
                {"outcome", e.outcome},
                {"severity", EcsSeverity(e.severity)},
                {"module", "counterguard"},
                {"dataset", "counterguard.posture"},
                {"provider", "cg-soc"}};
  doc["event"] = std::move(event);
  if (!e.device_id.empty()) {
    json host = {{"id", e.device_id}, {"hostname", e.hostname}, {"name", e.hostname}};
    json os = json::object();
    if (!e.os.name.empty()) {
      os["name"] = e.os.name;
    }
    if (!e.os.version.empty()) {
      os["version"] = e.os.version;
    }
    if (!e.os.kernel.empty()) {
      os["kernel"] = e.os.kernel;
    }
    if (!os.empty()) {
      host["os"] = std::move(os);
    }
    if (!e.os.arch.empty()) {
      host["architecture"] = e.os.arch;
    }
    doc["host"] = std::move(host);
    // The agent is identified by its device: one agent per device.
    json agent = {{"id", e.device_id}, {"type", "cg-agent"}, {"name", e.hostname}};
    if (!e.agent_version.empty()) {
      agent["version"] = e.agent_version;
    }
    doc["agent"] = std::move(agent);
  }
  if (!e.rule_id.empty()) {
    doc["rule"] = {{"id", e.rule_id}, {"name", e.rule_name}, {"ruleset", e.ruleset}};
  }
  if (!e.evaluation.empty()) {
    doc["result"] = {{"evaluation", e.evaluation}};
  }
  if (!e.file_path.empty() || !e.file_sha256.empty()) {
    json file = json::object();
    if (!e.file_path.empty()) {
      file["path"] = e.file_path;
    }
    if (!e.file_sha256.empty()) {
      file["hash"] = {{"sha256", e.file_sha256}};
    }
    if (e.file_size) {
      file["size"] = *e.file_size;
    }
    doc["file"] = std::move(file);
  }
  json cg = {{"group", e.group}, {"evidence", e.evidence}};
  if (!e.status.empty()) {
    cg["status"] = e.status;
  }
  if (!e.previous_status.empty()) {
    cg["previous_status"] = e.previous_status;
  }
  if (!e.report_id.empty()) {
    cg["report_id"] = e.report_id;
  }
  doc["counterguard"] = std::move(cg);
  return doc;
}

std::string EcsLine(const ExportEvent& e, size_t max_bytes) {
  json doc = ToEcs(e);
  // dump() escapes control characters (a newline in a value becomes "\n"): one line.
  std::string line = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  if (line.size() > max_bytes) {
    const size_t evidence_bytes = doc["counterguard"]["evidence"].dump().size();
    doc["counterguard"]["evidence"] = {{"truncated", true}, {"bytes", evidence_bytes}};
    line = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return line;
}

namespace {

// Line breaks are escaped by the callers; other control characters cannot be represented.
void AppendPlain(std::string& out, char c) {
  out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
}

}  // namespace

std::string CefEscapeHeader(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '|') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      AppendPlain(out, c);  // the header allows no line break, escaped or not
    }
  }
  return out;
}

std::string CefEscapeValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '=':
        out += "\\=";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        AppendPlain(out, c);
    }
  }
  return out;
}

std::string ToCef(const ExportEvent& e) {
  std::string out = "CEF:0|CounterGuard|cg-soc|" + CefEscapeHeader(CG_VERSION) + "|" +
                    CefEscapeHeader(e.action) + "|" + CefEscapeHeader(Utf8Prefix(e.message, 512)) +
                    "|" + std::to_string(CefSeverity(e.severity)) + "|";
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count();
  std::vector<std::pair<std::string, std::string>> ext = {
      {"rt", std::to_string(ms)}, {"externalId", e.id},   {"act", e.action},
      {"cat", e.category},        {"outcome", e.outcome},
  };
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) {
      ext.emplace_back(key, value);
    }
  };
  add("dhost", e.hostname);
  add("deviceExternalId", e.device_id);
  add("fname", e.file_path);
  add("fileHash", e.file_sha256);
  add("msg", e.message);
  if (!e.group.empty()) {
    ext.emplace_back("cs1Label", "group");
    ext.emplace_back("cs1", e.group);
  }
  if (!e.rule_id.empty()) {
    ext.emplace_back("cs2Label", "rule");
    ext.emplace_back("cs2", e.rule_id);
  }
  if (!e.status.empty()) {
    ext.emplace_back("cs3Label", "status");
    ext.emplace_back("cs3", e.status);
  }
  if (!e.evaluation.empty()) {
    ext.emplace_back("cs4Label", "evaluation");
    ext.emplace_back("cs4", e.evaluation);
  }
  if (!e.report_id.empty()) {
    ext.emplace_back("cs5Label", "reportId");
    ext.emplace_back("cs5", e.report_id);
  }
  if (!e.evidence.empty()) {
    ext.emplace_back("cs6Label", "evidence");
    ext.emplace_back("cs6",
                     std::string(Utf8Prefix(
                         e.evidence.dump(-1, ' ', false, json::error_handler_t::replace), 4000)));
  }
  bool first = true;
  for (const auto& [key, value] : ext) {
    out += (first ? "" : " ") + key + "=" + CefEscapeValue(value);
    first = false;
  }
  return out;
}

std::string RenderBody(const ExportEvent& e, ExportBody body) {
  return body == ExportBody::kEcs ? EcsLine(e) : ToCef(e);
}

namespace {

// RFC 5424 header fields are PRINTUSASCII (33-126) with a length limit; "-" when empty.
std::string HeaderField(std::string_view text, size_t max) {
  std::string out;
  for (char c : text) {
    if (c >= 33 && c <= 126 && out.size() < max) {
      out.push_back(c);
    }
  }
  return out.empty() ? "-" : out;
}

int SyslogSeverity(const ExportEvent& e) {
  // 2 critical, 3 error, 4 warning, 5 notice, 6 informational.
  switch (e.severity) {
    case protocol::Severity::kCritical:
      return 2;
    case protocol::Severity::kHigh:
      return e.kind == "alert" ? 3 : 4;
    case protocol::Severity::kMedium:
      return 4;
    case protocol::Severity::kLow:
      return 5;
    case protocol::Severity::kInfo:
      return 6;
  }
  return 5;
}

}  // namespace

std::string Syslog5424(const ExportEvent& e, std::string_view msg, const SyslogOptions& options) {
  const int pri = options.facility * 8 + SyslogSeverity(e);
  // MSG is UTF-8 without the optional BOM: receivers that index JSON lines choke on a BOM.
  return "<" + std::to_string(pri) + ">1 " + FormatRfc3339(e.time) + " " +
         HeaderField(options.hostname, 255) + " " + HeaderField(options.app_name, 48) + " - " +
         HeaderField(e.action, 32) + " - " + std::string(msg);
}

std::string OctetCounted(std::string_view message) {
  return std::to_string(message.size()) + " " + std::string(message);
}

}  // namespace cg::soc

// How an exported event looks on the wire: an Elastic Common Schema document (one JSON line),
// or an ArcSight CEF line; and the RFC 5424 syslog message with RFC 6587 octet-counting framing
// that carries either over TCP or TLS (RFC 5425).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "soc/export_event.h"

namespace cg::soc {

// The ECS version the documents follow (ecs.version).
inline constexpr const char* kEcsVersion = "8.11.0";

enum class ExportBody { kEcs, kCef };
Result<ExportBody> ParseExportBody(std::string_view text);  // "ecs" | "cef"

// The ECS document of an event. Fields ECS defines are used as ECS defines them (event.*,
// host.*, agent.*, rule.*, file.*, message); result.evaluation follows Elastic's posture
// findings ("passed"/"failed"); everything else CounterGuard-specific is under counterguard.*.
nlohmann::json ToEcs(const ExportEvent& e);
// The document as one line (no newline inside, none at the end). Evidence that would make the
// line longer than max_bytes is replaced by {"truncated": true, "bytes": N}.
std::string EcsLine(const ExportEvent& e, size_t max_bytes = 60 * 1024);

// CEF:0|CounterGuard|cg-soc|VERSION|action|message|severity|extensions (no newline).
std::string ToCef(const ExportEvent& e);
// Escaping per the CEF specification: header fields escape '\' and '|'; extension values
// escape '\', '=' and line breaks (\n, \r); other control characters become spaces.
std::string CefEscapeHeader(std::string_view text);
std::string CefEscapeValue(std::string_view text);
// CEF severity 0-10 and ECS event.severity (a number) from a check severity.
int CefSeverity(protocol::Severity s);
int EcsSeverity(protocol::Severity s);

std::string RenderBody(const ExportEvent& e, ExportBody body);

struct SyslogOptions {
  int facility = 16;  // local0
  std::string hostname = "-";
  std::string app_name = "cg-soc";
};
// An RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID - MSG, MSGID the action.
// The severity (PRI) follows the event's: alerts of high severity are "warning" or worse.
std::string Syslog5424(const ExportEvent& e, std::string_view msg, const SyslogOptions& options);
// RFC 6587 octet counting: "LEN SP MSG".
std::string OctetCounted(std::string_view message);

}  // namespace cg::soc

// cgctl, the operator CLI, as a library: the command line and the text output, so that both
// can be tested without a SOC. cgctl_main.cpp only calls Run.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cg::cgctl {

// Parses the command line and runs the command: 0 on success, 2 on a usage error or a failed
// call (the message on stderr).
int Run(int argc, char** argv);

// Every text cgctl prints comes from E() or S(): what the SOC stores came from agents, so
// control characters are shown as escapes and can never drive the terminal.
std::string E(std::string_view text);
// j[key] as text, escaped; "-" when absent or null.
std::string S(const nlohmann::json& j, const char* key);
// The enrolled host name, and the one the latest report gave when it differs.
std::string Hostname(const nlohmann::json& device);

// The `cgctl devices` table (one row per device object of the API's "devices" array).
std::string FormatDevices(const nlohmann::json& devices);
// The `cgctl device ID` text for the API's {"device": ..., "latest_report": ...} answer.
std::string FormatDevice(const nlohmann::json& answer);
// The `cgctl export status` table for the API's {"enabled", "sinks": [...]} answer.
std::string FormatExportStatus(const nlohmann::json& answer);

}  // namespace cg::cgctl

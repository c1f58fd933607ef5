// `cgctl export status`: where each SIEM export sink stands in the SOC's outbox.
#include <cstdio>
#include <string>

#include "cgctl/cgctl.h"

namespace cg::cgctl {

using nlohmann::json;

std::string FormatExportStatus(const json& answer) {
  if (!answer.value("enabled", false)) {
    return "SIEM export is not configured on this SOC (docs/siem.md: the \"export\" section of "
           "soc.json)\n";
  }
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-8s  %-10s  %-20s  %-13s  %s\n", "SINK", "BACKLOG",
                "OLDEST PENDING", "DELIVERED SEQ", "LAST DELIVERY");
  out += line;
  for (const auto& s : answer.value("sinks", json::array())) {
    std::snprintf(line, sizeof line, "%-8s  %-10s  %-20s  %-13s  %s\n", S(s, "sink").c_str(),
                  S(s, "pending").c_str(), S(s, "oldest_pending").c_str(),
                  S(s, "delivered_seq").c_str(), S(s, "delivered_at").c_str());
    out += line;
  }
  return out;
}

}  // namespace cg::cgctl

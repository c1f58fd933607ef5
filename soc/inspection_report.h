// The inspection report (`cgctl report inspection`): per unit (group), device and check over a
// period, from the status history: share of time compliant, state at the end, findings with
// evidence, enforcement changes, ad-hoc inspections, devices that never reported or went
// stale, and the policies in force. Built as canonical JSON content whose SHA-256 is the
// report's digest, then rendered as one printable HTML file (Vietnamese or English) or CSV.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/storage.h"

namespace cg::soc {

// Vietnam's time (UTC+7, no daylight saving): the report's dates and the DATE arguments.
inline constexpr std::chrono::seconds kReportUtcOffset{7 * 3600};

struct InspectionInput {
  std::string group;  // the unit asked for ("" = every group)
  SysTime from;       // start of the first day (local midnight)
  SysTime to;         // end of the last day (local midnight after it), exclusive
  std::string soc_name;
  std::string generated_by;
  SysTime generated_at;
  std::chrono::seconds utc_offset = kReportUtcOffset;
  std::chrono::seconds stale_after{72 * 3600};
  std::vector<Device> devices;  // of the group, enrolled before `to`
  std::vector<StatusInterval> intervals;
  std::vector<EnforcementChange> enforcement;
  std::vector<ReportingGap> gaps;
  std::vector<InspectionRecord> inspections;
  std::vector<StoredPolicy> policies;
};

// The report's content: only integers and strings (seconds, RFC 3339 times), so that its
// serialisation is canonical.
nlohmann::json BuildInspectionContent(const InspectionInput& input);
// The canonical text of the content (sorted keys, no spaces, UTF-8) and its SHA-256 (hex).
std::string CanonicalText(const nlohmann::json& content);
std::string ContentDigest(const nlohmann::json& content);

// "vi" (default) or "en".
bool IsReportLanguage(std::string_view lang);
std::string RenderInspectionHtml(const nlohmann::json& content, std::string_view lang,
                                 std::string_view digest);
std::string RenderInspectionCsv(const nlohmann::json& content, std::string_view lang,
                                std::string_view digest);

// A DATE argument ("2026-12-02") as the local midnight that starts it (utc_offset ahead of UTC).
Result<SysTime> ParseReportDate(std::string_view date, std::chrono::seconds utc_offset);

// Text helpers shared by the renderers (exposed for tests).
std::string HtmlEscape(std::string_view text);
// "ngày 2 tháng 12 năm 2026" (vi) or "2 December 2026" (en), local date of `t`.
std::string LongDate(SysTime t, std::string_view lang, std::chrono::seconds utc_offset);
// "02/12/2026 14:05" (vi) or "2026-12-02 14:05" (en), local time.
std::string ShortDateTime(SysTime t, std::string_view lang, std::chrono::seconds utc_offset);
// compliant/observed as a percentage with one decimal: "75,0 %" (vi), "75.0%" (en); "—" when
// nothing was observed.
std::string Percent(int64_t compliant, int64_t observed, std::string_view lang);

}  // namespace cg::soc

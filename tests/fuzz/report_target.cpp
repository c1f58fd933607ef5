// Fuzz target: the report parser.
#include <nlohmann/json.hpp>
#include <string>

#include "common/timeutil.h"
#include "protocol/json.h"
#include "protocol/report.h"
#include "tests/fuzz/targets.h"

namespace cg::fuzz {
namespace {

// An accepted time means the year it says (give or take the UTC offset): a parse that wrapped
// around SysTime's range would not.
void CheckTime(const std::string& text) {
  auto t = ParseRfc3339(text);
  FUZZ_CHECK(t.ok());
  const int said = std::stoi(text.substr(0, 4));
  const int got = std::stoi(FormatRfc3339(*t).substr(0, 4));
  FUZZ_CHECK(got >= said - 1 && got <= said + 1);
}

}  // namespace

void FuzzReport(std::string_view data) {
  auto parsed = protocol::ParseJsonBounded(data);
  if (!parsed.ok()) {
    return;
  }
  using nlohmann::json;
  const json j = std::move(parsed).value();
  auto report = protocol::ReportFromJson(j);
  if (!report.ok()) {
    FUZZ_CHECK(!report.error().message.empty());
    return;
  }
  CheckTime(report->collected_at);
  for (const auto& event : report->events) {
    CheckTime(event.time);
  }
  const json once = protocol::ToJson(*report);
  auto again = protocol::ReportFromJson(once);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(protocol::ToJson(*again) == once);
  // What the SOC stores: the re-serialised report.
  (void)once.dump(-1, ' ', false, json::error_handler_t::replace);
  (void)protocol::OverallStatus(report->checks);
}

}  // namespace cg::fuzz

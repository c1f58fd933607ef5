// agent/windows/event_log_sink.h: what the service's log lines become in the event log
// (the level, the message alone), through a recording writer in place of ReportEventW,
// whose events Wine does not keep.
#include "agent/windows/event_log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

namespace cg::agent::windows {
namespace {

using platform::windows::EventLevel;

TEST(EventLogSinkTest, LevelsAndMessagesAsTheEventLogGetsThem) {
  std::vector<std::pair<EventLevel, std::string>> events;
  bool fail = false;
  auto sink = std::make_shared<EventLogSink>([&](EventLevel level, std::string_view text) {
    events.emplace_back(level, std::string(text));
    return fail ? Status(MakeError(ErrorCode::kIo, "ReportEventW: (Win32 error 1502)"))
                : OkStatus();
  });
  sink->set_level(spdlog::level::info);
  spdlog::logger logger("test", sink);
  logger.set_level(spdlog::level::trace);
  logger.debug("not for the event log");
  logger.info("đã gửi báo cáo {}", 42);
  logger.warn("spool 90% full");
  logger.error("SOC unreachable");
  logger.critical("state dir unusable");
  const std::vector<std::pair<EventLevel, std::string>> want = {
      {EventLevel::kInformation, "đã gửi báo cáo 42"},
      {EventLevel::kWarning, "spool 90% full"},
      {EventLevel::kError, "SOC unreachable"},
      {EventLevel::kError, "state dir unusable"},
  };
  EXPECT_EQ(events, want);
  EXPECT_EQ(sink->failed_writes(), 0u);

  fail = true;  // a full or unavailable event log: counted, and logging goes on
  logger.error("one");
  logger.error("two");
  EXPECT_EQ(sink->failed_writes(), 2u);
}

}  // namespace
}  // namespace cg::agent::windows

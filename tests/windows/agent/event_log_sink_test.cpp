// agent/windows/event_log_sink.h: what the service's log lines become in the event log
// (the level, the message alone), through a recording writer in place of ReportEventW,
// whose events Wine does not keep; and AddServiceLogging (agent/windows/service_logging.cpp),
// the service's real sinks: the rotated file, and ReportEventW itself. Wine's ReportEventW
// keeps nothing but prints each string on its "eventlog" debug channel (err: error, warn:
// warning, trace: information), which event_log_wine_test.sh reads.
#include "agent/windows/event_log_sink.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <windows.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "agent/service_command.h"

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

TEST(ServiceLoggingTest, LinesGoToTheRotatedFileAndTheEventLog) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "cg-service-logging-test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto logger = spdlog::default_logger();
  const auto sinks_before = logger->sinks();
  const std::string config = (dir / "agent.json").string();
  ASSERT_TRUE(AddServiceLogging(config).ok());
  logger->set_level(spdlog::level::debug);
  // The same lines event_log_wine_test.sh looks for on Wine's eventlog channel.
  spdlog::debug("cg-test: debug, not for the event log");
  spdlog::info("cg-test: information");
  spdlog::warn("cg-test: warning, spool 90% full");
  spdlog::error("cg-test: error, SOC unreachable");
  spdlog::info("cg-test: {}", "Nguyễn Văn Ánh");
  logger->flush();
  logger->sinks() = sinks_before;  // closes the file
  logger->set_level(spdlog::level::info);

  std::ifstream in(dir / "logs" / "cg-agent.log", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const std::string file = text.str();
  for (const char* line :
       {"debug: cg-test: debug, not for the event log", "info: cg-test: information",
        "warning: cg-test: warning, spool 90% full", "error: cg-test: error, SOC unreachable",
        "info: cg-test: Nguyễn Văn Ánh"}) {
    EXPECT_NE(file.find(line), std::string::npos) << line << " not in:\n" << file;
  }
  // Each line names the process (a restarted service is another one): "... [PID] info: ...".
  const std::string with_pid =
      "[" + std::to_string(GetCurrentProcessId()) + "] info: cg-test: information";
  EXPECT_NE(file.find(with_pid), std::string::npos) << with_pid << " not in:\n" << file;
  in.close();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cg::agent::windows

// The Windows service's logs: the Application event log (source "CounterGuard Agent",
// information and above) and a rotated file, logs\cg-agent.log beside agent.json (5 files
// of 5 MiB, debug and above as the configured level allows; each line with the time, the
// process id and the level), in addition to stderr.
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include "agent/service_command.h"
#include "agent/windows/event_log_sink.h"
#include "platform/os/files.h"

namespace cg::agent {
namespace windows {

platform::windows::EventLevel EventLevelFor(spdlog::level::level_enum level) {
  using platform::windows::EventLevel;
  switch (level) {
    case spdlog::level::warn:
      return EventLevel::kWarning;
    case spdlog::level::err:
    case spdlog::level::critical:
      return EventLevel::kError;
    default:
      return EventLevel::kInformation;
  }
}

void EventLogSink::sink_it_(const spdlog::details::log_msg& msg) {
  // The event has its own time, level and source: the message alone.
  const std::string_view text(msg.payload.data(), msg.payload.size());
  if (!write_(EventLevelFor(msg.level), text).ok()) {
    ++failed_;
  }
}

}  // namespace windows

namespace {

constexpr size_t kLogFileBytes = 5u << 20;
constexpr size_t kLogFiles = 5;

std::string Parent(const std::string& path) {
  const size_t sep = path.find_last_of("/\\");
  return sep == std::string::npos ? std::string(".") : path.substr(0, sep);
}

}  // namespace

Status AddServiceLogging(const std::string& config_file) {
  const std::string log_dir = Parent(config_file) + "\\logs";
  CG_RETURN_IF_ERROR(EnsureDirectory(log_dir, 0700));
  auto logger = spdlog::default_logger();
  try {
    auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(log_dir + "\\cg-agent.log",
                                                                       kLogFileBytes, kLogFiles);
    // The process id tells a restarted service from one that kept running.
    file->set_pattern("%Y-%m-%d %H:%M:%S.%e %z [%P] %l: %v");
    logger->sinks().push_back(std::move(file));
  } catch (const spdlog::spdlog_ex& e) {
    return MakeError(ErrorCode::kIo,
                     std::string("opening the log file in ") + log_dir + ": " + e.what());
  }
  auto event_log = platform::windows::EventLog::Open(platform::windows::kEventSource);
  if (!event_log.ok()) {
    return event_log.error();
  }
  std::shared_ptr<platform::windows::EventLog> shared(std::move(event_log).value());
  auto sink = std::make_shared<windows::EventLogSink>(
      [shared](platform::windows::EventLevel level, std::string_view text) {
        return shared->Write(level, text);
      });
  sink->set_level(spdlog::level::info);
  logger->sinks().push_back(std::move(sink));
  return OkStatus();
}

}  // namespace cg::agent

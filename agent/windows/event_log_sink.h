// An spdlog sink that writes to the Windows event log (through platform/windows/event_log.h).
// Only agent/windows/service_logging.cpp and its test include this header (spdlog stays out
// of widely included headers).
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <functional>
#include <mutex>
#include <string_view>

#include "common/result.h"
#include "platform/windows/event_log.h"

namespace cg::agent::windows {

using EventWriter = std::function<Status(platform::windows::EventLevel, std::string_view)>;

// trace/debug/info -> information, warn -> warning, error/critical -> error. A write that
// fails is counted, not logged (logging it would recurse), and never stops the agent.
class EventLogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit EventLogSink(EventWriter write) : write_(std::move(write)) {}
  size_t failed_writes() const { return failed_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  EventWriter write_;
  size_t failed_ = 0;
};

platform::windows::EventLevel EventLevelFor(spdlog::level::level_enum level);

}  // namespace cg::agent::windows

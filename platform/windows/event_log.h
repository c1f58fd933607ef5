// The Windows Event Log (Application log) for the agent's service: the event source's
// registration (done at install time, by an administrator) and writing events. The agent's
// spdlog sink on top of it is agent/windows/service_logging.cpp; this layer knows no spdlog.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::platform::windows {

inline constexpr std::string_view kEventSource = "CounterGuard Agent";

enum class EventLevel { kInformation, kWarning, kError };

// The event ID written for a level (the message table's ID, severity bits included): the
// message file (the agent's .exe, platform/windows/event_messages.mc) shows the text as is.
uint32_t EventIdFor(EventLevel level);

// HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\<source>: EventMessageFile =
// message_file (the agent's .exe with its message table), TypesSupported = error | warning |
// information. Registering again updates the path (an upgrade to another folder).
Status InstallEventSource(std::string_view source, const std::string& message_file);
// Removes that key; a missing key is success.
Status RemoveEventSource(std::string_view source);

class EventLog {
 public:
  // RegisterEventSourceW (works without the registration too: Windows then shows the text
  // with a "description cannot be found" note).
  static Result<std::unique_ptr<EventLog>> Open(std::string_view source);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // ReportEventW with the UTF-8 text as the one insertion string (cut at 31,839 characters,
  // the limit of an event string).
  Status Write(EventLevel level, std::string_view text);

 private:
  explicit EventLog(void* handle) : handle_(handle) {}
  void* handle_;
};

}  // namespace cg::platform::windows

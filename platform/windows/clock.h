// The real wall clock on Windows; the UTC offset comes from the system's time zone (Vietnam:
// UTC+7, no daylight saving), never from the C runtime's TZ handling.
#pragma once

#include "platform/platform.h"

namespace cg::platform::windows {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override;
  // -(Bias + DaylightBias or StandardBias) of GetTimeZoneInformation, in minutes east of UTC.
  std::chrono::minutes UtcOffset() const override;
};

}  // namespace cg::platform::windows

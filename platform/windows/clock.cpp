// GetTimeZoneInformation tells which bias applies now (standard or daylight).
#include "platform/windows/clock.h"

#include <windows.h>

namespace cg::platform::windows {

std::chrono::system_clock::time_point SystemClock::Now() const {
  return std::chrono::system_clock::now();
}

std::chrono::minutes SystemClock::UtcOffset() const {
  TIME_ZONE_INFORMATION tz{};
  LONG bias = 0;
  switch (GetTimeZoneInformation(&tz)) {
    case TIME_ZONE_ID_DAYLIGHT:
      bias = tz.Bias + tz.DaylightBias;
      break;
    case TIME_ZONE_ID_STANDARD:
      bias = tz.Bias + tz.StandardBias;
      break;
    case TIME_ZONE_ID_UNKNOWN:  // no daylight saving in this zone
      bias = tz.Bias;
      break;
    default:  // TIME_ZONE_ID_INVALID: the clock still works; local time is UTC
      bias = 0;
      break;
  }
  return std::chrono::minutes(-bias);
}

}  // namespace cg::platform::windows

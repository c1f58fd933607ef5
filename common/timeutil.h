// Wall-clock time as it travels in reports and the API: RFC 3339 UTC, whole seconds.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg {

using SysTime = std::chrono::system_clock::time_point;

// "2026-11-26T21:37:40Z"
std::string FormatRfc3339(SysTime t);
// Years ParseRfc3339 accepts (inside what SysTime can hold, with room for offsets).
inline constexpr int kMinRfc3339Year = 1900;
inline constexpr int kMaxRfc3339Year = 2200;
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" with a year from 1900 to 2200.
Result<SysTime> ParseRfc3339(std::string_view text);
// Seconds since the Unix epoch.
int64_t ToUnixSeconds(SysTime t);
// Seconds since the Unix epoch of a UTC civil time (timegm without the C library): fields
// out of range carry over (month 13 is January of the next year, 31 February is 3 March,
// second 60 is the next minute's 0).
int64_t UnixSecondsFromUtc(int year, int month, int day, int hour, int minute, int second);
SysTime FromUnixSeconds(int64_t s);
// "15m", "24h", "30d", "90s" -> seconds.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

}  // namespace cg

// RFC 3339 formatting/parsing with no locale or TZ dependence: civil-date arithmetic of
// <chrono> (the same on every OS; timegm and gmtime_r are not on Windows).
#include "common/timeutil.h"

#include <charconv>
#include <cstdio>

namespace cg {
namespace {

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string FormatRfc3339(SysTime t) {
  using namespace std::chrono;
  // Whole seconds truncated toward zero, as system_clock::to_time_t does.
  const sys_seconds secs(duration_cast<seconds>(t.time_since_epoch()));
  const sys_days day = floor<days>(secs);
  const year_month_day ymd(day);
  const hh_mm_ss hms(secs - day);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

int64_t UnixSecondsFromUtc(int year, int month, int day, int hour, int minute, int second) {
  using namespace std::chrono;
  // Months carry into years here; days beyond the month's length carry over by adding them
  // to its first day (sys_days of an invalid year_month_day would be unspecified).
  const int month0 = month - 1;
  const int carry = month0 >= 0 ? month0 / 12 : -((11 - month0) / 12);
  const int month_in_year = month0 - carry * 12 + 1;
  const sys_days first = std::chrono::year(year + carry) / month_in_year / 1;
  const int64_t days_since_epoch = (first + days(day - 1)).time_since_epoch().count();
  return days_since_epoch * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second;
}

Result<SysTime> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return MakeError(ErrorCode::kParse, "bad RFC 3339 time '" + std::string(s.substr(0, 40)) + "'");
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return bad();
  }
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!ParseInt(s.substr(0, 4), year) || !ParseInt(s.substr(5, 2), mon) ||
      !ParseInt(s.substr(8, 2), day) || !ParseInt(s.substr(11, 2), hour) ||
      !ParseInt(s.substr(14, 2), min) || !ParseInt(s.substr(17, 2), sec)) {
    return bad();
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return bad();
  }
  // SysTime counts nanoseconds in 64 bits (years 1678 to 2261): a year outside this range
  // would overflow it (found by fuzzing: "4052-05-28T07:59:00Z" became a time in 1863).
  if (year < kMinRfc3339Year || year > kMaxRfc3339Year) {
    return MakeError(ErrorCode::kParse, "RFC 3339 time '" + std::string(s.substr(0, 40)) +
                                            "' is outside the years " +
                                            std::to_string(kMinRfc3339Year) + " to " +
                                            std::to_string(kMaxRfc3339Year));
  }
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
  }
  int offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    offset = 0;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (!ParseInt(s.substr(i + 1, 2), oh) || !ParseInt(s.substr(i + 4, 2), om)) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
  } else {
    return bad();
  }
  return FromUnixSeconds(UnixSecondsFromUtc(year, mon, day, hour, min, sec) - offset);
}

int64_t ToUnixSeconds(SysTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

SysTime FromUnixSeconds(int64_t s) { return SysTime(std::chrono::seconds(s)); }

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  if (text.size() < 2) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bad duration '" + std::string(text) + "' (use e.g. 90s, 15m, 24h, 30d)");
  }
  int n = 0;
  if (!ParseInt(text.substr(0, text.size() - 1), n) || n <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "bad duration '" + std::string(text) + "' (use e.g. 90s, 15m, 24h, 30d)");
  }
  switch (text.back()) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::seconds(int64_t{n} * 60);
    case 'h':
      return std::chrono::seconds(int64_t{n} * 3600);
    case 'd':
      return std::chrono::seconds(int64_t{n} * 86400);
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "bad duration '" + std::string(text) + "' (use e.g. 90s, 15m, 24h, 30d)");
  }
}

}  // namespace cg

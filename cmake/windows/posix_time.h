// Force-included into common/timeutil.cpp by cmake/CgWindows.cmake only: gmtime_r and timegm
// for Windows, from the proleptic Gregorian calendar of <chrono> (exact for every year, where
// the CRT's gmtime_s/_mkgmtime refuse times before 1970). Goes away when issue 12's "make
// room" step takes the POSIX time calls out of common/timeutil.cpp.
#pragma once

#include <chrono>
#include <ctime>

namespace cg::windows_compat {

inline std::tm* GmtimeR(const std::time_t* t, std::tm* out) {
  using namespace std::chrono;
  const sys_seconds s{seconds(*t)};
  const sys_days day = floor<days>(s);
  const year_month_day ymd(day);
  const hh_mm_ss<seconds> hms(s - day);
  *out = std::tm{};
  out->tm_year = static_cast<int>(ymd.year()) - 1900;
  out->tm_mon = static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
  out->tm_mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
  out->tm_hour = static_cast<int>(hms.hours().count());
  out->tm_min = static_cast<int>(hms.minutes().count());
  out->tm_sec = static_cast<int>(hms.seconds().count());
  out->tm_wday = static_cast<int>(weekday(day).c_encoding());
  out->tm_yday = static_cast<int>((day - sys_days(ymd.year() / January / 1)).count());
  return out;
}

// Like glibc's timegm: out-of-range fields (tm_mday 31 in April, tm_sec 60) carry over.
inline std::time_t Timegm(std::tm* tm) {
  using namespace std::chrono;
  const year_month_day first(year(tm->tm_year + 1900) / January / 1);
  const sys_days day = sys_days(first + months(tm->tm_mon)) + days(tm->tm_mday - 1);
  const sys_seconds s = day + hours(tm->tm_hour) + minutes(tm->tm_min) + seconds(tm->tm_sec);
  return static_cast<std::time_t>(s.time_since_epoch().count());
}

}  // namespace cg::windows_compat

#define gmtime_r(t, out) ::cg::windows_compat::GmtimeR(t, out)
#define timegm(tm) ::cg::windows_compat::Timegm(tm)

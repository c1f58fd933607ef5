// RFC 3339 formatting/parsing with no locale or TZ dependence (timegm, gmtime_r).
#include "common/timeutil.h"

#include <charconv>
#include <ctime>

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
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<SysTime> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return MakeError(ErrorCode::kParse, "bad RFC 3339 time '" + std::string(s.substr(0, 40)) + "'");
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return bad();
  }
  std::tm tm{};
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
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
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

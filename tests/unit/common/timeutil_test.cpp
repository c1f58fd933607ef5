// RFC 3339 and durations.
#include "common/timeutil.h"

#include <gtest/gtest.h>

namespace cg {
namespace {

TEST(Rfc3339, FormatAndParseRoundTrip) {
  const auto t = FromUnixSeconds(1795729060);  // 2026-11-26T21:37:40Z
  EXPECT_EQ(FormatRfc3339(t), "2026-11-26T21:37:40Z");
  auto back = ParseRfc3339("2026-11-26T21:37:40Z");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ToUnixSeconds(*back), 1795729060);
}

TEST(Rfc3339, OffsetsAndFractions) {
  struct Case {
    const char* text;
    int64_t unix_seconds;
  };
  for (const auto& c : std::vector<Case>{{"2026-11-26T21:37:40.123Z", 1795729060},
                                         {"2026-11-27T04:37:40+07:00", 1795729060},
                                         {"2026-11-26T20:37:40-01:00", 1795729060},
                                         {"1970-01-01T00:00:00Z", 0}}) {
    auto t = ParseRfc3339(c.text);
    ASSERT_TRUE(t.ok()) << c.text;
    EXPECT_EQ(ToUnixSeconds(*t), c.unix_seconds) << c.text;
  }
}

TEST(Rfc3339, RefusesGarbage) {
  for (const char* bad :
       {"", "2026-11-26", "2026-13-01T00:00:00Z", "2026-11-26T25:00:00Z", "2026-11-26T21:37:40",
        "2026-11-26T21:37:40+0700", "xxxx-11-26T21:37:40Z", "2026-11-26T21:37:40Zjunk"}) {
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
  }
}

// Found by fuzzing the report parser: years beyond 2261 overflowed SysTime (nanoseconds in 64
// bits) and came back as times in the 19th century.
TEST(Rfc3339, YearsOutsideWhatSysTimeHoldsAreRefused) {
  for (const char* bad : {"4052-05-28T07:59:00Z", "9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z",
                          "0001-01-01T00:00:00Z", "1677-09-21T00:00:00Z"}) {
    auto t = ParseRfc3339(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find("outside the years"), std::string::npos) << bad;
  }
  for (const char* good : {"1900-01-01T00:00:00Z", "2200-12-31T23:59:59Z"}) {
    auto t = ParseRfc3339(good);
    ASSERT_TRUE(t.ok()) << good;
    EXPECT_EQ(FormatRfc3339(*t), good);
  }
}

// The civil-date arithmetic that replaced timegm: the values timegm gives, carry-over included.
TEST(UnixSecondsFromUtc, AgreesWithTimegm) {
  struct Case {
    int year, month, day, hour, minute, second;
    int64_t unix_seconds;
  };
  for (const auto& c : std::vector<Case>{
           {1970, 1, 1, 0, 0, 0, 0},
           {2026, 11, 26, 21, 37, 40, 1795729060},
           {2000, 2, 29, 0, 0, 0, 951782400},
           {1900, 1, 1, 0, 0, 0, -2208988800},
           {1969, 12, 31, 23, 59, 59, -1},
           {9999, 12, 31, 23, 59, 59, 253402300799},  // X.509's "no expiry"
           {2025, 13, 1, 0, 0, 0, 1767225600},        // month 13: January 2026
           {2026, 0, 1, 0, 0, 0, 1764547200},         // month 0: December 2025
           {2026, 2, 31, 0, 0, 0, 1772496000},        // 31 February: 3 March
           {2026, 11, 26, 21, 37, 60, 1795729080},    // leap second: the next minute
       }) {
    EXPECT_EQ(UnixSecondsFromUtc(c.year, c.month, c.day, c.hour, c.minute, c.second),
              c.unix_seconds)
        << c.year << "-" << c.month << "-" << c.day;
  }
}

TEST(Rfc3339, FormatsTimesBeforeTheEpochAndTruncatesFractions) {
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(-2208988800)), "1900-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(-1)), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(FromUnixSeconds(1795729060) + std::chrono::milliseconds(999)),
            "2026-11-26T21:37:40Z");
}

TEST(Duration, ParsesUnitsAndRefusesNonsense) {
  EXPECT_EQ(ParseDuration("90s")->count(), 90);
  EXPECT_EQ(ParseDuration("15m")->count(), 900);
  EXPECT_EQ(ParseDuration("24h")->count(), 86400);
  EXPECT_EQ(ParseDuration("30d")->count(), 30 * 86400);
  for (const char* bad : {"", "h", "10", "-5m", "0h", "5w", "1.5h", "abc"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace cg

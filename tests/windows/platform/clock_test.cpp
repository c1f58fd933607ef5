// The Windows clock's UTC offset comes from the system time zone. CTest runs this test with
// TZ=Asia/Ho_Chi_Minh, which Wine turns into the Windows zone "SE Asia Standard Time".
#include "platform/windows/clock.h"

#include <gtest/gtest.h>
#include <windows.h>

namespace cg::platform::windows {
namespace {

TEST(SystemClockTest, VietnamIsSevenHoursEastWithoutDaylightSaving) {
  const HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll == nullptr || GetProcAddress(ntdll, "wine_get_version") == nullptr) {
    GTEST_SKIP() << "sets the zone through Wine's TZ; on Windows the machine's zone applies";
  }
  SystemClock clock;
  EXPECT_EQ(clock.UtcOffset(), std::chrono::minutes(7 * 60));
}

}  // namespace
}  // namespace cg::platform::windows

// platform/windows/event_log.h: the event source's registration in the (real, Wine's)
// registry, and events written through RegisterEventSourceW/ReportEventW. Wine keeps no
// event log (its ReportEventW only traces), so what an event holds is checked on Windows
// only; the IDs are checked against windmc's header of the message table.
#include "platform/windows/event_log.h"

#include <gtest/gtest.h>
#include <windows.h>

#include "event_messages.h"  // windmc's output for platform/windows/event_messages.mc

namespace cg::platform::windows {
namespace {

constexpr wchar_t kKey[] = L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\";

TEST(EventLogTest, EventIdsAreTheMessageTablesIds) {
  EXPECT_EQ(EventIdFor(EventLevel::kInformation), static_cast<uint32_t>(CG_EVENT_INFO));
  EXPECT_EQ(EventIdFor(EventLevel::kWarning), static_cast<uint32_t>(CG_EVENT_WARNING));
  EXPECT_EQ(EventIdFor(EventLevel::kError), static_cast<uint32_t>(CG_EVENT_ERROR));
}

TEST(EventLogTest, SourceIsRegisteredWithTheMessageFileAndRemoved) {
  const std::string source = "CounterGuard Test " + std::to_string(GetCurrentProcessId());
  const std::wstring key = kKey + std::wstring(source.begin(), source.end());
  const std::string exe = "C:\\Program Files\\CounterGuard\\cg-agent.exe";
  const Status installed = InstallEventSource(source, exe);
  ASSERT_TRUE(installed.ok()) << installed.error().ToString();

  wchar_t file[MAX_PATH] = {};
  DWORD size = sizeof file;
  ASSERT_EQ(RegGetValueW(HKEY_LOCAL_MACHINE, key.c_str(), L"EventMessageFile",
                         RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND | RRF_SUBKEY_WOW6464KEY, nullptr, file,
                         &size),
            ERROR_SUCCESS);
  EXPECT_STREQ(file, L"C:\\Program Files\\CounterGuard\\cg-agent.exe");
  DWORD types = 0;
  size = sizeof types;
  ASSERT_EQ(RegGetValueW(HKEY_LOCAL_MACHINE, key.c_str(), L"TypesSupported",
                         RRF_RT_REG_DWORD | RRF_SUBKEY_WOW6464KEY, nullptr, &types, &size),
            ERROR_SUCCESS);
  EXPECT_EQ(types, static_cast<DWORD>(EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE |
                                      EVENTLOG_INFORMATION_TYPE));

  // Installing again (an upgrade to another folder) updates the path.
  ASSERT_TRUE(InstallEventSource(source, "D:\\CG\\cg-agent.exe").ok());
  size = sizeof file;
  ASSERT_EQ(RegGetValueW(HKEY_LOCAL_MACHINE, key.c_str(), L"EventMessageFile",
                         RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND | RRF_SUBKEY_WOW6464KEY, nullptr, file,
                         &size),
            ERROR_SUCCESS);
  EXPECT_STREQ(file, L"D:\\CG\\cg-agent.exe");

  ASSERT_TRUE(RemoveEventSource(source).ok());
  HKEY gone = nullptr;
  EXPECT_EQ(RegOpenKeyExW(HKEY_LOCAL_MACHINE, key.c_str(), 0, KEY_READ | KEY_WOW64_64KEY, &gone),
            ERROR_FILE_NOT_FOUND);
  EXPECT_TRUE(RemoveEventSource(source).ok());  // twice: fine
}

TEST(EventLogTest, WritesEventsOfEachLevelWithVietnameseText) {
  auto log = EventLog::Open(kEventSource);
  ASSERT_TRUE(log.ok()) << log.error().ToString();
  EXPECT_TRUE((*log)->Write(EventLevel::kInformation, "Đã gửi báo cáo tới SOC").ok());
  EXPECT_TRUE((*log)->Write(EventLevel::kWarning, "Chữ ký virus cũ hơn 7 ngày").ok());
  EXPECT_TRUE((*log)->Write(EventLevel::kError, std::string(40000, 'x')).ok());  // cut, not refused
  // Invalid UTF-8 is refused at the boundary, never written as mojibake.
  const Status bad = (*log)->Write(EventLevel::kError, "\xff\xfe");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace cg::platform::windows

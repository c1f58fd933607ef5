// RegisterEventSourceW/ReportEventW and the event source's registry key.
#include "platform/windows/event_log.h"

#include <windows.h>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

constexpr wchar_t kApplicationLog[] =
    L"SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\";
// The largest insertion string ReportEventW takes.
constexpr size_t kMaxEventChars = 31839;

struct KeyCloser {
  void operator()(HKEY key) const { RegCloseKey(key); }
};

}  // namespace

uint32_t EventIdFor(EventLevel level) {
  // Severity in the top two bits, as windmc makes them from event_messages.mc.
  switch (level) {
    case EventLevel::kInformation:
      return 0x40000001u;
    case EventLevel::kWarning:
      return 0x80000002u;
    case EventLevel::kError:
      return 0xC0000003u;
  }
  return 0xC0000003u;
}

Status InstallEventSource(std::string_view source, const std::string& message_file) {
  CG_ASSIGN_OR_RETURN(std::wstring name, Utf8ToWide(source));
  CG_ASSIGN_OR_RETURN(std::wstring file, Utf8ToWide(message_file));
  const std::wstring path = kApplicationLog + name;
  HKEY raw = nullptr;
  LSTATUS rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), 0, nullptr, 0,
                               KEY_SET_VALUE | KEY_WOW64_64KEY, nullptr, &raw, nullptr);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("creating the event source key (run as an administrator)", rc);
  }
  std::unique_ptr<std::remove_pointer_t<HKEY>, KeyCloser> key(raw);
  rc = RegSetValueExW(key.get(), L"EventMessageFile", 0, REG_EXPAND_SZ,
                      reinterpret_cast<const BYTE*>(file.c_str()),
                      static_cast<DWORD>((file.size() + 1) * sizeof(wchar_t)));
  if (rc != ERROR_SUCCESS) {
    return Win32Error("writing EventMessageFile", rc);
  }
  const DWORD types = EVENTLOG_ERROR_TYPE | EVENTLOG_WARNING_TYPE | EVENTLOG_INFORMATION_TYPE;
  rc = RegSetValueExW(key.get(), L"TypesSupported", 0, REG_DWORD,
                      reinterpret_cast<const BYTE*>(&types), sizeof types);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("writing TypesSupported", rc);
  }
  return OkStatus();
}

Status RemoveEventSource(std::string_view source) {
  CG_ASSIGN_OR_RETURN(std::wstring name, Utf8ToWide(source));
  const std::wstring path = kApplicationLog + name;
  const LSTATUS rc = RegDeleteKeyExW(HKEY_LOCAL_MACHINE, path.c_str(), KEY_WOW64_64KEY, 0);
  if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
    return Win32Error("deleting the event source key", rc);
  }
  return OkStatus();
}

Result<std::unique_ptr<EventLog>> EventLog::Open(std::string_view source) {
  CG_ASSIGN_OR_RETURN(std::wstring name, Utf8ToWide(source));
  HANDLE handle = RegisterEventSourceW(nullptr, name.c_str());
  if (handle == nullptr) {
    return LastWin32Error("RegisterEventSourceW");
  }
  return std::unique_ptr<EventLog>(new EventLog(handle));
}

EventLog::~EventLog() { DeregisterEventSource(static_cast<HANDLE>(handle_)); }

Status EventLog::Write(EventLevel level, std::string_view text) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(text));
  if (wide.size() > kMaxEventChars) {
    wide.resize(kMaxEventChars);
    if (!wide.empty() && wide.back() >= 0xD800 && wide.back() <= 0xDBFF) {
      wide.pop_back();  // never half a surrogate pair
    }
  }
  WORD type = EVENTLOG_INFORMATION_TYPE;
  if (level == EventLevel::kWarning) {
    type = EVENTLOG_WARNING_TYPE;
  } else if (level == EventLevel::kError) {
    type = EVENTLOG_ERROR_TYPE;
  }
  const wchar_t* strings[] = {wide.c_str()};
  if (!ReportEventW(static_cast<HANDLE>(handle_), type, 0, EventIdFor(level), nullptr, 1, 0,
                    strings, nullptr)) {
    return LastWin32Error("ReportEventW");
  }
  return OkStatus();
}

}  // namespace cg::platform::windows

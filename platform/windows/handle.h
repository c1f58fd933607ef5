// RAII for Win32 HANDLEs: kernel objects closed with CloseHandle. Both failure values exist in
// the API (INVALID_HANDLE_VALUE from CreateFileW and CreateToolhelp32Snapshot, NULL from
// OpenProcess and CreateFileMappingW); neither is closed.
#pragma once

#include <windows.h>

#include <memory>

namespace cg::platform::windows {

struct HandleCloser {
  void operator()(HANDLE h) const {
    if (h != nullptr && h != INVALID_HANDLE_VALUE) {
      CloseHandle(h);
    }
  }
};
using UniqueHandle = std::unique_ptr<void, HandleCloser>;

inline bool Valid(const UniqueHandle& h) {
  return h.get() != nullptr && h.get() != INVALID_HANDLE_VALUE;
}

// FILETIME (100 ns since 1601-01-01 UTC) as a time point / nanoseconds since 1970.
inline constexpr int64_t kFiletimeUnixEpoch = 116444736000000000LL;

inline int64_t FiletimeToUnixNanos(int64_t filetime) {
  return (filetime - kFiletimeUnixEpoch) * 100;
}

inline int64_t FiletimeValue(const FILETIME& ft) {
  return static_cast<int64_t>((static_cast<uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime);
}

}  // namespace cg::platform::windows

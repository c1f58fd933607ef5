// GetModuleFileNameW.
#include "platform/windows/known_paths.h"

#include <windows.h>

#include <vector>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

Result<std::string> CurrentExecutablePath() {
  std::vector<wchar_t> buffer(MAX_PATH);
  for (int attempt = 0; attempt < 6; ++attempt) {
    const DWORD n = GetModuleFileNameW(nullptr, buffer.data(), static_cast<DWORD>(buffer.size()));
    if (n == 0) {
      return LastWin32Error("GetModuleFileNameW");
    }
    if (n < buffer.size()) {
      return WideToUtf8(std::wstring_view(buffer.data(), n));
    }
    buffer.resize(buffer.size() * 4);  // truncated: a long path
  }
  return MakeError(ErrorCode::kIo, "GetModuleFileNameW: path too long");
}

}  // namespace cg::platform::windows

// SHGetKnownFolderPath and GetModuleFileNameW.
#include "platform/windows/known_paths.h"

// clang-format off
#include <windows.h>
#include <knownfolders.h>
#include <shlobj.h>
// clang-format on

#include <vector>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

Result<std::string> ProgramDataDir() {
  PWSTR path = nullptr;
  const HRESULT hr = SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path);
  if (FAILED(hr)) {
    CoTaskMemFree(path);
    return Win32Error("SHGetKnownFolderPath(ProgramData)", static_cast<uint32_t>(hr));
  }
  Result<std::string> utf8 = WideToUtf8(path);
  CoTaskMemFree(path);
  return utf8;
}

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

// %ProgramData%\CounterGuard holds the configuration and the state (the MSI installs
// agent.json and the enrollment token there); the agent creates it with a protected ACL that
// grants SYSTEM and Administrators only (platform/windows/os/files.cpp, mode 0700).
#include "platform/os/paths.h"

// clang-format off
#include <windows.h>
#include <knownfolders.h>
#include <shlobj.h>
// clang-format on

#include "platform/windows/utf16.h"

namespace cg::os {
namespace {

// FOLDERID_ProgramData ("C:\ProgramData"); the environment variable and then the usual
// location only if the shell cannot say (it always can on a real installation).
std::string ProgramData() {
  PWSTR path = nullptr;
  if (SUCCEEDED(SHGetKnownFolderPath(FOLDERID_ProgramData, KF_FLAG_DEFAULT, nullptr, &path))) {
    auto utf8 = platform::windows::WideToUtf8(path);
    CoTaskMemFree(path);
    if (utf8.ok() && !utf8->empty()) {
      return *utf8;
    }
  } else {
    CoTaskMemFree(path);
  }
  wchar_t buf[MAX_PATH];
  const DWORD n = GetEnvironmentVariableW(L"ProgramData", buf, MAX_PATH);
  if (n > 0 && n < MAX_PATH) {
    auto utf8 = platform::windows::WideToUtf8(std::wstring_view(buf, n));
    if (utf8.ok()) {
      return *utf8;
    }
  }
  return "C:\\ProgramData";
}

}  // namespace

AgentPaths DefaultAgentPaths() {
  const std::string dir = ProgramData() + "\\CounterGuard";
  return AgentPaths{dir + "\\agent.json", dir + "\\enroll.token", dir};
}

}  // namespace cg::os

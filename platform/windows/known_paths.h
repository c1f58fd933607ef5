// Where Windows keeps things, asked of Windows: %ProgramData% (FOLDERID_ProgramData, which a
// LocalSystem service and an administrator's console agree on) and this program's own path.
#pragma once

#include <string>

#include "common/result.h"

namespace cg::platform::windows {

// e.g. "C:\ProgramData" (no trailing separator).
Result<std::string> ProgramDataDir();

// The running .exe's full path (GetModuleFileNameW), UTF-8.
Result<std::string> CurrentExecutablePath();

}  // namespace cg::platform::windows

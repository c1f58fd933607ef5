// This program's own path, asked of Windows (the service's command line and the event
// log's message file name it). %ProgramData% is platform/os/paths.h's.
#pragma once

#include <string>

#include "common/result.h"

namespace cg::platform::windows {

// The running .exe's full path (GetModuleFileNameW), UTF-8.
Result<std::string> CurrentExecutablePath();

}  // namespace cg::platform::windows

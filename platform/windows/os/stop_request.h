// The one way into the Windows StopSource (platform/os/stop_source.h) from outside the console
// control handler: RunAsService (platform/windows/service.h) calls it on the SCM's stop and
// shutdown controls, so the agent stops the same way for a service stop and a Ctrl+C.
#pragma once

#include <string>

namespace cg::os::windows {

// Delivers a stop request to every live StopSource. With none alive, the request is kept and
// the next StopSource created delivers it at once (a stop that arrives while the agent is
// still starting is not lost).
void RequestStop(const std::string& why);

}  // namespace cg::os::windows

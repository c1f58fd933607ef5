// The Windows service entry: the calling process becomes the SCM service `name`. Stop and
// shutdown controls become a stop request on a std::stop_token and on every
// cg::os::StopSource (platform/os/stop_source.h), reported to the SCM as
// STOP_PENDING with a wait hint, so the agent's own stop path (the same one SIGTERM drives on
// Linux) ends the service within the SCM's patience.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::platform::windows {

// The service's work. Runs on the SCM's service thread with the start arguments (argv[0] is
// the service name); must return soon after `stop` is requested. Its return value is the
// service-specific exit code (0: stopped cleanly).
using ServiceBody = std::function<int(std::stop_token stop, const std::vector<std::string>& args)>;

// How long the SCM is told a stop may take before the next progress report
// (SERVICE_STATUS.dwWaitHint). While the body is still finishing after a stop, the service
// reports STOP_PENDING with a new checkpoint every kStopCheckpointInterval, so the SCM keeps
// waiting, for at most kMaxStopTime; after that it stops reporting progress and the SCM
// treats the service as hung once the last wait hint has passed.
inline constexpr std::chrono::milliseconds kStopWaitHint{15000};
inline constexpr std::chrono::milliseconds kStopCheckpointInterval{3000};
inline constexpr std::chrono::milliseconds kMaxStopTime{120000};

// Blocks until the service has stopped. An error when the process was not started by the
// SCM (ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) or the dispatcher failed.
Status RunAsService(std::string_view name, ServiceBody body);

}  // namespace cg::platform::windows

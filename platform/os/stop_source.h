// The OS's requests to stop this process, as one event: SIGTERM and SIGINT on Linux, the
// service control manager's stop and shutdown (and Ctrl+C on a console) on Windows. The agent
// turns it into Inbox::RequestStop, the SOC into stopping its server.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace cg::os {

class StopSource {
 public:
  // Called with what asked for the stop ("signal 15"), on a thread of the source.
  using Callback = std::function<void(const std::string& why)>;

  // Takes the stop requests away from their default action (terminating the process). On
  // Linux this blocks SIGTERM and SIGINT in the calling thread: create it before any other
  // thread starts, so that every thread inherits the mask and none of them is interrupted.
  static Result<std::unique_ptr<StopSource>> Create();
  virtual ~StopSource() = default;

  // From now until the source is destroyed, every stop request calls `on_stop` on a thread
  // of the source. At most one of Start and Wait is used.
  virtual void Start(Callback on_stop) = 0;
  // Blocks the calling thread until a stop request; returns what it was.
  virtual std::string Wait() = 0;
};

}  // namespace cg::os

// The real wall clock.
#pragma once

#include "platform/platform.h"

namespace cg::platform::linux_ {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

}  // namespace cg::platform::linux_

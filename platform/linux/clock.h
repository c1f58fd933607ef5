// The real wall clock.
#pragma once

#include <ctime>

#include "platform/platform.h"

namespace cg::platform::linux_ {

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::minutes UtcOffset() const override {
    const time_t now = time(nullptr);
    tm local{};
    localtime_r(&now, &local);
    return std::chrono::minutes(local.tm_gmtoff / 60);  // glibc: seconds east of UTC
  }
};

}  // namespace cg::platform::linux_

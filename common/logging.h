// Process-wide logging setup (spdlog stays in the .cpp files that log).
#pragma once

#include <string>

#include "common/result.h"

namespace cg {

enum class LogFormat { kPlain, kJson };

// Plain: journald-friendly "level message" lines on stderr (journald adds the time);
// JSON: one object per line with time, level, logger, message.
Status InitLogging(const std::string& program, LogFormat format, const std::string& level);
Result<LogFormat> ParseLogFormat(const std::string& text);

}  // namespace cg

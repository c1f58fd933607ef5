// LocalSocket on Windows. Its one user is the antivirus check's clamd probe (PING/VERSION on
// clamd's Unix socket), a Linux source; the Windows antivirus sources are Security Center,
// WMI and Defender. So Windows has no local socket to talk to and says so.
#pragma once

#include "platform/platform.h"

namespace cg::platform::windows {

class NoLocalSocket final : public LocalSocket {
 public:
  // Always kUnavailable: "local sockets (clamd) are not used on Windows".
  Result<std::string> Exchange(std::string_view socket_path, std::string_view request,
                               std::chrono::milliseconds timeout, size_t max_reply) override;
};

}  // namespace cg::platform::windows

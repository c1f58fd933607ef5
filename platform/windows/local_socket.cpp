#include "platform/windows/local_socket.h"

namespace cg::platform::windows {

Result<std::string> NoLocalSocket::Exchange(std::string_view socket_path, std::string_view,
                                            std::chrono::milliseconds, size_t) {
  return MakeError(ErrorCode::kUnavailable, "local sockets are not used on Windows (asked for " +
                                                std::string(socket_path) + ")");
}

}  // namespace cg::platform::windows

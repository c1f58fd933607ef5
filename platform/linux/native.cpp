// Wires the Linux implementations into a Platform (replaced as the implementations land).
#include "platform/platform.h"

namespace cg::platform {

Result<Platform> CreateNativePlatform(const std::string& root) {
  return MakeError(ErrorCode::kInternal, "linux platform not wired yet (root " + root + ")");
}

}  // namespace cg::platform

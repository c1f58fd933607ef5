// Between WalkFiles (platform/scan_io.cpp) and the per-OS walkers: WalkFiles checks its options
// once, the same way on every OS, and hands them to the walker of platform/linux or
// platform/windows. Not for use outside platform/.
#pragma once

#include "platform/scan_io.h"

namespace cg::platform {

// Walks options.roots in order until the visitor asks to stop. WalkFiles has checked the
// options: at least one root, none empty, max_depth >= 1.
void WalkCheckedRoots(const WalkOptions& options, WalkVisitor& visitor);

}  // namespace cg::platform

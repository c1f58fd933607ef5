// Display names people read next to ASCII identifiers, e.g. a group's "Xã Bắc Hà" next to its
// slug "laocai/bac-ha": checked and put into Unicode NFC (ICU), so that the same name typed with
// precomposed letters (most keyboards) or with combining marks (Unikey's "Unicode tổ hợp",
// text copied from some documents) is stored, compared and shown as one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::soc {

// Characters (code points, after NFC) and bytes a display name may have.
inline constexpr size_t kMaxDisplayNameChars = 80;
inline constexpr size_t kMaxDisplayNameBytes = 320;

// `text` in NFC with white space at both ends dropped, or kInvalidArgument saying why: not
// UTF-8, empty, longer than the limits, a control, formatting or invisible character (C0, DEL,
// C1, line and paragraph separators, bidirectional overrides, zero-width characters, soft
// hyphen, byte order mark), a private-use or unassigned code point, or a combining mark with no
// letter before it.
Result<std::string> NormalizeDisplayName(std::string_view text);

}  // namespace cg::soc

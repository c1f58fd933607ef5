// The antivirus check on Windows: the products Security Center knows (or, when its COM API is
// missing, the WMI class it mirrors them to) and Defender's own status, judged like the Linux
// engines (antivirus_engine.h).
#pragma once

#include <cstdint>

#include "collectors/check.h"
#include "platform/security_center.h"

namespace cg::collectors {

// root\SecurityCenter2 AntiVirusProduct.productState. Microsoft does not document it; the
// layout every management tool uses (and the values below) is the one observed across
// products: bits 16-23 the WSC_SECURITY_PROVIDER flags (0x04 antivirus, 0x02 automatic
// updates), bits 12-15 the product state (0 off, 1 on, 2 snoozed, 3 expired), bits 8-11 the
// owner (1: Microsoft, i.e. Defender), bits 4-7 the signatures (0 up to date, 1 out of date).
// Sources in docs/windows.md.
struct ProductStateBits {
  uint32_t provider = 0;
  platform::AvProductState state = platform::AvProductState::kUnknown;
  bool microsoft = false;
  platform::AvSignatureStatus signatures = platform::AvSignatureStatus::kUnknown;
};
ProductStateBits DecodeProductState(uint32_t product_state);

// The whole check on a machine whose platform has a SecurityCenter.
protocol::CheckResult EvaluateSecurityCenter(const CheckContext& ctx, protocol::CheckResult r);

}  // namespace cg::collectors

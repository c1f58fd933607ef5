// antivirus: ClamAV (clamd answering PING, freshclam configured, database age from the CVD
// header) and the commercial Linux engines recognised by package, service and process (ESET,
// Kaspersky, Sophos, Bitdefender, Trend Micro, Microsoft Defender for Endpoint).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/check.h"
#include "common/result.h"
#include "common/timeutil.h"

namespace cg::collectors {

// The 512-byte header of a ClamAV .cvd/.cld database:
// "ClamAV-VDB:<build time>:<version>:<signatures>:<functionality level>:<md5>:<dsig>:<builder>
// [:<build time, Unix seconds>]", space-padded.
struct CvdHeader {
  SysTime build_time;
  std::string build_time_text;  // "23 Nov 2026 09-26 +0000"
  int64_t version = 0;
  int64_t signatures = 0;
};
inline constexpr size_t kCvdHeaderSize = 512;
Result<CvdHeader> ParseCvdHeader(std::string_view data);
// "23 Nov 2026 09-26 +0000" (the header's own time format; always English month names).
Result<SysTime> ParseCvdTime(std::string_view text);

// clamd.conf / freshclam.conf: "Key value" lines, '#' comments; keys may repeat. A bare
// "Example" line is returned as the key "Example" with an empty value.
std::vector<std::pair<std::string, std::string>> ParseClamConf(std::string_view text);

class AntivirusCheck final : public Check {
 public:
  AntivirusCheck() = default;
  std::string_view id() const override { return "antivirus"; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;
};

}  // namespace cg::collectors

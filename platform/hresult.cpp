// HRESULT formatting shared by platform/windows (which writes it) and the checks (which read it).
#include "platform/hresult.h"

#include <cctype>
#include <cstdio>
#include <string_view>

namespace cg::platform {

namespace {
constexpr std::string_view kPrefix = "(HRESULT 0x";
}  // namespace

std::string FormatHresult(uint32_t hr) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08X", static_cast<unsigned>(hr));
  return text;
}

std::string HresultSuffix(uint32_t hr) { return " (HRESULT " + FormatHresult(hr) + ")"; }

std::optional<std::string> HresultOf(const Error& error) {
  const std::string_view message = error.message;
  const size_t at = message.rfind(kPrefix);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view digits = message.substr(at + kPrefix.size());
  if (digits.size() < 9 || digits[8] != ')') {
    return std::nullopt;
  }
  for (size_t i = 0; i < 8; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(digits[i]))) {
      return std::nullopt;
    }
  }
  return "0x" + std::string(digits.substr(0, 8));
}

}  // namespace cg::platform

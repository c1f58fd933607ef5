// What screen_lock's sources share (see screen_lock_source.h).
#include "collectors/screen_lock_source.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/text.h"

namespace cg::collectors::screen_lock {

Params ReadParams(const policy::CheckPolicy& p) {
  return Params{p.Int("max_idle_seconds"), p.Int("max_lock_delay_seconds"),
                p.Bool("allow_user_override"), p.Bool("read_profiles_not_logged_on")};
}

Status Source::PlanEnforcement(const Params& /*params*/, EnforcementPlan& /*plan*/) const {
  return MakeError(ErrorCode::kInvalidArgument,
                   "screen lock enforcement does not cover " + std::string(name()));
}

std::vector<std::string> Split(std::string_view s, std::string_view separators) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || separators.find(s[i]) != std::string_view::npos) {
      const auto part = Trim(s.substr(start, i - start));
      if (!part.empty()) {
        parts.emplace_back(part);
      }
      start = i + 1;
    }
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) {
      out += sep;
    }
    out += p;
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

Result<std::optional<std::string>> ReadOptional(const platform::FileSystem& fs,
                                                std::string_view path) {
  auto text = fs.ReadFile(path);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kNotFound) {
      return std::optional<std::string>();
    }
    return text.error();
  }
  return std::optional<std::string>(std::move(text).value());
}

Result<std::vector<platform::DirEntry>> ListOptionalDir(const platform::FileSystem& fs,
                                                        std::string_view path) {
  auto entries = fs.ListDir(path);
  if (!entries.ok() && entries.error().code == ErrorCode::kNotFound) {
    return std::vector<platform::DirEntry>();
  }
  return entries;
}

}  // namespace cg::collectors::screen_lock

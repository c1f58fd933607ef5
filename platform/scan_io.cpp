// The OS-neutral part of platform/scan_io.h: globs, path escaping, skip reasons, the reused
// scan buffer, WalkFiles and its checks of the options. The walkers and file readers are per OS
// (platform/linux/scan_io.cpp, platform/windows/scan_io.cpp).
#include "platform/scan_io.h"

#include <algorithm>
#include <cstdint>

#include "platform/scan_walker.h"

namespace cg::platform {
namespace {
// ---- globs -------------------------------------------------------------------------------

// Matches one pattern character (or class, or escape) at p[*pi] against c; advances *pi.
bool MatchOne(std::string_view p, size_t* pi, char c) {
  const char pc = p[*pi];
  if (pc == '?') {
    ++*pi;
    return true;
  }
  if (pc == '\\' && *pi + 1 < p.size()) {
    *pi += 2;
    return p[*pi - 1] == c;
  }
  if (pc == '[') {
    size_t i = *pi + 1;
    bool negate = false;
    if (i < p.size() && (p[i] == '!' || p[i] == '^')) {
      negate = true;
      ++i;
    }
    bool matched = false;
    bool first = true;
    while (i < p.size() && (first || p[i] != ']')) {
      first = false;
      char lo = p[i];
      if (lo == '\\' && i + 1 < p.size()) {
        lo = p[++i];
      }
      char hi = lo;
      if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
        hi = p[i + 2];
        i += 2;
      }
      const auto uc = static_cast<unsigned char>(c);
      if (uc >= static_cast<unsigned char>(lo) && uc <= static_cast<unsigned char>(hi)) {
        matched = true;
      }
      ++i;
    }
    if (i >= p.size()) {
      // No closing bracket: a literal '['.
      ++*pi;
      return c == '[';
    }
    *pi = i + 1;
    return matched != negate;
  }
  ++*pi;
  return pc == c;
}

// One path component against one pattern component ('*' never crosses a component). The
// classic greedy match with backtracking to the last star: O(pattern x text).
bool MatchComponent(std::string_view p, std::string_view s) {
  size_t pi = 0;
  size_t si = 0;
  size_t star_p = std::string_view::npos;
  size_t star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      while (pi < p.size() && p[pi] == '*') {
        ++pi;
      }
      star_p = pi;
      star_s = si;
      continue;
    }
    if (pi < p.size()) {
      size_t next = pi;
      if (MatchOne(p, &next, s[si])) {
        pi = next;
        ++si;
        continue;
      }
    }
    if (star_p == std::string_view::npos) {
      return false;
    }
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') {
    ++pi;
  }
  return pi == p.size();
}

std::vector<std::string_view> Components(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const size_t end = j == std::string_view::npos ? path.size() : j;
    if (end > i) {
      out.push_back(path.substr(i, end - i));
    }
    i = end + 1;
  }
  return out;
}

// Component lists, "**" standing for any number of components: the same greedy algorithm one
// level up.
bool MatchComponents(const std::vector<std::string_view>& p,
                     const std::vector<std::string_view>& s) {
  size_t pi = 0;
  size_t si = 0;
  size_t star_p = SIZE_MAX;
  size_t star_s = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == "**") {
      while (pi < p.size() && p[pi] == "**") {
        ++pi;
      }
      star_p = pi;
      star_s = si;
      continue;
    }
    if (pi < p.size() && MatchComponent(p[pi], s[si])) {
      ++pi;
      ++si;
      continue;
    }
    if (star_p == SIZE_MAX) {
      return false;
    }
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == "**") {
    ++pi;
  }
  return pi == p.size();
}

}  // namespace

std::string_view ToString(SkipReason reason) {
  switch (reason) {
    case SkipReason::kExcluded:
      return "excluded";
    case SkipReason::kNotIncluded:
      return "not included";
    case SkipReason::kExtension:
      return "skipped extension";
    case SkipReason::kTooLarge:
      return "too large";
    case SkipReason::kSymlink:
      return "symlink not followed";
    case SkipReason::kSpecialFile:
      return "special file";
    case SkipReason::kOtherFilesystem:
      return "other filesystem";
    case SkipReason::kPseudoFilesystem:
      return "pseudo filesystem";
    case SkipReason::kAlreadyVisited:
      return "already visited";
    case SkipReason::kVanished:
      return "vanished";
  }
  return "unknown";
}

bool GlobMatch(std::string_view pattern, std::string_view path) {
  if (pattern.find('/') == std::string_view::npos) {
    const size_t slash = path.rfind('/');
    return MatchComponent(pattern, slash == std::string_view::npos ? path : path.substr(slash + 1));
  }
  return MatchComponents(Components(pattern), Components(path));
}

std::string EscapePath(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size());
  auto escape = [&](unsigned char b) {
    out += "\\x";
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  };
  size_t i = 0;
  while (i < raw.size()) {
    const auto b = static_cast<unsigned char>(raw[i]);
    if (b < 0x80) {
      if (b == '\\') {
        out += "\\\\";
      } else if (b < 0x20 || b == 0x7f) {
        escape(b);
      } else {
        out.push_back(static_cast<char>(b));
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlong forms, no surrogates, at most U+10FFFF) is kept.
    size_t len = 0;
    uint32_t cp = 0;
    if (b >= 0xc2 && b <= 0xdf) {
      len = 2;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      cp = b & 0x0f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      cp = b & 0x07;
    }
    bool ok = len > 0 && i + len <= raw.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(raw[i + k]);
      if ((c & 0xc0) != 0x80) {
        ok = false;
      }
      cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
               (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
      ok = false;
    }
    if (ok) {
      out.append(raw.substr(i, len));
      i += len;
    } else {
      escape(b);
      ++i;
    }
  }
  return out;
}

uint8_t* ScanBuffer::Reserve(size_t bytes) {
  if (bytes > capacity_) {
    // Grow geometrically so a slowly growing series of files does not reallocate every time.
    const size_t want = std::max(bytes, capacity_ + capacity_ / 2);
    data_ = std::make_unique_for_overwrite<uint8_t[]>(want);
    capacity_ = want;
  }
  return data_.get();
}

Status WalkFiles(const WalkOptions& options, WalkVisitor& visitor) {
  if (options.roots.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no paths to scan");
  }
  for (const auto& r : options.roots) {
    if (r.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "empty scan path");
    }
  }
  if (options.max_depth < 1) {
    return MakeError(ErrorCode::kInvalidArgument, "max_depth must be at least 1");
  }
  WalkCheckedRoots(options, visitor);
  return OkStatus();
}

}  // namespace cg::platform

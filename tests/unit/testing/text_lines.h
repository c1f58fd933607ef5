// Output text split into lines, for tests that judge what a command printed.
#pragma once

#include <string>
#include <vector>

namespace cg::testing {

// The lines of `text` without their '\n'; a final line without one is kept, an empty text has
// no lines.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return lines;
}

}  // namespace cg::testing

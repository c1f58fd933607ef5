// Shared by the benchmark programs: stop at the first failure with one line naming the step.
// A benchmark that goes on after a failed step would time something else.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "common/result.h"

namespace cg::bench {

// Set by main() to the program's name for the messages.
inline const char*& ProgramName() {
  static const char* name = "bench";
  return name;
}

[[noreturn]] inline void Die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", ProgramName(), message.c_str());
  std::exit(2);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) {
    Die(what + ": " + r.error().ToString());
  }
  return std::move(r).value();
}

inline void Must(const Status& s, const std::string& what) {
  if (!s.ok()) {
    Die(what + ": " + s.error().ToString());
  }
}

}  // namespace cg::bench

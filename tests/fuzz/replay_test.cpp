// Replays every committed fuzz input (seed corpora and the inputs of crashes found and fixed,
// tests/fuzz/{corpus,regressions}/<target>/) through the same entry points as the fuzzers, in
// the normal build. A regression aborts the test process, which ctest reports as a failure.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <string>

#include "tests/fuzz/targets.h"

namespace cg::fuzz {
namespace {

struct Target {
  const char* name;
  std::function<void(std::string_view)> run;
};

// Names the parameter in test listings (instead of its bytes).
void PrintTo(const Target& target, std::ostream* os) { *os << target.name; }

size_t ReplayDir(const std::filesystem::path& dir, const Target& target) {
  size_t count = 0;
  if (!std::filesystem::is_directory(dir)) {
    return 0;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename() == "README.md") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    SCOPED_TRACE(entry.path().string());
    target.run(bytes.str());
    ++count;
  }
  return count;
}

class ReplayTest : public ::testing::TestWithParam<Target> {};

TEST_P(ReplayTest, SeedCorpusAndRegressionsRunClean) {
  const std::filesystem::path root(CG_FUZZ_DIR);
  const size_t seeds = ReplayDir(root / "corpus" / GetParam().name, GetParam());
  ReplayDir(root / "regressions" / GetParam().name, GetParam());
  // An empty corpus would make this test pass without testing anything.
  EXPECT_GE(seeds, 3u) << "seed corpus of " << GetParam().name << " is missing";
}

INSTANTIATE_TEST_SUITE_P(Targets, ReplayTest,
                         ::testing::Values(Target{"report", FuzzReport},
                                           Target{"policy", FuzzPolicy}, Target{"http", FuzzHttp}),
                         [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace cg::fuzz

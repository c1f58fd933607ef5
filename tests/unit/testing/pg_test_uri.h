// Where the PostgreSQL test cluster is (issue 17): the URI that CTest's pg_cluster fixture
// (scripts/pg-test-cluster.sh) wrote, shared by the storage conformance suite
// (storage_backends.h) and the integration tests' harness (tests/integration/harness.h).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cg::soc::storage_testing {

// The test cluster's URI, or why there is none: `skip` is set when the server binaries are
// absent (the only reason to skip), `error` for anything else.
inline std::string PgTestUri(std::string* skip, std::string* error) {
  if (const char* env = std::getenv("CG_PG_TEST_URI"); env != nullptr && *env != '\0') {
    return env;
  }
  const std::filesystem::path state = std::filesystem::path(CG_BINARY_DIR) / "pg-test";
  auto read = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
      text.pop_back();
    }
    return text;
  };
  if (std::filesystem::exists(state / "uri")) {
    return read(state / "uri");
  }
  if (std::filesystem::exists(state / "absent")) {
    *skip = read(state / "absent");
    return "";
  }
  *error = "no PostgreSQL test cluster: " + (state / "uri").string() +
           " is missing. Run the test through ctest (its pg_cluster fixture starts one with "
           "scripts/pg-test-cluster.sh) or set CG_PG_TEST_URI";
  return "";
}

}  // namespace cg::soc::storage_testing

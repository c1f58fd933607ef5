// Fuzz entry points: one function per target, shared by the libFuzzer executables (clang,
// -DCG_FUZZ=ON) and the regression test that replays tests/fuzz/{corpus,regressions} under the
// normal build. A broken property aborts (FUZZ_CHECK), which both harnesses report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                    \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: fuzz property failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace cg::fuzz {

// protocol::ReportFromJson on a depth-limited JSON parse of the input (as the SOC parses
// bodies); an accepted report must survive ToJson -> ReportFromJson unchanged.
void FuzzReport(std::string_view data);

// policy::VerifyEnvelope against a fixed trusted key (tests/fuzz/policy_key.pub), and
// policy::ParsePolicy on the envelope's "policy" member; an accepted policy's canonical form
// must parse again to the same hash.
void FuzzPolicy(std::string_view data);

// Raw request bytes through the SOC's HTTP parser (soc/http_codec.h) and SocService's agent or
// operator handler (first byte: which port, and whether a verified device certificate is
// present), on a throw-away SQLite database. Every answer must be a valid HTTP status.
void FuzzHttp(std::string_view data);

}  // namespace cg::fuzz

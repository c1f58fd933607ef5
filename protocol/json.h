// JSON from the other side of the channel (request and answer bodies), parsed with a bound on
// nesting. Deeper values are refused while they are read, never built: nlohmann's copies and
// dumps recurse, and a 1 MiB body of '[' would otherwise reach them with 500 000 levels.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "common/result.h"

namespace cg::protocol {

// The nesting the protocol's documents need is far below this (docs/protocol.md).
inline constexpr int kMaxJsonDepth = 64;

// kParse "nested deeper than N levels" or "not valid JSON". Depth counts as nlohmann's
// parser does: the top-level value is at depth 0, so 64 allows a value 64 levels below it
// (65 nested empty arrays, 64 arrays around a number).
Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth = kMaxJsonDepth);

// The same for callers that only need to know whether they understood it: a discarded value
// (is_discarded()) when the text is not JSON or nested too deep.
nlohmann::json ParseJsonOrDiscarded(std::string_view text);

}  // namespace cg::protocol

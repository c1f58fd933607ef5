// See json.h.
#include "protocol/json.h"

#include <string>

namespace cg::protocol {

Result<nlohmann::json> ParseJsonBounded(std::string_view text, int max_depth) {
  using nlohmann::json;
  bool too_deep = false;
  const json::parser_callback_t limit = [&too_deep, max_depth](int depth, json::parse_event_t,
                                                               json&) {
    if (depth > max_depth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  json parsed = json::parse(text, limit, /*allow_exceptions=*/false);
  if (too_deep) {
    return MakeError(ErrorCode::kParse,
                     "nested deeper than " + std::to_string(max_depth) + " levels");
  }
  if (parsed.is_discarded()) {
    return MakeError(ErrorCode::kParse, "not valid JSON");
  }
  return parsed;
}

nlohmann::json ParseJsonOrDiscarded(std::string_view text) {
  auto parsed = ParseJsonBounded(text);
  return parsed.ok() ? std::move(parsed).value()
                     : nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace cg::protocol

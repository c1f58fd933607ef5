// Request validation shared by the SOC's handlers: JSON bodies, fields, query parameters
// and the errors answering bad ones.
#include "soc/validation.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <string>

#include "protocol/json.h"
#include "soc/escape.h"
#include "soc/service.h"
#include "soc/service_internal.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

HttpResponse Fail(int status, std::string_view code, std::string_view message) {
  return HttpResponse::Error(status, code, message);
}

HttpResponse InvalidRequest(std::string_view message) {
  return Fail(400, "invalid_request", message);
}

// Storage failures are logged in full and answered without the database's details.
HttpResponse StorageFailure(std::string_view what, const Error& error) {
  spdlog::error("{}: {}", what, error.ToString());
  return Fail(500, "internal", "storage error (the SOC log has the details)");
}

std::string Clip(std::string_view text, size_t max) { return std::string(text.substr(0, max)); }

// No C0, DEL, C1 or text-reordering control, and valid UTF-8 (escape.h).
bool IsPrintable(std::string_view text) { return !HasControlCharacters(text); }

// A request body as a JSON object (kParse with the reason otherwise).
Result<json> ParseJsonBody(std::string_view body) {
  auto parsed = protocol::ParseJsonBounded(body);
  if (!parsed.ok()) {
    return MakeError(ErrorCode::kParse, "the body is " + parsed.error().message);
  }
  if (!parsed->is_object()) {
    return MakeError(ErrorCode::kParse, "the body must be a JSON object");
  }
  return parsed;
}

// body[key] as a string of at most max_bytes; control characters are refused unless
// `multiline` (PEM).
Result<std::string> StringField(const json& body, const char* key, size_t max_bytes,
                                bool allow_empty, bool multiline) {
  auto bad = [key](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument, std::string("'") + key + "' " + std::string(why));
  };
  const auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    return bad("must be a string");
  }
  const auto& value = it->get_ref<const std::string&>();
  if (value.empty() && !allow_empty) {
    return bad("must not be empty");
  }
  if (value.size() > max_bytes) {
    return bad("is longer than " + std::to_string(max_bytes) + " bytes");
  }
  if (!multiline && !IsPrintable(value)) {
    return bad("contains control characters");
  }
  return value;
}

// body[key] as an integer in [min, max]; `fallback` when absent or null.
Result<int64_t> IntField(const json& body, const char* key, int64_t fallback, int64_t min,
                         int64_t max) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    return fallback;
  }
  int64_t value = 0;
  bool integral = false;
  if (it->is_number_unsigned()) {
    // Above INT64_MAX stays out of range instead of wrapping.
    const auto u = it->get<uint64_t>();
    integral = u <= static_cast<uint64_t>(max);
    value = integral ? static_cast<int64_t>(u) : max;
  } else if (it->is_number_integer()) {
    integral = true;
    value = it->get<int64_t>();
  }
  if (!integral || value < min || value > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string("'") + key + "' must be an integer from " + std::to_string(min) +
                         " to " + std::to_string(max));
  }
  return value;
}

// The query parameter `key`, treating an empty value as absent (as forms send them).
std::optional<std::string> NonEmptyQuery(const HttpRequest& request, std::string_view key) {
  auto value = request.Query(key);
  if (!value || value->empty()) {
    return std::nullopt;
  }
  return value;
}

// ?limit=N with N in [1, max]; `fallback` when absent.
Result<size_t> LimitQuery(const HttpRequest& request, int64_t fallback, int64_t max) {
  const auto text = NonEmptyQuery(request, "limit");
  if (!text) {
    return static_cast<size_t>(fallback);
  }
  int64_t limit = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
  if (ec != std::errc() || end != text->data() + text->size() || limit < 1 || limit > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "limit must be an integer from 1 to " + std::to_string(max));
  }
  return static_cast<size_t>(limit);
}

bool IsValidGroupName(std::string_view group) {
  if (group.empty() || group.size() > kMaxGroupBytes) {
    return false;
  }
  size_t segment = 0;
  for (const char c : group) {
    if (c == '/') {
      if (segment == 0) {
        return false;
      }
      segment = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
      ++segment;
    } else {
      return false;
    }
  }
  return segment > 0;
}

}  // namespace cg::soc

// Request validation shared by the SOC's handlers (service_*.cpp): JSON bodies, fields and
// query parameters, and the answers refusing bad ones. Internal to the SOC library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/http.h"

namespace cg::soc {

// Audit fields come from the request line; a long one is cut rather than stored whole.
inline constexpr size_t kMaxAuditField = 512;

protocol::HttpResponse Fail(int status, std::string_view code, std::string_view message);
protocol::HttpResponse InvalidRequest(std::string_view message);
// Storage failures are logged in full and answered without the database's details.
protocol::HttpResponse StorageFailure(std::string_view what, const Error& error);
std::string Clip(std::string_view text, size_t max = kMaxAuditField);
// No C0, DEL, C1 or text-reordering control, and valid UTF-8 (escape.h).
bool IsPrintable(std::string_view text);
// A request body as a JSON object (kParse with the reason otherwise).
Result<nlohmann::json> ParseJsonBody(std::string_view body);
// body[key] as a string of at most max_bytes; control characters are refused unless
// `multiline` (PEM).
Result<std::string> StringField(const nlohmann::json& body, const char* key, size_t max_bytes,
                                bool allow_empty, bool multiline = false);
// body[key] as an integer in [min, max]; `fallback` when absent or null.
Result<int64_t> IntField(const nlohmann::json& body, const char* key, int64_t fallback, int64_t min,
                         int64_t max);
// The query parameter `key`, treating an empty value as absent (as forms send them).
std::optional<std::string> NonEmptyQuery(const protocol::HttpRequest& request,
                                         std::string_view key);
// ?limit=N with N in [1, max]; `fallback` when absent.
Result<size_t> LimitQuery(const protocol::HttpRequest& request, int64_t fallback, int64_t max);

}  // namespace cg::soc

// Session cookie and security headers of the operator port (see browser_security.h).
#include "soc/browser_security.h"

#include "protocol/account_api.h"

namespace cg::soc {
namespace {

void AddIfAbsent(protocol::HttpResponse& response, std::string_view name, std::string_view value) {
  if (response.Header(name).empty()) {
    response.headers.emplace_back(std::string(name), std::string(value));
  }
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool IsCookieHeader(std::string_view name) {
  constexpr std::string_view kCookie = "cookie";
  if (name.size() != kCookie.size()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c =
        name[i] >= 'A' && name[i] <= 'Z' ? static_cast<char>(name[i] - 'A' + 'a') : name[i];
    if (c != kCookie[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void AddSecurityHeaders(protocol::HttpResponse& response) {
  AddIfAbsent(response, "Content-Security-Policy", kContentSecurityPolicy);
  AddIfAbsent(response, "Strict-Transport-Security", kStrictTransportSecurity);
  AddIfAbsent(response, "X-Content-Type-Options", "nosniff");
  AddIfAbsent(response, "Referrer-Policy", "no-referrer");
  AddIfAbsent(response, "X-Frame-Options", "DENY");
  // API answers name devices, people and findings: no copy in any cache.
  AddIfAbsent(response, "Cache-Control", "no-store");
}

std::optional<std::string> CookieValue(const protocol::HttpRequest& request,
                                       std::string_view name) {
  for (const auto& [header, value] : request.headers) {
    if (!IsCookieHeader(header)) {
      continue;
    }
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view pair = Trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || Trim(pair.substr(0, eq)) != name) {
        continue;
      }
      std::string_view v = Trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
      }
      if (v.empty()) {
        return std::nullopt;
      }
      return std::string(v);
    }
  }
  return std::nullopt;
}

std::string SessionSetCookie(std::string_view secret) {
  return std::string(protocol::account_api::kSessionCookie) + "=" + std::string(secret) +
         "; Path=/; HttpOnly; Secure; SameSite=Strict";
}

std::string ClearedSessionSetCookie() {
  return std::string(protocol::account_api::kSessionCookie) +
         "=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0";
}

}  // namespace cg::soc

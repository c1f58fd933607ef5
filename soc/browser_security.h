// What the operator port does for browsers (the dashboard, issue 16): the session cookie's
// attributes, reading it back from a Cookie header, and the security headers every answer of
// the operator port carries. No HTTP server code: plain strings on protocol::HttpResponse.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "protocol/http.h"

namespace cg::soc {

// No inline script or style, nothing from another origin, no framing; `data:` images for the
// authenticator's QR code during account setup.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";
inline constexpr std::string_view kStrictTransportSecurity = "max-age=31536000";

// Adds the headers every operator-port answer carries (CSP, HSTS, nosniff, no referrer, no
// framing), and `Cache-Control: no-store` unless the answer set its own Cache-Control (the
// dashboard's static files do). A header the answer already has is kept.
void AddSecurityHeaders(protocol::HttpResponse& response);

// The value of the cookie `name` in the request's Cookie headers; nullopt when absent or
// empty. When the cookie appears more than once, the first is taken (what browsers send first
// is the most specific path).
std::optional<std::string> CookieValue(const protocol::HttpRequest& request, std::string_view name);

// Set-Cookie for a new browser session: HttpOnly (no script reads it), Secure (HTTPS only),
// SameSite=Strict (no other site's page sends it), Path=/, no Max-Age (ends with the browser;
// the SOC's idle timeout ends it sooner).
std::string SessionSetCookie(std::string_view secret);
// Set-Cookie that makes the browser drop the session cookie (logout, ended session).
std::string ClearedSessionSetCookie();

}  // namespace cg::soc

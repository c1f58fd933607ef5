// The dashboard on the operator port: its static files, and the rules for requests that come
// with the session cookie instead of a bearer token (CSRF token on every change, no request
// from another site). The cookie login itself is in service_accounts.cpp.
#include <spdlog/spdlog.h>

#include <string>

#include "protocol/account_api.h"
#include "protocol/api_paths.h"
#include "soc/account_service.h"
#include "soc/dashboard_files.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using protocol::HttpRequest;
using protocol::HttpResponse;
namespace api = protocol::api;

std::optional<HttpResponse> SocService::DashboardAnswer(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return std::nullopt;
  }
  const std::string path = request.Path();
  if (path == "/api" || path.starts_with("/api/") || path == api::kMetrics) {
    return std::nullopt;
  }
  if (dashboard_ == nullptr) {
    return NoDashboardAnswer();
  }
  return dashboard_->Serve(request);
}

std::optional<HttpResponse> SocService::CheckBrowserRequest(const HttpRequest& request,
                                                            const Principal& principal) {
  // Fetch metadata (every current browser sends it): a request another site's page made is
  // refused, whatever it is. SameSite=Strict already keeps the cookie off it; this also covers
  // a sibling host of the same site.
  const std::string site = request.Header("Sec-Fetch-Site");
  if (site == "cross-site" || site == "same-site") {
    spdlog::warn("{} {} from {} with the session cookie of {} refused: Sec-Fetch-Site {}",
                 request.method, Clip(request.Path(), 200), request.peer_address,
                 principal.account_name, Clip(site, 32));
    return Fail(403, "forbidden", "a request from another site is refused");
  }
  if (request.method == "GET" || request.method == "HEAD") {
    return std::nullopt;
  }
  const std::string typed = request.Header(protocol::account_api::kCsrfHeader);
  if (!CsrfMatches(principal.csrf_hash, typed)) {
    spdlog::warn("{} {} from {} with the session cookie of {} refused: {} CSRF token",
                 request.method, Clip(request.Path(), 200), request.peer_address,
                 principal.account_name, typed.empty() ? "no" : "a wrong");
    return Fail(403, "csrf",
                std::string(typed.empty() ? "missing" : "wrong") +
                    " CSRF token (header X-CSRF-Token): reload the page");
  }
  return std::nullopt;
}

}  // namespace cg::soc

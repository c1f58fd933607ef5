// Tests for soc/service_browser.cpp and the browser parts of soc/service_accounts.cpp: the
// dashboard's cookie login, the CSRF token on every change, the idle timeout (on the test's
// clock), logout, disabling, the security headers on every operator-port answer, the static
// files through SocService, the setup QR code as an image, and the report download.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "protocol/http.h"
#include "soc/account_service.h"
#include "soc/browser_security.h"
#include "soc/dashboard_files.h"
#include "soc/service.h"
#include "tests/unit/soc/accounts_api_fixture.h"

namespace cg::soc {
namespace {

using namespace accounts_test;  // NOLINT(google-build-using-namespace): the fixture's helpers
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The cookie's secret out of a Set-Cookie header ("" when it is not the session cookie).
std::string CookieSecretOf(const HttpResponse& r) {
  const std::string set = HeaderOf(r, "Set-Cookie");
  const std::string prefix = "cg_session=";
  if (set.rfind(prefix, 0) != 0) {
    return "";
  }
  return set.substr(prefix.size(), set.find(';') - prefix.size());
}

class BrowserSessionTest : public AccountsApiFixture {
 protected:
  struct Browser {
    std::string cookie;  // the session's secret, as the browser keeps it
    std::string csrf;
    json login;  // the login's answer
  };

  HttpResponse BrowserLogin(const std::string& name, const std::string& code,
                            const std::string& password = kPassword) {
    return Call("POST", "/api/v1/login", "",
                {{"account", name}, {"password", password}, {"code", code}, {"client", "browser"}});
  }

  // Logs in with the code of the next step, from a browser.
  Browser LogIn(const Person& p) {
    now_ += seconds(30);
    const HttpResponse r = BrowserLogin(p.name, Code(p.totp_secret, now_));
    EXPECT_EQ(r.status, 200) << r.body;
    Browser b;
    b.cookie = CookieSecretOf(r);
    b.login = BodyOf(r);
    b.csrf = b.login.value("csrf_token", "");
    return b;
  }

  // A request as the dashboard's script sends it: the cookie, and the CSRF header when given.
  HttpResponse FromBrowser(const std::string& method, const std::string& target, const Browser& b,
                           const std::string& csrf, const json& body = nullptr,
                           const std::string& fetch_site = "same-origin") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Cookie", "theme=dark; cg_session=" + b.cookie + "; lang=vi");
    if (!csrf.empty()) {
      r.headers.emplace_back("X-CSRF-Token", csrf);
    }
    if (!fetch_site.empty()) {
      r.headers.emplace_back("Sec-Fetch-Site", fetch_site);
    }
    r.body = body.is_null() ? "" : body.dump();
    r.peer_address = "10.1.2.3:5000";
    return Send(std::move(r));
  }

  void ExpectSecurityHeaders(const HttpResponse& r, const std::string& cache_control) {
    SCOPED_TRACE(std::to_string(r.status) + " " + r.body.substr(0, 80));
    EXPECT_EQ(HeaderOf(r, "Content-Security-Policy"),
              "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
              "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
              "frame-ancestors 'none'");
    EXPECT_EQ(HeaderOf(r, "Strict-Transport-Security"), "max-age=31536000");
    EXPECT_EQ(HeaderOf(r, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(r, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(HeaderOf(r, "X-Frame-Options"), "DENY");
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), cache_control);
  }
};

TEST_F(BrowserSessionTest, BrowserLoginSetsAStrictHttpOnlyCookieAndNeverAnswersTheToken) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  now_ += seconds(30);
  const HttpResponse r = BrowserLogin(p.name, Code(p.totp_secret, now_));
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string set_cookie = HeaderOf(r, "Set-Cookie");
  const std::string secret = CookieSecretOf(r);
  ASSERT_GE(secret.size(), 32u) << set_cookie;
  EXPECT_EQ(set_cookie, "cg_session=" + secret + "; Path=/; HttpOnly; Secure; SameSite=Strict");
  EXPECT_THAT(set_cookie, Not(HasSubstr("Max-Age")));  // a session cookie
  EXPECT_THAT(set_cookie, Not(HasSubstr("Expires")));

  const json body = BodyOf(r);
  EXPECT_EQ(body.value("account", ""), "tran.thi.hoa");
  EXPECT_EQ(body.value("role", ""), "analyst");
  EXPECT_EQ(body.value("idle_timeout_seconds", 0), 15 * 60);
  EXPECT_EQ(body.value("expires_at", ""), FormatRfc3339(now_ + hours(12)));
  const std::string csrf = body.value("csrf_token", "");
  EXPECT_EQ(csrf.size(), 64u);
  EXPECT_FALSE(body.contains("token"));
  EXPECT_EQ(r.body.find(secret), std::string::npos) << "the session's secret is in the body";

  // Stored as a browser session with the CSRF token's hash, neither secret in clear.
  auto sessions = store_->ListSessions(now_);
  ASSERT_TRUE(sessions.ok());
  ASSERT_EQ(sessions->size(), 1u);
  EXPECT_EQ(sessions->at(0).kind, "browser");
  EXPECT_EQ(sessions->at(0).token_hash, Sha256Hex(secret));
  EXPECT_EQ(sessions->at(0).csrf_hash, Sha256Hex(csrf));
  ExpectSecurityHeaders(r, "no-store");

  // The CLI's login is unchanged: a bearer token in the body, no cookie, no CSRF token.
  now_ += seconds(30);
  const HttpResponse cli = Login(p.name, kPassword, Code(p.totp_secret, now_));
  ASSERT_EQ(cli.status, 200) << cli.body;
  EXPECT_EQ(HeaderOf(cli, "Set-Cookie"), "");
  EXPECT_TRUE(BodyOf(cli).contains("token"));
  EXPECT_FALSE(BodyOf(cli).contains("csrf_token"));
  EXPECT_EQ(BodyOf(cli).value("idle_timeout_seconds", 0), 3600);
}

TEST_F(BrowserSessionTest, AWrongCodeIsRefusedWithAJsonMessageThrottledAndAudited) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  now_ += seconds(30);
  const std::string right = Code(p.totp_secret, now_);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  const HttpResponse r = BrowserLogin(p.name, wrong);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(HeaderOf(r, "Set-Cookie"), "");
  EXPECT_THAT(MessageOf(r), HasSubstr("wrong account, password or code"));
  AuditFilter f;
  f.action = "login";
  const auto rows = Audit(f);
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front().result, 401);
  EXPECT_EQ(rows.front().target, "login failed: wrong TOTP code");
  EXPECT_EQ(rows.front().account, "tran.thi.hoa");
  // Counted like a CLI login's failure: five more and the account waits.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(BrowserLogin(p.name, wrong).status, 401);
  }
  const HttpResponse throttled = BrowserLogin(p.name, right);
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_NE(HeaderOf(throttled, "Retry-After"), "");
  // An unknown client kind is a bad request, not a CLI login.
  const HttpResponse odd = Call("POST", "/api/v1/login", "",
                                {{"account", p.name}, {"password", kPassword}, {"client", "app"}});
  EXPECT_EQ(odd.status, 400) << odd.body;
}

TEST_F(BrowserSessionTest, TheCookieReadsAndTheSessionRouteGivesTheCsrfTokenAgain) {
  const Person p = SetUpAccount("tran.thi.hoa", "inspector");
  const Browser b = LogIn(p);
  ASSERT_FALSE(b.cookie.empty());
  const HttpResponse devices = FromBrowser("GET", "/api/v1/devices", b, "");
  EXPECT_EQ(devices.status, 200) << devices.body;
  ExpectSecurityHeaders(devices, "no-store");
  // A reloaded page has only the cookie.
  const HttpResponse session = FromBrowser("GET", "/api/v1/session", b, "");
  ASSERT_EQ(session.status, 200) << session.body;
  const json s = BodyOf(session);
  EXPECT_EQ(s.value("account", ""), "tran.thi.hoa");
  EXPECT_EQ(s.value("role", ""), "inspector");
  EXPECT_EQ(s.value("csrf_token", ""), b.csrf);
  EXPECT_EQ(s.value("idle_timeout_seconds", 0), 15 * 60);
  EXPECT_EQ(s.value("expires_at", ""), b.login.value("expires_at", "x"));
  EXPECT_EQ(s.value("display_name", ""), "Nguyễn Thị Hoa");
  // The audit log names the account behind the cookie.
  AuditFilter f;
  f.action = "GET /api/v1/devices";
  const auto rows = Audit(f);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].account, "tran.thi.hoa");
  EXPECT_EQ(rows[0].result, 200);
}

TEST_F(BrowserSessionTest, EveryChangeWithTheCookieNeedsItsCsrfToken) {
  // Driven by the service's route table: a route added later is covered without editing this.
  const Person admin = SetUpAccount("pham.quoc.an", "admin");
  const Browser b = LogIn(admin);
  const Person other = SetUpAccount("le.van.binh", "analyst");
  const Browser stranger = LogIn(other);
  ASSERT_NE(stranger.csrf, b.csrf);
  const std::string some_id = "6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
  size_t changes = 0;
  for (const auto& route : SocService::OperatorRouteList()) {
    if (route.method == "GET" || route.method == "HEAD" || route.open) {
      continue;  // reads; login and setup carry their own credentials, not the session
    }
    std::string target(route.pattern);
    for (size_t at; (at = target.find("{id}")) != std::string::npos;) {
      target.replace(at, 4, some_id);
    }
    const std::string method(route.method);
    SCOPED_TRACE(method + " " + target);
    ++changes;
    for (const std::string& csrf :
         {std::string(), std::string("0123abcd"), stranger.csrf, b.csrf + "0", Sha256Hex(b.csrf)}) {
      const HttpResponse r = FromBrowser(method, target, b, csrf, json::object());
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_THAT(MessageOf(r), HasSubstr("CSRF token")) << r.body;
      ExpectSecurityHeaders(r, "no-store");
    }
  }
  EXPECT_GE(changes, 10u);
  // Nothing was done: every refused change is in the audit log as a 403 of the admin.
  AuditFilter f;
  f.changes = true;
  f.account = "pham.quoc.an";
  for (const auto& e : Audit(f)) {
    if (e.action.find("login") == std::string::npos &&
        e.action.find("account-setup") == std::string::npos) {
      EXPECT_EQ(e.result, 403) << e.action;
    }
  }
  // The session still works, and a change with the right token goes through.
  const HttpResponse made =
      FromBrowser("POST", "/api/v1/enroll-tokens", b, b.csrf, {{"group", "laocai/bac-ha"}});
  EXPECT_EQ(made.status, 201) << made.body;
  // A bearer token needs no CSRF token (no browser sends it by itself).
  const HttpResponse cli =
      Call("POST", "/api/v1/enroll-tokens", bootstrap_, {{"group", "laocai/bac-ha"}});
  EXPECT_EQ(cli.status, 201) << cli.body;
}

TEST_F(BrowserSessionTest,
       AnotherSitesRequestIsRefusedEvenForAReadAndRequestsWithoutFetchDataPass) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  for (const char* site : {"cross-site", "same-site"}) {
    const HttpResponse r = FromBrowser("GET", "/api/v1/devices", b, "", nullptr, site);
    EXPECT_EQ(r.status, 403) << site << " " << r.body;
  }
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "", nullptr, "none").status, 200);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "", nullptr, "").status, 200);
  // Nor may another site's page log the browser in (to an account of the attacker's).
  now_ += seconds(30);
  HttpRequest forced;
  forced.method = "POST";
  forced.target = "/api/v1/login";
  forced.headers.emplace_back("Sec-Fetch-Site", "cross-site");
  forced.body = json{
      {"account", p.name},
      {"password", kPassword},
      {"code", Code(p.totp_secret, now_)},
      {"client",
       "browser"}}.dump();
  forced.peer_address = "10.1.2.3:5000";
  const HttpResponse refused = Send(std::move(forced));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(HeaderOf(refused, "Set-Cookie"), "");
}

TEST_F(BrowserSessionTest, ACookieIsNoBearerTokenAndABearerTokenNoCookie) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  const HttpResponse as_bearer = Call("GET", "/api/v1/devices", b.cookie);
  EXPECT_EQ(as_bearer.status, 401) << as_bearer.body;
  const std::string cli_token = Session(p);
  Browser stolen;
  stolen.cookie = cli_token;
  const HttpResponse as_cookie = FromBrowser("GET", "/api/v1/devices", stolen, "");
  EXPECT_EQ(as_cookie.status, 401) << as_cookie.body;
  // A refused cookie is dropped by the browser.
  EXPECT_THAT(HeaderOf(as_cookie, "Set-Cookie"), HasSubstr("Max-Age=0"));
  // An operator token is no cookie either.
  Browser token;
  token.cookie = bootstrap_;
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", token, "").status, 401);
}

TEST_F(BrowserSessionTest, TheBrowserSessionEndsAfterItsIdleTimeoutAndUseKeepsItAlive) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  const std::string cli = Session(p);  // the CLI's idle timeout stays 1 h
  const Browser later = LogIn(p);
  // `b` used 14 minutes after its login: still there, and its clock starts again.
  now_ += minutes(13);
  ASSERT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 200);
  now_ += minutes(14);
  ASSERT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 200);
  // `later` was not used for 27 minutes: ended, and the browser is told to drop the cookie.
  const HttpResponse idle = FromBrowser("GET", "/api/v1/session", later, "");
  EXPECT_EQ(idle.status, 401) << idle.body;
  EXPECT_THAT(MessageOf(idle), HasSubstr("15 min without use"));
  EXPECT_THAT(HeaderOf(idle, "Set-Cookie"), HasSubstr("cg_session=;"));
  EXPECT_THAT(HeaderOf(idle, "Set-Cookie"), HasSubstr("Max-Age=0"));
  // Gone for good, not only refused once.
  now_ += minutes(1);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/session", later, "").status, 401);
  // Exactly 15 minutes without use ends `b` too.
  now_ += minutes(14);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 401);
  // The CLI session, idle 30 min now, lives on.
  EXPECT_EQ(Call("GET", "/api/v1/devices", cli).status, 200);
}

TEST_F(BrowserSessionTest, APagesOwnBackgroundRequestsDoNotKeepItsSessionAlive) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  auto refresh = [&] {
    HttpRequest r;
    r.method = "GET";
    r.target = "/api/v1/devices";
    r.headers.emplace_back("Cookie", "cg_session=" + b.cookie);
    r.headers.emplace_back("X-CG-Background", "1");
    r.peer_address = "10.1.2.3:5000";
    return Send(std::move(r)).status;
  };
  // A page refreshing itself every 5 minutes, nobody at the desk.
  now_ += minutes(5);
  EXPECT_EQ(refresh(), 200);
  now_ += minutes(5);
  EXPECT_EQ(refresh(), 200);
  now_ += minutes(5);
  EXPECT_EQ(refresh(), 401);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 401);
}

TEST_F(BrowserSessionTest, TheIdleTimeoutIsConfiguration) {
  AccountConfig config;
  config.browser_session_idle = minutes(5);
  Start(config);
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  EXPECT_EQ(b.login.value("idle_timeout_seconds", 0), 300);
  now_ += minutes(4);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 200);
  now_ += minutes(5);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 401);
}

TEST_F(BrowserSessionTest, LogoutNeedsTheCsrfTokenEndsTheSessionAndClearsTheCookie) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  const HttpResponse forged = FromBrowser("POST", "/api/v1/logout", b, "");
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(FromBrowser("GET", "/api/v1/session", b, "").status, 200);
  const HttpResponse out = FromBrowser("POST", "/api/v1/logout", b, b.csrf);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(HeaderOf(out, "Set-Cookie"),
            "cg_session=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
  EXPECT_EQ(FromBrowser("GET", "/api/v1/session", b, "").status, 401);
  auto sessions = store_->ListSessions(now_);
  ASSERT_TRUE(sessions.ok());
  EXPECT_TRUE(sessions->empty());
}

TEST_F(BrowserSessionTest, DisablingAnAccountEndsItsBrowserSessionsAtOnce) {
  const Person admin = SetUpAccount("pham.quoc.an", "admin");
  const Browser a = LogIn(admin);
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  const Browser b = LogIn(p);
  ASSERT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 200);
  // The admin disables her from the dashboard (with the admin's CSRF token).
  const HttpResponse disabled =
      FromBrowser("POST", "/api/v1/accounts/tran.thi.hoa/disable", a, a.csrf, json::object());
  ASSERT_EQ(disabled.status, 200) << disabled.body;
  const HttpResponse after = FromBrowser("GET", "/api/v1/devices", b, "");
  EXPECT_EQ(after.status, 401) << after.body;
  EXPECT_THAT(HeaderOf(after, "Set-Cookie"), HasSubstr("Max-Age=0"));
  // Enabling her again brings no old session back.
  ASSERT_EQ(
      FromBrowser("POST", "/api/v1/accounts/tran.thi.hoa/enable", a, a.csrf, json::object()).status,
      200);
  EXPECT_EQ(FromBrowser("GET", "/api/v1/devices", b, "").status, 401);
}

TEST_F(BrowserSessionTest, SetupGivesTheQrCodeAsAnImageThePageMayShow) {
  const HttpResponse created =
      Call("POST", "/api/v1/accounts", bootstrap_,
           {{"name", "do.thu"}, {"display_name", "Đỗ Thu"}, {"role", "analyst"}});
  ASSERT_EQ(created.status, 201) << created.body;
  const HttpResponse offer =
      Call("POST", "/api/v1/account-setup/start", "",
           {{"account", "do.thu"}, {"setup_code", BodyOf(created).value("setup_code", "")}});
  ASSERT_EQ(offer.status, 200) << offer.body;
  const std::string qr = BodyOf(offer).value("qr_code", "");
  const std::string prefix = "data:image/svg+xml;base64,";
  ASSERT_THAT(qr, StartsWith(prefix));
  auto svg = Base64Decode(qr.substr(prefix.size()));
  ASSERT_TRUE(svg.ok());
  EXPECT_THAT(*svg, StartsWith("<svg"));
  EXPECT_THAT(*svg, HasSubstr("<path"));
  EXPECT_THAT(*svg, Not(HasSubstr("<script")));
  EXPECT_THAT(*svg, Not(HasSubstr("style")));
  ExpectSecurityHeaders(offer, "no-store");
}

// The static files through the service: headers, caching, and the API beside them.
class DashboardThroughServiceTest : public AccountsApiFixture {
 protected:
  void WriteFile(const std::string& relative, const std::string& text) {
    const auto path = std::filesystem::path(site_.path()) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }

  HttpResponse Get(const std::string& target, const std::string& if_none_match = "") {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    if (!if_none_match.empty()) {
      r.headers.emplace_back("If-None-Match", if_none_match);
    }
    r.peer_address = "10.1.2.3:5000";
    return Send(std::move(r));
  }

  TempDir site_;
};

TEST_F(DashboardThroughServiceTest, PagesAreServedWithTheSecurityHeadersAndNotAudited) {
  WriteFile("index.html", "<!doctype html><html lang=\"vi\"><title>Giám sát</title></html>");
  WriteFile("assets/app.js", "console.log('xin chào');");
  auto files = DashboardFiles::Open(site_.path());
  ASSERT_TRUE(files.ok()) << files.error().ToString();
  service_->SetDashboard(files->get());

  const HttpResponse index = Get("/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_THAT(index.body, HasSubstr("Giám sát"));
  const std::string csp = HeaderOf(index, "Content-Security-Policy");
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, HasSubstr("script-src 'self';"));
  EXPECT_EQ(HeaderOf(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(HeaderOf(index, "Strict-Transport-Security"), "max-age=31536000");
  EXPECT_EQ(HeaderOf(index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(index, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(HeaderOf(index, "Cache-Control"), "no-cache");  // revalidated, not no-store
  const std::string etag = HeaderOf(index, "ETag");
  ASSERT_FALSE(etag.empty());
  const HttpResponse again = Get("/", etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(HeaderOf(again, "X-Frame-Options"), "DENY");

  const HttpResponse js = Get("/assets/app.js?v=2");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/assets/").status, 404);

  // The API beside the pages: no-store, and still behind authentication.
  const HttpResponse api = Get("/api/v1/devices");
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(HeaderOf(api, "Cache-Control"), "no-store");
  EXPECT_THAT(HeaderOf(api, "Content-Security-Policy"), HasSubstr("default-src 'none'"));
  const HttpResponse probe = Get("/healthz");
  EXPECT_EQ(probe.status, 200);
  EXPECT_EQ(HeaderOf(probe, "Cache-Control"), "no-store");
  EXPECT_EQ(HeaderOf(probe, "X-Frame-Options"), "DENY");
  // A change to a page path is no page: it goes to the API's authentication.
  HttpRequest post;
  post.method = "POST";
  post.target = "/index.html";
  post.peer_address = "10.1.2.3:5000";
  EXPECT_EQ(Send(std::move(post)).status, 401);

  // Page loads are not in the audit log; the API requests (and the POST) are.
  size_t api_rows = 0;
  for (const auto& e : Audit()) {
    if (e.method == "GET") {
      EXPECT_THAT(e.path, StartsWith("/api/")) << e.path;
      ++api_rows;
    }
  }
  EXPECT_EQ(api_rows, 1u);
}

TEST_F(DashboardThroughServiceTest, WithoutADashboardTheRootSaysSoAndTheApiWorks) {
  const HttpResponse root = Get("/");
  EXPECT_EQ(root.status, 404);
  EXPECT_THAT(root.body, HasSubstr("dashboard is not installed"));
  EXPECT_THAT(root.body, HasSubstr("--dashboard-dir"));
  EXPECT_EQ(HeaderOf(root, "X-Frame-Options"), "DENY");
  EXPECT_EQ(Call("GET", "/api/v1/devices", bootstrap_).status, 200);
}

}  // namespace
}  // namespace cg::soc

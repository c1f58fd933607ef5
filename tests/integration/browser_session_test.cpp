// The dashboard's side of the real cg-soc over TLS on loopback (issue 16): its files from
// --dashboard-dir with the security headers, account setup with the QR code as an image, the
// browser login's cookie, the CSRF token on a change, the report download and logout, as a
// browser's requests would carry them. The dashboard's own pages are driven in Chromium by the
// dashboard's end-to-end test; this one checks the server's answers byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "protocol/https_client.h"
#include "soc/auth/base32.h"
#include "soc/auth/totp.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;
using protocol::HttpResponse;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

std::string TotpAt(const std::string& base32, std::chrono::system_clock::time_point at) {
  auto secret = soc::auth::Base32Decode(base32);
  EXPECT_TRUE(secret.ok());
  auto step = soc::auth::TotpTimeStep(at, {});
  auto code = soc::auth::TotpCode(secret.value_or(soc::auth::Bytes{}), step.value_or(0), {});
  EXPECT_TRUE(code.ok());
  return code.value_or("");
}

json BodyOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

class BrowserSessionTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    site_ = dir_.path() + "/site";
    std::filesystem::create_directories(site_ + "/assets");
    std::ofstream(site_ + "/index.html") << "<!doctype html><html lang=\"vi\"><title>Giám sát "
                                            "CounterGuard</title><script src=\"assets/app.js\">"
                                            "</script></html>";
    std::ofstream(site_ + "/assets/app.js") << "document.title = 'Đăng nhập';";
    std::ofstream(dir_.path() + "/secret.txt") << "not for the web";
    soc_ = std::make_unique<SocServer>(
        dir_.path() + "/soc",
        std::vector<std::string>{"--dashboard-dir", site_, "--browser-idle", "10m"});
    ASSERT_TRUE(soc_->started()) << soc_->error();
    protocol::ClientOptions o;
    o.host = "localhost";
    o.port = soc_->operator_port();
    o.ca_file = soc_->ca();
    o.timeout = std::chrono::seconds(10);
    auto client = protocol::HttpsClient::Create(o);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    client_ = std::move(client).value();
  }

  HttpResponse Send(const std::string& method, const std::string& target,
                    const json& body = nullptr, Headers headers = {}) {
    if (!cookie_.empty()) {
      headers.emplace_back("Cookie", "cg_session=" + cookie_);
    }
    if (!body.is_null()) {
      headers.emplace_back("Content-Type", "application/json");
    }
    auto r = client_->Request(method, target, body.is_null() ? "" : body.dump(), headers);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
    return r.ok() ? *r : HttpResponse{};
  }

  void ExpectHeaders(const HttpResponse& r, const std::string& cache_control) {
    SCOPED_TRACE(std::to_string(r.status) + " " + r.body.substr(0, 80));
    EXPECT_EQ(r.Header("Content-Security-Policy"), kCsp);
    EXPECT_EQ(r.Header("Strict-Transport-Security"), "max-age=31536000");
    EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.Header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.Header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.Header("Cache-Control"), cache_control);
  }

  TempDir dir_;
  std::string site_;
  std::unique_ptr<SocServer> soc_;
  std::unique_ptr<protocol::HttpsClient> client_;
  std::string cookie_;
};

TEST_F(BrowserSessionTlsTest, PagesSetupLoginCsrfDownloadAndLogoutOverTls) {
  // The page and its script, with the headers; nothing outside the directory.
  const HttpResponse index = Send("GET", "/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(index.body, HasSubstr("Giám sát CounterGuard"));
  ExpectHeaders(index, "no-cache");
  const HttpResponse again = Send("GET", "/", nullptr, {{"If-None-Match", index.Header("ETag")}});
  EXPECT_EQ(again.status, 304);
  const HttpResponse js = Send("GET", "/assets/app.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.Header("Content-Type"), "text/javascript; charset=utf-8");
  for (const char* target :
       {"/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e%2f..%2fsecret.txt",
        "/..%5csecret.txt", "/assets/", "/index.html%00.js"}) {
    const HttpResponse r = Send("GET", target);
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("not for the web"))) << target;
    ExpectHeaders(r, "no-store");
  }

  // The listener's own refusal (a body over the limit) carries the headers too.
  const auto too_big = client_->Request("POST", "/api/v1/login", std::string(2 << 20, 'x'));
  ASSERT_TRUE(too_big.ok()) << too_big.error().ToString();
  EXPECT_EQ(too_big->status, 413);
  ExpectHeaders(*too_big, "no-store");
  client_->Close();

  // The first admin, set up from the browser: the QR code is an image the page may show.
  const CommandOutput created =
      RunCmd({SocBin(), "account", "create-admin", "--data-dir", soc_->data_dir(), "an.nguyen",
              "--display-name", "Nguyễn Văn An", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string setup_code = json::parse(created.out).value("setup_code", "");
  const HttpResponse offer = Send("POST", "/api/v1/account-setup/start",
                                  {{"account", "an.nguyen"}, {"setup_code", setup_code}});
  ASSERT_EQ(offer.status, 200) << offer.body;
  ExpectHeaders(offer, "no-store");
  const std::string qr = BodyOf(offer).value("qr_code", "");
  ASSERT_THAT(qr, StartsWith("data:image/svg+xml;base64,"));
  EXPECT_THAT(Base64Decode(qr.substr(26)).value_or(""), StartsWith("<svg"));
  const std::string secret = BodyOf(offer).value("totp_secret", "");
  const std::string password = "Mùa thu Hà Nội 2026!";
  const HttpResponse done = Send("POST", "/api/v1/account-setup/finish",
                                 {{"account", "an.nguyen"},
                                  {"setup_code", setup_code},
                                  {"password", password},
                                  {"code", TotpAt(secret, std::chrono::system_clock::now())}});
  ASSERT_EQ(done.status, 200) << done.body;

  // A wrong code: refused, no cookie.
  const auto next = std::chrono::system_clock::now() + std::chrono::seconds(30);
  const HttpResponse wrong = Send("POST", "/api/v1/login",
                                  {{"account", "an.nguyen"},
                                   {"password", password},
                                   {"code", TotpAt(secret, next + std::chrono::minutes(10))},
                                   {"client", "browser"}});
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(wrong.Header("Set-Cookie"), "");
  EXPECT_TRUE(BodyOf(wrong).contains("error"));

  const HttpResponse login = Send("POST", "/api/v1/login",
                                  {{"account", "an.nguyen"},
                                   {"password", password},
                                   {"code", TotpAt(secret, next)},
                                   {"client", "browser"}});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string set_cookie = login.Header("Set-Cookie");
  ASSERT_THAT(set_cookie, StartsWith("cg_session="));
  EXPECT_THAT(set_cookie, HasSubstr("; Path=/; HttpOnly; Secure; SameSite=Strict"));
  cookie_ = set_cookie.substr(11, set_cookie.find(';') - 11);
  EXPECT_EQ(login.body.find(cookie_), std::string::npos);
  const std::string csrf = BodyOf(login).value("csrf_token", "");
  EXPECT_EQ(BodyOf(login).value("idle_timeout_seconds", 0), 600);  // --browser-idle 10m

  // A reload: the session and its CSRF token from the cookie alone.
  const HttpResponse session = Send("GET", "/api/v1/session");
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(BodyOf(session).value("csrf_token", ""), csrf);
  ExpectHeaders(session, "no-store");

  // A change: refused without the token, done with it.
  const json token_request = {{"group", "laocai/bac-ha"}};
  const HttpResponse forged = Send("POST", "/api/v1/enroll-tokens", token_request);
  EXPECT_EQ(forged.status, 403) << forged.body;
  const HttpResponse made =
      Send("POST", "/api/v1/enroll-tokens", token_request, {{"X-CSRF-Token", csrf}});
  EXPECT_EQ(made.status, 201) << made.body;

  // The report downloads.
  const HttpResponse report =
      Send("GET",
           "/api/v1/inspection-reports/generate?group=laocai%2Fbac-ha&from=2026-06-01&"
           "to=2026-06-30");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.Header("Content-Disposition"),
            "attachment; filename=\"inspection-report_laocai_bac-ha_2026-06-01_2026-06-30.html\"");

  // Logout clears the cookie; the old cookie is worth nothing after it.
  const HttpResponse out = Send("POST", "/api/v1/logout", json::object(), {{"X-CSRF-Token", csrf}});
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_THAT(out.Header("Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Send("GET", "/api/v1/session").status, 401);
}

TEST(BrowserSessionServeTest, ADashboardDirThatIsNotThereStopsServeAtStart) {
  TempDir dir;
  SocServer soc(dir.path() + "/soc",
                std::vector<std::string>{"--dashboard-dir", dir.path() + "/nothing"});
  EXPECT_FALSE(soc.started());
  EXPECT_NE(soc.child().Wait(std::chrono::seconds(30)), 0);
  EXPECT_THAT(soc.log(), HasSubstr("--dashboard-dir"));
}

}  // namespace
}  // namespace cg::testing

// The fixture of the staff-account API tests (service_accounts_test.cpp, service_browser_test.cpp):
// SocService with HttpRequest objects, no network, over a real database (SQLite, or PostgreSQL for
// a fixture whose BackendUnderTest says so), a real SecretBox and Argon2id (small memory), and a
// clock that is a variable of the test.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "soc/account_service.h"
#include "soc/account_store.h"
#include "soc/auth/base32.h"
#include "soc/auth/totp.h"
#include "soc/secret_box.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc::accounts_test {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'010)};  // 10 s into a 30-second TOTP step
constexpr const char* kPassword = "Mật khẩu rất dài 2026";

inline json BodyOf(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

inline std::string MessageOf(const HttpResponse& r) {
  const json j = BodyOf(r);
  return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
}

inline std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

class AccountsApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = storage_testing::MakeTestDatabase(BackendUnderTest(), dir_.path());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    Start(AccountConfig{});
  }

  // The parameterised suites answer their parameter.
  virtual storage_testing::Backend BackendUnderTest() const {
    return storage_testing::Backend::kSqlite;
  }

  // Small Argon2 memory for speed; the parameter test below uses the defaults.
  static AccountConfig Fast(AccountConfig c) {
    c.argon2.m_cost_kib = 256;
    c.argon2.t_cost = 1;
    return c;
  }

  void Start(AccountConfig config) {
    config = Fast(config);
    ASSERT_NE(db_, nullptr);
    auto storage = db_->Open(/*create=*/true);
    ASSERT_TRUE(storage.ok()) << storage.error().ToString();
    storage_ = std::move(storage).value();
    auto store = db_->OpenAccounts();
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(store).value();
    auto box = SecretBox::FromKeyFile(dir_.File("secrets.key"), /*create=*/true);
    ASSERT_TRUE(box.ok()) << box.error().ToString();
    auto accounts = AccountService::Create(*store_, *box, config);
    ASSERT_TRUE(accounts.ok()) << accounts.error().ToString();
    accounts_ = std::move(accounts).value();
    auto ca = protocol::CertificateAuthority::Create("Test CA", hours(24 * 3650), kT0);
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    service_ = std::make_unique<SocService>(
        *storage_, *ca_, [this] { return now_; }, SocConfig{});
    service_->SetAccounts(accounts_.get());
    auto admin = service_->CreateOperatorToken("bootstrap", "admin", std::nullopt);
    ASSERT_TRUE(admin.ok());
    bootstrap_ = *admin;
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token,
                    const json& body = nullptr, const std::string& peer = "10.1.2.3:5000") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + token);
    }
    r.body = body.is_null() ? "" : body.dump();
    r.peer_address = peer;
    return Send(std::move(r));
  }

  HttpResponse Send(HttpRequest r) {
    std::optional<HttpResponse> answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse response) { answer = response; });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(HttpResponse{});
  }

  std::string Code(const std::string& base32, SysTime at) {
    auto secret = auth::Base32Decode(base32);
    EXPECT_TRUE(secret.ok());
    auto step = auth::TotpTimeStep(at, auth::TotpParams{});
    auto code = auth::TotpCode(secret.value_or(auth::Bytes{}), step.value_or(0), {});
    EXPECT_TRUE(code.ok());
    return code.value_or("");
  }

  struct Person {
    std::string name;
    std::string totp_secret;  // base32, "" without TOTP
    std::vector<std::string> recovery_codes;
  };

  // Created by the bootstrap admin token and set up through the API at now_.
  Person SetUpAccount(const std::string& name, const std::string& role) {
    Person p{name, "", {}};
    const HttpResponse created =
        Call("POST", "/api/v1/accounts", bootstrap_,
             {{"name", name}, {"display_name", "Nguyễn Thị Hoa"}, {"role", role}});
    EXPECT_EQ(created.status, 201) << created.body;
    const std::string setup_code = BodyOf(created).value("setup_code", "");
    const HttpResponse offer = Call("POST", "/api/v1/account-setup/start", "",
                                    {{"account", name}, {"setup_code", setup_code}});
    EXPECT_EQ(offer.status, 200) << offer.body;
    const json o = BodyOf(offer);
    EXPECT_TRUE(o.value("password_required", false));
    json finish = {{"account", name}, {"setup_code", setup_code}, {"password", kPassword}};
    if (o["totp_secret"].is_string()) {
      p.totp_secret = o["totp_secret"];
      EXPECT_THAT(o.value("otpauth_uri", ""), HasSubstr("secret=" + p.totp_secret));
      finish["code"] = Code(p.totp_secret, now_);
    }
    const HttpResponse done = Call("POST", "/api/v1/account-setup/finish", "", finish);
    EXPECT_EQ(done.status, 200) << done.body;
    for (const auto& c : BodyOf(done).value("recovery_codes", json::array())) {
      p.recovery_codes.push_back(c);
    }
    return p;
  }

  HttpResponse Login(const std::string& name, const std::string& password, const std::string& code,
                     const std::string& peer = "10.1.2.3:5000") {
    return Call("POST", "/api/v1/login", "",
                {{"account", name}, {"password", password}, {"code", code}}, peer);
  }

  // Logs in with the code of the next step (the setup used the current one).
  std::string Session(const Person& p) {
    now_ += seconds(30);
    const HttpResponse r = Login(p.name, kPassword, Code(p.totp_secret, now_));
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r).value("token", "");
  }

  std::vector<AuditEntry> Audit(AuditFilter f = {}) {
    f.limit = 1000;
    auto entries = store_->QueryAudit(f);
    EXPECT_TRUE(entries.ok());
    return entries.value_or(std::vector<AuditEntry>{});
  }

  TempDir dir_;
  std::unique_ptr<storage_testing::TestDatabase> db_;  // outlives the storage and the store
  SysTime now_ = kT0;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<AccountStore> store_;
  std::unique_ptr<AccountService> accounts_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  std::string bootstrap_;
};

}  // namespace cg::soc::accounts_test

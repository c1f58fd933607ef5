// Tests for soc/service_accounts.cpp and soc/account_service.cpp: staff accounts through the
// operator API (SocService with HttpRequest objects, no network) over a real SQLite database,
// a real SecretBox and Argon2id (small memory except where the defaults are the subject). The
// clock is a variable of the test: expiry, idle timeout, TOTP steps and the throttle never
// sleep.
//
// The storage conformance suite (issue 17): every case runs on SQLite and on PostgreSQL (the
// account store and the storage of both backends).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/timeutil.h"
#include "protocol/api_paths.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "soc/account_service.h"
#include "soc/account_store.h"
#include "soc/auth/base32.h"
#include "soc/auth/password_hasher.h"
#include "soc/auth/totp.h"
#include "soc/secret_box.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/soc/accounts_api_fixture.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using namespace accounts_test;  // NOLINT(google-build-using-namespace): the fixture's helpers

using storage_testing::Backend;

class AccountsApiTest : public AccountsApiFixture, public ::testing::WithParamInterface<Backend> {
 protected:
  Backend BackendUnderTest() const override { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(Backends, AccountsApiTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         storage_testing::BackendNamer());

TEST_P(AccountsApiTest, AnAccountIsSetUpLogsInUsesItsSessionAndLogsOut) {
  const Person p = SetUpAccount("tran.thi.hoa", "analyst");
  ASSERT_EQ(p.totp_secret.size(), 32u);  // 160 bits in base32
  EXPECT_EQ(p.recovery_codes.size(), 10u);
  auto stored = store_->GetAccountByName("tran.thi.hoa");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->display_name, "Nguyễn Thị Hoa");
  // Neither the secret nor the password are in the database as given.
  EXPECT_THAT(stored->totp_secret, ::testing::StartsWith("v1:"));
  EXPECT_EQ(stored->totp_secret.find(p.totp_secret), std::string::npos);
  EXPECT_THAT(stored->password_hash, ::testing::StartsWith("$argon2id$"));

  now_ += seconds(30);
  const HttpResponse login = Login(p.name, kPassword, Code(p.totp_secret, now_));
  ASSERT_EQ(login.status, 200) << login.body;
  const json j = BodyOf(login);
  EXPECT_EQ(j.value("role", ""), "analyst");
  EXPECT_EQ(j.value("expires_at", ""), FormatRfc3339(now_ + hours(12)));
  const std::string token = j.value("token", "");
  EXPECT_EQ(Call("GET", "/api/v1/devices", token).status, 200);
  const HttpResponse who = Call("GET", "/api/v1/session", token);
  EXPECT_EQ(BodyOf(who).value("account", ""), "tran.thi.hoa");
  EXPECT_EQ(Call("POST", "/api/v1/logout", token).status, 200);
  const HttpResponse after = Call("GET", "/api/v1/devices", token);
  EXPECT_EQ(after.status, 401);
  // The audit log names the account for the login and the reads.
  AuditFilter mine;
  mine.account = "tran.thi.hoa";
  const auto rows = Audit(mine);
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows.back().action, "POST /api/v1/account-setup/start");
}

TEST_P(AccountsApiTest, AWrongSetupCodeOrTotpCodeSetsNothingUpAndTheSetupCodeIsOneUse) {
  const HttpResponse created =
      Call("POST", "/api/v1/accounts", bootstrap_,
           {{"name", "le.van.b"}, {"display_name", "Lê Văn B"}, {"role", "inspector"}});
  ASSERT_EQ(created.status, 201);
  const std::string setup = BodyOf(created).value("setup_code", "");
  EXPECT_EQ(Call("POST", "/api/v1/account-setup/start", "",
                 {{"account", "le.van.b"}, {"setup_code", "AAAA-BBBB-CCCC-DDDD"}})
                .status,
            401);
  const json offer = BodyOf(Call("POST", "/api/v1/account-setup/start", "",
                                 {{"account", "le.van.b"}, {"setup_code", setup}}));
  const std::string secret = offer.value("totp_secret", "");
  ASSERT_FALSE(secret.empty());
  json finish = {{"account", "le.van.b"}, {"setup_code", setup}, {"password", kPassword}};
  finish["code"] = Code(secret, now_ + minutes(5));  // not a code of now
  EXPECT_EQ(Call("POST", "/api/v1/account-setup/finish", "", finish).status, 401);
  EXPECT_TRUE(store_->GetAccountByName("le.van.b")->password_hash.empty());
  finish["password"] = "short";
  finish["code"] = Code(secret, now_);
  const HttpResponse weak = Call("POST", "/api/v1/account-setup/finish", "", finish);
  EXPECT_EQ(weak.status, 400);
  EXPECT_THAT(MessageOf(weak), HasSubstr("12"));
  finish["password"] = kPassword;
  EXPECT_EQ(Call("POST", "/api/v1/account-setup/finish", "", finish).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/account-setup/finish", "", finish).status, 401);
  // An expired setup code is refused.
  const json reset =
      BodyOf(Call("POST", "/api/v1/accounts/le.van.b/reset", bootstrap_, {{"password", true}}));
  now_ += hours(73);
  EXPECT_EQ(Call("POST", "/api/v1/account-setup/start", "",
                 {{"account", "le.van.b"}, {"setup_code", reset.value("setup_code", "")}})
                .status,
            401);
}

TEST_P(AccountsApiTest, PasswordsAreArgon2idWithTheConfiguredParametersInThePhcString) {
  const Person p = SetUpAccount("pham.a", "analyst");
  auto stored = store_->GetAccountByName("pham.a");
  ASSERT_TRUE(stored.ok());
  auto params = auth::ParseArgon2Encoded(stored->password_hash);
  ASSERT_TRUE(params.ok()) << stored->password_hash;
  EXPECT_EQ(params->m_cost_kib, 256u);
  EXPECT_EQ(params->t_cost, 1u);
  EXPECT_EQ(params->parallelism, 1u);
  EXPECT_EQ(params->salt_bytes, 16u);
  EXPECT_EQ(params->hash_bytes, 32u);
  // The server's defaults (AccountConfig) are RFC 9106's second option with one lane.
  const AccountConfig defaults;
  EXPECT_EQ(defaults.argon2.m_cost_kib, 65536u);
  EXPECT_EQ(defaults.argon2.t_cost, 3u);
  EXPECT_EQ(defaults.argon2.parallelism, 1u);
  // After a change of parameters, a login stores the hash again with the current ones.
  auto box = SecretBox::FromKeyFile(dir_.File("secrets.key"), /*create=*/false);
  ASSERT_TRUE(box.ok());
  AccountConfig bigger;
  bigger.argon2.m_cost_kib = 512;
  bigger.argon2.t_cost = 1;
  auto again = AccountService::Create(*store_, *box, bigger);
  ASSERT_TRUE(again.ok());
  service_->SetAccounts(again->get());
  now_ += seconds(30);
  ASSERT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_)).status, 200);
  auto rehashed = auth::ParseArgon2Encoded(store_->GetAccountByName("pham.a")->password_hash);
  ASSERT_TRUE(rehashed.ok());
  EXPECT_EQ(rehashed->m_cost_kib, 512u);
}

TEST_P(AccountsApiTest, TotpAllowsOneStepOfDriftAndRefusesAReplayedCode) {
  const Person p = SetUpAccount("hoang.c", "analyst");
  now_ += minutes(5);
  // The previous step's code is accepted (clock drift), once.
  const std::string previous = Code(p.totp_secret, now_ - seconds(30));
  EXPECT_EQ(Login(p.name, kPassword, previous).status, 200);
  const HttpResponse replay = Login(p.name, kPassword, previous);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(MessageOf(replay), "login refused: wrong account, password or code");
  // Older than the accepted one: refused too, and two steps away is out of the window.
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_ - seconds(60))).status, 401);
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_ + seconds(60))).status, 401);
  // The next step's code works (drift ahead).
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_ + seconds(30))).status, 200);
  // The audit log says why each failed, never the code.
  AuditFilter f;
  f.action = "login";
  std::vector<std::string> targets;
  for (const auto& e : Audit(f)) {
    targets.push_back(e.target);
    EXPECT_EQ(e.target.find(previous), std::string::npos);
  }
  EXPECT_THAT(targets, ::testing::Contains("login failed: TOTP code already used"));
  EXPECT_THAT(targets, ::testing::Contains("login failed: wrong TOTP code"));
}

TEST_P(AccountsApiTest, ARecoveryCodeLogsInOnce) {
  const Person p = SetUpAccount("vu.d", "analyst");
  const auto login = [&](const std::string& code) {
    return Call("POST", "/api/v1/login", "",
                {{"account", p.name}, {"password", kPassword}, {"recovery_code", code}});
  };
  std::string typed = p.recovery_codes.at(3);
  for (char& c : typed) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  const HttpResponse first = login(typed);  // forgiving about case
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(BodyOf(first).value("recovery_codes_left", 0), 9);
  EXPECT_EQ(login(p.recovery_codes.at(3)).status, 401);
  EXPECT_EQ(login("ABCD-EFGH-JKLM-NPQR").status, 401);
  EXPECT_EQ(login(p.recovery_codes.at(4)).status, 200);
}

TEST_P(AccountsApiTest, FailedLoginsAreThrottledPerAccountAndPerAddress) {
  const Person p = SetUpAccount("do.e", "analyst");
  now_ += seconds(30);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Login(p.name, "wrong password 123", "000000").status, 401);
  }
  // Even the right password and code wait now, from any address.
  const HttpResponse throttled = Login(p.name, kPassword, Code(p.totp_secret, now_), "10.9.9.9:1");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(HeaderOf(throttled, "Retry-After"), "1");
  now_ += seconds(2);
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_)).status, 200);
  auto account = store_->GetAccountByName(p.name);
  EXPECT_EQ(account->failed_logins, 0);  // cleared by the success

  // One address guessing at many names (existing or not) is slowed on its own.
  for (int i = 0; i < 21; ++i) {
    EXPECT_EQ(Login("nobody" + std::to_string(i), "x", "", "10.7.7.7:1").status, 401);
  }
  const HttpResponse from_guesser = Login("vu.other", "x", "", "10.7.7.7:2");
  EXPECT_EQ(from_guesser.status, 429);
  EXPECT_NE(Login("vu.other", "x", "", "10.8.8.8:1").status, 429);
  // Each failure is in the audit log, with the address.
  AuditFilter f;
  f.action = "POST /api/v1/login";
  size_t refused = 0;
  for (const auto& e : Audit(f)) {
    refused += e.result == 401 || e.result == 429 ? 1 : 0;
  }
  EXPECT_GE(refused, 29u);
}

TEST_P(AccountsApiTest, DisablingAnAccountEndsItsSessionsAndTokensAtOnce) {
  const Person p = SetUpAccount("ngo.f", "admin");
  const std::string session = Session(p);
  const HttpResponse token = Call("POST", "/api/v1/operator-tokens", session,
                                  {{"name", "prometheus"}, {"role", "analyst"}});
  ASSERT_EQ(token.status, 201) << token.body;
  EXPECT_EQ(BodyOf(token).value("account", ""), "ngo.f");
  const std::string machine = BodyOf(token).value("token", "");
  EXPECT_EQ(Call("GET", "/api/v1/devices", machine).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/devices", session).status, 200);
  // An admin cannot lock themselves out; another admin can.
  EXPECT_EQ(Call("POST", "/api/v1/accounts/ngo.f/disable", session).status, 409);
  ASSERT_EQ(Call("POST", "/api/v1/accounts/ngo.f/disable", bootstrap_).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/devices", session).status, 401);
  EXPECT_EQ(Call("GET", "/api/v1/devices", machine).status, 401);
  now_ += seconds(30);
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_)).status, 401);
  // Enabled again: it logs in, and its old tokens stay revoked.
  ASSERT_EQ(Call("POST", "/api/v1/accounts/ngo.f/enable", bootstrap_).status, 200);
  now_ += seconds(30);
  EXPECT_EQ(Login(p.name, kPassword, Code(p.totp_secret, now_)).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/devices", machine).status, 401);
  // The account list shows the token with its owner.
  const json list = BodyOf(Call("GET", "/api/v1/accounts", bootstrap_));
  ASSERT_EQ(list["accounts"].size(), 1u);
  EXPECT_EQ(list["accounts"][0]["operator_tokens"][0].value("state", ""), "revoked");
}

TEST_P(AccountsApiTest, RolesDecideWhatAnAccountMayDo) {
  const Person analyst = SetUpAccount("a.analyst", "analyst");
  const Person inspector = SetUpAccount("a.inspector", "inspector");
  const Person admin = SetUpAccount("a.admin", "admin");
  const std::string as_analyst = Session(analyst);
  const std::string as_inspector = Session(inspector);
  const std::string as_admin = Session(admin);
  const json enroll = {{"group", "laocai/bac-ha"}};
  const json inspect = {{"group", "laocai"}};
  struct Case {
    std::string method, target;
    json body;
    int analyst, inspector, admin;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/devices", nullptr, 200, 200, 200},
      {"GET", "/api/v1/audit", nullptr, 403, 200, 200},
      {"GET", "/api/v1/audit?kind=changes", nullptr, 403, 200, 200},
      {"POST", "/api/v1/enroll-tokens", enroll, 403, 403, 201},
      {"POST", "/api/v1/inspections", inspect, 403, 403, 503},  // no policy hub in this test
      {"GET", "/api/v1/accounts", nullptr, 403, 403, 200},
      {"GET", "/api/v1/operator-tokens", nullptr, 403, 403, 200},
      // Last: a reset ends the analyst's session.
      {"POST", "/api/v1/accounts/a.analyst/reset", json::object(), 403, 403, 200},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.method + " " + c.target);
    EXPECT_EQ(Call(c.method, c.target, as_analyst, c.body).status, c.analyst);
    EXPECT_EQ(Call(c.method, c.target, as_inspector, c.body).status, c.inspector);
    EXPECT_EQ(Call(c.method, c.target, as_admin, c.body).status, c.admin);
  }
  // A token never does more than its account: an analyst's admin token is refused, and an
  // admin cannot make an inspector's token an admin one.
  EXPECT_EQ(Call("POST", "/api/v1/operator-tokens", as_admin,
                 {{"name", "siem"}, {"role", "admin"}, {"account", "a.inspector"}})
                .status,
            400);
  const HttpResponse siem =
      Call("POST", "/api/v1/operator-tokens", as_admin,
           {{"name", "siem"}, {"role", "analyst"}, {"account", "a.inspector"}});
  ASSERT_EQ(siem.status, 201);
  EXPECT_EQ(Call("GET", "/api/v1/audit", BodyOf(siem).value("token", "")).status, 403);
}

TEST_P(AccountsApiTest, SessionsExpireAndEndWhenIdle) {
  const Person p = SetUpAccount("bui.g", "analyst");
  std::string token = Session(p);
  now_ += minutes(59);
  EXPECT_EQ(Call("GET", "/api/v1/devices", token).status, 200);
  now_ += minutes(60);  // idle for an hour
  const HttpResponse idle = Call("GET", "/api/v1/devices", token);
  EXPECT_EQ(idle.status, 401);
  EXPECT_THAT(MessageOf(idle), HasSubstr("without use"));
  token = Session(p);
  for (int i = 0; i < 14; ++i) {  // used every 50 min: never idle, but 12 h is the end
    now_ += minutes(50);
    EXPECT_EQ(Call("GET", "/api/v1/devices", token).status, 200) << i;
  }
  now_ += minutes(50);
  const HttpResponse expired = Call("GET", "/api/v1/devices", token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(MessageOf(expired), HasSubstr("expired"));
}

TEST_P(AccountsApiTest, WhichRolesNeedTotpIsConfiguration) {
  AccountConfig config;
  config.totp_roles = {"admin"};
  Start(config);
  const Person analyst = SetUpAccount("lam.h", "analyst");
  EXPECT_TRUE(analyst.totp_secret.empty());
  EXPECT_TRUE(analyst.recovery_codes.empty());
  EXPECT_EQ(Login("lam.h", kPassword, "").status, 200);
  EXPECT_EQ(Login("lam.h", "not the password", "").status, 401);
  const Person admin = SetUpAccount("lam.admin", "admin");
  EXPECT_FALSE(admin.totp_secret.empty());
  EXPECT_EQ(Login("lam.admin", kPassword, "").status, 401);
}

TEST_P(AccountsApiTest, TheAuditLogSeparatesReadsFromChangesAndFilters) {
  const Person p = SetUpAccount("mai.i", "inspector");
  const std::string token = Session(p);
  const SysTime before = now_;
  now_ += minutes(1);
  Call("GET", "/api/v1/devices", token);
  Call("POST", "/api/v1/enroll-tokens", bootstrap_, {{"group", "laocai"}});
  now_ += minutes(1);
  const auto query = [&](const std::string& q) {
    const HttpResponse r = Call("GET", "/api/v1/audit?" + q, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r)["entries"];
  };
  for (const auto& e : query("kind=changes")) {
    EXPECT_EQ(e.value("kind", ""), "change");
    EXPECT_NE(e.value("method", ""), "GET");
  }
  for (const auto& e : query("kind=reads")) {
    EXPECT_EQ(e.value("method", ""), "GET");
  }
  const json mine = query("account=mai.i&kind=reads&action=devices&since=" + FormatRfc3339(before));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].value("action", ""), "GET /api/v1/devices");
  const json enrolls = query("action=enroll-tokens");
  ASSERT_EQ(enrolls.size(), 1u);
  EXPECT_EQ(enrolls[0].value("actor", ""), "bootstrap");
  EXPECT_TRUE(query("until=" + FormatRfc3339(kT0)).empty());
  EXPECT_EQ(Call("GET", "/api/v1/audit?since=yesterday", token).status, 400);
}

TEST_P(AccountsApiTest, AThrottledLoginDoesNotClearTheAddresssAuthenticationDelay) {
  // Found in review: any answer naming an account (a 429 login) cleared the address's delay
  // for wrong bearer tokens, so a token guesser could reset it between guesses.
  std::vector<std::chrono::milliseconds> delays;
  service_->SetDeferrer([&](std::chrono::milliseconds delay, std::function<void()> fn) {
    delays.push_back(delay);
    fn();
  });
  for (int i = 0; i < 21; ++i) {
    EXPECT_EQ(Login("guess" + std::to_string(i), "x", "", "10.6.6.6:1").status, 401);
  }
  EXPECT_EQ(Login("someone", "x", "", "10.6.6.6:1").status, 429);
  EXPECT_EQ(Call("GET", "/api/v1/devices", "not-a-token", nullptr, "10.6.6.6:2").status, 401);
  ASSERT_FALSE(delays.empty());
  EXPECT_EQ(delays.back(), std::chrono::milliseconds(16000));
}

TEST_P(AccountsApiTest, AccountCallsRefuseABodyThatIsNotJsonAndSayWhenAccountsAreOff) {
  // What login, setup, account creation and reset check first, the same way each: the body is
  // JSON (else 400 bad_json), and a SOC without staff accounts says so (503).
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"/api/v1/login", ""},
      {"/api/v1/account-setup/start", ""},
      {"/api/v1/account-setup/finish", ""},
      {"/api/v1/accounts", bootstrap_},
      {"/api/v1/accounts/le.van.b/reset", bootstrap_}};
  for (const auto& [target, token] : calls) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    if (!token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + token);
    }
    r.body = "{\"account\": ";
    r.peer_address = "10.1.2.3:5000";
    const HttpResponse bad = Send(std::move(r));
    EXPECT_EQ(bad.status, 400) << target << ": " << bad.body;
    EXPECT_EQ(BodyOf(bad)["error"].value("code", ""), "bad_json") << target;
  }
  service_->SetAccounts(nullptr);
  for (const auto& [target, token] : calls) {
    const HttpResponse off = Call("POST", target, token, json::object());
    EXPECT_EQ(off.status, 503) << target << ": " << off.body;
    EXPECT_EQ(MessageOf(off), "staff accounts are not configured on this SOC") << target;
  }
}

}  // namespace
}  // namespace cg::soc

// Tests for soc/service.cpp: enrollment, reports, operator authentication, roles, audit and
// tokens (the fixture: service_fixture.h; devices and policy: service_devices_test.cpp; the
// device lifecycle, limits and group commit: service_lifecycle_test.cpp).
#include "tests/unit/soc/service_fixture.h"

namespace cg::soc {
namespace {

// --- enrollment ---------------------------------------------------------------------------

TEST_F(SocServiceTest, EnrollIssuesACertificateForTheNewDeviceAndStoresIt) {
  const std::string token = NewEnrollToken("laocai/bac-ha");
  const HttpResponse response = EnrollWith(token, "pc-bac-ha-01", "4c4c4544-0042");
  ASSERT_EQ(response.status, 200) << response.body;
  const json body = BodyOf(response);
  EXPECT_EQ(Keys(body), (std::set<std::string>{"device_id", "group", "reenrolled",
                                               "certificate_pem", "ca_pem"}));
  EXPECT_EQ(body["reenrolled"], false);
  const std::string device_id = body["device_id"];
  EXPECT_TRUE(IsUuid(device_id)) << device_id;
  EXPECT_EQ(body["group"], "laocai/bac-ha");
  EXPECT_EQ(body["ca_pem"], ca_->cert_pem());

  auto info = protocol::InspectCertificatePem(body["certificate_pem"].get<std::string>());
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->subject_cn, device_id);
  EXPECT_EQ(info->subject_ou, "laocai/bac-ha");
  EXPECT_EQ(info->issuer_cn, "CounterGuard Test SOC CA");
  EXPECT_TRUE(info->client_auth);
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->not_after, kT0 + SocConfig{}.device_cert_validity);

  auto device = real_->GetDevice(device_id);
  ASSERT_TRUE(device.ok()) << device.error().ToString();
  EXPECT_EQ(device->hostname, "pc-bac-ha-01");
  EXPECT_EQ(device->machine_id, "4c4c4544-0042");
  EXPECT_EQ(device->group, "laocai/bac-ha");
  EXPECT_EQ(device->cert_serial, info->serial_hex);
  EXPECT_EQ(device->cert_not_after, info->not_after);
  EXPECT_EQ(device->enrolled_at, kT0);
  EXPECT_FALSE(device->revoked);
}

TEST_F(SocServiceTest, RefusedEnrollmentTokensAreLoggedWithoutTheTokenAndEnrollNothing) {
  struct Case {
    std::string name;
    std::string secret;
    int status;
    std::string message;
  };
  auto seed = [&](const std::string& secret, auto&& adjust) {
    EnrollmentToken t;
    t.id = NewUuid();
    t.token_hash = Sha256Hex(secret);
    t.group = "laocai";
    t.created_at = kT0 - hours(48);
    t.expires_at = kT0 + hours(1);
    t.uses_allowed = 1;
    t.created_by = "root";
    adjust(t);
    ASSERT_TRUE(real_->CreateEnrollmentToken(t).ok());
  };
  seed("expired-token-secret-1234", [](EnrollmentToken& t) { t.expires_at = kT0; });
  seed("revoked-token-secret-1234", [](EnrollmentToken& t) { t.revoked = true; });
  seed("used-up-token-secret-1234", [](EnrollmentToken& t) { t.uses = 1; });
  const std::string reused = NewEnrollToken("laocai");
  ASSERT_EQ(EnrollWith(reused).status, 200);

  const std::vector<Case> cases = {
      {"unknown", "never-issued-token-1234", 401, "unknown enrollment token"},
      {"expired", "expired-token-secret-1234", 403, "enrollment token expired"},
      {"revoked", "revoked-token-secret-1234", 403, "enrollment token revoked"},
      {"used up", "used-up-token-secret-1234", 403, "enrollment token used up"},
      {"reused", reused, 403, "enrollment token used up"},
  };
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  std::vector<HttpResponse> responses;
  for (const auto& c : cases) {
    responses.push_back(EnrollWith(c.secret));
  }
  const std::string log =
      ::testing::internal::GetCapturedStdout() + ::testing::internal::GetCapturedStderr();
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(responses[i].status, cases[i].status) << responses[i].body;
    EXPECT_EQ(ErrorMessageOf(responses[i]), cases[i].message);
    EXPECT_THAT(responses[i].body, Not(HasSubstr(cases[i].secret)));
    EXPECT_THAT(log, HasSubstr(cases[i].message));
    EXPECT_THAT(log, Not(HasSubstr(cases[i].secret)));
  }
  EXPECT_THAT(log, HasSubstr(kPeer));
  auto devices = real_->ListDevices(DeviceFilter{});
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 1u);  // the first use of `reused`
}

TEST_F(SocServiceTest, ABadCsrIs400AndDoesNotCostATokenUse) {
  const std::string token = NewEnrollToken("laocai");
  const std::string good = NewCsr();
  std::string tampered = good;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& csr : {std::string("not a CSR"), tampered}) {
    const HttpResponse response =
        Agent(AgentPost("/v1/enroll", EnrollBody(token, csr), std::nullopt));
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(ErrorCodeOf(response), "bad_csr");
    EXPECT_FALSE(ErrorMessageOf(response).empty());
  }
  auto stored = real_->FindEnrollmentTokenByHash(Sha256Hex(token));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->uses, 0);
  EXPECT_EQ(Agent(AgentPost("/v1/enroll", EnrollBody(token, good), std::nullopt)).status, 200);
}

TEST_F(SocServiceTest, MalformedEnrollmentRequestsAre400) {
  const std::string token = NewEnrollToken("laocai");
  struct Case {
    std::string name;
    std::string body;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"not JSON", "{\"token\": ", "bad_json"},
      {"an array", "[]", "bad_json"},
      {"no hostname", json{{"token", token}, {"csr_pem", NewCsr()}, {"machine_id", "m"}}.dump(),
       "invalid_request"},
      {"numeric token",
       json{{"token", 5}, {"csr_pem", NewCsr()}, {"hostname", "h"}, {"machine_id", "m"}}.dump(),
       "invalid_request"},
      {"hostname with a newline", EnrollBody(token, NewCsr(), "pc\nFAKE LOG LINE"),
       "invalid_request"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const HttpResponse response = Agent(AgentPost("/v1/enroll", c.body, std::nullopt));
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(ErrorCodeOf(response), c.code);
  }
  auto stored = real_->FindEnrollmentTokenByHash(Sha256Hex(token));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->uses, 0);
}

// --- reports ------------------------------------------------------------------------------

TEST_F(SocServiceTest, AReportIsCommittedAndTheDeviceFollowsIt) {
  const Enrolled device = Enroll("laocai/bac-ha");
  const auto report = MakeReport(device.device_id, NewUuid(), kT0 + seconds(30),
                                 {{"antivirus", CheckStatus::kFail}});
  now_ = kT0 + seconds(40);
  const HttpResponse response = SendReport(device, report);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(BodyOf(response),
            (json{{"status", "committed"}, {"report_id", report.report_id}, {"duplicate", false}}));
  auto stored = real_->GetDevice(device.device_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->status, protocol::DeviceStatus::kNoncompliant);
  EXPECT_EQ(stored->last_seen, kT0 + seconds(40));
  EXPECT_EQ(stored->policy_version, 4);
}

TEST_F(SocServiceTest, ADuplicateReportIsAcknowledgedAndStoredOnce) {
  const Enrolled device = Enroll("laocai");
  const auto report = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const HttpResponse first = SendReport(device, report);
  const HttpResponse second = SendReport(device, report);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(BodyOf(first)["duplicate"], false);
  EXPECT_EQ(BodyOf(second)["duplicate"], true);
  EXPECT_EQ(BodyOf(second)["report_id"], report.report_id);
  EXPECT_EQ(StoredReports(device.device_id), 1u);
}

TEST_F(SocServiceTest, RefusedReportsStoreNothing) {
  const Enrolled device = Enroll("laocai");
  const Enrolled other = Enroll("laocai");
  ASSERT_TRUE(real_
                  ->AddDevice([&] {
                    Device d;
                    d.device_id = "00000000-0000-4000-8000-000000000077";
                    d.hostname = "gone";
                    d.group = "laocai";
                    d.cert_serial = "77";
                    d.enrolled_at = kT0;
                    d.cert_not_after = kT0 + hours(1);
                    d.revoked = true;
                    return d;
                  }())
                  .ok());
  const PeerCertificate revoked_peer{"00000000-0000-4000-8000-000000000077", "laocai", "77"};
  const PeerCertificate unknown_peer{"00000000-0000-4000-8000-000000000078", "laocai", "78"};
  PeerCertificate old_cert = device.peer;
  old_cert.serial_hex = "1234";
  const auto good = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const std::string good_body = protocol::ToJson(good).dump();
  json no_checks = protocol::ToJson(good);
  no_checks.erase("checks");
  auto with_device = [&](const std::string& id) {
    auto r = good;
    r.device_id = id;
    return protocol::ToJson(r).dump();
  };
  std::string deep = "{\"report_id\":" + std::string(1000, '[') + std::string(1000, ']') + "}";

  struct Case {
    std::string name;
    std::string body;
    std::optional<PeerCertificate> peer;
    int status;
    std::string code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no client certificate", good_body, std::nullopt, 401, "unauthenticated",
       "client certificate"},
      {"another device's certificate", good_body, other.peer, 422, "wrong_device",
       "not the client certificate's device"},
      {"a certificate not issued to the device", good_body, old_cert, 403, "forbidden",
       "not the certificate issued to this device"},
      {"a revoked device", with_device(revoked_peer.subject_cn), revoked_peer, 403, "forbidden",
       "device revoked"},
      {"an unknown device", with_device(unknown_peer.subject_cn), unknown_peer, 403, "forbidden",
       "unknown device"},
      {"malformed JSON", "{\"report_id\": \"" + good.report_id, device.peer, 400, "bad_json",
       "not valid JSON"},
      {"JSON nested 1000 deep", deep, device.peer, 400, "bad_json", "nested deeper than 64"},
      {"not a report", no_checks.dump(), device.peer, 400, "invalid_report", "checks"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const HttpResponse response = Agent(AgentPost("/v1/reports", c.body, c.peer));
    EXPECT_EQ(response.status, c.status) << response.body;
    EXPECT_EQ(ErrorCodeOf(response), c.code);
    EXPECT_THAT(ErrorMessageOf(response), HasSubstr(c.message));
  }
  EXPECT_EQ(StoredReports(device.device_id), 0u);
  EXPECT_EQ(StoredReports(other.device_id), 0u);
  EXPECT_EQ(StoredReports(revoked_peer.subject_cn), 0u);
  // The same report with the right certificate goes through: the refusals above were not
  // about the report itself.
  EXPECT_EQ(Agent(AgentPost("/v1/reports", good_body, device.peer)).status, 200);
}

TEST_F(SocServiceTest, AnOversizedReportIs413AndNotStored) {
  const Enrolled device = Enroll("laocai");
  auto report = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  report.checks[0].summary = std::string(3000, 's');
  const std::string body = protocol::ToJson(report).dump();

  auto small = MakeService(SocConfig{.max_report_bytes = 2048});
  const HttpResponse refused = Agent(AgentPost("/v1/reports", body, device.peer), small.get());
  EXPECT_EQ(refused.status, 413) << refused.body;
  EXPECT_EQ(ErrorCodeOf(refused), "too_large");
  EXPECT_EQ(StoredReports(device.device_id), 0u);

  // The default limit is protocol::kMaxReportBytes: one byte over, even as trailing spaces.
  std::string padded = body;
  padded.resize(protocol::kMaxReportBytes + 1, ' ');
  EXPECT_EQ(Agent(AgentPost("/v1/reports", padded, device.peer)).status, 413);
  padded.resize(protocol::kMaxReportBytes);
  EXPECT_EQ(StoredReports(device.device_id), 0u);
  EXPECT_EQ(Agent(AgentPost("/v1/reports", padded, device.peer)).status, 200);
  EXPECT_EQ(StoredReports(device.device_id), 1u);
}

TEST_F(SocServiceTest, UnknownAgentRoutesAre404AndWrongMethods405) {
  const HttpResponse wrong_method = Agent(AgentGet("/v1/reports"));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(ErrorCodeOf(wrong_method), "method_not_allowed");
  EXPECT_EQ(HeaderOf(wrong_method, "Allow"), "POST");
  for (const char* path : {"/v1/unknown", "/", "/v1/reports/", "/api/v1/devices"}) {
    SCOPED_TRACE(path);
    const HttpResponse missing = Agent(AgentPost(path, "{}", std::nullopt));
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(ErrorCodeOf(missing), "not_found");
  }
}

// --- operator authentication, roles and audit ----------------------------------------------

TEST_F(SocServiceTest, OperatorRequestsWithoutAValidTokenAre401) {
  auto expiring = service_->CreateOperatorToken("temp", "admin", kT0 + hours(1));
  ASSERT_TRUE(expiring.ok());
  OperatorToken revoked;
  revoked.id = NewUuid();
  revoked.name = "fired";
  revoked.role = "admin";
  revoked.token_hash = Sha256Hex("revoked-operator-secret");
  revoked.created_at = kT0;
  revoked.revoked = true;
  ASSERT_TRUE(real_->CreateOperatorToken(revoked).ok());
  now_ = kT0 + hours(1);

  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"no header", {}, "missing bearer token"},
      {"basic auth", {{"Authorization", "Basic cm9vdDpyb290"}}, "missing bearer token"},
      {"empty bearer", {{"Authorization", "Bearer "}}, "missing bearer token"},
      {"unknown token", {{"Authorization", "Bearer not-a-token"}}, "unknown token"},
      {"expired token", {{"Authorization", "Bearer " + *expiring}}, "token expired"},
      {"revoked token", {{"authorization", "bearer revoked-operator-secret"}}, "token revoked"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HttpRequest request = Op("GET", "/api/v1/devices", "");
    request.headers = c.headers;
    const HttpResponse response = Operator(request);
    EXPECT_EQ(response.status, 401) << response.body;
    EXPECT_EQ(ErrorCodeOf(response), "unauthenticated");
    EXPECT_THAT(ErrorMessageOf(response), HasSubstr(c.message));
    EXPECT_EQ(HeaderOf(response, "WWW-Authenticate"), "Bearer");
  }
  // Unknown routes answer 401 too before authentication: the API's shape stays hidden.
  EXPECT_EQ(Operator(Op("GET", "/api/v1/secret-things", "")).status, 401);
  // The token is still good one second before its expiry.
  now_ = kT0 + hours(1) - seconds(1);
  EXPECT_EQ(Operator(Op("GET", "/api/v1/devices", *expiring)).status, 200);
}

TEST_F(SocServiceTest, AnalystsAreRefusedEveryAdminRoute) {
  // Driven by the service's own route table, so a route added later is covered without editing
  // this test: every admin route refuses an analyst, every analyst route admits one.
  const std::string some_id = "6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
  size_t admin_routes = 0;
  for (const auto& route : SocService::OperatorRouteList()) {
    if (route.min_role.empty()) {
      continue;  // login, account setup, logout, whoami: service_accounts_test
    }
    std::string target(route.pattern);
    for (size_t at; (at = target.find("{id}")) != std::string::npos;) {
      target.replace(at, 4, some_id);
    }
    const std::string method(route.method);
    SCOPED_TRACE(method + " " + target);
    const std::string body = method == "POST" ? "{}" : "";
    const HttpResponse answer = Operator(Op(method, target, analyst_, body));
    if (route.admin_only) {
      ++admin_routes;
      EXPECT_EQ(answer.status, 403) << answer.body;
      EXPECT_EQ(ErrorCodeOf(answer), "forbidden");
      EXPECT_THAT(ErrorMessageOf(answer), HasSubstr("admin"));
      // The admin gets past the role check (an answer of the handler, not 403 or 401).
      const HttpResponse admin = Operator(Op(method, target, admin_, body));
      EXPECT_NE(admin.status, 403) << admin.body;
      EXPECT_NE(admin.status, 401) << admin.body;
    } else if (route.min_role == "inspector") {
      // The audit log: inspectors and admins (issue 16).
      EXPECT_EQ(method, "GET");
      EXPECT_EQ(answer.status, 403) << answer.body;
      EXPECT_NE(Operator(Op(method, target, admin_, body)).status, 403);
    } else {
      EXPECT_EQ(method, "GET") << "analysts only read";
      EXPECT_NE(answer.status, 403) << answer.body;
      EXPECT_NE(answer.status, 401) << answer.body;
    }
  }
  // Every write route is admin-only, and the ones this issue added are among them.
  EXPECT_GE(admin_routes, 9u);
  for (const auto& route : SocService::OperatorRouteList()) {
    if (route.method != "GET" && !route.min_role.empty()) {
      EXPECT_TRUE(route.admin_only) << route.method << " " << route.pattern;
    }
  }
  // Only admin requests created anything.
  auto audit = real_->ListAudit(1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& e : *audit) {
    if (e.role == "analyst" && e.method == "POST") {
      EXPECT_EQ(e.result, 403) << e.path;
    }
  }
}

// Prometheus needs no analyst rights to the fleet: a token of role "metrics" scrapes /metrics
// and is refused everything else, the route table driving the test as above.
TEST_F(SocServiceTest, AMetricsTokenScrapesAndReachesNothingElse) {
  auto scraper = service_->CreateOperatorToken("prometheus", "metrics", std::nullopt);
  ASSERT_TRUE(scraper.ok()) << scraper.error().ToString();
  const HttpResponse scraped = Operator(Op("GET", "/metrics", *scraper));
  EXPECT_EQ(scraped.status, 200) << scraped.body;
  EXPECT_THAT(scraped.body, HasSubstr("counterguard_devices"));
  const std::string some_id = "6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
  size_t refused = 0;
  for (const auto& route : SocService::OperatorRouteList()) {
    if (route.min_role.empty() || route.min_role == "metrics") {
      continue;
    }
    std::string target(route.pattern);
    for (size_t at; (at = target.find("{id}")) != std::string::npos;) {
      target.replace(at, 4, some_id);
    }
    const std::string method(route.method);
    SCOPED_TRACE(method + " " + target);
    const HttpResponse answer =
        Operator(Op(method, target, *scraper, method == "POST" ? "{}" : ""));
    EXPECT_EQ(answer.status, 403) << answer.body;
    EXPECT_THAT(ErrorMessageOf(answer), HasSubstr("metrics token may only GET /metrics"));
    ++refused;
  }
  EXPECT_GE(refused, 20u);
  // Nor the routes any operator may call.
  EXPECT_EQ(Operator(Op("GET", "/api/v1/session", *scraper)).status, 403);
  // Analysts still scrape; an admin makes such a token over the API; other roles are refused.
  EXPECT_EQ(Operator(Op("GET", "/metrics", analyst_)).status, 200);
  const HttpResponse made = Operator(Op("POST", "/api/v1/operator-tokens", admin_,
                                        json{{"name", "prom-2"}, {"role", "metrics"}}.dump()));
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(Operator(Op("GET", "/metrics", BodyOf(made)["token"].get<std::string>())).status, 200);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/operator-tokens", admin_,
                        json{{"name", "x"}, {"role", "scraper"}}.dump()))
                .status,
            400);
}

TEST_F(SocServiceTest, AdminCreatesEnrollmentTokensWithDefaultsAndLimits) {
  const HttpResponse response =
      Operator(Op("POST", "/api/v1/enroll-tokens", admin_, json{{"group", "laocai/sa-pa"}}.dump()));
  ASSERT_EQ(response.status, 201) << response.body;
  const json body = BodyOf(response);
  EXPECT_EQ(Keys(body), (std::set<std::string>{"token", "id", "group", "expires_at", "uses"}));
  EXPECT_EQ(body["group"], "laocai/sa-pa");
  EXPECT_EQ(body["uses"], 1);
  EXPECT_EQ(body["expires_at"], FormatRfc3339(kT0 + hours(24)));
  EXPECT_TRUE(IsUuid(body["id"].get<std::string>()));
  auto stored = real_->FindEnrollmentTokenByHash(Sha256Hex(body["token"].get<std::string>()));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->id, body["id"]);
  EXPECT_EQ(stored->created_by, "root");
  EXPECT_EQ(stored->token_hash, Sha256Hex(body["token"].get<std::string>()));

  const HttpResponse explicit_values =
      Operator(Op("POST", "/api/v1/enroll-tokens", admin_,
                  json{{"group", "hanoi"}, {"ttl_seconds", 30 * 86400}, {"uses", 10000}}.dump()));
  ASSERT_EQ(explicit_values.status, 201) << explicit_values.body;
  EXPECT_EQ(BodyOf(explicit_values)["uses"], 10000);
  EXPECT_EQ(BodyOf(explicit_values)["expires_at"], FormatRfc3339(kT0 + hours(24 * 30)));

  struct Case {
    std::string name;
    json body;
  };
  const std::vector<Case> bad = {
      {"no group", json::object()},
      {"upper case", {{"group", "LaoCai"}}},
      {"empty segment", {{"group", "laocai//bac-ha"}}},
      {"leading slash", {{"group", "/laocai"}}},
      {"trailing slash", {{"group", "laocai/"}}},
      {"space", {{"group", "lao cai"}}},
      {"129 characters", {{"group", std::string(129, 'a')}}},
      {"ttl 0", {{"group", "laocai"}, {"ttl_seconds", 0}}},
      {"ttl over 30 days", {{"group", "laocai"}, {"ttl_seconds", 30 * 86400 + 1}}},
      {"ttl as text", {{"group", "laocai"}, {"ttl_seconds", "24h"}}},
      {"uses 0", {{"group", "laocai"}, {"uses", 0}}},
      {"uses 10001", {{"group", "laocai"}, {"uses", 10001}}},
      {"uses fractional", {{"group", "laocai"}, {"uses", 1.5}}},
      {"uses huge", {{"group", "laocai"}, {"uses", 18446744073709551615ULL}}},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.name);
    const HttpResponse refused =
        Operator(Op("POST", "/api/v1/enroll-tokens", admin_, c.body.dump()));
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_EQ(ErrorCodeOf(refused), "invalid_request");
  }
  EXPECT_EQ(ErrorCodeOf(Operator(Op("POST", "/api/v1/enroll-tokens", admin_, "{oops"))),
            "bad_json");
  EXPECT_TRUE(IsValidGroupName(std::string(128, 'a')));
}

TEST_F(SocServiceTest, UnknownOperatorRoutesAre404AndWrongMethods405) {
  const HttpResponse missing = Operator(Op("GET", "/api/v1/nothing", analyst_));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCodeOf(missing), "not_found");
  const HttpResponse wrong = Operator(Op("DELETE", "/api/v1/devices", admin_));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(HeaderOf(wrong, "Allow"), "GET");
}

TEST_F(SocServiceTest, EveryOperatorRequestIsAuditedWithoutSecrets) {
  const std::string device_id = NewUuid();
  now_ = kT0 + seconds(1);
  ASSERT_EQ(Operator(Op("GET", "/api/v1/devices?status=error", "")).status, 401);
  now_ = kT0 + seconds(2);
  ASSERT_EQ(
      Operator(Op("POST", "/api/v1/enroll-tokens", analyst_, json{{"group", "laocai"}}.dump()))
          .status,
      403);
  now_ = kT0 + seconds(3);
  const HttpResponse created =
      Operator(Op("POST", "/api/v1/enroll-tokens", admin_, json{{"group", "laocai"}}.dump()));
  ASSERT_EQ(created.status, 201);
  const std::string enroll_secret = BodyOf(created)["token"];
  const std::string enroll_id = BodyOf(created)["id"];
  now_ = kT0 + seconds(4);
  ASSERT_EQ(Operator(Op("GET", "/api/v1/devices/" + device_id, analyst_)).status, 404);
  now_ = kT0 + seconds(5);
  ASSERT_EQ(Operator(Op("GET", "/api/v1/devices", "wrong-secret")).status, 401);

  now_ = kT0 + seconds(6);
  const HttpResponse audit = Operator(Op("GET", "/api/v1/audit", admin_));
  ASSERT_EQ(audit.status, 200) << audit.body;
  const json entries = BodyOf(audit)["entries"];
  ASSERT_EQ(entries.size(), 5u) << entries.dump(2);
  for (const auto& e : entries) {
    // account, kind (read/change) and action: staff accounts (issue 16).
    EXPECT_EQ(Keys(e), (std::set<std::string>{"time", "actor", "account", "role", "kind", "action",
                                              "method", "path", "target", "result", "source"}));
    EXPECT_EQ(e["source"], "127.0.0.1:40000");
  }
  auto expect = [&](size_t i, int second, const std::string& actor, const std::string& role,
                    const std::string& method, const std::string& path, int result) {
    SCOPED_TRACE(i);
    EXPECT_EQ(entries[i]["time"], FormatRfc3339(kT0 + seconds(second)));
    EXPECT_EQ(entries[i]["actor"], actor);
    EXPECT_EQ(entries[i]["role"], role);
    EXPECT_EQ(entries[i]["method"], method);
    EXPECT_EQ(entries[i]["path"], path);
    EXPECT_EQ(entries[i]["result"], result);
  };
  expect(0, 5, "-", "-", "GET", "/api/v1/devices", 401);
  expect(1, 4, "nguyen.van.a", "analyst", "GET", "/api/v1/devices/" + device_id, 404);
  expect(2, 3, "root", "admin", "POST", "/api/v1/enroll-tokens", 201);
  expect(3, 2, "nguyen.van.a", "analyst", "POST", "/api/v1/enroll-tokens", 403);
  expect(4, 1, "-", "-", "GET", "/api/v1/devices", 401);
  EXPECT_EQ(entries[1]["target"], device_id);
  EXPECT_THAT(entries[2]["target"].get<std::string>(), HasSubstr(enroll_id));
  EXPECT_THAT(entries[2]["target"].get<std::string>(), HasSubstr("laocai"));

  const std::string dump = entries.dump();
  for (const std::string& secret : {admin_, analyst_, enroll_secret, std::string("wrong-secret")}) {
    EXPECT_THAT(dump, Not(HasSubstr(secret)));
  }
  // The audit request itself is on record too.
  auto all = real_->ListAudit(100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[0].path, "/api/v1/audit");
  EXPECT_EQ((*all)[0].result, 200);
}

TEST_F(SocServiceTest, WithoutAnAuditRowThereIsNoAnswer) {
  storage_->fail_audit = true;
  const HttpResponse response =
      Operator(Op("POST", "/api/v1/enroll-tokens", admin_, json{{"group", "laocai"}}.dump()));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(ErrorCodeOf(response), "internal");
  EXPECT_FALSE(BodyOf(response).contains("token"));
  EXPECT_EQ(Operator(Op("GET", "/api/v1/devices", "")).status, 500);
  storage_->fail_audit = false;
  EXPECT_EQ(Operator(Op("GET", "/api/v1/devices", analyst_)).status, 200);
}

// --- operator tokens ------------------------------------------------------------------------

TEST_F(SocServiceTest, OperatorTokensAreStoredOnlyAsHashes) {
  auto secret = service_->CreateOperatorToken("tran.thi.b", "analyst", kT0 + hours(24 * 90));
  ASSERT_TRUE(secret.ok()) << secret.error().ToString();
  EXPECT_GE(secret->size(), 40u);
  auto stored = real_->FindOperatorTokenByHash(Sha256Hex(*secret));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->name, "tran.thi.b");
  EXPECT_EQ(stored->role, "analyst");
  EXPECT_EQ(stored->expires_at, kT0 + hours(24 * 90));
  EXPECT_EQ(stored->created_at, kT0);
  EXPECT_EQ(Operator(Op("GET", "/api/v1/devices", *secret)).status, 200);

  std::string files;
  for (const char* name : {"soc.db", "soc.db-wal"}) {
    if (FileExists(dir_.File(name))) {
      files += ReadFileToString(dir_.File(name)).value_or("");
    }
  }
  ASSERT_FALSE(files.empty());
  EXPECT_THAT(files, HasSubstr(Sha256Hex(*secret)));
  for (const std::string& s : {*secret, admin_, analyst_}) {
    EXPECT_THAT(files, Not(HasSubstr(s)));
  }

  struct Case {
    std::string name, role;
    std::optional<SysTime> expires_at;
  };
  const std::vector<Case> bad = {
      {"x", "root", std::nullopt},
      {"", "admin", std::nullopt},
      {"tab\tname", "admin", std::nullopt},
      {"late", "admin", kT0},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.name + "/" + c.role);
    auto refused = service_->CreateOperatorToken(c.name, c.role, c.expires_at);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace cg::soc

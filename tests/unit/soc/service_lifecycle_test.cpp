// Tests for soc/service.cpp: enrollment tokens, renewal, re-enrollment, the CRL, rate limits
// and group commit with back-pressure (fixture: service_fixture.h).
#include "tests/unit/soc/service_fixture.h"

namespace cg::soc {
namespace {

// --- issue 4: token management, renewal, re-enrollment, CRL, limits ------------------------

TEST_F(SocServiceTest, EnrollmentTokensAreListedAndRevokedAndARevokedTokenEnrollsNothing) {
  const std::string secret = NewEnrollToken("laocai/bac-ha", 3);
  const HttpResponse listed = Operator(Op("GET", "/api/v1/enroll-tokens", admin_));
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json tokens = BodyOf(listed)["enroll_tokens"];
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0]["group"], "laocai/bac-ha");
  EXPECT_EQ(tokens[0]["uses_allowed"], 3);
  EXPECT_EQ(tokens[0]["state"], "usable");
  EXPECT_EQ(tokens[0]["created_by"], "root");
  EXPECT_THAT(listed.body, Not(HasSubstr(secret)));
  EXPECT_THAT(listed.body, Not(HasSubstr(Sha256Hex(secret))));
  const std::string id = tokens[0]["id"];

  ASSERT_EQ(EnrollWith(secret).status, 200);
  const HttpResponse revoked =
      Operator(Op("POST", "/api/v1/enroll-tokens/" + id + "/revoke", admin_));
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  const HttpResponse refused = EnrollWith(secret);
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(ErrorMessageOf(refused), HasSubstr("enrollment token revoked"));
  const json after = BodyOf(Operator(Op("GET", "/api/v1/enroll-tokens", admin_)))["enroll_tokens"];
  EXPECT_EQ(after[0]["state"], "revoked");
  EXPECT_EQ(after[0]["uses"], 1);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/enroll-tokens/" + NewUuid() + "/revoke", admin_)).status,
            404);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/enroll-tokens/nonsense/revoke", admin_)).status, 404);
}

TEST_F(SocServiceTest, EnrollmentAttemptsAreAuditedAllowedOrRefused) {
  const std::string secret = NewEnrollToken("laocai");
  ASSERT_EQ(EnrollWith(secret).status, 200);
  ASSERT_EQ(EnrollWith(secret).status, 403);                // used up
  ASSERT_EQ(EnrollWith("no-such-token-1234").status, 401);  // unknown
  auto audit = real_->ListAudit(10);
  ASSERT_TRUE(audit.ok());
  std::vector<int> results;
  for (const auto& e : *audit) {
    if (e.path == "/v1/enroll") {
      results.push_back(e.result);
      EXPECT_EQ(e.role, "agent");
      EXPECT_EQ(e.source, kPeer);
      EXPECT_THAT(e.actor + e.target, Not(HasSubstr(secret)));
    }
  }
  EXPECT_THAT(results, ElementsAre(401, 403, 200));
  EXPECT_THAT((*audit)[2].target, HasSubstr("device "));
  EXPECT_THAT((*audit)[1].actor, HasSubstr("enroll-token "));
}

TEST_F(SocServiceTest, AdminsManageOperatorTokensOverTheApi) {
  const HttpResponse created =
      Operator(Op("POST", "/api/v1/operator-tokens", admin_,
                  json{{"name", "le.van.c"}, {"role", "analyst"}, {"ttl_seconds", 3600}}.dump()));
  ASSERT_EQ(created.status, 201) << created.body;
  const json body = BodyOf(created);
  const std::string secret = body["token"];
  const std::string id = body["id"];
  EXPECT_EQ(body["role"], "analyst");
  EXPECT_EQ(body["expires_at"], FormatRfc3339(kT0 + hours(1)));
  // Stored only as a hash; the list never shows the secret or the hash.
  auto stored = real_->FindOperatorTokenByHash(Sha256Hex(secret));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->id, id);
  const HttpResponse listed = Operator(Op("GET", "/api/v1/operator-tokens", admin_));
  ASSERT_EQ(listed.status, 200);
  EXPECT_THAT(listed.body, Not(HasSubstr(secret)));
  EXPECT_THAT(listed.body, Not(HasSubstr(Sha256Hex(secret))));
  EXPECT_EQ(BodyOf(listed)["operator_tokens"].size(), 3u);  // root, nguyen.van.a, le.van.c

  EXPECT_EQ(Operator(Op("GET", "/api/v1/devices", secret)).status, 200);
  // Expiry is honoured.
  now_ = kT0 + hours(1);
  const HttpResponse expired = Operator(Op("GET", "/api/v1/devices", secret));
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(ErrorMessageOf(expired), HasSubstr("expired"));
  now_ = kT0;
  // Revocation takes effect at the next request.
  ASSERT_EQ(Operator(Op("POST", "/api/v1/operator-tokens/" + id + "/revoke", admin_)).status, 200);
  const HttpResponse revoked = Operator(Op("GET", "/api/v1/devices", secret));
  EXPECT_EQ(revoked.status, 401);
  EXPECT_THAT(ErrorMessageOf(revoked), HasSubstr("revoked"));

  struct Case {
    std::string name;
    json body;
  };
  const std::vector<Case> bad = {
      {"no name", {{"role", "admin"}}},
      {"bad role", {{"name", "x"}, {"role", "root"}}},
      {"negative ttl", {{"name", "x"}, {"role", "admin"}, {"ttl_seconds", -1}}},
      {"no expiry", {{"name", "x"}, {"role", "admin"}, {"ttl_seconds", 0}}},
      {"longer than 90 days", {{"name", "x"}, {"role", "admin"}, {"ttl_seconds", 90 * 86400 + 1}}},
      {"control characters", {{"name", "x\ny"}, {"role", "admin"}}},
      {"a C1 control",
       {{"name",
         "x\xc2\x9b"
         "1m"},
        {"role", "admin"}}},
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(Operator(Op("POST", "/api/v1/operator-tokens", admin_, c.body.dump())).status, 400);
  }
}

// Issue 13, finding 10 (failed on the old code: tokens made without a lifetime never expired,
// the first admin token included, and the list had no last use).
TEST_F(SocServiceTest, OperatorTokensExpireAfter90DaysByDefaultAndRecordTheirLastUse) {
  // The fixture's tokens were made like `cg-soc init` makes the first admin token: no lifetime.
  const HttpResponse created = Operator(Op("POST", "/api/v1/operator-tokens", admin_,
                                           json{{"name", "pham.d"}, {"role", "analyst"}}.dump()));
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(BodyOf(created)["expires_at"], FormatRfc3339(kT0 + hours(24 * 90)));
  EXPECT_FALSE(service_->CreateOperatorToken("x", "admin", kT0 + hours(24 * 91)).ok());

  now_ = kT0 + seconds(30);
  ASSERT_EQ(Operator(Op("GET", "/api/v1/devices", analyst_)).status, 200);
  const json tokens =
      BodyOf(Operator(Op("GET", "/api/v1/operator-tokens", admin_)))["operator_tokens"];
  std::map<std::string, json> by_name;
  for (const auto& t : tokens) {
    by_name[t["name"]] = t;
  }
  EXPECT_EQ(by_name["nguyen.van.a"]["last_used_at"], FormatRfc3339(kT0 + seconds(30)));
  EXPECT_EQ(by_name["root"]["last_used_at"], FormatRfc3339(kT0));  // recorded once a minute
  EXPECT_TRUE(by_name["pham.d"]["last_used_at"].is_null());
  EXPECT_EQ(by_name["root"]["expires_at"], FormatRfc3339(kT0 + hours(24 * 90)));

  now_ = kT0 + hours(24 * 90);
  const HttpResponse expired = Operator(Op("GET", "/api/v1/devices", admin_));
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(ErrorMessageOf(expired), HasSubstr("expired"));
}

TEST_F(SocServiceTest, AFailedAuthenticationIsAnsweredLaterTheMoreItFails) {
  std::vector<std::chrono::milliseconds> delays;
  std::vector<std::function<void()>> pending;
  service_->SetDeferrer([&](std::chrono::milliseconds delay, std::function<void()> fn) {
    delays.push_back(delay);
    pending.push_back(std::move(fn));
  });
  std::vector<int> answered;
  auto send = [&](const std::string& token, const std::string& peer) {
    HttpRequest r = Op("GET", "/api/v1/devices", token);
    r.peer_address = peer;
    service_->HandleOperator(std::move(r),
                             [&](HttpResponse response) { answered.push_back(response.status); });
  };
  for (int i = 0; i < 4; ++i) {
    send("wrong-secret", "10.1.1.1:4000" + std::to_string(i));
  }
  // Nothing is answered at once: the answers wait for the deferrer.
  EXPECT_TRUE(answered.empty());
  using std::chrono::milliseconds;
  EXPECT_THAT(delays, ElementsAre(milliseconds(250), milliseconds(500), milliseconds(1000),
                                  milliseconds(2000)));
  for (auto& fn : pending) {
    fn();
  }
  EXPECT_THAT(answered, ElementsAre(401, 401, 401, 401));
  // A good token from the same address is answered at once and clears the count.
  answered.clear();
  send(analyst_, "10.1.1.1:5000");
  EXPECT_THAT(answered, ElementsAre(200));
  send("wrong-secret", "10.1.1.1:5001");
  EXPECT_EQ(delays.back(), milliseconds(250));
  // Every failure is on record with its source.
  auto audit = real_->ListAudit(10);
  ASSERT_TRUE(audit.ok());
  int failures = 0;
  for (const auto& e : *audit) {
    failures += e.result == 401 && e.source.starts_with("10.1.1.1:") ? 1 : 0;
  }
  EXPECT_EQ(failures, 5);
}

TEST_F(SocServiceTest, EnrollmentIsRateLimitedPerAddress) {
  SocConfig config;
  config.enroll_burst = 2;
  config.enroll_refill = std::chrono::milliseconds(30000);
  auto limited = MakeService(config);
  auto attempt = [&](const std::string& peer) {
    HttpRequest r = AgentPost("/v1/enroll", EnrollBody("bad-token-123456", NewCsr()), std::nullopt);
    r.peer_address = peer;
    return Agent(std::move(r), limited.get());
  };
  EXPECT_EQ(attempt("10.9.9.9:1").status, 401);
  EXPECT_EQ(attempt("10.9.9.9:2").status, 401);
  const HttpResponse refused = attempt("10.9.9.9:3");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(ErrorCodeOf(refused), "rate_limited");
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "30");
  EXPECT_EQ(attempt("10.9.9.10:1").status, 401);  // another address
  now_ = kT0 + seconds(30);
  EXPECT_EQ(attempt("10.9.9.9:4").status, 401);
}

TEST_F(SocServiceTest, RenewalIssuesANewCertificateAndSupersedesTheOld) {
  const Enrolled device = Enroll("laocai/bac-ha");
  now_ = kT0 + hours(24 * 21);
  const HttpResponse renewed =
      Agent(AgentPost("/v1/renew", json{{"csr_pem", NewCsr()}}.dump(), device.peer));
  ASSERT_EQ(renewed.status, 200) << renewed.body;
  auto info =
      protocol::InspectCertificatePem(BodyOf(renewed)["certificate_pem"].get<std::string>());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, device.device_id);
  EXPECT_EQ(info->subject_ou, "laocai/bac-ha");
  EXPECT_EQ(info->not_after, now_ + SocConfig{}.device_cert_validity);
  EXPECT_NE(info->serial_hex, device.peer.serial_hex);
  const PeerCertificate lost{info->subject_cn, info->subject_ou, info->serial_hex};
  // Until the device uses the new certificate, both are accepted: the answer may have been lost.
  EXPECT_TRUE(service_->CertificateAllowed(lost));
  EXPECT_TRUE(service_->CertificateAllowed(device.peer));
  auto stored = real_->GetDevice(device.device_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->cert_serial, device.peer.serial_hex);
  EXPECT_EQ(stored->pending_cert_serial, info->serial_hex);
  EXPECT_TRUE(real_->ListRevokedCertificates(now_)->empty());

  // It was lost: the device asks again with its old certificate and gets another one; the
  // unused one is superseded.
  const HttpResponse again =
      Agent(AgentPost("/v1/renew", json{{"csr_pem", NewCsr()}}.dump(), device.peer));
  ASSERT_EQ(again.status, 200) << again.body;
  auto info2 = protocol::InspectCertificatePem(BodyOf(again)["certificate_pem"].get<std::string>());
  ASSERT_TRUE(info2.ok());
  const PeerCertificate fresh{info2->subject_cn, info2->subject_ou, info2->serial_hex};
  EXPECT_FALSE(service_->CertificateAllowed(lost));
  EXPECT_TRUE(service_->CertificateAllowed(fresh));
  EXPECT_TRUE(service_->CertificateAllowed(device.peer));

  // The first request with the new certificate makes it the current one.
  const auto report = MakeReport(device.device_id, NewUuid(), now_, {{"yara", CheckStatus::kPass}});
  EXPECT_EQ(SendReport(Enrolled{device.device_id, device.group, "", fresh}, report).status, 200);
  stored = real_->GetDevice(device.device_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->cert_serial, info2->serial_hex);
  EXPECT_EQ(stored->cert_not_after, info2->not_after);
  EXPECT_EQ(stored->pending_cert_serial, "");
  EXPECT_TRUE(service_->CertificateAllowed(fresh));
  EXPECT_FALSE(service_->CertificateAllowed(device.peer));
  EXPECT_FALSE(service_->CertificateAllowed(lost));
  // The old certificate can neither report nor renew again, nor poll.
  EXPECT_EQ(Agent(AgentPost("/v1/renew", json{{"csr_pem", NewCsr()}}.dump(), device.peer)).status,
            403);
  const auto late = MakeReport(device.device_id, NewUuid(), now_, {{"yara", CheckStatus::kPass}});
  EXPECT_EQ(SendReport(device, late).status, 403);
  std::map<std::string, std::string> crl;
  auto listed = real_->ListRevokedCertificates(now_);
  ASSERT_TRUE(listed.ok());
  for (const auto& c : *listed) {
    crl[c.serial_hex] = c.reason;
  }
  EXPECT_EQ(crl, (std::map<std::string, std::string>{{device.peer.serial_hex, "superseded"},
                                                     {info->serial_hex, "superseded"}}));
  // A bad CSR changes nothing.
  EXPECT_EQ(Agent(AgentPost("/v1/renew", json{{"csr_pem", "nope"}}.dump(), fresh)).status, 400);
  EXPECT_TRUE(service_->CertificateAllowed(fresh));
}

TEST_F(SocServiceTest, TheSameMachineEnrollingAgainIsAConflictUntilAnAdminAllowsIt) {
  const Enrolled first = Enroll("laocai/bac-ha", "pc-07", "machine-07");
  const HttpResponse conflict = EnrollWith(NewEnrollToken("laocai/bac-ha"), "pc-07", "machine-07");
  EXPECT_EQ(conflict.status, 409) << conflict.body;
  EXPECT_THAT(ErrorMessageOf(conflict), HasSubstr(first.device_id));
  EXPECT_THAT(ErrorMessageOf(conflict), HasSubstr("allow-reenroll"));
  // No duplicate, and the conflict is visible to analysts.
  auto devices = real_->ListDevices({});
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 1u);
  const json conflicts = BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"];
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0]["device_id"], first.device_id);
  EXPECT_EQ(conflicts[0]["hostname"], "pc-07");

  ASSERT_EQ(
      Operator(Op("POST", "/api/v1/devices/" + first.device_id + "/allow-reenroll", admin_)).status,
      200);
  // Allowing is not closing: the refused attempt stays open until an admin resolves it.
  EXPECT_EQ(BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"].size(), 1u);
  // Even allowed, the device stays in its group: a token for another group is refused.
  const HttpResponse elsewhere = EnrollWith(NewEnrollToken("laocai/sa-pa"), "pc-07", "machine-07");
  EXPECT_EQ(elsewhere.status, 409) << elsewhere.body;
  EXPECT_THAT(ErrorMessageOf(elsewhere), HasSubstr("laocai/bac-ha"));
  const HttpResponse again = EnrollWith(NewEnrollToken("laocai/bac-ha"), "pc-07", "machine-07");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(BodyOf(again)["device_id"], first.device_id);
  EXPECT_EQ(BodyOf(again)["reenrolled"], true);
  EXPECT_FALSE(service_->CertificateAllowed(first.peer));
  auto stored = real_->GetDevice(first.device_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->group, "laocai/bac-ha");
  EXPECT_FALSE(stored->reenroll_allowed);  // one enrollment per allowance
  EXPECT_EQ(EnrollWith(NewEnrollToken("laocai/bac-ha"), "pc-07", "machine-07").status, 409);
  // Another machine with the same host name is another device.
  EXPECT_EQ(EnrollWith(NewEnrollToken("laocai"), "pc-07", "machine-08").status, 200);

  // Every attempt is still open; an admin closes one after looking at it.
  const json open = BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"];
  ASSERT_EQ(open.size(), 3u);
  const std::string id = std::to_string(open[0]["id"].get<int64_t>());
  EXPECT_EQ(Operator(Op("POST", "/api/v1/conflicts/" + id + "/resolve", analyst_)).status, 403);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/conflicts/" + id + "/resolve", admin_)).status, 200);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/conflicts/" + id + "/resolve", admin_)).status, 409);
  EXPECT_EQ(Operator(Op("POST", "/api/v1/conflicts/999/resolve", admin_)).status, 404);
  EXPECT_EQ(BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"].size(), 2u);
  const json all = BodyOf(Operator(Op("GET", "/api/v1/conflicts?all=1", analyst_)))["conflicts"];
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["resolved_by"], "root");
}

// Issue 13, finding 5 (failed on the old code: the expired device was re-enrolled into the
// token's group and the earlier conflict was closed). The machine id is no secret, so an expired
// certificate plus any token is no proof of anything.
TEST_F(SocServiceTest, AnExpiredDeviceIsNotTakenOverWithoutAnAdminsAllowance) {
  const Enrolled first = Enroll("laocai", "pc-09", "machine-09");
  const HttpResponse refused_before = EnrollWith(NewEnrollToken("laocai"), "pc-09", "machine-09");
  EXPECT_EQ(refused_before.status, 409);
  now_ = kT0 + SocConfig{}.device_cert_validity + seconds(1);
  for (const char* group : {"hanoi", "laocai"}) {
    SCOPED_TRACE(group);
    const HttpResponse takeover = EnrollWith(NewEnrollToken(group), "pc-09", "machine-09");
    EXPECT_EQ(takeover.status, 409) << takeover.body;
    EXPECT_THAT(ErrorMessageOf(takeover), HasSubstr("certificate expired"));
  }
  auto stored = real_->GetDevice(first.device_id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->group, "laocai");
  EXPECT_EQ(stored->cert_serial, first.peer.serial_hex);
  // Every attempt, the one before expiry included, is an open conflict.
  EXPECT_EQ(BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"].size(), 3u);

  // With the admin's allowance and a token of its own group, the machine gets its device back;
  // the conflicts stay open.
  ASSERT_EQ(
      Operator(Op("POST", "/api/v1/devices/" + first.device_id + "/allow-reenroll", admin_)).status,
      200);
  EXPECT_EQ(EnrollWith(NewEnrollToken("hanoi"), "pc-09", "machine-09").status, 409);
  const HttpResponse again = EnrollWith(NewEnrollToken("laocai"), "pc-09", "machine-09");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(BodyOf(again)["device_id"], first.device_id);
  EXPECT_EQ(BodyOf(Operator(Op("GET", "/api/v1/conflicts", analyst_)))["conflicts"].size(), 4u);

  // A revoked device does not come back without the admin either.
  ASSERT_EQ(Operator(Op("POST", "/api/v1/devices/" + first.device_id + "/revoke", admin_)).status,
            200);
  now_ += SocConfig{}.device_cert_validity + seconds(1);
  EXPECT_EQ(EnrollWith(NewEnrollToken("laocai"), "pc-09", "machine-09").status, 409);
}

// Issue 13, finding 2 (failed on the old code: the device stayed compliant at policy 4 after
// the report dated 2036, whatever arrived later).
TEST_F(SocServiceTest, AReportDatedInTheFutureDoesNotFreezeItsDeviceAndIsFlagged) {
  const Enrolled device = Enroll("laocai", "pc-10", "machine-10");
  const auto get = [&] {
    return BodyOf(Operator(Op("GET", "/api/v1/devices/" + device.device_id, analyst_)))["device"];
  };
  now_ = kT0 + seconds(10);
  auto future = MakeReport(device.device_id, NewUuid(), SysTime(seconds(2'098'000'000)),  // 2036
                           {{"antivirus", CheckStatus::kPass}});
  ASSERT_EQ(SendReport(device, future).status, 200);
  EXPECT_EQ(get()["status"], "compliant");
  EXPECT_EQ(get()["clock_skew"], true);
  EXPECT_GT(get()["clock_skew_seconds"].get<int64_t>(), 300);

  now_ = kT0 + hours(1);
  auto genuine = MakeReport(device.device_id, NewUuid(), now_ - seconds(2),
                            {{"antivirus", CheckStatus::kFail}});
  genuine.policy_version = 5;
  ASSERT_EQ(SendReport(device, genuine).status, 200);
  const json d = get();
  EXPECT_EQ(d["status"], "noncompliant");
  EXPECT_EQ(d["policy_version"], 5);
  EXPECT_EQ(d["clock_skew"], false);
  const json latest =
      BodyOf(Operator(Op("GET", "/api/v1/devices/" + device.device_id, analyst_)))["latest_report"];
  EXPECT_EQ(latest["report_id"], genuine.report_id);
  // History is in arrival order, and the skewed report stays flagged there.
  const json history = BodyOf(
      Operator(Op("GET", "/api/v1/devices/" + device.device_id + "/history", analyst_)))["reports"];
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0]["report_id"], genuine.report_id);
  EXPECT_EQ(history[1]["report_id"], future.report_id);
  EXPECT_EQ(history[1]["clock_skew"], true);
  EXPECT_EQ(history[0]["clock_skew"], false);

  // Within the tolerance (5 minutes by default) a clock ahead is not flagged; beyond it, it is.
  now_ += hours(1);
  auto slightly = MakeReport(device.device_id, NewUuid(), now_ + seconds(299),
                             {{"antivirus", CheckStatus::kPass}});
  ASSERT_EQ(SendReport(device, slightly).status, 200);
  EXPECT_EQ(get()["clock_skew"], false);
  EXPECT_EQ(get()["status"], "compliant");
  now_ += hours(1);
  auto ahead = MakeReport(device.device_id, NewUuid(), now_ + seconds(301),
                          {{"antivirus", CheckStatus::kPass}});
  ASSERT_EQ(SendReport(device, ahead).status, 200);
  EXPECT_EQ(get()["clock_skew"], true);
  EXPECT_EQ(get()["clock_skew_seconds"], 301);
}

// Issue 13, finding 4 (failed on the old code: the ESC and CR reached the stored device and
// report, and the report renamed the device).
TEST_F(SocServiceTest, ControlCharactersInReportsAreRefusedOrEscapedAndNeverRenameTheDevice) {
  const Enrolled device = Enroll("laocai", "pc-11", "machine-11");
  struct Case {
    std::string name;
    std::function<void(protocol::Report&)> spoil;
  };
  const std::vector<Case> refused = {
      {"ESC in the hostname", [](protocol::Report& r) { r.hostname = "pc\x1b[2Jx"; }},
      {"CR in the hostname", [](protocol::Report& r) { r.hostname = "pc\rFAKE"; }},
      {"NUL in the hostname", [](protocol::Report& r) { r.hostname = std::string("pc\0x", 4); }},
      {"CSI (C1) in the hostname",
       [](protocol::Report& r) {
         r.hostname =
             "pc\xc2\x9b"
             "2J";
       }},
      {"RLO in the hostname",
       [](protocol::Report& r) {
         r.hostname =
             "pc\xe2\x80\xae"
             "x";
       }},
      {"DEL in a check id", [](protocol::Report& r) { r.checks[0].id = "antivirus\x7f"; }},
      {"newline in a check id", [](protocol::Report& r) { r.checks[0].id = "antivirus\nyara"; }},
  };
  for (const auto& c : refused) {
    SCOPED_TRACE(c.name);
    auto report =
        MakeReport(device.device_id, NewUuid(), now_, {{"antivirus", CheckStatus::kPass}});
    c.spoil(report);
    const HttpResponse response = SendReport(device, report);
    EXPECT_EQ(response.status, 400) << response.body;
    EXPECT_EQ(ErrorCodeOf(response), "invalid_report");
  }
  EXPECT_EQ(StoredReports(device.device_id), 0u);

  // Free text keeps what it says, with the control characters made visible.
  auto report = MakeReport(device.device_id, NewUuid(), now_, {{"antivirus", CheckStatus::kFail}});
  report.hostname = "pc-11-renamed";
  report.checks[0].summary = "engine \x1b[32mOK\x1b[0m\r\nstatus: pass\x7f";
  report.checks[0].facts = {{"product\x1b",
                             "clam\x07"
                             "av"},
                            {"list", {"a\x1b", 1}}};
  report.os.name = "Debian\x1b]0;owned\x07";
  ASSERT_EQ(SendReport(device, report).status, 200);
  const json body = BodyOf(Operator(Op("GET", "/api/v1/devices/" + device.device_id, analyst_)));
  const json& check = body["latest_report"]["checks"][0];
  EXPECT_EQ(check["summary"], "engine \\x1b[32mOK\\x1b[0m\\x0d\\x0astatus: pass\\x7f");
  EXPECT_EQ(check["facts"], (json{{"product\\x1b", "clam\\x07av"}, {"list", {"a\\x1b", 1}}}));
  EXPECT_EQ(body["latest_report"]["os"]["name"], "Debian\\x1b]0;owned\\x07");
  // The enrolled name stays the device's name; the report's is an observation beside it.
  EXPECT_EQ(body["device"]["hostname"], "pc-11");
  EXPECT_EQ(body["device"]["reported_hostname"], "pc-11-renamed");
}

// Issue 13, finding 7 (failed on the old code: every renewal was answered).
TEST_F(SocServiceTest, RenewalsAreRateLimitedPerDevice) {
  SocConfig config;
  config.renew_burst = 3;
  config.renew_refill = hours(8);
  service_ = MakeService(config);
  const Enrolled device = Enroll("laocai", "pc-12", "machine-12");
  const Enrolled other = Enroll("laocai", "pc-13", "machine-13");
  const std::string body = json{{"csr_pem", NewCsr()}}.dump();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Agent(AgentPost("/v1/renew", body, device.peer)).status, 200) << i;
  }
  const HttpResponse limited = Agent(AgentPost("/v1/renew", body, device.peer));
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_FALSE(HeaderOf(limited, "Retry-After").empty());
  // Nothing was signed or superseded for the refused one: three renewals, two superseded.
  auto revoked = real_->ListRevokedCertificates(now_);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->size(), 2u);
  // Another device is not affected, and the device gets one more after the refill interval.
  EXPECT_EQ(Agent(AgentPost("/v1/renew", body, other.peer)).status, 200);
  now_ += hours(8);
  EXPECT_EQ(Agent(AgentPost("/v1/renew", body, device.peer)).status, 200);
}

// Issue 13, finding 7 (failed on the old code: each GET signed a new CRL).
TEST_F(SocServiceTest, TheCrlIsSignedOnceAndAgainOnlyAfterAChangeOrHalfItsValidity) {
  const Enrolled device = Enroll("laocai", "pc-14", "machine-14");
  auto get = [&] {
    const HttpResponse response = Agent(AgentGet("/v1/crl.pem"));
    EXPECT_EQ(response.status, 200);
    return response.body;
  };
  const std::string first = get();
  now_ += seconds(5);
  EXPECT_EQ(get(), first);
  now_ += hours(24);
  EXPECT_EQ(get(), first);
  ASSERT_EQ(Operator(Op("POST", "/api/v1/devices/" + device.device_id + "/revoke", admin_)).status,
            200);
  const std::string after_revocation = get();
  EXPECT_NE(after_revocation, first);
  auto info = protocol::InspectCrlPem(after_revocation, ca_->cert_pem());
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  now_ += SocConfig{}.crl_validity / 2;
  EXPECT_NE(get(), after_revocation);  // re-signed before its nextUpdate
}

TEST_F(SocServiceTest, TheCrlIsSignedByTheCaAndListsRevokedCertificates) {
  const std::string crl_file = dir_.File("crl.pem");
  SocConfig config;
  config.crl_file = crl_file;
  service_ = MakeService(config);
  const Enrolled a = Enroll("laocai");
  const Enrolled b = Enroll("laocai");
  ASSERT_TRUE(service_->PublishCrl().ok());
  ASSERT_EQ(Operator(Op("POST", "/api/v1/devices/" + a.device_id + "/revoke", admin_)).status, 200);
  // Rewritten by the revocation, and served on the agent port with the same content (the
  // signatures differ: ECDSA is randomised).
  const HttpResponse served = Agent(AgentGet("/v1/crl.pem"));
  ASSERT_EQ(served.status, 200);
  for (const std::string& pem : {*ReadFileToString(crl_file), served.body}) {
    auto crl = protocol::InspectCrlPem(pem, ca_->cert_pem());
    ASSERT_TRUE(crl.ok()) << pem;
    EXPECT_TRUE(crl->signature_valid);
    const std::set<std::string> serials(crl->serials_hex.begin(), crl->serials_hex.end());
    EXPECT_EQ(serials, std::set<std::string>{a.peer.serial_hex});
    EXPECT_FALSE(serials.count(b.peer.serial_hex));
  }
}

// --- group commit, back-pressure and batches ------------------------------------------------

namespace {

// Collects answers that may come later, from the ingest writer's thread.
class LateAnswers {
 public:
  Responder For(const std::string& name) {
    return [this, name](HttpResponse response) {
      std::lock_guard lock(mu_);
      answers_[name] = std::move(response);
      cv_.notify_all();
    };
  }
  bool Has(const std::string& name) {
    std::lock_guard lock(mu_);
    return answers_.count(name) != 0;
  }
  HttpResponse Wait(const std::string& name) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return answers_.count(name) != 0; });
    return answers_[name];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, HttpResponse> answers_;
};

}  // namespace

TEST_F(SocServiceTest, WithAWriterReportsAreAnsweredAfterCommitAndA503WhenTheQueueIsFull) {
  const Enrolled device = Enroll("laocai");
  testing::GatedStorage gated(*real_);
  gated.Close();
  IngestWriter writer(gated, IngestWriter::Options{1, 10});
  service_->SetIngestWriter(&writer);
  LateAnswers answers;
  auto send = [&](const std::string& name, const protocol::Report& report) {
    service_->HandleAgent(AgentPost("/v1/reports", protocol::ToJson(report).dump(), device.peer),
                          answers.For(name));
  };
  const auto a = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const auto b = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const auto c = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  send("a", a);
  gated.WaitForCommits(1);  // a is inside the commit, the queue is empty
  send("b", b);             // takes the one queue slot
  send("c", c);             // refused at once
  EXPECT_FALSE(answers.Has("a")) << "no acknowledgement before the commit";
  EXPECT_FALSE(answers.Has("b"));
  ASSERT_TRUE(answers.Has("c"));
  const HttpResponse refused = answers.Wait("c");
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(ErrorCodeOf(refused), "overloaded");
  EXPECT_EQ(HeaderOf(refused, "Retry-After"), "2");
  gated.Open();
  EXPECT_EQ(answers.Wait("a").status, 200);
  const HttpResponse second = answers.Wait("b");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(BodyOf(second)["report_id"], b.report_id);
  writer.Stop();
  EXPECT_EQ(StoredReports(device.device_id), 2u) << "the refused report was not stored";
  service_->SetIngestWriter(nullptr);
}

TEST_F(SocServiceTest, ABatchAnswersEveryReportInOrder) {
  const Enrolled device = Enroll("laocai");
  const Enrolled other = Enroll("laocai");
  const auto first = MakeReport(device.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const auto foreign = MakeReport(other.device_id, NewUuid(), kT0, {{"yara", CheckStatus::kPass}});
  const auto second =
      MakeReport(device.device_id, NewUuid(), kT0 + seconds(5), {{"yara", CheckStatus::kFail}});
  ASSERT_EQ(SendReport(device, first).status, 200);  // stored before: a duplicate in the batch
  json batch = {{"reports",
                 {protocol::ToJson(first), protocol::ToJson(foreign), json{{"report_id", 7}},
                  protocol::ToJson(second)}}};
  for (const bool with_writer : {false, true}) {
    SCOPED_TRACE(with_writer ? "group commit writer" : "direct");
    std::unique_ptr<IngestWriter> writer;
    if (with_writer) {
      writer = std::make_unique<IngestWriter>(*real_, IngestWriter::Options{});
      service_->SetIngestWriter(writer.get());
    }
    LateAnswers answers;
    service_->HandleAgent(AgentPost("/v1/reports/batch", batch.dump(), device.peer),
                          answers.For("batch"));
    const HttpResponse response = answers.Wait("batch");
    service_->SetIngestWriter(nullptr);
    ASSERT_EQ(response.status, 200) << response.body;
    const json results = BodyOf(response)["results"];
    ASSERT_EQ(results.size(), 4u) << results.dump();
    EXPECT_EQ(results[0]["status"], "committed");
    EXPECT_EQ(results[0]["duplicate"], true);
    EXPECT_EQ(results[1]["status"], "rejected");
    EXPECT_EQ(results[1]["http_status"], 422);
    EXPECT_EQ(results[2]["status"], "rejected");
    EXPECT_EQ(results[2]["error"]["code"], "invalid_report");
    EXPECT_EQ(results[3]["status"], "committed");
    EXPECT_EQ(results[3]["report_id"], second.report_id);
    EXPECT_EQ(results[3]["duplicate"], with_writer) << "stored by the first round";
  }
  EXPECT_EQ(StoredReports(device.device_id), 2u);
  EXPECT_EQ(StoredReports(other.device_id), 0u);
}

TEST_F(SocServiceTest, MalformedBatchesAre400) {
  const Enrolled device = Enroll("laocai");
  for (const std::string& body : std::vector<std::string>{
           "{}", "[]", R"({"reports":[]})", R"({"reports":{}})", R"({"reports":"x"})"}) {
    const HttpResponse response = Agent(AgentPost("/v1/reports/batch", body, device.peer));
    EXPECT_EQ(response.status, 400) << body;
  }
  json many = {{"reports", json::array()}};
  for (int i = 0; i < 101; ++i) {
    many["reports"].push_back(json::object());
  }
  EXPECT_EQ(Agent(AgentPost("/v1/reports/batch", many.dump(), device.peer)).status, 400);
  EXPECT_EQ(Agent(AgentPost("/v1/reports/batch", R"({"reports":[{}]})", std::nullopt)).status, 401);
}

}  // namespace
}  // namespace cg::soc

// The SocService fixture of the service tests (service_test.cpp, service_devices_test.cpp,
// service_lifecycle_test.cpp): SocService driven with HttpRequest objects (no network) over a
// real SQLite database in a temporary directory and a real CA. The clock is a variable of the
// test. Each test program includes it once (its helpers are in an unnamed namespace).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "policy/signing.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/forwarding_storage.h"
#include "tests/unit/testing/gated_storage.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::HttpRequest;
using protocol::HttpResponse;
using protocol::PeerCertificate;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};  // 2026-09-21T12:53:20Z
constexpr const char* kPeer = "10.20.30.40:51000";

inline std::set<std::string> Keys(const json& object) {
  std::set<std::string> keys;
  for (const auto& [key, value] : object.items()) {
    keys.insert(key);
  }
  return keys;
}

inline std::string HeaderOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

inline json BodyOf(const HttpResponse& response) {
  json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(body.is_object()) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  return body;
}

inline std::string ErrorCodeOf(const HttpResponse& response) {
  const json body = BodyOf(response);
  if (!body.contains("error") || !body["error"].contains("code")) {
    ADD_FAILURE() << "not an error body: " << response.body;
    return "";
  }
  return body["error"]["code"].get<std::string>();
}

inline std::string ErrorMessageOf(const HttpResponse& response) {
  const json body = BodyOf(response);
  return body.contains("error") ? body["error"].value("message", "") : "";
}

// Forwards to a real storage; AppendAudit fails while fail_audit is set.
class AuditSwitchStorage : public testing::ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;
  bool fail_audit = false;

  Status AppendAudit(const AuditEntry& e) override {
    if (fail_audit) {
      return MakeError(ErrorCode::kDatabase, "disk I/O error");
    }
    return real_.AppendAudit(e);
  }
};

struct Enrolled {
  std::string device_id;
  std::string group;
  std::string certificate_pem;
  PeerCertificate peer;  // what the listener would pass for this device's connection
};

class SocServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
    ASSERT_TRUE(real.ok()) << real.error().ToString();
    real_ = std::move(real).value();
    storage_ = std::make_unique<AuditSwitchStorage>(*real_);
    auto ca =
        protocol::CertificateAuthority::Create("CounterGuard Test SOC CA", hours(24 * 3650), kT0);
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_.emplace(std::move(ca).value());
    service_ = MakeService(SocConfig{});
    auto admin = service_->CreateOperatorToken("root", "admin", std::nullopt);
    auto analyst = service_->CreateOperatorToken("nguyen.van.a", "analyst", std::nullopt);
    ASSERT_TRUE(admin.ok() && analyst.ok());
    admin_ = *admin;
    analyst_ = *analyst;
  }

  std::unique_ptr<SocService> MakeService(SocConfig config) {
    return std::make_unique<SocService>(
        *storage_, *ca_, [this] { return now_; }, config);
  }

  // Runs a handler and returns its one answer (the handlers answer before returning).
  template <typename Handle>
  static HttpResponse Answer(Handle&& handle) {
    std::optional<HttpResponse> answer;
    int calls = 0;
    handle([&](HttpResponse response) {
      ++calls;
      answer = std::move(response);
    });
    EXPECT_EQ(calls, 1);
    return answer.value_or(HttpResponse{});
  }

  HttpResponse Agent(HttpRequest request, SocService* service = nullptr) {
    SocService* s = service != nullptr ? service : service_.get();
    return Answer([&](Responder r) { s->HandleAgent(std::move(request), std::move(r)); });
  }

  HttpResponse Operator(HttpRequest request) {
    return Answer([&](Responder r) { service_->HandleOperator(std::move(request), std::move(r)); });
  }

  static HttpRequest AgentGet(const std::string& path) {
    HttpRequest r;
    r.method = "GET";
    r.target = path;
    r.peer_address = kPeer;
    return r;
  }

  static HttpRequest AgentPost(const std::string& path, std::string body,
                               std::optional<PeerCertificate> peer) {
    HttpRequest r;
    r.method = "POST";
    r.target = path;
    r.body = std::move(body);
    r.peer_address = kPeer;
    r.peer_cert = std::move(peer);
    return r;
  }

  static HttpRequest Op(const std::string& method, const std::string& target,
                        const std::string& token, std::string body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + token);
    }
    r.body = std::move(body);
    r.peer_address = "127.0.0.1:40000";
    return r;
  }

  // An enrollment token through the admin API; returns the secret.
  std::string NewEnrollToken(const std::string& group, int uses = 1) {
    auto response = Operator(
        Op("POST", "/api/v1/enroll-tokens", admin_, json{{"group", group}, {"uses", uses}}.dump()));
    EXPECT_EQ(response.status, 201) << response.body;
    return BodyOf(response).value("token", "");
  }

  // Every enrollment comes from another machine unless `machine_id` says otherwise (the same
  // machine enrolling twice is a conflict).
  static std::string EnrollBody(const std::string& token, const std::string& csr_pem,
                                const std::string& hostname = "pc-01",
                                const std::string& machine_id = "") {
    return json{{"token", token},
                {"csr_pem", csr_pem},
                {"hostname", hostname},
                {"machine_id", machine_id.empty() ? "4c4c4544-" + NewUuid() : machine_id}}
        .dump();
  }

  static std::string NewCsr() {
    auto key = protocol::GenerateP256Key();
    EXPECT_TRUE(key.ok());
    auto csr = protocol::MakeCsrPem(**key, "whatever-the-agent-says");
    EXPECT_TRUE(csr.ok());
    return csr.value_or("");
  }

  HttpResponse EnrollWith(const std::string& token, const std::string& hostname = "pc-01",
                          const std::string& machine_id = "") {
    return Agent(
        AgentPost("/v1/enroll", EnrollBody(token, NewCsr(), hostname, machine_id), std::nullopt));
  }

  Enrolled Enroll(const std::string& group, const std::string& hostname = "pc-01",
                  const std::string& machine_id = "") {
    const HttpResponse response = EnrollWith(NewEnrollToken(group), hostname, machine_id);
    EXPECT_EQ(response.status, 200) << response.body;
    const json body = BodyOf(response);
    Enrolled e;
    e.device_id = body.value("device_id", "");
    e.group = body.value("group", "");
    e.certificate_pem = body.value("certificate_pem", "");
    auto info = protocol::InspectCertificatePem(e.certificate_pem);
    EXPECT_TRUE(info.ok());
    if (info.ok()) {
      e.peer = {info->subject_cn, info->subject_ou, info->serial_hex};
    }
    return e;
  }

  static protocol::Report MakeReport(const std::string& device_id, const std::string& report_id,
                                     SysTime collected_at,
                                     std::vector<std::pair<std::string, CheckStatus>> checks) {
    protocol::Report r;
    r.report_id = report_id;
    r.device_id = device_id;
    r.hostname = "pc-01";
    r.os = {"Debian GNU/Linux", "12", "6.1.0-18-amd64", "x86_64"};
    r.agent_version = "0.1.0";
    r.collected_at = FormatRfc3339(collected_at);
    r.policy_version = 4;
    r.policy_hash = std::string(64, 'a');
    for (auto& [id, status] : checks) {
      protocol::CheckResult c;
      c.id = id;
      c.status = status;
      c.severity = protocol::Severity::kHigh;
      c.summary = id + " is " + std::string(protocol::ToString(status));
      c.facts = {{"engine", "clamav"}};
      r.checks.push_back(std::move(c));
    }
    return r;
  }

  HttpResponse SendReport(const Enrolled& device, const protocol::Report& report) {
    return Agent(AgentPost("/v1/reports", protocol::ToJson(report).dump(), device.peer));
  }

  size_t StoredReports(const std::string& device_id) {
    auto history = real_->ReportHistory(device_id, 1000);
    EXPECT_TRUE(history.ok());
    return history.value_or(std::vector<StoredReport>{}).size();
  }

  TempDir dir_;
  SysTime now_ = kT0;
  std::unique_ptr<Storage> real_;
  std::unique_ptr<AuditSwitchStorage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  std::string admin_;
  std::string analyst_;
};

}  // namespace
}  // namespace cg::soc

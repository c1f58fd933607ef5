// The walking skeleton end to end with the real binaries on loopback: init, serve, enroll,
// one agent cycle over mutual TLS, what the analyst sees, and what bad input gets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;

class SkeletonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc");
    ASSERT_TRUE(soc_->started()) << soc_->error();
  }

  std::string NewEnrollToken(const std::string& group = "laocai/bac-ha") {
    auto r = RunCmd(soc_->Ctl({"enroll-token", "create", "--group", group}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.LastLine();
  }

  std::string Enroll(const std::string& state_dir) {
    auto r =
        RunCmd({AgentBin(), "enroll", "--server", "localhost:" + std::to_string(soc_->agent_port()),
                "--token", NewEnrollToken(), "--ca", soc_->ca(), "--state-dir", state_dir,
                // Several agents on this one host: each is another machine to the SOC.
                "--machine-id", NewUuid()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto status = RunCmd({AgentBin(), "status", "--state-dir", state_dir, "--json"});
    EXPECT_EQ(status.exit_code, 0) << status.err;
    return json::parse(status.out).value("device_id", "");
  }

  Result<std::unique_ptr<protocol::HttpsClient>> Client(const std::string& cert = "",
                                                        const std::string& key = "") {
    return soc_->AgentClient(cert, key);
  }

  TempDir tmp_;
  std::unique_ptr<SocServer> soc_;
};

TEST_F(SkeletonTest, AgentReportIsStoredAsSentAndShownToAnalysts) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(state);
  ASSERT_TRUE(IsUuid(device_id));

  // The device key never left the device and is root-only; the certificate names the device.
  struct stat st {};
  ASSERT_EQ(stat((state + "/device.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto cert = protocol::InspectCertificatePem(ReadFile(state + "/device.crt"));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->subject_cn, device_id);
  EXPECT_EQ(cert->subject_ou, "laocai/bac-ha");

  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  ASSERT_EQ(run.exit_code, 0) << run.err << "\nSOC log:\n" << soc_->log();
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
  const std::string report_id = status.value("last_report_id", "");
  EXPECT_EQ(status.value("spool_reports", -1), 0);
  EXPECT_TRUE(status["last_report_at"].is_string());

  // What the agent evaluates locally right now is what the SOC stored from the run.
  auto local = RunCmd({AgentBin(), "check", "--json"});
  ASSERT_NE(local.exit_code, -1);
  const json local_checks = json::parse(local.out).at("checks");

  auto device = RunCmd(soc_->Ctl({"--json", "device", device_id}));
  ASSERT_EQ(device.exit_code, 0) << device.err;
  const json d = json::parse(device.out);
  const json& stored = d.at("latest_report");
  EXPECT_EQ(stored.value("device_id", ""), device_id);
  EXPECT_EQ(stored.value("agent_version", ""), CG_VERSION);
  EXPECT_TRUE(IsUuid(stored.value("report_id", "")));
  ASSERT_EQ(stored.at("checks").size(), local_checks.size());
  for (size_t i = 0; i < local_checks.size(); ++i) {
    EXPECT_EQ(stored["checks"][i]["id"], local_checks[i]["id"]);
    EXPECT_EQ(stored["checks"][i]["status"], local_checks[i]["status"]);
    if (local_checks[i]["id"] == "password_age") {  // facts that cannot change within the test
      EXPECT_EQ(stored["checks"][i]["facts"], local_checks[i]["facts"]);
    }
  }
  EXPECT_EQ(d.at("device").value("group", ""), "laocai/bac-ha");

  auto devices = RunCmd(soc_->Ctl({"--json", "devices"}));
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  const json list = json::parse(devices.out);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  for (const char* key :
       {"device_id", "hostname", "group", "status", "last_seen", "policy_version"}) {
    EXPECT_TRUE(list[0].contains(key)) << key;
  }
  EXPECT_NE(list[0].value("status", ""), "unknown");

  auto history = RunCmd(soc_->Ctl({"--json", "history", device_id}));
  ASSERT_EQ(history.exit_code, 0) << history.err;
  const json reports = json::parse(history.out).at("reports");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].value("report_id", ""), report_id);

  // The human table shows the device and its checks.
  auto table = RunCmd(soc_->Ctl({"device", device_id}));
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("password_age"), std::string::npos) << table.out;
}

TEST_F(SkeletonTest, EnrollTokenJsonAndTokensAreSingleUse) {
  auto r = RunCmd(soc_->Ctl({"--json", "enroll-token", "create", "--group", "laocai/sapa"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token = json::parse(r.out).value("token", "");
  ASSERT_GE(token.size(), 22u);  // >= 128 bits, base64url
  const std::string server = "localhost:" + std::to_string(soc_->agent_port());
  auto first = RunCmd({AgentBin(), "enroll", "--server", server, "--token", token, "--ca",
                       soc_->ca(), "--state-dir", tmp_.path() + "/a1"});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  auto second = RunCmd({AgentBin(), "enroll", "--server", server, "--token", token, "--ca",
                        soc_->ca(), "--state-dir", tmp_.path() + "/a2"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("enrollment refused"), std::string::npos) << second.err;
}

TEST_F(SkeletonTest, ClientWithoutCertificateIsRefused) {
  auto client = Client();
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  auto r = (*client)->Request("POST", "/v1/reports", "{}");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 401);
}

TEST_F(SkeletonTest, ClientCertificateFromAnotherCaIsRefused) {
  const auto now = std::chrono::system_clock::now();
  auto foreign = protocol::CertificateAuthority::Create("Foreign CA", std::chrono::hours(24), now);
  ASSERT_TRUE(foreign.ok());
  auto key = protocol::GenerateP256Key();
  ASSERT_TRUE(key.ok());
  auto csr = protocol::MakeCsrPem(**key, "x");
  ASSERT_TRUE(csr.ok());
  auto cert =
      foreign->IssueDeviceCertificate(*csr, NewUuid(), "laocai/x", std::chrono::hours(1), now);
  ASSERT_TRUE(cert.ok());
  const std::string cert_file = tmp_.path() + "/foreign.crt";
  const std::string key_file = tmp_.path() + "/foreign.key";
  ASSERT_TRUE(WriteFileAtomic(cert_file, *cert, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(key_file, *protocol::PrivateKeyToPem(**key), 0600).ok());
  auto client = Client(cert_file, key_file);
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  auto r = (*client)->Request("POST", "/v1/reports", "{}");
  EXPECT_FALSE(r.ok() && r->status == 200);
  if (r.ok()) {
    ADD_FAILURE() << "a certificate from a foreign CA got an HTTP answer: " << r->status;
  }
}

TEST_F(SkeletonTest, SocSurvivesGarbageAndRejectsBadBodies) {
  // Raw garbage on the TLS port, then a half-open connection that says nothing.
  for (int i = 0; i < 3; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(soc_->agent_port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string garbage = "GET / HTTP/1.1\r\n\x16\x03\x01\xff\xff garbage \x00\x01";
    (void)!write(fd, garbage.data(), garbage.size());
    close(fd);
  }
  // Malformed JSON and an oversized body from an enrolled device.
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(state);
  auto client = Client(state + "/device.crt", state + "/device.key");
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  auto bad = (*client)->Request("POST", "/v1/reports", "{\"report_id\": ");
  ASSERT_TRUE(bad.ok()) << bad.error().ToString();
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("\"error\""), std::string::npos);
  auto client2 = Client(state + "/device.crt", state + "/device.key");
  ASSERT_TRUE(client2.ok());
  auto huge = (*client2)->Request("POST", "/v1/reports", std::string(2u << 20, 'x'));
  if (huge.ok()) {
    EXPECT_EQ(huge->status, 413);
  }
  // Nothing partial was stored, and the SOC still serves.
  auto history = RunCmd(soc_->Ctl({"--json", "history", device_id}));
  ASSERT_EQ(history.exit_code, 0) << history.err << soc_->log();
  EXPECT_TRUE(json::parse(history.out).at("reports").empty());
  EXPECT_TRUE(soc_->child().Running());
  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  EXPECT_EQ(run.exit_code, 0) << run.err;
}

TEST_F(SkeletonTest, BadInputGetsOneClearLineAndNonZeroExit) {
  struct Case {
    const char* name;
    std::vector<std::string> argv;
    const char* expect_in_stderr;
  };
  TempDir other;
  SocServer foreign(other.path() + "/soc");  // another SOC: its CA is the wrong one to pin
  ASSERT_TRUE(foreign.started());
  const std::string server = "localhost:" + std::to_string(soc_->agent_port());
  const std::string token = NewEnrollToken();
  // A port nothing listens on: bind one, remember it, close it.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string closed_port = std::to_string(ntohs(addr.sin_port));
  close(fd);

  const std::vector<Case> cases = {
      {"unknown flag", {AgentBin(), "check", "--frobnicate"}, "frobnicate"},
      {"missing CA file",
       {AgentBin(), "enroll", "--server", server, "--token", token, "--ca", "/nonexistent/ca.pem"},
       "ca.pem"},
      {"wrong CA pinned",
       {AgentBin(), "enroll", "--server", server, "--token", token, "--ca", foreign.ca(),
        "--state-dir", tmp_.path() + "/w"},
       "CA"},
      {"unreachable server",
       {AgentBin(), "enroll", "--server", "localhost:" + closed_port, "--token", token, "--ca",
        soc_->ca(), "--state-dir", tmp_.path() + "/u"},
       "connect"},
      {"server certificate for another name",
       {AgentBin(), "enroll", "--server", "127.0.0.1:" + std::to_string(soc_->agent_port()),
        "--token", token, "--ca", soc_->ca(), "--state-dir", tmp_.path() + "/n"},
       "host name"},
      {"run without enrollment",
       {AgentBin(), "run", "--once", "--state-dir", tmp_.path() + "/none"},
       "not enrolled"},
      {"cgctl without token", {CtlBin(), "--ca", soc_->ca(), "devices"}, "token"},
      {"cgctl bad status filter", soc_->Ctl({"devices", "--status", "bogus"}), "bogus"},
      {"cgctl unknown device", soc_->Ctl({"device", NewUuid()}), "404"},
      {"cg-soc init on an existing data dir",
       {SocBin(), "init", "--data-dir", soc_->data_dir()},
       "already"},
  };
  for (const auto& c : cases) {
    auto r = RunCmd(c.argv);
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_NE(r.exit_code, -1) << c.name << ": crashed or hung";
    EXPECT_NE(r.err.find(c.expect_in_stderr), std::string::npos)
        << c.name << ": stderr was: " << r.err;
    // One line: the message, not a dump.
    EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 3) << c.name << ": " << r.err;
  }
}

TEST_F(SkeletonTest, RevokedDeviceIsRefusedAtOnceWhileOthersKeepWorking) {
  const std::string a = tmp_.path() + "/a";
  const std::string b = tmp_.path() + "/b";
  const std::string id_a = Enroll(a);
  const std::string id_b = Enroll(b);
  ASSERT_EQ(RunCmd({AgentBin(), "run", "--once", "--state-dir", a}).exit_code, 0);
  // A connection device A keeps open is closed by the revocation.
  auto kept = Client(a + "/device.crt", a + "/device.key");
  ASSERT_TRUE(kept.ok());
  auto before = (*kept)->Request("POST", "/v1/reports", "{");
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(before->status, 400);

  auto analyst = RunCmd(soc_->Ctl({"device", "revoke", id_a}, tmp_.path() + "/none"));
  EXPECT_NE(analyst.exit_code, 0);
  auto revoke = RunCmd(soc_->Ctl({"device", "revoke", id_a}));
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;

  auto refused = RunCmd({AgentBin(), "run", "--once", "--state-dir", a});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("revoked"), std::string::npos) << refused.err;
  // Issue 14: `cg-agent status` said "enrolled: yes" with no error. The SOC refuses a revoked
  // device in the TLS handshake (alert certificate_revoked), which the agent tells apart.
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", a, "--json"}).out);
  EXPECT_TRUE(status.value("revoked", false)) << status.dump();
  EXPECT_TRUE(ParseRfc3339(status.value("revoked_at", "")).ok()) << status.dump();
  EXPECT_NE(status.value("last_error", "").find("refused the client certificate as revoked"),
            std::string::npos)
      << status.dump();
  auto text = RunCmd({AgentBin(), "status", "--state-dir", a});
  EXPECT_NE(text.out.find("enrolled:        yes, but revoked"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("last error:"), std::string::npos) << text.out;
  EXPECT_FALSE(json::parse(RunCmd({AgentBin(), "status", "--state-dir", b, "--json"}).out)
                   .value("revoked", true));
  auto after = (*kept)->Request("POST", "/v1/reports", "{");
  EXPECT_FALSE(after.ok() && after->status == 400) << "the kept-alive connection still served";
  EXPECT_EQ(RunCmd({AgentBin(), "run", "--once", "--state-dir", b}).exit_code, 0);

  auto devices = json::parse(RunCmd(soc_->Ctl({"--json", "devices"})).out);
  ASSERT_EQ(devices.size(), 2u);
  for (const auto& d : devices) {
    // Revoked is shown beside the last posture (issue 15).
    if (d.value("device_id", "") == id_a) {
      EXPECT_TRUE(d.value("revoked", false)) << d.dump();
    } else {
      EXPECT_EQ(d.value("device_id", ""), id_b);
      EXPECT_FALSE(d.value("revoked", true)) << d.dump();
    }
  }
  auto revoked = json::parse(RunCmd(soc_->Ctl({"--json", "devices", "--status", "revoked"})).out);
  ASSERT_EQ(revoked.size(), 1u);
  EXPECT_EQ(revoked[0].value("device_id", ""), id_a);
}

TEST_F(SkeletonTest, ServiceStopsCleanlyOnSigterm) {
  const std::string state = tmp_.path() + "/agent";
  Enroll(state);
  Child agent({AgentBin(), "run", "--state-dir", state, "--interval", "3600"},
              tmp_.path() + "/agent.log");
  // Bounded wait for the first cycle to be committed.
  for (int i = 0; i < 200; ++i) {
    auto s = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
    if (s["last_report_at"].is_string()) {
      break;
    }
    usleep(50 * 1000);
  }
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(std::chrono::seconds(10)), 0) << ReadFile(tmp_.path() + "/agent.log");
  soc_->child().Signal(SIGTERM);
  EXPECT_EQ(soc_->child().Wait(std::chrono::seconds(10)), 0) << soc_->log();
}

}  // namespace
}  // namespace cg::testing

// Device identity and operator access end to end with the real binaries on loopback (issue 4):
// enrollment tokens refused for every reason, operator tokens and roles, throttled failed
// authentication, certificate renewal with an advanced clock, expiry and re-enrollment,
// conflicts, the CRL, rate limits, and client certificates the agent port must refuse.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The serials a PEM CRL lists (lower-case hex), when the SOC's CA signed it; empty otherwise.
std::set<std::string> CrlSerials(const std::string& pem, const std::string& ca_pem) {
  auto info = protocol::InspectCrlPem(pem, ca_pem);
  if (!info.ok() || !info->signature_valid) {
    return {};
  }
  return {info->serials_hex.begin(), info->serials_hex.end()};
}

// What a crafted client certificate looks like.
struct CraftSpec {
  std::string cn, ou, serial_hex;
  SysTime not_before, not_after;
  const char* eku = "clientAuth";  // nullptr: no extendedKeyUsage
  bool is_ca = false;
};

// A certificate and key signed with the SOC CA's own key (read from its data dir): a
// certificate that chains to the trusted CA, carries an enrolled device's name and serial,
// and differs from a good one only where the spec says.
bool Craft(const std::string& data_dir, const CraftSpec& spec, const std::string& stem) {
  auto ca_pem = ReadFileToString(data_dir + "/ca.pem");
  auto ca_key_pem = ReadFileToString(data_dir + "/ca.key");
  if (!ca_pem.ok() || !ca_key_pem.ok()) {
    return false;
  }
  auto ca = protocol::CertificateFromPem(*ca_pem);
  auto ca_key = protocol::PrivateKeyFromPem(*ca_key_pem);
  auto key = protocol::GenerateP256Key();
  if (!ca.ok() || !ca_key.ok() || !key.ok()) {
    return false;
  }
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  BIGNUM* bn = nullptr;
  bool ok = x && X509_set_version(x.get(), 2) == 1 && BN_hex2bn(&bn, spec.serial_hex.c_str()) > 0 &&
            BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get())) != nullptr;
  BN_free(bn);
  ok = ok &&
       ASN1_TIME_set(X509_getm_notBefore(x.get()), ToUnixSeconds(spec.not_before)) != nullptr &&
       ASN1_TIME_set(X509_getm_notAfter(x.get()), ToUnixSeconds(spec.not_after)) != nullptr;
  X509_NAME* name = X509_get_subject_name(x.get());
  ok = ok &&
       X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(spec.ou.c_str()), -1, -1,
                                  0) == 1 &&
       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1,
                                  0) == 1 &&
       X509_set_issuer_name(x.get(), X509_get_subject_name(ca->get())) == 1 &&
       X509_set_pubkey(x.get(), key->get()) == 1;
  auto add = [&](int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca->get(), x.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    const bool added = ext != nullptr && X509_add_ext(x.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return added;
  };
  ok = ok && add(NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
       add(NID_key_usage,
           spec.is_ca ? "critical,digitalSignature,keyCertSign" : "critical,digitalSignature") &&
       (spec.eku == nullptr || add(NID_ext_key_usage, spec.eku)) &&
       X509_sign(x.get(), ca_key->get(), EVP_sha256()) > 0;
  if (!ok) {
    return false;
  }
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, x.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  const std::string pem(data, static_cast<size_t>(n));
  BIO_free(out);
  return WriteFileAtomic(stem + ".crt", pem, 0600).ok() &&
         WriteFileAtomic(stem + ".key", *protocol::PrivateKeyToPem(**key), 0600).ok();
}

class IdentityTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& serve_args = {}) {
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc", serve_args);
    ASSERT_TRUE(soc_->started()) << soc_->error();
  }
  void SetUp() override {
    if (!soc_) {
      Start();
    }
  }

  std::string Server() const { return "localhost:" + std::to_string(soc_->agent_port()); }

  std::string NewEnrollToken(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"enroll-token", "create", "--group", "laocai/bac-ha"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunCmd(soc_->Ctl(args));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.LastLine();
  }

  CommandOutput EnrollWith(const std::string& token, const std::string& state,
                           const std::string& machine_id,
                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {AgentBin(),    "enroll", "--server",     Server(),
                                     "--token",     token,    "--ca",         soc_->ca(),
                                     "--state-dir", state,    "--machine-id", machine_id};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCmd(argv);
  }

  std::string Enroll(const std::string& state, const std::string& machine_id = NewUuid()) {
    auto r = EnrollWith(NewEnrollToken(), state, machine_id);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return DeviceIdOf(state);
  }

  static std::string DeviceIdOf(const std::string& state) {
    auto status = RunCmd({AgentBin(), "status", "--state-dir", state, "--json"});
    return json::parse(status.out, nullptr, false).value("device_id", "");
  }

  static std::string SerialOf(const std::string& cert_file) {
    auto info = protocol::InspectCertificatePem(ReadFile(cert_file));
    return info.ok() ? info->serial_hex : "";
  }

  json CtlJson(const std::vector<std::string>& args, const std::string& token_file = "") {
    std::vector<std::string> all = {"--json"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = RunCmd(soc_->Ctl(all, token_file));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // POST /v1/reports "{" with this client certificate: 400 means TLS let it in.
  Result<protocol::HttpResponse> ReportWith(const std::string& cert, const std::string& key) {
    CG_ASSIGN_OR_RETURN(auto client, soc_->AgentClient(cert, key));
    return client->Request("POST", "/v1/reports", "{");
  }

  std::string WriteToken(const std::string& name, const std::string& token) {
    const std::string file = tmp_.path() + "/" + name + ".token";
    EXPECT_TRUE(WriteFileAtomic(file, token + "\n", 0600).ok());
    return file;
  }

  TempDir tmp_;
  std::unique_ptr<SocServer> soc_;
};

TEST_F(IdentityTest, EnrollmentTokensAreRefusedForEveryReasonWithAClearMessageAndAudited) {
  const std::string expiring = NewEnrollToken({"--ttl", "1s"});
  const std::string used = NewEnrollToken();
  ASSERT_EQ(EnrollWith(used, tmp_.path() + "/ok", NewUuid()).exit_code, 0);
  const json created = CtlJson({"enroll-token", "create", "--group", "laocai"});
  const std::string revoked = created.value("token", "");
  const std::string revoked_id = created.value("id", "");
  // The list shows ids, groups and states, never a secret; the newest comes first.
  json tokens = CtlJson({"enroll-token", "list"}).at("enroll_tokens");
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].value("id", ""), revoked_id);
  EXPECT_EQ(tokens[0].value("state", ""), "usable");
  EXPECT_EQ(tokens[1].value("state", ""), "used up");
  EXPECT_FALSE(Contains(tokens.dump(), revoked) || Contains(tokens.dump(), used));
  auto r = RunCmd(soc_->Ctl({"enroll-token", "revoke", revoked_id}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::this_thread::sleep_for(seconds(2));  // past the 1 s token's expiry (stored in seconds)

  struct Case {
    const char* name;
    std::string token;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"expired", expiring, "enrollment token expired"},
      {"reused", used, "enrollment token used up"},
      {"revoked", revoked, "enrollment token revoked"},
      {"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "unknown enrollment token"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto refused = EnrollWith(c.token, tmp_.path() + "/" + c.name, NewUuid());
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_TRUE(Contains(refused.err, "enrollment refused")) << refused.err;
    EXPECT_TRUE(Contains(refused.err, c.reason)) << refused.err;
    EXPECT_LE(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;
  }
  // The SOC logged each attempt (without the token) and audited it.
  const std::string log = soc_->log();
  for (const auto& c : cases) {
    EXPECT_TRUE(Contains(log, c.reason)) << c.name;
    EXPECT_FALSE(Contains(log, c.token)) << c.name << ": the secret reached the log";
  }
  std::vector<int> results;
  const json audit = CtlJson({"audit"});
  for (const auto& e : audit.at("entries")) {
    if (e.value("path", "") == "/v1/enroll") {
      results.push_back(e.value("result", 0));
    }
  }
  EXPECT_EQ(results, (std::vector<int>{401, 403, 403, 403, 200}));
}

TEST_F(IdentityTest, OperatorTokensRolesAndTheAuditLog) {
  auto created =
      RunCmd(soc_->Ctl({"operator", "create", "--name", "tran.thi.b", "--role", "analyst"}));
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string analyst = WriteToken("analyst", created.LastLine());
  const json admin_created =
      CtlJson({"operator", "create", "--name", "pham.van.d", "--role", "admin", "--ttl", "90d"});
  const std::string second_admin = admin_created.value("token", "");
  ASSERT_GE(second_admin.size(), 22u);

  // Analysts read ...
  EXPECT_EQ(RunCmd(soc_->Ctl({"devices"}, analyst)).exit_code, 0);
  EXPECT_EQ(RunCmd(soc_->Ctl({"conflicts"}, analyst)).exit_code, 0);
  // ... and get 403 on every write (and on the admin-only reads).
  const std::string id = NewUuid();
  const std::vector<std::vector<std::string>> admin_only = {
      {"device", "revoke", id},
      {"device", "allow-reenroll", id},
      {"enroll-token", "create", "--group", "laocai"},
      {"enroll-token", "list"},
      {"enroll-token", "revoke", id},
      {"operator", "list"},
      {"operator", "create", "--name", "x", "--role", "admin"},
      {"operator", "revoke", id},
      {"audit"},
  };
  for (const auto& args : admin_only) {
    auto r = RunCmd(soc_->Ctl(args, analyst));
    EXPECT_EQ(r.exit_code, 2) << args[0] << " " << args[1];
    EXPECT_TRUE(Contains(r.err, "HTTP 403")) << r.err;
  }
  // The list has names and states, never secrets.
  const json ops = CtlJson({"operator", "list"}).at("operator_tokens");
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_FALSE(Contains(ops.dump(), created.LastLine()) || Contains(ops.dump(), second_admin));
  std::string analyst_id;
  for (const auto& t : ops) {
    if (t.value("name", "") == "tran.thi.b") {
      analyst_id = t.value("id", "");
      EXPECT_EQ(t.value("role", ""), "analyst");
      EXPECT_EQ(t.value("state", ""), "active");
    }
  }
  ASSERT_TRUE(IsUuid(analyst_id));
  ASSERT_EQ(RunCmd(soc_->Ctl({"operator", "revoke", analyst_id})).exit_code, 0);
  auto after = RunCmd(soc_->Ctl({"devices"}, analyst));
  EXPECT_NE(after.exit_code, 0);
  EXPECT_TRUE(Contains(after.err, "token revoked")) << after.err;

  // Expiry: a 1 s token works, then is refused.
  const std::string brief = WriteToken("brief", CtlJson({"operator", "create", "--name", "short",
                                                         "--role", "analyst", "--ttl", "1s"})
                                                    .value("token", ""));
  std::this_thread::sleep_for(seconds(2));
  auto expired = RunCmd(soc_->Ctl({"devices"}, brief));
  EXPECT_NE(expired.exit_code, 0);
  EXPECT_TRUE(Contains(expired.err, "token expired")) << expired.err;

  // Allowed and refused requests are on record with who asked.
  const json entries = CtlJson({"audit", "--limit", "100"}).at("entries");
  int analyst_refused = 0;
  int admin_created_rows = 0;
  for (const auto& e : entries) {
    if (e.value("actor", "") == "tran.thi.b" && e.value("result", 0) == 403) {
      ++analyst_refused;
    }
    if (e.value("actor", "") == "admin" && e.value("path", "") == "/api/v1/operator-tokens" &&
        e.value("result", 0) == 201) {
      ++admin_created_rows;
    }
  }
  EXPECT_EQ(analyst_refused, static_cast<int>(admin_only.size()));
  EXPECT_EQ(admin_created_rows, 3);
}

TEST_F(IdentityTest, CgctlVerifiesTheServerHostNameAndPinsTheCa) {
  // The server certificate names localhost only: 127.0.0.1 is another name.
  auto by_ip =
      RunCmd({CtlBin(), "--server", "https://127.0.0.1:" + std::to_string(soc_->operator_port()),
              "--ca", soc_->ca(), "--token-file", soc_->admin_token_file(), "devices"});
  EXPECT_NE(by_ip.exit_code, 0);
  EXPECT_TRUE(Contains(by_ip.err, "host name")) << by_ip.err;
  // Another SOC's CA is not trusted for this one.
  TempDir other;
  SocServer foreign(other.path() + "/soc");
  ASSERT_TRUE(foreign.started());
  auto wrong_ca =
      RunCmd({CtlBin(), "--server", "https://localhost:" + std::to_string(soc_->operator_port()),
              "--ca", foreign.ca(), "--token-file", soc_->admin_token_file(), "devices"});
  EXPECT_NE(wrong_ca.exit_code, 0);
  EXPECT_TRUE(Contains(wrong_ca.err, "CA")) << wrong_ca.err;
  EXPECT_EQ(RunCmd(soc_->Ctl({"devices"})).exit_code, 0);
}

TEST_F(IdentityTest, FailedAuthenticationIsSlowedDownAndAudited) {
  const std::string bad = WriteToken("bad", "not-a-real-token-000000000000");
  std::vector<double> took;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto r = RunCmd(soc_->Ctl({"devices"}, bad));
    took.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(Contains(r.err, "HTTP 401")) << r.err;
  }
  // The third failure waits 250 ms * 2^2 = 1 s on the server before its answer (a lower bound
  // only: the time cannot be shorter than the delay).
  EXPECT_GE(took[2], 0.95) << took[0] << " " << took[1] << " " << took[2];
  // A good token from the same address is not held up and clears the count.
  EXPECT_EQ(RunCmd(soc_->Ctl({"devices"})).exit_code, 0);
  int refused = 0;
  const json audit = CtlJson({"audit"});
  for (const auto& e : audit.at("entries")) {
    refused += e.value("result", 0) == 401 && e.value("actor", "") == "-" ? 1 : 0;
  }
  EXPECT_EQ(refused, 3);
}

TEST_F(IdentityTest, TheAgentRenewsItsCertificateWhenTheClockIsAdvanced) {
  if (!CG_TEST_HOOKS) {
    GTEST_SKIP() << "cg-agent run --clock-offset exists in CG_TEST_HOOKS builds only "
                    "(scripts/test.sh)";
  }
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(state);
  ASSERT_TRUE(IsUuid(device_id));
  const std::string old_serial = SerialOf(state + "/device.crt");
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/old.crt", ReadFile(state + "/device.crt")).ok());
  ASSERT_TRUE(
      WriteFileAtomic(tmp_.path() + "/old.key", ReadFile(state + "/device.key"), 0600).ok());

  // 19 days into a 30-day certificate: not yet.
  auto early = RunCmd({AgentBin(), "run", "--once", "--state-dir", state, "--clock-offset", "19d"});
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_EQ(SerialOf(state + "/device.crt"), old_serial);
  // A renewal whose answer never reached the agent (the link dropped, the PC lost power): the
  // certificate it was issued is never used, and the old one keeps working.
  std::string lost_serial;
  {
    auto key = protocol::GenerateP256Key();
    ASSERT_TRUE(key.ok());
    auto csr = protocol::MakeCsrPem(**key, device_id);
    ASSERT_TRUE(csr.ok());
    auto client = soc_->AgentClient(state + "/device.crt", state + "/device.key");
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    auto lost = (*client)->Request("POST", "/v1/renew", json{{"csr_pem", *csr}}.dump());
    ASSERT_TRUE(lost.ok()) << lost.error().ToString();
    ASSERT_EQ(lost->status, 200) << lost->body;
    lost_serial =
        protocol::InspectCertificatePem(json::parse(lost->body).value("certificate_pem", ""))
            ->serial_hex;
    const json pending = CtlJson({"device", device_id}).at("device");
    EXPECT_EQ(pending.value("cert_serial", ""), old_serial);
    EXPECT_EQ(pending.value("renewed_cert_serial", ""), lost_serial);
  }
  // 21 days: past two thirds, renewed in the same cycle, and the report still goes through.
  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state, "--clock-offset", "21d"});
  ASSERT_EQ(run.exit_code, 0) << run.err << soc_->log();
  const std::string new_serial = SerialOf(state + "/device.crt");
  EXPECT_NE(new_serial, old_serial);
  auto info = protocol::InspectCertificatePem(ReadFile(state + "/device.crt"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->subject_cn, device_id);
  struct stat st {};
  ASSERT_EQ(stat((state + "/device.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(ReadFile(state + "/device.key"), ReadFile(tmp_.path() + "/old.key"));

  const json status =
      json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
  EXPECT_EQ(status.value("certificate_not_after", ""), FormatRfc3339(info->not_after));
  EXPECT_TRUE(status["certificate_renewal_due"].is_string());
  const json device = CtlJson({"device", device_id}).at("device");
  EXPECT_EQ(device.value("cert_serial", ""), new_serial);
  EXPECT_EQ(device.value("status", ""),
            json::parse(RunCmd(soc_->Ctl({"--json", "devices"})).out)[0].value("status", ""));
  EXPECT_FALSE(device.contains("renewed_cert_serial")) << device.dump();
  // The old certificate is superseded by the first use of the new one (the report of the same
  // cycle): refused at the handshake, and in the CRL with the renewal that was lost.
  auto old = ReportWith(tmp_.path() + "/old.crt", tmp_.path() + "/old.key");
  EXPECT_FALSE(old.ok() && old->status == 400) << "the superseded certificate still got in";
  auto fresh = ReportWith(state + "/device.crt", state + "/device.key");
  ASSERT_TRUE(fresh.ok()) << fresh.error().ToString();
  EXPECT_EQ(fresh->status, 400);
  const std::set<std::string> superseded = {old_serial, lost_serial};
  EXPECT_EQ(CrlSerials(ReadFile(soc_->data_dir() + "/crl.pem"), ReadFile(soc_->ca())), superseded);
  // Served to anyone on the agent port.
  auto client = soc_->AgentClient();
  ASSERT_TRUE(client.ok());
  auto crl = (*client)->Request("GET", "/v1/crl.pem");
  ASSERT_TRUE(crl.ok()) << crl.error().ToString();
  EXPECT_EQ(crl->status, 200);
  EXPECT_EQ(CrlSerials(crl->body, ReadFile(soc_->ca())), superseded);
  // Back at the real time the renewed certificate is simply used.
  EXPECT_EQ(RunCmd({AgentBin(), "run", "--once", "--state-dir", state}).exit_code, 0);
  EXPECT_EQ(SerialOf(state + "/device.crt"), new_serial);
}

class QuickPollIdentityTest : public IdentityTest {
 protected:
  void SetUp() override { Start({"--poll-hold", "1s"}); }
};

// The running service keeps one connection for reports and one for the long-poll. A renewal
// must move both to the new certificate without losing a report: here every cycle renews (the
// clock is 21 days ahead, so each new 30-day certificate is at once past two thirds).
TEST_F(QuickPollIdentityTest, TheRunningServiceRenewsWithoutLosingAReport) {
  if (!CG_TEST_HOOKS) {
    GTEST_SKIP() << "cg-agent run --clock-offset exists in CG_TEST_HOOKS builds only "
                    "(scripts/test.sh)";
  }
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(state);
  ASSERT_TRUE(IsUuid(device_id));
  std::set<std::string> serials = {SerialOf(state + "/device.crt")};
  const std::string log = tmp_.path() + "/agent.log";
  Child agent(
      {AgentBin(), "run", "--state-dir", state, "--interval", "10", "--clock-offset", "21d"}, log);
  // Three cycles: at start, after 10 s and after 20 s.
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (serials.size() < 4 && std::chrono::steady_clock::now() < deadline && agent.Running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    serials.insert(SerialOf(state + "/device.crt"));
    serials.erase("");
  }
  // Let the report of the last renewal's cycle and a few polls go through, then stop.
  std::this_thread::sleep_for(seconds(3));
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(seconds(30)), 0);
  const std::string agent_log = ReadFile(log);
  ASSERT_GE(serials.size(), 4u) << agent_log;

  // Every cycle's report arrived, none was moved aside, nothing was refused.
  size_t cycles = 0;
  for (size_t at = agent_log.find("posture collected"); at != std::string::npos;
       at = agent_log.find("posture collected", at + 1)) {
    ++cycles;
  }
  const json history = CtlJson({"history", device_id, "--limit", "100"});
  EXPECT_EQ(history.at("reports").size(), cycles) << agent_log;
  EXPECT_FALSE(std::filesystem::exists(state + "/spool/rejected")) << agent_log;
  EXPECT_FALSE(Contains(agent_log, "403")) << agent_log;
  EXPECT_TRUE(Contains(agent_log, "reconnecting with the new one")) << agent_log;
  EXPECT_FALSE(Contains(soc_->log(), "not the certificate issued to this device")) << soc_->log();
  // The SOC's record follows the agent; every earlier certificate is superseded.
  const std::string current = SerialOf(state + "/device.crt");
  const json device = CtlJson({"device", device_id}).at("device");
  EXPECT_EQ(device.value("cert_serial", ""), current);
  std::set<std::string> earlier = serials;
  earlier.erase(current);
  const std::set<std::string> crl =
      CrlSerials(ReadFile(soc_->data_dir() + "/crl.pem"), ReadFile(soc_->ca()));
  for (const auto& serial : earlier) {
    EXPECT_TRUE(crl.count(serial) == 1) << serial << " is not in the CRL";
  }
}

TEST_F(IdentityTest, AMachineReenrollsOnlyAsTheSameDeviceAndOnlyWhenAllowed) {
  const std::string machine = NewUuid();
  const std::string a = tmp_.path() + "/a";
  const std::string b = tmp_.path() + "/b";
  const std::string device_id = Enroll(a, machine);
  ASSERT_TRUE(IsUuid(device_id));
  // A second enrollment of the same machine is a conflict, not a second device.
  auto conflict = EnrollWith(NewEnrollToken(), b, machine);
  EXPECT_NE(conflict.exit_code, 0);
  EXPECT_TRUE(Contains(conflict.err, "already enrolled as device " + device_id)) << conflict.err;
  EXPECT_TRUE(Contains(conflict.err, "allow-reenroll")) << conflict.err;
  EXPECT_EQ(json::parse(RunCmd(soc_->Ctl({"--json", "devices"})).out).size(), 1u);
  const json conflicts = CtlJson({"conflicts"}).at("conflicts");
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].value("device_id", ""), device_id);

  ASSERT_EQ(RunCmd(soc_->Ctl({"device", "allow-reenroll", device_id})).exit_code, 0);
  // The attempt stays open until an admin closes it.
  ASSERT_EQ(CtlJson({"conflicts"}).at("conflicts").size(), 1u);
  auto again = EnrollWith(NewEnrollToken(), b, machine);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(DeviceIdOf(b), device_id);
  EXPECT_EQ(json::parse(RunCmd(soc_->Ctl({"--json", "devices"})).out).size(), 1u);
  // The new certificate works, the old one is refused.
  EXPECT_EQ(RunCmd({AgentBin(), "run", "--once", "--state-dir", b}).exit_code, 0);
  auto old = RunCmd({AgentBin(), "run", "--once", "--state-dir", a});
  EXPECT_NE(old.exit_code, 0);
  EXPECT_EQ(CrlSerials(ReadFile(soc_->data_dir() + "/crl.pem"), ReadFile(soc_->ca())),
            std::set<std::string>{SerialOf(a + "/device.crt")});
  const std::string conflict_id = std::to_string(conflicts[0].value("id", 0));
  auto resolved = RunCmd(soc_->Ctl({"conflicts", "resolve", conflict_id}));
  EXPECT_EQ(resolved.exit_code, 0) << resolved.err;
  EXPECT_TRUE(CtlJson({"conflicts"}).at("conflicts").empty());
  EXPECT_EQ(CtlJson({"conflicts", "--all"}).at("conflicts").size(), 1u);
}

TEST_F(IdentityTest, TheAgentPortRefusesClientCertificatesThatAreNotDeviceCertificates) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(state);
  auto enrolled = protocol::InspectCertificatePem(ReadFile(state + "/device.crt"));
  ASSERT_TRUE(enrolled.ok());
  const auto now = std::chrono::system_clock::now();
  // Same name, group and serial as the enrolled device, signed by the SOC's CA: only the field
  // under test differs, so the control case proves that the refusals come from that field.
  const CraftSpec good{device_id, enrolled->subject_ou, enrolled->serial_hex,
                       now - std::chrono::hours(1), now + std::chrono::hours(24)};
  CraftSpec expired = good;
  expired.not_before = now - std::chrono::hours(48);
  expired.not_after = now - std::chrono::hours(24);
  CraftSpec server_only = good;
  server_only.eku = "serverAuth";
  CraftSpec no_eku = good;
  no_eku.eku = nullptr;
  CraftSpec ca_cert = good;
  ca_cert.is_ca = true;
  ca_cert.eku = nullptr;

  const std::string dir = tmp_.path();
  ASSERT_TRUE(Craft(soc_->data_dir(), good, dir + "/good"));
  auto control = ReportWith(dir + "/good.crt", dir + "/good.key");
  ASSERT_TRUE(control.ok()) << control.error().ToString();
  EXPECT_EQ(control->status, 400) << "the control certificate should get through TLS";

  // A certificate from a foreign CA with the same names.
  auto foreign = protocol::CertificateAuthority::Create("Foreign CA", std::chrono::hours(24), now);
  ASSERT_TRUE(foreign.ok());
  auto key = protocol::GenerateP256Key();
  ASSERT_TRUE(key.ok());
  auto cert = foreign->IssueDeviceCertificate(*protocol::MakeCsrPem(**key, "x"), device_id,
                                              enrolled->subject_ou, std::chrono::hours(1), now);
  ASSERT_TRUE(cert.ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/foreign.crt", *cert, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/foreign.key", *protocol::PrivateKeyToPem(**key), 0600).ok());

  struct Case {
    const char* name;
    const CraftSpec* spec;  // nullptr: already written
  };
  const std::vector<Case> cases = {{"foreign", nullptr},
                                   {"expired", &expired},
                                   {"server_only", &server_only},
                                   {"no_eku", &no_eku},
                                   {"ca_cert", &ca_cert}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string stem = dir + "/" + c.name;
    if (c.spec != nullptr) {
      ASSERT_TRUE(Craft(soc_->data_dir(), *c.spec, stem));
    }
    auto r = ReportWith(stem + ".crt", stem + ".key");
    EXPECT_FALSE(r.ok()) << "got HTTP " << (r.ok() ? r->status : 0);
  }
  // The SOC says why in its log.
  const std::string log = soc_->log();
  EXPECT_TRUE(Contains(log, "unsuitable certificate purpose")) << log;
  EXPECT_TRUE(Contains(log, "certificate has expired")) << log;
}

class ShortLivedIdentityTest : public IdentityTest {
 protected:
  void SetUp() override { Start({"--cert-lifetime", "2s"}); }
};

TEST_F(ShortLivedIdentityTest, AnExpiredCertificateReenrollsOnlyWithAnAdminsAllowance) {
  const std::string machine = NewUuid();
  const std::string state = tmp_.path() + "/agent";
  const std::string used = NewEnrollToken();
  ASSERT_EQ(EnrollWith(used, state, machine).exit_code, 0);
  const std::string device_id = DeviceIdOf(state);
  std::this_thread::sleep_for(seconds(3));  // the 2 s certificate expires for real

  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(Contains(run.err, "expired")) << run.err;
  EXPECT_TRUE(Contains(run.err, "new enrollment token")) << run.err;
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
  EXPECT_TRUE(Contains(status.value("last_error", ""), "expired"));
  // The old token does not bring it back; nor does a new one alone (the machine id is no
  // secret): the attempt is an open conflict. With an admin's allowance it comes back as the
  // same device.
  auto reused = EnrollWith(used, state, machine);
  EXPECT_NE(reused.exit_code, 0);
  EXPECT_TRUE(Contains(reused.err, "used up")) << reused.err;
  auto takeover = EnrollWith(NewEnrollToken(), state, machine);
  EXPECT_NE(takeover.exit_code, 0);
  EXPECT_TRUE(Contains(takeover.err, "certificate expired")) << takeover.err;
  EXPECT_EQ(CtlJson({"conflicts"}).at("conflicts").size(), 1u);
  ASSERT_EQ(RunCmd(soc_->Ctl({"device", "allow-reenroll", device_id})).exit_code, 0);
  auto again = EnrollWith(NewEnrollToken(), state, machine);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(CtlJson({"conflicts"}).at("conflicts").size(), 1u);
  EXPECT_EQ(DeviceIdOf(state), device_id);
  EXPECT_EQ(json::parse(RunCmd(soc_->Ctl({"--json", "devices"})).out).size(), 1u);
}

class RateLimitedIdentityTest : public IdentityTest {
 protected:
  void SetUp() override { Start({"--enroll-burst", "2", "--enroll-per-minute", "1"}); }
};

TEST_F(RateLimitedIdentityTest, EnrollmentAttemptsFromOneAddressAreRateLimited) {
  // --attempts 1: the SOC's answer itself, without the agent's waiting for Retry-After.
  const std::vector<std::string> once = {"--attempts", "1"};
  for (int i = 0; i < 2; ++i) {
    auto r = EnrollWith("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tmp_.path() + "/x",
                        NewUuid(), once);
    EXPECT_TRUE(Contains(r.err, "unknown enrollment token")) << r.err;
  }
  auto limited = EnrollWith("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tmp_.path() + "/x",
                            NewUuid(), once);
  EXPECT_NE(limited.exit_code, 0);
  EXPECT_TRUE(Contains(limited.err, "429")) << limited.err;
  EXPECT_TRUE(Contains(limited.err, "too many enrollment attempts")) << limited.err;
  // Even a good token waits its turn.
  auto good = EnrollWith(NewEnrollToken(), tmp_.path() + "/y", NewUuid(), once);
  EXPECT_TRUE(Contains(good.err, "429")) << good.err;
}

class SlowlyRefilledIdentityTest : public IdentityTest {
 protected:
  // One attempt at once, then one every 5 s: Retry-After is at most 5.
  void SetUp() override { Start({"--enroll-burst", "1", "--enroll-per-minute", "12"}); }
};

// Issue 14: `enroll` gave up at the first 429 although the SOC said when to come back.
TEST_F(SlowlyRefilledIdentityTest, EnrollmentWaitsAsRetryAfterSaysAndThenSucceeds) {
  const std::string token = NewEnrollToken();
  auto spent = EnrollWith("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", tmp_.path() + "/x",
                          NewUuid());  // takes the one attempt of the burst
  EXPECT_TRUE(Contains(spent.err, "unknown enrollment token")) << spent.err;
  auto r = EnrollWith(token, tmp_.path() + "/y", NewUuid());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.err, "rate-limiting this address")) << r.err;  // told to wait, waited
  EXPECT_FALSE(DeviceIdOf(tmp_.path() + "/y").empty());
}

// Issue 14: the token was accepted on the command line only (visible in ps and the history).
TEST_F(IdentityTest, EnrollmentTakesTheTokenFromAFileOrStandardInput) {
  const std::string file = tmp_.path() + "/token";
  ASSERT_TRUE(WriteFileAtomic(file, NewEnrollToken() + "\n", 0600).ok());
  auto from_file =
      RunCmd({AgentBin(), "enroll", "--server", Server(), "--token-file", file, "--ca", soc_->ca(),
              "--state-dir", tmp_.path() + "/a", "--machine-id", NewUuid()});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_FALSE(DeviceIdOf(tmp_.path() + "/a").empty());

  ASSERT_TRUE(WriteFileAtomic(file, NewEnrollToken() + "\n", 0600).ok());
  auto from_stdin =
      RunCmd({"/bin/sh", "-c",
              "exec \"$0\" enroll --server \"$1\" --token-file - --ca \"$2\" --state-dir \"$3\" "
              "--machine-id \"$4\" < \"$5\"",
              AgentBin(), Server(), soc_->ca(), tmp_.path() + "/b", NewUuid(), file});
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_FALSE(DeviceIdOf(tmp_.path() + "/b").empty());

  ASSERT_TRUE(WriteFileAtomic(file, "\n", 0600).ok());
  auto empty = RunCmd({AgentBin(), "enroll", "--server", Server(), "--token-file", file, "--ca",
                       soc_->ca(), "--state-dir", tmp_.path() + "/c"});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_TRUE(Contains(empty.err, "no enrollment token in " + file)) << empty.err;
  auto neither = RunCmd({AgentBin(), "enroll", "--server", Server(), "--ca", soc_->ca(),
                         "--state-dir", tmp_.path() + "/c"});
  EXPECT_NE(neither.exit_code, 0);
  EXPECT_TRUE(Contains(neither.err, "--token-file")) << neither.err;
  EXPECT_FALSE(FileExists(tmp_.path() + "/c/enrollment.json"));
}

// Issue 14: a token file dropped beside agent.json is used once by the service and deleted.
TEST_F(IdentityTest, TheServiceEnrollsWithTheDroppedTokenFileOnceAndDeletesIt) {
  const std::string etc = tmp_.path() + "/etc";
  const std::string state = tmp_.path() + "/state";
  ASSERT_TRUE(EnsureDirectory(etc, 0755).ok());
  const json config = {{"state_dir", state},
                       {"server", Server()},
                       {"ca_file", soc_->ca()},
                       {"group", "laocai/bac-ha"}};
  ASSERT_TRUE(WriteFileAtomic(etc + "/agent.json", config.dump(), 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(etc + "/enroll.token", NewEnrollToken() + "\n", 0600).ok());

  auto first = RunCmd({AgentBin(), "run", "--config", etc + "/agent.json", "--once"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_FALSE(FileExists(etc + "/enroll.token"));
  const std::string device_id = DeviceIdOf(state);
  ASSERT_FALSE(device_id.empty());
  auto devices = CtlJson({"devices"});
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].value("group", ""), "laocai/bac-ha");
  // Without a token file the enrolled service just runs.
  auto second = RunCmd({AgentBin(), "run", "--config", etc + "/agent.json", "--once"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(DeviceIdOf(state), device_id);

  // A token the SOC refuses is deleted (it will never work) and shown by `cg-agent status`.
  const std::string etc2 = tmp_.path() + "/etc2";
  const std::string state2 = tmp_.path() + "/state2";
  ASSERT_TRUE(EnsureDirectory(etc2, 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(
                  etc2 + "/agent.json",
                  json{{"state_dir", state2}, {"server", Server()}, {"ca_file", soc_->ca()}}.dump(),
                  0644)
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(etc2 + "/enroll.token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0600)
          .ok());
  auto refused = RunCmd({AgentBin(), "run", "--config", etc2 + "/agent.json", "--once"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(refused.err, "unknown enrollment token")) << refused.err;
  EXPECT_FALSE(FileExists(etc2 + "/enroll.token"));
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state2, "--json"}).out);
  EXPECT_FALSE(status.value("enrolled", true));
  EXPECT_TRUE(Contains(status.value("last_error", ""), "unknown enrollment token"))
      << status.dump();
  auto text = RunCmd({AgentBin(), "status", "--state-dir", state2});
  EXPECT_TRUE(Contains(text.out, "last error:")) << text.out;
}

}  // namespace
}  // namespace cg::testing

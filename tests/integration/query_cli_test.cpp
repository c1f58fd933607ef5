// Issue 15's operator tools end to end with the real binaries on loopback: a scrape-only token
// that reads /metrics and nothing else, `--csv` from the real cgctl against the real cg-soc, and
// an inspection report downloaded again byte for byte by its id; and issue 16's group display
// names set by an admin and read by an analyst with cgctl.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find_first_of("\r\n"));
}

class QueryCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc");
    ASSERT_TRUE(soc_->started()) << soc_->error();
  }

  TempDir tmp_;
  std::unique_ptr<SocServer> soc_;
};

TEST_F(QueryCliTest, AMetricsTokenScrapesAndReadsNothingElse) {
  const CommandOutput made = RunCmd(
      soc_->Ctl({"--json", "operator", "create", "--name", "prometheus", "--role", "metrics"}));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string secret = json::parse(made.out).value("token", "");
  ASSERT_FALSE(secret.empty()) << made.out;
  const std::string token_file = tmp_.path() + "/metrics.token";
  ASSERT_TRUE(WriteFileAtomic(token_file, secret + "\n", 0600).ok());

  protocol::ClientOptions o;
  o.host = "localhost";
  o.port = soc_->operator_port();
  o.ca_file = soc_->ca();
  o.timeout = std::chrono::seconds(10);
  auto client = protocol::HttpsClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.error().ToString();
  const std::vector<std::pair<std::string, std::string>> auth = {
      {"Authorization", "Bearer " + secret}};
  auto scraped = (*client)->Request("GET", "/metrics", "", auth);
  ASSERT_TRUE(scraped.ok()) << scraped.error().ToString();
  EXPECT_EQ(scraped->status, 200) << scraped->body;
  EXPECT_TRUE(Contains(scraped->body, "# TYPE counterguard_devices gauge")) << scraped->body;
  auto devices = (*client)->Request("GET", "/api/v1/devices", "", auth);
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->status, 403) << devices->body;

  // cgctl with that token: refused, with the reason.
  const CommandOutput listed = RunCmd(soc_->Ctl({"devices"}, token_file));
  EXPECT_EQ(listed.exit_code, 2);
  EXPECT_TRUE(Contains(listed.err, "metrics token may only GET /metrics")) << listed.err;
  // The admin sees the token with its role, in CSV.
  const CommandOutput tokens = RunCmd(soc_->Ctl({"--csv", "operator", "list"}));
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_EQ(FirstLine(tokens.out), "ID,NAME,ACCOUNT,ROLE,STATE,EXPIRES,LAST USED,CREATED");
  EXPECT_TRUE(Contains(tokens.out, ",prometheus,,metrics,active,")) << tokens.out;
}

TEST_F(QueryCliTest, CsvFromEveryListingCommand) {
  ASSERT_EQ(RunCmd(soc_->Ctl({"enroll-token", "create", "--group", "laocai/bac-ha"})).exit_code, 0);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"devices"}, "device_id,hostname,reported_hostname,group,status"},
      {{"summary"}, "group,devices,compliant,noncompliant"},
      {{"enroll-token", "list"}, "ID,GROUP,STATE,USES,EXPIRES,CREATED BY"},
      {{"operator", "list"}, "ID,NAME,ACCOUNT,ROLE"},
      {{"conflicts"}, "ID,TIME,DEVICE ID,HOSTNAME,GROUP,SOURCE,RESOLVED"},
      {{"policy", "list"}, "TARGET,VERSION,NAME,KEY,SCOPE,PUSHED BY,PUSHED AT"},
      {{"policy", "status"}, "kind,version,hash,devices,device_id"},
      {{"inspect", "status"}, "INSPECTION,TARGET,YARA,ASKED AT,DEVICES,DELIVERED,DONE"},
      {{"export", "status"}, "SINK,BACKLOG,OLDEST PENDING,DELIVERED SEQ,LAST DELIVERY"},
      {{"audit", "--limit", "5"}, "TIME,ACTOR,ROLE,KIND,ACTION,RESULT,SOURCE,TARGET"},
  };
  for (const auto& [args, header] : cases) {
    std::vector<std::string> with = {"--csv"};
    with.insert(with.end(), args.begin(), args.end());
    SCOPED_TRACE(args[0]);
    const CommandOutput r = RunCmd(soc_->Ctl(with));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(FirstLine(r.out).starts_with(header)) << r.out;
    EXPECT_TRUE(Contains(r.out, "\r\n")) << "RFC 4180 lines end in CRLF";
  }
  const CommandOutput tokens = RunCmd(soc_->Ctl({"--csv", "enroll-token", "list"}));
  EXPECT_TRUE(Contains(tokens.out, ",laocai/bac-ha,usable,0/1,")) << tokens.out;
  // A command without data refuses --csv instead of ignoring it.
  const CommandOutput refused = RunCmd(soc_->Ctl({"--csv", "device", "revoke", "x"}));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(refused.err, "prints no table")) << refused.err;
}

TEST_F(QueryCliTest, AnInspectionReportDownloadsAgainByteForByte) {
  const std::string first = tmp_.path() + "/first.html";
  const CommandOutput made =
      RunCmd(soc_->Ctl({"report", "inspection", "--group", "laocai", "--from", "2026-06-01", "--to",
                        "2026-06-30", "--format", "html", "-o", first}));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  // "report ID written to FILE, digest DIGEST"
  const std::string line = FirstLine(made.out);
  ASSERT_TRUE(line.starts_with("report ")) << made.out;
  const std::string id = line.substr(7, line.find(' ', 7) - 7);
  const std::string digest = line.substr(line.rfind(' ') + 1);
  ASSERT_EQ(digest.size(), 64u) << made.out;

  const std::string again = tmp_.path() + "/again.html";
  const CommandOutput downloaded = RunCmd(soc_->Ctl({"report", "download", id, "-o", again}));
  ASSERT_EQ(downloaded.exit_code, 0) << downloaded.err;
  EXPECT_TRUE(Contains(downloaded.out, digest)) << downloaded.out;
  const std::string a = ReadFile(first);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(ReadFile(again), a);
  EXPECT_TRUE(Contains(a, digest));

  const CommandOutput verified = RunCmd(soc_->Ctl({"--csv", "report", "verify", digest}));
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_TRUE(Contains(verified.out, id + ",inspection,laocai,2026-06-01,2026-06-30,html,vi,"))
      << verified.out;
  const CommandOutput unknown =
      RunCmd(soc_->Ctl({"report", "download", "00000000-0000-4000-8000-000000000001"}));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "404")) << unknown.err;
}

TEST_F(QueryCliTest, AnAdminNamesAGroupInVietnameseAndAnAnalystReadsIt) {
  // Typed with combining marks (Unikey's "Unicode tổ hợp"): stored composed.
  const CommandOutput set =
      RunCmd(soc_->Ctl({"group", "name", "laocai/bac-ha", "Xa\u0303 Ba\u0306\u0301c Ha\u0300"}));
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(FirstLine(set.out), "group laocai/bac-ha: Xã Bắc Hà (laocai/bac-ha)");
  // Refused with the SOC's reason; the name stays.
  const CommandOutput bad = RunCmd(soc_->Ctl({"group", "name", "laocai/bac-ha", "Xã\u202eBắc Hà"}));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(Contains(bad.err, "U+202E")) << bad.err;
  EXPECT_EQ(RunCmd(soc_->Ctl({"group", "name", "Bac Ha", "Xã Bắc Hà"})).exit_code, 2);
  EXPECT_EQ(RunCmd(soc_->Ctl({"group", "name", "laocai/bac-ha"})).exit_code, 2);  // no name
  ASSERT_EQ(RunCmd(soc_->Ctl({"group", "name", "laocai/sa-pa", "Thị xã Sa Pa"})).exit_code, 0);

  const CommandOutput made = RunCmd(
      soc_->Ctl({"--json", "operator", "create", "--name", "phan.tich", "--role", "analyst"}));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string token_file = tmp_.path() + "/analyst.token";
  ASSERT_TRUE(
      WriteFileAtomic(token_file, json::parse(made.out).value("token", "") + "\n", 0600).ok());
  const CommandOutput listed = RunCmd(soc_->Ctl({"groups"}, token_file));
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_TRUE(Contains(listed.out, "Xã Bắc Hà")) << listed.out;
  const CommandOutput csv = RunCmd(soc_->Ctl({"--csv", "groups"}, token_file));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(FirstLine(csv.out), "GROUP,DISPLAY NAME,DEVICES,NAMED BY,NAMED AT");
  EXPECT_TRUE(Contains(csv.out, "laocai/bac-ha,Xã Bắc Hà,none yet,admin,")) << csv.out;
  // The analyst may not name groups.
  const CommandOutput refused =
      RunCmd(soc_->Ctl({"group", "name", "laocai/bac-ha", "Tên khác"}, token_file));
  EXPECT_EQ(refused.exit_code, 2);
  // The admin clears one; the analyst's JSON no longer has it.
  const CommandOutput cleared = RunCmd(soc_->Ctl({"group", "name", "laocai/sa-pa", "--clear"}));
  ASSERT_EQ(cleared.exit_code, 0) << cleared.err;
  EXPECT_EQ(FirstLine(cleared.out), "group laocai/sa-pa: display name removed");
  const auto groups = json::parse(RunCmd(soc_->Ctl({"--json", "groups"}, token_file)).out);
  ASSERT_EQ(groups["groups"].size(), 1u) << groups;
  EXPECT_EQ(groups["groups"][0]["display_name"], "Xã Bắc Hà");
  // Every change is in the audit log with the name it set.
  const CommandOutput audit =
      RunCmd(soc_->Ctl({"--json", "audit", "--changes", "--action", "group-names"}));
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  const auto entries = json::parse(audit.out)["entries"];
  // Newest first: the clear, the analyst refused, Sa Pa named, the two refusals, Bắc Hà named
  // (the name cgctl itself refused never reached the SOC).
  ASSERT_EQ(entries.size(), 6u) << audit.out;
  EXPECT_EQ(entries[0].value("target", ""), "group laocai/sa-pa display name cleared");
  EXPECT_EQ(entries[1].value("result", 0), 403);
  EXPECT_EQ(entries[1].value("actor", ""), "phan.tich");
  EXPECT_EQ(entries[4].value("result", 0), 400);
  EXPECT_EQ(entries[5].value("target", ""), "group laocai/bac-ha display name \"Xã Bắc Hà\"");
  EXPECT_EQ(entries[5].value("result", 0), 200);
}

}  // namespace
}  // namespace cg::testing

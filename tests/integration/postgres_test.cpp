// cg-soc on PostgreSQL with the real binaries (issue 17): `init --database`, an agent enrolling
// and reporting, what the analyst sees; and two nodes of one SOC (a copy of the data dir, one
// database): an agent enrolled through one node reports through the other, and a revocation
// made on one node is refused by the other. Each test has its own database in the throw-away
// cluster of CTest's pg_cluster fixture.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "common/ids.h"
#include "soc/pg/pg.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;

class PostgresSocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A scratch database of its own (CG_IT_BACKEND=postgres: harness.h), dropped with soc_.
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc");
    ASSERT_TRUE(soc_->started()) << soc_->error();
    database_ = soc_->database();
    ASSERT_FALSE(database_.empty());
  }
  void TearDown() override {
    second_.reset();
    soc_.reset();
  }

  std::string Enroll(SocServer& node, const std::string& state_dir) {
    auto token = RunCmd(node.Ctl({"enroll-token", "create", "--group", "laocai/bac-ha"}));
    EXPECT_EQ(token.exit_code, 0) << token.err;
    auto r = RunCmd({AgentBin(), "enroll", "--server",
                     "localhost:" + std::to_string(node.agent_port()), "--token", token.LastLine(),
                     "--ca", node.ca(), "--state-dir", state_dir, "--machine-id", NewUuid()});
    EXPECT_EQ(r.exit_code, 0) << r.err << "\nSOC log:\n" << node.log();
    auto status = RunCmd({AgentBin(), "status", "--state-dir", state_dir, "--json"});
    return json::parse(status.out, nullptr, false).value("device_id", "");
  }

  // What a TCP load balancer does: the agent's next connection lands on another node.
  static void PointAgentAt(const std::string& state_dir, const SocServer& node) {
    const std::string path = state_dir + "/enrollment.json";
    json j = json::parse(ReadFile(path), nullptr, false);
    ASSERT_TRUE(j.is_object()) << path;
    j["server"] = "localhost:" + std::to_string(node.agent_port());
    auto w = RunCmd({"/bin/sh", "-c", "cat > '" + path + "' <<'EOF'\n" + j.dump() + "\nEOF"});
    ASSERT_EQ(w.exit_code, 0) << w.err;
  }

  TempDir tmp_;
  std::string database_;
  std::unique_ptr<SocServer> soc_;
  std::unique_ptr<SocServer> second_;
};

TEST_F(PostgresSocTest, AnAgentEnrollsAndReportsAndAnalystsSeeIt) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(*soc_, state);
  ASSERT_TRUE(IsUuid(device_id)) << soc_->log();
  EXPECT_NE(soc_->log().find("database: PostgreSQL"), std::string::npos) << soc_->log();

  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  ASSERT_EQ(run.exit_code, 0) << run.err << "\nSOC log:\n" << soc_->log();
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
  const std::string report_id = status.value("last_report_id", "");
  EXPECT_EQ(status.value("spool_reports", -1), 0);
  ASSERT_TRUE(IsUuid(report_id));

  auto device = RunCmd(soc_->Ctl({"--json", "device", device_id}));
  ASSERT_EQ(device.exit_code, 0) << device.err;
  const json d = json::parse(device.out);
  EXPECT_EQ(d.at("latest_report").value("report_id", ""), report_id);
  EXPECT_EQ(d.at("device").value("group", ""), "laocai/bac-ha");

  auto devices = RunCmd(soc_->Ctl({"--json", "devices"}));
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  const json list = json::parse(devices.out);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_NE(list[0].value("status", ""), "unknown");

  // The rows are in PostgreSQL, not in a file of the data dir.
  EXPECT_FALSE(std::filesystem::exists(soc_->data_dir() + "/soc.db"));
  auto db = soc::pg::Connection::Open(database_);
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->Query("SELECT count(*) FROM reports WHERE report_id = $1", report_id);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  EXPECT_EQ(rows->Int(0, 0), 1);
}

TEST_F(PostgresSocTest, TwoNodesServeOneSocEnrolledOnOneReportingThroughTheOther) {
  SocOptions node_b;
  node_b.copy_of = soc_->data_dir();
  second_ = std::make_unique<SocServer>(tmp_.path() + "/soc-b", node_b);
  ASSERT_TRUE(second_->started()) << second_->error();
  const std::string state = tmp_.path() + "/agent";
  const std::string device_id = Enroll(*soc_, state);
  ASSERT_TRUE(IsUuid(device_id));

  PointAgentAt(state, *second_);
  auto run = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  ASSERT_EQ(run.exit_code, 0) << run.err << "\nnode B log:\n" << second_->log();
  const std::string report_id =
      json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out)
          .value("last_report_id", "");
  // Node A shows what node B stored.
  auto device = RunCmd(soc_->Ctl({"--json", "device", device_id}));
  ASSERT_EQ(device.exit_code, 0) << device.err;
  EXPECT_EQ(json::parse(device.out).at("latest_report").value("report_id", ""), report_id);

  // Revoked through node A: node B refuses the device's next report.
  auto revoke = RunCmd(soc_->Ctl({"device", "revoke", device_id}));
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  auto after = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  auto status = json::parse(RunCmd({AgentBin(), "status", "--state-dir", state, "--json"}).out);
  EXPECT_EQ(status.value("last_report_id", ""), report_id) << "a report got through: " << after.err;
  // Node B stored nothing more for it, and its status history, kept by node B at ingest, reads
  // the same through node A: one report, its overall status opened by that report.
  for (SocServer* node : {soc_.get(), second_.get()}) {
    auto history = RunCmd(node->Ctl({"--json", "history", device_id}));
    ASSERT_EQ(history.exit_code, 0) << history.err << node->log();
    const json h = json::parse(history.out, nullptr, false);
    ASSERT_TRUE(h.is_object()) << history.out;
    ASSERT_EQ(h.at("reports").size(), 1u) << history.out;
    EXPECT_EQ(h.at("reports")[0].value("report_id", ""), report_id);
    ASSERT_EQ(h.at("overall").size(), 1u) << history.out;
    EXPECT_EQ(h.at("overall")[0].value("report_id", ""), report_id) << history.out;
    EXPECT_FALSE(h.at("checks").empty()) << history.out;
  }
  auto db = soc::pg::Connection::Open(database_);
  ASSERT_TRUE(db.ok());
  auto rows = (*db)->Query("SELECT count(*) FROM reports WHERE device_id = $1", device_id);
  ASSERT_TRUE(rows.ok()) << rows.error().ToString();
  EXPECT_EQ(rows->Int(0, 0), 1);
  EXPECT_NE(second_->log().find("revoked"), std::string::npos) << second_->log();
}

}  // namespace
}  // namespace cg::testing

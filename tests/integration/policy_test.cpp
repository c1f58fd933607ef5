// Signed policy and inspections with the real binaries on loopback: an admin pushes a signed
// policy and the running agents of the target groups apply and confirm it within seconds over
// their long-polls; an agent that does not trust the signing key refuses it, reports why and
// keeps its policy; a restarted agent keeps the last good policy; a corrupt cached policy is
// detected and reported; an inspection makes the agents report at once.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* prefix : {"/province", "/rogue"}) {
      auto r = RunCmd({CtlBin(), "policy", "keygen", "--out", tmp_.path() + prefix});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    SocOptions options;
    options.policy_keys = {tmp_.path() + "/province.pub"};
    options.serve_args = {"--poll-hold", "3s"};
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc", options);
    ASSERT_TRUE(soc_->started()) << soc_->error();
  }

  // Enrolls an agent trusting `key` (a .pub file) and returns its state dir.
  std::string Enroll(const std::string& name, const std::string& group, const std::string& key) {
    auto token = RunCmd(soc_->Ctl({"enroll-token", "create", "--group", group}));
    EXPECT_EQ(token.exit_code, 0) << token.err;
    const std::string state = tmp_.path() + "/" + name;
    auto r =
        RunCmd({AgentBin(), "enroll", "--server", "localhost:" + std::to_string(soc_->agent_port()),
                "--token", token.LastLine(), "--ca", soc_->ca(), "--policy-key", key, "--state-dir",
                state, "--machine-id", NewUuid()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return state;
  }

  Child StartAgent(const std::string& state) {
    return Child(
        {AgentBin(), "--log-level", "debug", "run", "--state-dir", state, "--interval", "3600"},
        state + ".log");
  }

  json AgentStatus(const std::string& state) {
    auto r = RunCmd({AgentBin(), "status", "--state-dir", state, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  json CtlJson(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--json"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = RunCmd(soc_->Ctl(all));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // Polls `done` every 100 ms for at most `limit`.
  template <typename Pred>
  static bool WaitFor(Pred done, seconds limit = seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  // Writes a policy document and signs it with `key_prefix`.key; returns the envelope file.
  std::string SignPolicy(const json& doc, const std::string& key_prefix) {
    const std::string doc_file = tmp_.path() + "/policy-" + std::to_string(++files_) + ".json";
    EXPECT_TRUE(WriteFileAtomic(doc_file, doc.dump(), 0644).ok());
    auto r = RunCmd({CtlBin(), "policy", "sign", "--key", key_prefix + ".key", doc_file});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string envelope = doc_file + ".signed";
    EXPECT_TRUE(WriteFileAtomic(envelope, r.out, 0644).ok());
    return envelope;
  }

  // The device's latest report ({} before the first).
  json LatestReport(const std::string& device_id) {
    const json report = CtlJson({"device", device_id}).value("latest_report", json());
    return report.is_object() ? report : json::object();
  }

  static bool HasEvent(const json& report, const std::string& type, const std::string& reason) {
    for (const auto& e : report.value("events", json::array())) {
      if (e.value("type", "") == type &&
          (reason.empty() || e.value("details", json::object()).value("reason", "") == reason)) {
        return true;
      }
    }
    return false;
  }

  TempDir tmp_;
  std::unique_ptr<SocServer> soc_;
  int files_ = 0;
};

TEST_F(PolicyTest, APushedPolicyIsAppliedByTheTargetAgentsAndRefusedByOneThatDoesNotTrustIt) {
  const std::string province_key = tmp_.path() + "/province.pub";
  const std::string a = Enroll("a", "laocai/bac-ha", province_key);
  const std::string b = Enroll("b", "laocai/sa-pa", province_key);
  const std::string c = Enroll("c", "hanoi/ba-dinh", province_key);
  const std::string d = Enroll("d", "laocai/bac-ha", tmp_.path() + "/rogue.pub");
  std::map<std::string, std::string> ids;
  for (const auto& s : {a, b, c, d}) {
    ids[s] = AgentStatus(s).value("device_id", "");
  }
  std::vector<Child> agents;
  for (const auto& s : {a, b, c, d}) {
    agents.push_back(StartAgent(s));
  }
  // Every agent reported once (with the built-in policy, version 0).
  ASSERT_TRUE(WaitFor([&] {
    const json devices = CtlJson({"devices"});
    size_t seen = 0;
    for (const auto& dev : devices) {
      seen += dev.value("last_seen", json()).is_string() ? 1 : 0;
    }
    return seen == 4;
  })) << soc_->log();

  // The tampered, the older and the foreign-key envelope are refused by the SOC itself.
  const json doc = {{"version", 2},
                    {"name", "laocai-2026-11"},
                    {"target", {{"groups", {"laocai/"}}}},
                    {"checks", {{"password_age", {{"max_days", 60}}}}}};
  const std::string envelope = SignPolicy(doc, tmp_.path() + "/province");
  json tampered = json::parse(ReadFile(envelope));
  tampered["policy"]["checks"]["password_age"]["max_days"] = 365;
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/tampered.json", tampered.dump(), 0644).ok());
  auto refused = RunCmd(soc_->Ctl({"policy", "push", tmp_.path() + "/tampered.json"}));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("bad_signature"), std::string::npos) << refused.err;
  auto foreign = RunCmd(soc_->Ctl({"policy", "push", SignPolicy(doc, tmp_.path() + "/rogue")}));
  EXPECT_EQ(foreign.exit_code, 2);
  EXPECT_NE(foreign.err.find("unknown_key"), std::string::npos) << foreign.err;
  EXPECT_TRUE(CtlJson({"policy", "list"}).value("policies", json::array()).empty());

  const auto pushed_at = std::chrono::steady_clock::now();
  auto push = RunCmd(soc_->Ctl({"policy", "push", envelope}));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  // The two laocai agents that trust the key confirm version 2 over their long-polls.
  ASSERT_TRUE(WaitFor([&] {
    const json status = CtlJson({"policy", "status"});
    for (const auto& v : status.value("versions", json::array())) {
      if (v.value("version", 0) == 2 && v.value("devices", 0) == 2) {
        return true;
      }
    }
    return false;
  })) << soc_->log();
  const auto confirmed_in = std::chrono::steady_clock::now() - pushed_at;
  std::printf("push to confirmation by 2 agents: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(confirmed_in).count()));
  EXPECT_EQ(AgentStatus(a).value("policy_version", 0), 2);
  EXPECT_EQ(AgentStatus(b).value("policy_version", 0), 2);
  EXPECT_EQ(AgentStatus(c).value("policy_version", 0), 0);  // hanoi is not targeted

  // The agent that does not trust the key refused it, said why, and keeps its policy; the SOC
  // lists it as lagging.
  ASSERT_TRUE(WaitFor([&] {
    return HasEvent(LatestReport(ids[d]), "policy_refused", "unknown_key");
  })) << ReadFile(d + ".log");
  EXPECT_EQ(AgentStatus(d).value("policy_version", -1), 0);
  const json status = CtlJson({"policy", "status"});
  ASSERT_EQ(status["lagging"].size(), 1u) << status.dump();
  EXPECT_EQ(status["lagging"][0]["device_id"], ids[d]);
  EXPECT_EQ(status["lagging"][0]["expected_version"], 2);
  EXPECT_TRUE(HasEvent(LatestReport(ids[a]), "policy_applied", ""));
  EXPECT_EQ(LatestReport(ids[a]).value("policy_version", 0), 2);
  EXPECT_EQ(LatestReport(ids[a]).value("policy_hash", ""),
            CtlJson({"policy", "list"})["policies"][0]["hash"]);

  // An inspection of the province: every running laocai agent reports at once.
  const json task = CtlJson({"inspect", "--group", "laocai"});
  const std::string task_id = task.value("task_id", "");
  EXPECT_EQ(task.value("devices", 0), 3);
  ASSERT_TRUE(WaitFor([&] {
    const json t = CtlJson({"inspect", "status", task_id});
    int done = 0;
    for (const auto& dev : t.value("devices", json::array())) {
      done += dev.value("state", "") == "done" ? 1 : 0;
    }
    return done == 3;
  })) << soc_->log();
  const json listed = CtlJson({"inspect", "status"});
  ASSERT_FALSE(listed["inspections"].empty());
  EXPECT_EQ(listed["inspections"][0]["done"], 3);

  // SIGTERM stops the agents promptly, long-polls in flight included.
  for (auto& agent : agents) {
    agent.Signal(SIGTERM);
    EXPECT_EQ(agent.Wait(seconds(10)), 0);
  }

  // A restarted agent keeps the last good policy.
  auto once = RunCmd({AgentBin(), "run", "--once", "--state-dir", a});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(LatestReport(ids[a]).value("policy_version", 0), 2);

  // A corrupt cached policy is detected and reported, and the agent falls back to the built-in
  // policy (the floor still refuses anything older than version 2).
  std::ofstream(a + "/policy.json", std::ios::trunc) << "{\"format\": \"counterguard-pol";
  once = RunCmd({AgentBin(), "run", "--once", "--state-dir", a});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  const json report = LatestReport(ids[a]);
  EXPECT_TRUE(HasEvent(report, "policy_cache_corrupt", "")) << report.dump();
  EXPECT_EQ(report.value("policy_version", -1), 0);
}

TEST_F(PolicyTest, YaraRulesComeInTheSignedPolicyAndAnInspectionScansNow) {
  const std::string state = Enroll("a", "laocai/bac-ha", tmp_.path() + "/province.pub");
  const std::string device = AgentStatus(state).value("device_id", "");
  const std::string scan_dir = tmp_.path() + "/counter-pc-files";
  ASSERT_TRUE(EnsureDirectory(scan_dir + "/Downloads", 0755).ok());
  ASSERT_TRUE(WriteFileAtomic(scan_dir + "/Downloads/remote-helper.exe",
                              "MZ....CG-PLANTED-REMOTE-TOOL-7731....", 0644)
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(scan_dir + "/letter.txt", "nothing to see", 0644).ok());
  Child agent = StartAgent(state);

  const json rules = json::array({{{"namespace", "province"},
                                   {"source",
                                    "rule remote_tool { meta: severity = \"high\" strings: $a = "
                                    "\"CG-PLANTED-REMOTE-TOOL\" condition: $a }"}}});
  json doc = {
      {"version", 1},
      {"name", "yara-rules-1"},
      {"checks",
       {{"yara", {{"rules", rules}, {"paths", {scan_dir}}, {"schedule_window", "03:00-03:01"}}}}}};
  auto push = RunCmd(soc_->Ctl({"policy", "push", SignPolicy(doc, tmp_.path() + "/province")}));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  ASSERT_TRUE(WaitFor([&] { return AgentStatus(state).value("policy_version", 0) == 1; }))
      << ReadFile(state + ".log");

  // The unannounced inspection with --yara: the agent scans now and reports the match.
  const json task = CtlJson({"inspect", "--device", device, "--yara"});
  const std::string task_id = task.value("task_id", "");
  ASSERT_TRUE(WaitFor(
      [&] {
        const json t = CtlJson({"inspect", "status", task_id});
        return !t["devices"].empty() && t["devices"][0].value("state", "") == "done";
      },
      seconds(60)))
      << ReadFile(state + ".log");
  json report = LatestReport(device);
  json yara;
  for (const auto& c : report.value("checks", json::array())) {
    if (c.value("id", "") == "yara") {
      yara = c;
    }
  }
  ASSERT_TRUE(yara.is_object()) << report.dump();
  EXPECT_EQ(yara.value("status", ""), "fail") << yara.dump();
  EXPECT_NE(yara.dump().find("remote-helper.exe"), std::string::npos) << yara.dump();
  EXPECT_NE(yara.dump().find("remote_tool"), std::string::npos);
  EXPECT_TRUE(HasEvent(report, "yara_scan", "")) << report.dump();

  // Rules that do not compile: reported with file and line, and the old rules stay in force.
  doc["version"] = 2;
  doc["name"] = "yara-rules-broken";
  doc["checks"]["yara"]["rules"][0]["source"] = "rule broken {\n  condition: $missing\n}";
  push = RunCmd(soc_->Ctl({"policy", "push", SignPolicy(doc, tmp_.path() + "/province")}));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  ASSERT_TRUE(WaitFor([&] {
    const json r = LatestReport(device);
    for (const auto& e : r.value("events", json::array())) {
      if (e.value("type", "") == "yara_rules_rejected") {
        report = r;
        return true;
      }
    }
    return false;
  })) << ReadFile(state + ".log");
  const std::string events = report["events"].dump();
  EXPECT_NE(events.find("rules[0]"), std::string::npos) << events;
  EXPECT_NE(events.find("$missing"), std::string::npos) << events;
  const json rescan = CtlJson({"inspect", "--device", device, "--yara"});
  ASSERT_TRUE(WaitFor(
      [&] {
        const json t = CtlJson({"inspect", "status", rescan.value("task_id", "")});
        return !t["devices"].empty() && t["devices"][0].value("state", "") == "done";
      },
      seconds(60)));
  report = LatestReport(device);
  for (const auto& c : report.value("checks", json::array())) {
    if (c.value("id", "") == "yara") {
      // The scan ran with the rules still in force and found the planted file again: a fail,
      // whose summary also says that the policy's rules do not compile.
      EXPECT_EQ(c.value("status", ""), "fail") << c.dump();
      EXPECT_NE(c.dump().find("remote-helper.exe"), std::string::npos) << c.dump();
      EXPECT_NE(c.value("summary", "").find("do not compile"), std::string::npos) << c.dump();
    }
  }
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(seconds(10)), 0);
}

// --- expected policy, layers, expiry (issue 13) -------------------------------------------

// Every check off: a report under such a policy is compliant whatever this machine has, so
// that the SOC's verdict on the policy alone decides the device's status.
json AllChecksOff() {
  json checks = json::object();
  for (const char* id :
       {"antivirus", "yara", "os_license", "office_license", "screen_lock", "password_age"}) {
    checks[id] = {{"enabled", false}};
  }
  return checks;
}

std::set<std::string> DeviceIds(const json& devices) {
  std::set<std::string> ids;
  for (const auto& d : devices) {
    ids.insert(d.value("device_id", ""));
  }
  return ids;
}

TEST_F(PolicyTest, AnUnsignedLaxPolicyMakesTheDeviceUnverifiedAndAGenuineReportIsCompliant) {
  if (!CG_TEST_HOOKS) {
    GTEST_SKIP() << "cg-agent run --policy exists in CG_TEST_HOOKS builds only (scripts/test.sh)";
  }
  const std::string key = tmp_.path() + "/province.pub";
  const std::string liar = Enroll("liar", "laocai/sa-pa", key);
  const std::string honest = Enroll("honest", "laocai/sa-pa", key);
  const std::string liar_id = AgentStatus(liar).value("device_id", "");
  const std::string honest_id = AgentStatus(honest).value("device_id", "");
  json doc = {{"version", 1}, {"name", "laocai"}, {"target", {{"groups", {"laocai/"}}}}};
  doc["checks"] = AllChecksOff();
  ASSERT_EQ(
      RunCmd(soc_->Ctl({"policy", "push", SignPolicy(doc, tmp_.path() + "/province")})).exit_code,
      0);
  {
    Child agent = StartAgent(honest);
    ASSERT_TRUE(WaitFor([&] { return LatestReport(honest_id).value("policy_version", 0) == 1; }))
        << ReadFile(honest + ".log");
    agent.Signal(SIGTERM);
    EXPECT_EQ(agent.Wait(seconds(10)), 0);
  }
  // The scenario: an unsigned file, version 99, the checks that would fail turned off.
  json lax = {{"version", 99}, {"name", "lax"}};
  lax["checks"] = AllChecksOff();
  ASSERT_TRUE(WriteFileAtomic(tmp_.path() + "/lax.json", lax.dump(), 0644).ok());
  auto run = RunCmd(
      {AgentBin(), "run", "--once", "--state-dir", liar, "--policy", tmp_.path() + "/lax.json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(LatestReport(liar_id).value("policy_version", 0), 99);

  EXPECT_EQ(CtlJson({"device", liar_id})["device"]["status"], "unverified");
  EXPECT_EQ(CtlJson({"device", honest_id})["device"]["status"], "compliant");
  EXPECT_EQ(DeviceIds(CtlJson({"devices", "--status", "unverified"})),
            std::set<std::string>{liar_id});
  EXPECT_EQ(DeviceIds(CtlJson({"devices", "--status", "compliant"})),
            std::set<std::string>{honest_id});
  const json status = CtlJson({"policy", "status"});
  ASSERT_EQ(status["versions"].size(), 1u) << status.dump();
  EXPECT_EQ(status["versions"][0]["version"], 1);
  EXPECT_EQ(status["versions"][0]["devices"], 1);
  ASSERT_EQ(status["unverified"].size(), 1u) << status.dump();
  EXPECT_EQ(status["unverified"][0]["device_id"], liar_id);
  EXPECT_EQ(status["unverified"][0]["policy_version"], 99);
  // The text output names it too, and the SOC's log has the security event.
  auto text = RunCmd(soc_->Ctl({"policy", "status"}));
  EXPECT_NE(text.out.find("1 device(s) unverified"), std::string::npos) << text.out;
  EXPECT_NE(soc_->log().find("security event policy_unverified"), std::string::npos);
}

TEST_F(PolicyTest, ALayerForADistrictOverridesTheBaselineThereOnlyAndATamperedLayerIsRefusedAlone) {
  const std::string key = tmp_.path() + "/province.pub";
  const std::string sa_pa = Enroll("sa-pa", "laocai/sa-pa", key);
  const std::string bac_ha = Enroll("bac-ha", "laocai/bac-ha", key);
  const std::string sa_pa_id = AgentStatus(sa_pa).value("device_id", "");
  const std::string bac_ha_id = AgentStatus(bac_ha).value("device_id", "");
  std::vector<Child> agents;
  agents.push_back(StartAgent(sa_pa));
  agents.push_back(StartAgent(bac_ha));

  json baseline = {
      {"version", 4}, {"name", "laocai-baseline"}, {"target", {{"groups", {"laocai/"}}}}};
  baseline["checks"] = AllChecksOff();
  baseline["checks"]["screen_lock"]["max_idle_seconds"] = 600;
  ASSERT_EQ(RunCmd(soc_->Ctl({"policy", "push", SignPolicy(baseline, tmp_.path() + "/province")}))
                .exit_code,
            0);
  const std::string baseline_hash = CtlJson({"policy", "list"})["policies"][0]["hash"];
  auto confirms = [&](const std::string& id, const std::string& hash) {
    const json device = CtlJson({"device", id});
    return device["latest_report"].is_object() &&
           device["latest_report"].value("policy_hash", "") == hash;
  };
  ASSERT_TRUE(WaitFor([&] {
    return confirms(sa_pa_id, baseline_hash) && confirms(bac_ha_id, baseline_hash);
  })) << ReadFile(sa_pa + ".log");

  // The district's own layer: version 1 of its target.
  const json district = {{"version", 1},
                         {"name", "sa-pa"},
                         {"target", {{"groups", {"laocai/sa-pa"}}}},
                         {"checks", {{"screen_lock", {{"max_idle_seconds", 120}}}}}};
  auto pushed =
      RunCmd(soc_->Ctl({"policy", "push", SignPolicy(district, tmp_.path() + "/province")}));
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  const json effective = CtlJson({"policy", "effective", "--device", sa_pa_id});
  const std::string set_hash = effective.value("hash", "");
  EXPECT_NE(set_hash, baseline_hash);
  ASSERT_EQ(effective["layers"].size(), 2u) << effective.dump();
  EXPECT_EQ(effective["policy"]["checks"]["screen_lock"]["max_idle_seconds"], 120);
  EXPECT_EQ(effective["origin"]["checks.screen_lock.max_idle_seconds"], "laocai/sa-pa");
  EXPECT_EQ(effective["origin"]["checks.password_age.enabled"], "laocai");
  ASSERT_TRUE(WaitFor([&] { return confirms(sa_pa_id, set_hash); })) << ReadFile(sa_pa + ".log");
  EXPECT_EQ(CtlJson({"device", sa_pa_id})["device"]["policy_state"], "expected");
  // The other district keeps the baseline alone.
  const json other = CtlJson({"policy", "effective", "--group", "laocai/bac-ha"});
  EXPECT_EQ(other.value("hash", ""), baseline_hash);
  EXPECT_EQ(other["policy"]["checks"]["screen_lock"]["max_idle_seconds"], 600);
  EXPECT_TRUE(confirms(bac_ha_id, baseline_hash));
  EXPECT_EQ(CtlJson({"device", bac_ha_id})["device"]["policy_state"], "expected");
  const json status = CtlJson({"policy", "status"});
  EXPECT_TRUE(status["lagging"].empty()) << status.dump();
  EXPECT_TRUE(status["unverified"].empty()) << status.dump();

  // A tampered district layer in the agent's cache: refused on its own at start, the baseline
  // stays in force (the report confirms the baseline alone), and the SOC sends the layer again.
  agents[0].Signal(SIGTERM);
  ASSERT_EQ(agents[0].Wait(seconds(10)), 0);
  json cache = json::parse(ReadFile(sa_pa + "/policy.json"));
  ASSERT_EQ(cache["layers"].size(), 2u);
  for (auto& layer : cache["layers"]) {
    if (layer["policy"].contains("target") &&
        layer["policy"]["target"]["groups"][0] == "laocai/sa-pa") {
      layer["policy"]["checks"]["screen_lock"]["max_idle_seconds"] = 86400;
    }
  }
  ASSERT_TRUE(WriteFileAtomic(sa_pa + "/policy.json", cache.dump(), 0600).ok());
  auto once = RunCmd({AgentBin(), "run", "--once", "--state-dir", sa_pa});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  const json report = LatestReport(sa_pa_id);
  EXPECT_TRUE(HasEvent(report, "policy_cache_corrupt", "")) << report.dump();
  EXPECT_EQ(report.value("policy_hash", ""), baseline_hash);
  EXPECT_EQ(report.value("policy_version", 0), 4);
  agents[0] = StartAgent(sa_pa);
  ASSERT_TRUE(WaitFor([&] { return confirms(sa_pa_id, set_hash); })) << ReadFile(sa_pa + ".log");
  for (auto& agent : agents) {
    agent.Signal(SIGTERM);
    EXPECT_EQ(agent.Wait(seconds(10)), 0);
  }
}

TEST_F(PolicyTest, AnExpiredPolicyStopsApplyingWhileInForceAndAfterARestart) {
  const std::string state = Enroll("a", "laocai/bac-ha", tmp_.path() + "/province.pub");
  const std::string id = AgentStatus(state).value("device_id", "");
  const std::string builtin_log = state + ".log";
  // A short-lived policy: valid for 20 seconds from now.
  const auto expires = std::chrono::system_clock::now() + seconds(20);
  json doc = {{"version", 1},
              {"name", "short-lived"},
              {"expires_at", FormatRfc3339(std::chrono::time_point_cast<seconds>(expires))}};
  doc["checks"] = AllChecksOff();
  Child agent({AgentBin(), "--log-level", "debug", "run", "--state-dir", state, "--interval", "10"},
              builtin_log);
  ASSERT_EQ(
      RunCmd(soc_->Ctl({"policy", "push", SignPolicy(doc, tmp_.path() + "/province")})).exit_code,
      0);
  ASSERT_TRUE(WaitFor([&] { return LatestReport(id).value("policy_version", 0) == 1; }))
      << ReadFile(builtin_log);
  // After expiry the agent says so and runs the built-in policy (before: version 1 for good).
  ASSERT_TRUE(WaitFor(
      [&] {
        const json r = LatestReport(id);
        return HasEvent(r, "policy_expired", "") && r.value("policy_version", -1) == 0;
      },
      seconds(60)))
      << ReadFile(builtin_log);
  EXPECT_EQ(CtlJson({"device", id})["device"]["policy_state"], "expected");
  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.Wait(seconds(10)), 0);
  // A restart does not bring it back.
  auto once = RunCmd({AgentBin(), "run", "--once", "--state-dir", state});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  EXPECT_EQ(LatestReport(id).value("policy_version", -1), 0);
  EXPECT_EQ(AgentStatus(state).value("policy_version", -1), 0);
}

}  // namespace
}  // namespace cg::testing

// Fault tests with the real binaries on loopback: the SOC killed (-9) in the middle of a stream
// of reports, the network cut by a TCP proxy while agents keep producing, the agent killed (-9)
// again and again while it spools, and the agent's state dir full. In every case each report
// an agent produced must end up in the SOC's database exactly once, in order per device. On
// both backends (the pg. copies: the SOC on PostgreSQL).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "common/ids.h"
#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A TCP proxy on 127.0.0.1 (kernel-chosen port) in front of the SOC's agent port. Cut() closes
// every connection and refuses new ones (closes them at once) until Restore(): what a dropped
// link looks like to the agent. The target can change (the SOC restarted on a new port).
class TcpProxy {
 public:
  TcpProxy() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 64);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    thread_.join();
    std::lock_guard lock(mu_);
    for (auto& t : pumps_) {
      t.join();
    }
  }

  uint16_t port() const { return port_; }
  void SetTarget(uint16_t port) { target_ = port; }
  void Cut() {
    cut_ = true;
    ++generation_;  // running pumps notice and close both sides
  }
  void Restore() { cut_ = false; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (stop_) {
          return;
        }
        continue;
      }
      if (cut_) {
        close(client);
        continue;
      }
      const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(target_.load());
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(server);
        close(client);
        continue;
      }
      std::lock_guard lock(mu_);
      pumps_.emplace_back(
          [this, client, server, gen = generation_.load()] { Pump(client, server, gen); });
    }
  }

  void Pump(int a, int b, int gen) {
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    char buf[16384];
    while (!stop_ && generation_ == gen) {
      if (poll(fds, 2, 50) <= 0) {
        continue;
      }
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
          if (n <= 0 || write(fds[1 - i].fd, buf, static_cast<size_t>(n)) != n) {
            done = true;
          }
        }
      }
      if (done) {
        break;
      }
    }
    close(a);
    close(b);
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint16_t> target_{0};
  std::atomic<bool> cut_{false}, stop_{false};
  std::atomic<int> generation_{0};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;
};

// Reports in the SOC's database: report ids of a device in the order they were stored, and
// their collected_at.
struct Stored {
  std::vector<std::string> ids;
  std::vector<int64_t> collected;
};

Stored StoredReports(const SocServer& soc, const std::string& device_id) {
  Stored out;
  auto rows = soc.Sql(
      "SELECT report_id, collected_at FROM reports WHERE device_id = $1 ORDER BY id", {device_id});
  EXPECT_TRUE(rows.ok()) << rows.error().ToString();
  for (const auto& row : rows.ok() ? *rows : SqlRows{}) {
    out.ids.push_back(row[0]);
    out.collected.push_back(std::stoll(row[1]));
  }
  return out;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    soc_ = std::make_unique<SocServer>(tmp_.path() + "/soc");
    ASSERT_TRUE(soc_->started()) << soc_->error();
    proxy_.SetTarget(soc_->agent_port());
  }

  // Enrolls an agent that talks to the SOC through the proxy; returns its device id.
  std::string Enroll(const std::string& state) {
    auto token = RunCmd(soc_->Ctl({"enroll-token", "create", "--group", "laocai/bac-ha"}));
    EXPECT_EQ(token.exit_code, 0) << token.err;
    auto r = RunCmd({AgentBin(), "enroll", "--server", "localhost:" + std::to_string(proxy_.port()),
                     "--token", token.LastLine(), "--ca", soc_->ca(), "--state-dir", state,
                     // Several simulated PCs on one machine: each its own machine id.
                     "--machine-id", NewUuid()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Status(state).value("device_id", "");
  }

  static json Status(const std::string& state) {
    auto r = RunCmd({AgentBin(), "status", "--state-dir", state, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  static CommandOutput RunOnce(const std::string& state) {
    return RunCmd({AgentBin(), "run", "--once", "--state-dir", state}, 120s);
  }

  // Every report a device produced (runs) is stored once, in the order it was collected.
  void ExpectAllStoredOnceInOrder(const std::string& device_id, size_t runs) {
    const Stored stored = StoredReports(*soc_, device_id);
    EXPECT_EQ(stored.ids.size(), runs) << "device " << device_id;
    EXPECT_EQ(std::set<std::string>(stored.ids.begin(), stored.ids.end()).size(),
              stored.ids.size());
    for (size_t i = 1; i < stored.collected.size(); ++i) {
      EXPECT_LE(stored.collected[i - 1], stored.collected[i])
          << "report " << i << " of " << device_id << " out of order";
    }
  }

  TempDir tmp_;
  TcpProxy proxy_;
  std::unique_ptr<SocServer> soc_;
};

TEST_F(FaultTest, SocKilledMidStreamStoresEveryReportExactlyOnce) {
  constexpr int kAgents = 3;
  constexpr int kRuns = 8;
  std::vector<std::string> states, devices;
  for (int a = 0; a < kAgents; ++a) {
    states.push_back(tmp_.path() + "/agent" + std::to_string(a));
    devices.push_back(Enroll(states.back()));
  }
  std::atomic<int> runs_done{0};
  std::vector<std::thread> agents;
  for (int a = 0; a < kAgents; ++a) {
    agents.emplace_back([&, a] {
      for (int i = 0; i < kRuns; ++i) {
        RunOnce(states[a]);  // fails while the SOC is down; the report stays spooled
        ++runs_done;
      }
    });
  }
  while (runs_done < kAgents * 2) {
    std::this_thread::sleep_for(10ms);
  }
  soc_->Kill9();  // in the middle of the stream: some requests are in flight
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(soc_->Restart()) << soc_->error();
  proxy_.SetTarget(soc_->agent_port());
  for (auto& t : agents) {
    t.join();
  }
  for (int a = 0; a < kAgents; ++a) {
    auto last = RunOnce(states[a]);  // one more cycle sends whatever is still spooled
    EXPECT_EQ(last.exit_code, 0) << last.err;
    EXPECT_EQ(Status(states[a]).value("spool_reports", -1), 0);
    ExpectAllStoredOnceInOrder(devices[a], kRuns + 1);
  }
}

TEST_F(FaultTest, NetworkCutWhileAgentsProduceLosesNothingAndKeepsOrder) {
  constexpr int kAgents = 2;
  constexpr int kRuns = 6;
  std::vector<std::string> states, devices;
  for (int a = 0; a < kAgents; ++a) {
    states.push_back(tmp_.path() + "/agent" + std::to_string(a));
    devices.push_back(Enroll(states.back()));
  }
  std::vector<int> failed(kAgents, 0);
  auto produce = [&](int runs) {
    std::vector<std::thread> agents;
    for (int a = 0; a < kAgents; ++a) {
      agents.emplace_back([&, a] {
        for (int i = 0; i < runs; ++i) {
          if (RunOnce(states[a]).exit_code != 0) {
            ++failed[a];
          }
        }
      });
    }
    for (auto& t : agents) {
      t.join();
    }
  };
  produce(2);
  proxy_.Cut();
  produce(kRuns);
  for (int a = 0; a < kAgents; ++a) {
    EXPECT_EQ(failed[a], kRuns) << "every run during the cut fails to deliver";
    EXPECT_EQ(Status(states[a]).value("spool_reports", -1), kRuns);
    EXPECT_EQ(StoredReports(*soc_, devices[a]).ids.size(), 2u);
  }
  proxy_.Restore();
  produce(1);
  for (int a = 0; a < kAgents; ++a) {
    EXPECT_EQ(Status(states[a]).value("spool_reports", -1), 0);
    ExpectAllStoredOnceInOrder(devices[a], 2 + kRuns + 1);
  }
}

TEST_F(FaultTest, AgentKilledWhileSpoolingLeavesAReadableSpoolAndNoDuplicates) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device = Enroll(state);
  proxy_.Cut();  // reports pile up in the spool while the agent is killed again and again
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> delay_ms(0, 60);
  for (int i = 0; i < 40; ++i) {
    Child agent({AgentBin(), "run", "--once", "--state-dir", state}, tmp_.path() + "/agent.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    agent.Signal(SIGKILL);
    agent.Wait(10s);
    const json status = Status(state);  // readable after every kill
    ASSERT_TRUE(status.is_object());
  }
  // Let a few runs complete as well, so the spool certainly holds reports.
  for (int i = 0; i < 3; ++i) {
    RunOnce(state);
  }
  const json before = Status(state);
  const int spooled = before.value("spool_reports", -1);
  ASSERT_GE(spooled, 3);
  proxy_.Restore();
  auto last = RunOnce(state);
  ASSERT_EQ(last.exit_code, 0) << last.err;
  const json after = Status(state);
  EXPECT_EQ(after.value("spool_reports", -1), 0);
  // Every complete spooled report plus the last run's, each once; a write cut short by the kill
  // never became an entry (atomic rename), so none is corrupt.
  ExpectAllStoredOnceInOrder(device, static_cast<size_t>(spooled) + 1);
  EXPECT_EQ(after.value("spool_corrupt", -1), 0);
  for (const auto& entry : std::filesystem::directory_iterator(state + "/spool")) {
    EXPECT_FALSE(entry.path().filename().string().find(".tmp") != std::string::npos)
        << "leftover " << entry.path();
  }
}

TEST_F(FaultTest, ACorruptSpoolEntryIsSetAsideAndTheSocIsTold) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device = Enroll(state);
  proxy_.Cut();
  RunOnce(state);
  RunOnce(state);
  ASSERT_EQ(Status(state).value("spool_reports", -1), 2);
  // Damage the older entry without changing its size (a bad sector, not a short write).
  std::vector<std::filesystem::path> entries;
  for (const auto& e : std::filesystem::directory_iterator(state + "/spool")) {
    if (e.path().extension() == ".rep") {
      entries.push_back(e.path());
    }
  }
  ASSERT_EQ(entries.size(), 2u);
  std::sort(entries.begin(), entries.end());
  {
    std::fstream f(entries[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-20, std::ios::end);
    f.put('#');
  }
  proxy_.Restore();
  auto third = RunOnce(state);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_EQ(Status(state).value("spool_corrupt", -1), 1);
  EXPECT_EQ(Status(state).value("spool_reports", -1), 0) << "the damaged entry blocks nothing";
  EXPECT_TRUE(std::filesystem::exists(state + "/spool/corrupt/" + entries[0].filename().string()));
  auto fourth = RunOnce(state);
  ASSERT_EQ(fourth.exit_code, 0) << fourth.err;
  EXPECT_EQ(StoredReports(*soc_, device).ids.size(), 3u);
  auto shown = RunCmd(soc_->Ctl({"--json", "device", device}));
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const json latest = json::parse(shown.out).at("latest_report");
  bool told = false;
  for (const auto& event : latest.value("events", json::array())) {
    if (event.value("type", "") == "spool_damaged") {
      told = true;
      EXPECT_EQ(event["details"].value("corrupt_entries", 0), 1);
    }
  }
  EXPECT_TRUE(told) << latest.dump();
}

// Where the spool bound comes from: agent.json, or the policy (which wins over agent.json).
class FullSpoolTest : public FaultTest, public ::testing::WithParamInterface<bool> {};

INSTANTIATE_TEST_SUITE_P(BoundFrom, FullSpoolTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "Policy" : "AgentJson"; });

TEST_P(FullSpoolTest, AFullSpoolDropsOldPostureFirstCountsItAndTellsTheSoc) {
  const bool from_policy = GetParam();
  const std::string state = tmp_.path() + "/agent";
  const std::string device = Enroll(state);
  // A small bound (agent.json's smallest, or the policy's), and one attempt per cycle so that
  // the cut costs no backoff time.
  const int64_t bound = from_policy ? int64_t{1} << 20 : 65536;
  const std::string config = tmp_.path() + "/agent.json";
  {
    std::ofstream(config) << json{
        {"spool_max_bytes", from_policy ? int64_t{100} << 20 : bound},
        {"delivery_attempts", 1},
        {"reconnect_window_seconds",
         0}}.dump();
  }
  if (from_policy && !CG_TEST_HOOKS) {
    GTEST_SKIP() << "cg-agent run --policy exists in CG_TEST_HOOKS builds only (scripts/test.sh)";
  }
  const std::string policy = tmp_.path() + "/policy.json";
  {
    std::ofstream(policy)
        << json{{"version", 1}, {"reporting", {{"spool_max_bytes", bound}}}}.dump();
  }
  auto run = [&] {
    std::vector<std::string> argv = {AgentBin(), "run",         "--once", "--config",
                                     config,     "--state-dir", state};
    if (from_policy) {
      argv.insert(argv.end(), {"--policy", policy});
    }
    return RunCmd(argv, 120s);
  };
  proxy_.Cut();
  int runs = 0;
  json status;
  while (runs < 2000) {
    EXPECT_EQ(run().exit_code, 1);
    ++runs;
    status = Status(state);
    if (status.value("spool_dropped_posture", 0) >= 3) {
      break;
    }
  }
  ASSERT_GE(status.value("spool_dropped_posture", 0), 3) << status.dump();
  EXPECT_LE(status.value("spool_bytes", int64_t{0}), bound);
  const int spooled = status.value("spool_reports", 0);
  const int dropped = status.value("spool_dropped_posture", 0);
  EXPECT_EQ(spooled + dropped, runs) << "every report is either spooled or counted as dropped";

  proxy_.Restore();
  auto last = run();
  ASSERT_EQ(last.exit_code, 0) << last.err;
  const json after = Status(state);
  EXPECT_EQ(after.value("spool_reports", -1), 0);
  // Spooling the last report may have dropped one more old snapshot.
  const int64_t dropped_at_end = after.value("spool_dropped_posture", int64_t{0});
  EXPECT_GE(dropped_at_end, dropped);
  const Stored stored = StoredReports(*soc_, device);
  EXPECT_EQ(static_cast<int64_t>(stored.ids.size()), runs + 1 - dropped_at_end)
      << "every report is either stored once or counted as dropped";
  // The drops reached the SOC as events: their counts add up to what the agent dropped.
  auto bodies = soc_->Sql("SELECT body FROM reports WHERE device_id = $1", {device});
  ASSERT_TRUE(bodies.ok()) << bodies.error().ToString();
  int64_t told = 0;
  for (const auto& row : *bodies) {
    const json body = json::parse(row[0], nullptr, false);
    for (const auto& e : body.value("events", json::array())) {
      if (e.value("type", "") == "spool_dropped") {
        told += e["details"].value("posture_reports", int64_t{0});
      }
    }
  }
  // Drops made while spooling the last report are told in the next one.
  EXPECT_GT(told, 0);
  EXPECT_LE(told, dropped_at_end);
  EXPECT_GE(told, dropped_at_end - 1);
}

TEST_F(FaultTest, FullStateDiskIsAClearErrorAndRecoversWhenSpaceReturns) {
  const std::string state = tmp_.path() + "/agent";
  std::filesystem::create_directories(state);
  if (mount("cg-fault-test", state.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700") !=
      0) {
    GTEST_SKIP() << "cannot mount a tmpfs on " << state << " (" << strerror(errno)
                 << "): this test needs root with CAP_SYS_ADMIN";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{state};
  const std::string device = Enroll(state);
  ASSERT_TRUE(!device.empty());
  auto first = RunOnce(state);
  ASSERT_EQ(first.exit_code, 0) << first.err;

  // Fill the file system to the last byte.
  proxy_.Cut();
  {
    std::ofstream filler(state + "/filler", std::ios::binary);
    std::string block(4096, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  {
    std::ofstream filler(state + "/filler2", std::ios::binary);
    while (filler.put('x')) {
    }
  }
  auto full = RunOnce(state);
  EXPECT_EQ(full.exit_code, 1) << "a failed cycle, not a crash: " << full.err;
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  const json status = Status(state);
  EXPECT_TRUE(status.is_object());

  // Space comes back (and the SOC): the next cycle goes through.
  std::filesystem::remove(state + "/filler");
  std::filesystem::remove(state + "/filler2");
  proxy_.Restore();
  auto recovered = RunOnce(state);
  EXPECT_EQ(recovered.exit_code, 0) << recovered.err;
  EXPECT_EQ(Status(state).value("spool_reports", -1), 0);
  // The report of the failed cycle was never spooled; the two others arrived once each.
  ExpectAllStoredOnceInOrder(device, 2);
}

// --- damaged agent state (issue 13, finding 6) --------------------------------------------

// The events of the device's latest report at the SOC of `type`.
std::vector<json> LatestEvents(SocServer& soc, const std::string& device, const std::string& type) {
  std::vector<json> out;
  auto shown = RunCmd(soc.Ctl({"--json", "device", device}));
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  const json latest = json::parse(shown.out, nullptr, false).value("latest_report", json());
  if (latest.is_object()) {
    for (const auto& e : latest.value("events", json::array())) {
      if (e.value("type", "") == type) {
        out.push_back(e);
      }
    }
  }
  return out;
}

TEST_F(FaultTest, DamagedBookkeepingFilesAreSetAsideRebuiltAndReported) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device = Enroll(state);
  ASSERT_EQ(RunOnce(state).exit_code, 0);
  // Before: "corrupt state file" at every cycle (status.json) and exit 2 (trusted_keys.json).
  std::ofstream(state + "/status.json", std::ios::trunc) << "{\"last_report_at\": \"2026-";
  std::ofstream(state + "/trusted_keys.json", std::ios::trunc) << "\x7f"
                                                                  "garbage";
  // `status` still shows the device, with the damaged file as its last error (before: exit 2).
  auto shown = RunCmd({AgentBin(), "status", "--state-dir", state, "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  const json before = json::parse(shown.out);
  EXPECT_EQ(before.value("device_id", ""), device);
  EXPECT_NE(before.value("last_error", json()).dump().find("status.json"), std::string::npos)
      << shown.out;
  auto run = RunOnce(state);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto damaged = LatestEvents(*soc_, device, "state_file_damaged");
  std::set<std::string> files;
  for (const auto& e : damaged) {
    files.insert(e["details"].value("file", ""));
    const std::string moved = e["details"].value("moved_to", "");
    EXPECT_TRUE(std::filesystem::exists(state + "/" + moved)) << moved;
  }
  EXPECT_EQ(files, (std::set<std::string>{"status.json", "trusted_keys.json"}));
  // Rebuilt: the status file is readable again and says the report went through.
  const json status = Status(state);
  EXPECT_TRUE(status.value("last_report_at", json()).is_string()) << status.dump();
  EXPECT_FALSE(std::filesystem::exists(state + "/trusted_keys.json"));
  auto again = RunOnce(state);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(LatestEvents(*soc_, device, "state_file_damaged").empty());
}

TEST_F(FaultTest, ADamagedPolicyFloorIsReportedAndTheServiceKeepsRunning) {
  const std::string state = tmp_.path() + "/agent";
  const std::string device = Enroll(state);
  std::ofstream(state + "/policy_floor.json", std::ios::trunc) << "{\"version\": \"seven\"}";
  // One cycle: the report goes out with the fault, and the exit code says something is wrong
  // (before: exit 2 and nothing sent).
  auto once = RunOnce(state);
  EXPECT_EQ(once.exit_code, 1) << once.err;
  auto faults = LatestEvents(*soc_, device, "state_fault");
  ASSERT_EQ(faults.size(), 1u) << once.err;
  EXPECT_EQ(faults[0]["details"].value("file", ""), "policy_floor.json");
  EXPECT_TRUE(faults[0]["details"].value("fatal", false));
  // The service does not exit (no restart loop under systemd): it keeps reporting.
  const size_t before = StoredReports(*soc_, device).ids.size();
  Child service({AgentBin(), "run", "--state-dir", state, "--interval", "10"},
                tmp_.path() + "/service.log");
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (StoredReports(*soc_, device).ids.size() <= before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_GT(StoredReports(*soc_, device).ids.size(), before);
  EXPECT_TRUE(service.Running());
  service.Signal(SIGTERM);
  EXPECT_EQ(service.Wait(30s), 0);
}

TEST_F(FaultTest, AnUnreadableEnrollmentKeepsTheServiceWaitingNotCrashLooping) {
  const std::string state = tmp_.path() + "/agent";
  Enroll(state);
  std::ofstream(state + "/enrollment.json", std::ios::trunc) << "garbage";
  EXPECT_EQ(RunOnce(state).exit_code, 2);  // one cycle cannot run without an identity
  const std::string log = tmp_.path() + "/service.log";
  Child service({AgentBin(), "run", "--state-dir", state}, log);
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (ReadFile(log).find("trying again") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(ReadFile(log).find("trying again"), std::string::npos) << ReadFile(log);
  EXPECT_TRUE(service.Running());
  service.Signal(SIGTERM);
  EXPECT_EQ(service.Wait(30s), 0);
}

}  // namespace
}  // namespace cg::testing

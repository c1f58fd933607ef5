// The SIEM export received by a real rsyslog (Debian's rsyslogd, started here on loopback with
// its own configuration and work directory): RFC 5424 over TCP with octet counting, and over
// TLS (RFC 5425, rsyslog's gtls driver, the receiver verified against the test CA). The
// receiver is killed while events are produced and started again: every event arrives, none
// twice (checked by event.id in rsyslog's output file). The outbox is on SQLite, and on
// PostgreSQL in the pg. copies (backend.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/timeutil.h"
#include "soc/exporter.h"
#include "soc/metrics.h"
#include "soc/pg/pg_storage.h"
#include "soc/sqlite_storage.h"
#include "tests/integration/backend.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::seconds;
using testing::TempDir;

constexpr const char* kRsyslogd = "/usr/sbin/rsyslogd";
constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits (bounded) for a condition that another process or thread makes true.
template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

// One rsyslogd: imtcp (plain or gtls) into omfile, the message part only, one per line.
class Rsyslog {
 public:
  Rsyslog(const TempDir& dir, bool tls, const testing::CertFiles& cert, std::string ca_file)
      : dir_(dir), tls_(tls), cert_(cert), ca_file_(std::move(ca_file)) {}
  ~Rsyslog() { Kill(); }

  // port 0: the first start picks a free port (rsyslog writes it to a file); later starts
  // reuse it, as a receiver coming back would.
  void Start() {
    const std::string work = dir_.File("rsyslog-work");
    std::filesystem::create_directories(work);
    const std::string port_file = dir_.File("rsyslog.port");
    std::filesystem::remove(port_file);
    std::string conf = "global(workDirectory=\"" + work + "\" maxMessageSize=\"64k\"";
    if (tls_) {
      conf += " defaultNetstreamDriverCAFile=\"" + ca_file_ +
              "\" defaultNetstreamDriverCertFile=\"" + cert_.cert_file +
              "\" defaultNetstreamDriverKeyFile=\"" + cert_.key_file + "\"";
    }
    conf += ")\n";
    conf += tls_ ? "module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" "
                   "streamDriver.authMode=\"anon\")\n"
                 : "module(load=\"imtcp\")\n";
    conf += "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(port_) +
            "\" listenPortFileName=\"" + port_file + "\")\n";
    conf += "template(name=\"msgonly\" type=\"string\" string=\"%msg%\\n\")\n";
    conf += "action(type=\"omfile\" file=\"" + Output() + "\" template=\"msgonly\")\n";
    const std::string conf_file = dir_.File("rsyslog.conf");
    testing::Check(WriteFileAtomic(conf_file, conf), "writing rsyslog.conf");
    const std::string pid_file = dir_.File("rsyslog.pid");
    std::filesystem::remove(pid_file);
    const std::string log = dir_.File("rsyslog.stderr");
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "a", stderr);
      (void)out;
      execl(kRsyslogd, kRsyslogd, "-n", "-f", conf_file.c_str(), "-i", pid_file.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    if (port_ != 0) {
      // rsyslog writes the port file only for port 0: wait until the port accepts.
      ASSERT_TRUE(WaitFor([&] { return Accepts(port_); }))
          << "rsyslogd did not come back: " << ReadAll(log);
      return;
    }
    ASSERT_TRUE(WaitFor([&] {
      const std::string text = ReadAll(port_file);
      return !text.empty() && std::stoi(text) > 0;
    })) << "rsyslogd did not start listening: "
        << ReadAll(log);
    port_ = static_cast<uint16_t>(std::stoi(ReadAll(port_file)));
  }

  static bool Accepts(uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(0x7f000001);  // 127.0.0.1
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
  }

  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  uint16_t port() const { return port_; }
  std::string Output() const { return dir_.File("received.log"); }
  std::string Stderr() const { return ReadAll(dir_.File("rsyslog.stderr")); }

  // event.id -> how many times it arrived.
  std::map<std::string, int> Received() const {
    std::map<std::string, int> ids;
    std::ifstream in(Output());
    for (std::string line; std::getline(in, line);) {
      const json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object() && doc.contains("event")) {
        ++ids[doc["event"].value("id", "")];
      } else {
        ++ids["unparsable: " + line];
      }
    }
    return ids;
  }

 private:
  const TempDir& dir_;
  bool tls_;
  testing::CertFiles cert_;
  std::string ca_file_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

class SyslogExportTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kRsyslogd))
        << kRsyslogd << " is missing: install rsyslog and rsyslog-gnutls (scripts/lib.sh)";
    // The outbox on the backend of this run (the pg. copies: a scratch PostgreSQL database).
    if (cg::testing::OnPostgres()) {
      auto scratch = cg::testing::ScratchPgDatabase::Make("cg_sx_");
      ASSERT_TRUE(scratch.ok()) << scratch.error().ToString();
      scratch_ = std::move(scratch).value();
    }
    auto s = scratch_ != nullptr ? OpenPgStorage(scratch_->uri(), true)
                                 : OpenSqliteStorage(dir_.File("soc.db"), true);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    storage_ = std::move(s).value();
    Device d;
    d.device_id = Uuid(1);
    d.hostname = "Bắc Hà 01";
    d.machine_id = "m1";
    d.group = "laocai/bac-ha";
    d.cert_serial = "s1";
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0;
    ASSERT_TRUE(storage_->AddDevice(d).ok());
  }

  // A report that flips screen_lock: two events (device status, check).
  void Flip() {
    protocol::Report r;
    r.report_id = Uuid(1000 + reports_);
    r.device_id = Uuid(1);
    r.hostname = "pc";
    r.agent_version = "0.1.0";
    const SysTime at = kT0 + hours(reports_);
    r.collected_at = FormatRfc3339(at);
    protocol::CheckResult c;
    c.id = "screen_lock";
    c.status = reports_ % 2 == 0 ? protocol::CheckStatus::kFail : protocol::CheckStatus::kPass;
    c.summary = "idle timeout | 3600 s = too long\nsecond line";
    r.checks.push_back(c);
    ++reports_;
    ASSERT_TRUE(storage_->StoreReport(r, protocol::ToJson(r).dump(), at).ok());
  }

  std::vector<std::string> Pending() {
    std::vector<std::string> ids;
    auto entries = storage_->ReadOutbox(kSyslogSink, 10000);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : *entries) {
      ids.push_back(e.event.id);
    }
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<cg::testing::ScratchPgDatabase> scratch_;  // outlives storage_
  std::unique_ptr<Storage> storage_;
  int reports_ = 0;
};

TEST_P(SyslogExportTest, EveryEventArrivesOnceAcrossAReceiverOutage) {
  const bool tls = GetParam();
  testing::TestCa ca(dir_, "siem");
  const auto server = ca.IssueServer({"localhost"});
  Rsyslog receiver(dir_, tls, server, ca.ca_file());
  ASSERT_NO_FATAL_FAILURE(receiver.Start());

  // Phase 1: events recorded before the exporter starts (a SOC restarting with a backlog).
  for (int i = 0; i < 3; ++i) {
    Flip();
  }
  std::vector<std::string> expected = Pending();
  ASSERT_EQ(expected.size(), 6u);

  ExportConfig config;
  ExportSyslogConfig syslog;
  syslog.target.host = "127.0.0.1";
  syslog.target.port = receiver.port();
  syslog.target.tls = tls;
  syslog.target.ca_file = ca.ca_file();
  syslog.target.server_name = "localhost";
  syslog.target.timeout = std::chrono::milliseconds(5000);
  syslog.format.hostname = "soc-test";
  config.syslog = syslog;
  config.poll_interval = std::chrono::milliseconds(50);
  config.retry_initial = std::chrono::milliseconds(50);
  config.retry_max = std::chrono::milliseconds(400);
  Exporter exporter(*storage_, config, [] { return kT0; });
  exporter.Start();
  ASSERT_TRUE(WaitFor([&] { return receiver.Received().size() == expected.size(); }))
      << "received " << receiver.Received().size() << " of " << expected.size() << "\n"
      << receiver.Stderr();

  // Phase 2: the receiver goes down; events are produced meanwhile and wait in the outbox.
  receiver.Kill();
  const uint64_t failures_before = Metrics().export_failures[1].Value();
  for (int i = 0; i < 4; ++i) {
    Flip();
  }
  exporter.Wake();
  ASSERT_TRUE(WaitFor([&] { return Metrics().export_failures[1].Value() > failures_before; }))
      << "the exporter never noticed the receiver was down";
  const auto waiting = Pending();
  EXPECT_EQ(waiting.size(), 8u) << "events were taken while nobody could receive them";
  expected.insert(expected.end(), waiting.begin(), waiting.end());

  // Phase 3: the receiver is back on its port; the backlog drains.
  ASSERT_NO_FATAL_FAILURE(receiver.Start());
  ASSERT_TRUE(WaitFor([&] { return Pending().empty(); })) << receiver.Stderr();
  ASSERT_TRUE(WaitFor([&] { return receiver.Received().size() >= expected.size(); }));
  exporter.Stop();
  // rsyslog writes what it received before it exits.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto received = receiver.Received();
  for (const auto& id : expected) {
    auto it = received.find(id);
    ASSERT_NE(it, received.end()) << "event " << id << " lost";
    EXPECT_EQ(it->second, 1) << "event " << id << " received " << it->second << " times";
  }
  EXPECT_EQ(received.size(), expected.size()) << "events nobody produced arrived";
}

TEST(SyslogTlsTest, RefusesAReceiverTheCaDidNotCertify) {
  ASSERT_TRUE(std::filesystem::exists(kRsyslogd));
  TempDir dir;
  testing::TestCa ca(dir, "siem");
  testing::TestCa rogue(dir, "rogue");
  const auto server = rogue.IssueServer({"localhost"});
  Rsyslog receiver(dir, /*tls=*/true, server, rogue.ca_file());
  ASSERT_NO_FATAL_FAILURE(receiver.Start());
  SyslogTarget target;
  target.host = "127.0.0.1";
  target.port = receiver.port();
  target.tls = true;
  target.ca_file = ca.ca_file();
  target.server_name = "localhost";
  auto connection = SyslogConnection::Connect(target);
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.error().code, ErrorCode::kTls) << connection.error().ToString();
}

INSTANTIATE_TEST_SUITE_P(Transports, SyslogExportTest, ::testing::Values(false, true),
                         [](const auto& param_info) { return param_info.param ? "Tls" : "Tcp"; });

}  // namespace
}  // namespace cg::soc

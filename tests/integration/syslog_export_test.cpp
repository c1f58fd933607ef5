// The SIEM export received by a real rsyslog (Debian's rsyslogd, started here on loopback with
// its own configuration and work directory): RFC 5424 over TCP with octet counting, and over
// TLS (RFC 5425, rsyslog's gtls driver, the receiver verified against the test CA), with an ECS
// or a CEF body. The receiver is killed while events are produced and started again: every
// event arrives, none twice (checked by the event's id in rsyslog's output file), with the
// header fields rsyslog parsed (HOSTNAME, APP-NAME, PROCID, MSGID, STRUCTURED-DATA) as sent
// and the body as rendered (CEF: header and extension escaping, Vietnamese text intact).
// The outbox is on SQLite, and on PostgreSQL in the pg. copies (backend.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/timeutil.h"
#include "soc/export_format.h"
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

// One message as rsyslog's RFC 5424 parser saw it.
struct Parsed {
  std::string hostname, app_name, procid, msgid, structured_data, msg;
};

// A CEF line split per the CEF specification (ArcSight "Implementing ArcSight CEF", rev. 25):
// seven header fields ending at an unescaped '|' ("\|" and "\\" inside), then the extension:
// key=value pairs separated by spaces, a value running to the space before the next unescaped
// '=' (in values "\=", "\\", "\n" and "\r"; nothing else may follow a backslash).
struct Cef {
  std::vector<std::string> header;
  std::map<std::string, std::string> ext;
  std::vector<std::string> keys;  // in order, to see duplicates
};

std::optional<Cef> ParseCef(std::string_view line) {
  Cef out;
  std::string field;
  size_t i = 0;
  while (out.header.size() < 7) {
    if (i >= line.size()) {
      return std::nullopt;
    }
    const char c = line[i++];
    if (c == '\\') {
      if (i >= line.size() || (line[i] != '\\' && line[i] != '|')) {
        return std::nullopt;
      }
      field += line[i++];
    } else if (c == '|') {
      out.header.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  const std::string_view ext = line.substr(i);
  std::vector<size_t> equals;  // unescaped
  for (size_t j = 0; j < ext.size(); ++j) {
    if (ext[j] == '\\') {
      ++j;
    } else if (ext[j] == '=') {
      equals.push_back(j);
    }
  }
  std::vector<size_t> key_start(equals.size(), 0);
  for (size_t k = 1; k < equals.size(); ++k) {
    const size_t space = ext.rfind(' ', equals[k]);
    if (space == std::string_view::npos || space < equals[k - 1]) {
      return std::nullopt;
    }
    key_start[k] = space + 1;
  }
  for (size_t k = 0; k < equals.size(); ++k) {
    const std::string key(ext.substr(key_start[k], equals[k] - key_start[k]));
    const size_t end = k + 1 < equals.size() ? key_start[k + 1] - 1 : ext.size();
    const std::string_view raw = ext.substr(equals[k] + 1, end - equals[k] - 1);
    std::string value;
    for (size_t j = 0; j < raw.size(); ++j) {
      if (raw[j] != '\\') {
        value += raw[j];
        continue;
      }
      if (++j >= raw.size()) {
        return std::nullopt;
      }
      switch (raw[j]) {
        case '\\':
        case '=':
          value += raw[j];
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        default:
          return std::nullopt;
      }
    }
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0;
        })) {
      return std::nullopt;
    }
    out.keys.push_back(key);
    out.ext[key] = std::move(value);
  }
  return out;
}

// Well-formed UTF-8 (nlohmann::json's strict encoder refuses overlong forms, surrogates and
// anything above U+10FFFF), and no U+FFFD: the replacement character a cut in the middle of a
// character leaves behind once the text went through a JSON encoder that replaces what it
// cannot encode.
bool CleanUtf8(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
  } catch (const json::type_error&) {
    return false;
  }
  return s.find("\xEF\xBF\xBD") == std::string_view::npos;
}

// One rsyslogd: imtcp (plain or gtls) into omfile, one parsed message per line.
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
    // What rsyslog's RFC 5424 parser made of each message: the header fields (never a space
    // inside: PRINTUSASCII) separated by spaces, then MSG; one message a line (rsyslog escapes
    // control characters it receives, so a raw line break in MSG would show as #012).
    conf +=
        "template(name=\"parsed\" type=\"string\" string=\"%hostname% %app-name% "
        "%procid% %msgid% %structured-data% %msg%\\n\")\n";
    conf += "action(type=\"omfile\" file=\"" + Output() + "\" template=\"parsed\")\n";
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

  // Every message rsyslog wrote, as its parser split it.
  std::vector<Parsed> Messages() const {
    std::vector<Parsed> out;
    std::ifstream in(Output());
    for (std::string line; std::getline(in, line);) {
      Parsed p;
      std::string* fields[] = {&p.hostname, &p.app_name, &p.procid, &p.msgid, &p.structured_data};
      size_t at = 0;
      for (std::string* field : fields) {
        const size_t space = line.find(' ', at);
        if (space == std::string::npos) {
          at = std::string::npos;
          break;
        }
        *field = line.substr(at, space - at);
        at = space + 1;
      }
      p.msg = at == std::string::npos ? "unparsable: " + line : line.substr(at);
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  const TempDir& dir_;
  bool tls_;
  testing::CertFiles cert_;
  std::string ca_file_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

struct Param {
  bool tls;
  ExportBody body;
};
// For googletest's listing (otherwise the struct's bytes, padding included).
void PrintTo(const Param& p, std::ostream* os) {
  *os << (p.tls ? "TLS" : "TCP") << ", " << (p.body == ExportBody::kEcs ? "ECS" : "CEF");
}

class SyslogExportTest : public ::testing::TestWithParam<Param> {
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

  // A report that flips screen_lock: two events (device status, check). The summary has every
  // character CEF escapes, in the header and in extension values.
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
    // Long Vietnamese text after it: the event's message and the CEF evidence (cs6) are cut
    // to a length in bytes, which must not split a character.
    c.summary = kSummary;
    for (int i = 0; i < 120; ++i) {
      c.summary += " Khóa màn hình: thời gian chờ quá dài.";
    }
    r.checks.push_back(c);
    ++reports_;
    ASSERT_TRUE(storage_->StoreReport(r, protocol::ToJson(r).dump(), at).ok());
  }

  std::vector<ExportEvent> Pending() {
    std::vector<ExportEvent> events;
    auto entries = storage_->ReadOutbox(kSyslogSink, 10000);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : *entries) {
      events.push_back(e.event);
    }
    return events;
  }

  // The event a message carries, by its id in the body GetParam() says.
  static std::string IdOf(const std::string& msg) {
    if (GetParam().body == ExportBody::kEcs) {
      const json doc = json::parse(msg, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object() && doc.contains("event")) {
        return doc["event"].value("id", "");
      }
    } else if (auto cef = ParseCef(msg); cef && cef->ext.count("externalId") > 0) {
      return cef->ext.at("externalId");
    }
    return "unparsable: " + msg;
  }

  // event id -> the messages that carried it.
  static std::map<std::string, std::vector<Parsed>> Received(const Rsyslog& receiver) {
    std::map<std::string, std::vector<Parsed>> out;
    for (auto& m : receiver.Messages()) {
      out[IdOf(m.msg)].push_back(std::move(m));
    }
    return out;
  }

  static constexpr const char* kSummary =
      "idle timeout C:\\Policies\\Lock | 3600 s = too long\nline 2";
  TempDir dir_;
  std::unique_ptr<cg::testing::ScratchPgDatabase> scratch_;  // outlives storage_
  std::unique_ptr<Storage> storage_;
  int reports_ = 0;
};

// The CEF rendering of `e` read back with an independent parser: every field where the
// specification puts it, unescaped to exactly what the event holds.
void ExpectCef(const ExportEvent& e, const std::string& msg) {
  const auto cef = ParseCef(msg);
  ASSERT_TRUE(cef.has_value()) << "not CEF: " << msg;
  ASSERT_EQ(cef->header.size(), 7u);
  EXPECT_EQ(cef->header[0], "CEF:0");
  EXPECT_EQ(cef->header[1], "CounterGuard");
  EXPECT_EQ(cef->header[2], "cg-soc");
  EXPECT_EQ(cef->header[3], CG_VERSION);
  EXPECT_EQ(cef->header[4], e.action);
  std::string name = e.message;  // the header holds no line break: a space stands for it
  std::replace(name.begin(), name.end(), '\n', ' ');
  EXPECT_EQ(cef->header[5], name);
  const int severity = std::stoi(cef->header[6]);
  EXPECT_TRUE(severity >= 0 && severity <= 10) << cef->header[6];
  const std::set<std::string> keys(cef->keys.begin(), cef->keys.end());
  EXPECT_EQ(keys.size(), cef->keys.size()) << "a key twice: " << msg;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch());
  const std::map<std::string, std::string> expected = {
      {"rt", std::to_string(ms.count())},
      {"externalId", e.id},
      {"act", e.action},
      {"msg", e.message},
      {"dhost", e.hostname},
      {"deviceExternalId", e.device_id},
      {"cs1Label", "group"},
      {"cs1", e.group},
      {"cs3Label", "status"},
      {"cs3", e.status},
  };
  ASSERT_EQ(cef->ext.count("cs6"), 1u) << msg;
  EXPECT_EQ(cef->ext.at("cs6Label"), "evidence");
  EXPECT_TRUE(CleanUtf8(cef->ext.at("cs6"))) << cef->ext.at("cs6");
  for (const auto& [key, value] : expected) {
    auto it = cef->ext.find(key);
    ASSERT_NE(it, cef->ext.end()) << key << " missing: " << msg;
    EXPECT_EQ(it->second, value) << key << " in " << msg;
  }
}

TEST_P(SyslogExportTest, EveryEventArrivesOnceAcrossAReceiverOutage) {
  const bool tls = GetParam().tls;
  testing::TestCa ca(dir_, "siem");
  const auto server = ca.IssueServer({"localhost"});
  Rsyslog receiver(dir_, tls, server, ca.ca_file());
  ASSERT_NO_FATAL_FAILURE(receiver.Start());

  // Phase 1: events recorded before the exporter starts (a SOC restarting with a backlog).
  for (int i = 0; i < 3; ++i) {
    Flip();
  }
  std::vector<ExportEvent> expected = Pending();
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
  syslog.body = GetParam().body;
  config.syslog = syslog;
  config.poll_interval = std::chrono::milliseconds(50);
  config.retry_initial = std::chrono::milliseconds(50);
  config.retry_max = std::chrono::milliseconds(400);
  Exporter exporter(*storage_, config, [] { return kT0; });
  exporter.Start();
  ASSERT_TRUE(WaitFor([&] { return Received(receiver).size() == expected.size(); }))
      << "received " << Received(receiver).size() << " of " << expected.size() << "\n"
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
  ASSERT_TRUE(WaitFor([&] { return Received(receiver).size() >= expected.size(); }));
  exporter.Stop();
  // rsyslog writes what it received before it exits.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto received = Received(receiver);
  bool escaped_all = false;
  for (const auto& e : expected) {
    auto it = received.find(e.id);
    ASSERT_NE(it, received.end()) << "event " << e.id << " lost";
    ASSERT_EQ(it->second.size(), 1u)
        << "event " << e.id << " received " << it->second.size() << " times";
    const Parsed& m = it->second.front();
    // The RFC 5424 header as rsyslog parsed it: nothing of the body leaked into it.
    EXPECT_EQ(m.hostname, "soc-test");
    EXPECT_EQ(m.app_name, "cg-soc");
    EXPECT_EQ(m.procid, "-");
    EXPECT_EQ(m.msgid, e.action);
    EXPECT_EQ(m.structured_data, "-");
    // The body arrived byte for byte (UTF-8 unescaped, no BOM, no line break). The body holds
    // Vietnamese text, so a length prefix counting anything but bytes (RFC 6587 octet counting)
    // would cut or merge messages here.
    EXPECT_EQ(m.msg, RenderBody(e, GetParam().body));
    EXPECT_TRUE(CleanUtf8(m.msg)) << m.msg;
    if (GetParam().body == ExportBody::kCef) {
      ExpectCef(e, m.msg);
    }
    escaped_all =
        escaped_all || (e.message.find(kSummary) != std::string::npos && e.hostname == "Bắc Hà 01");
  }
  EXPECT_TRUE(escaped_all) << "no event carried the characters the body escapes";
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

INSTANTIATE_TEST_SUITE_P(TransportsAndBodies, SyslogExportTest,
                         ::testing::Values(Param{false, ExportBody::kEcs},
                                           Param{true, ExportBody::kEcs},
                                           Param{false, ExportBody::kCef},
                                           Param{true, ExportBody::kCef}),
                         [](const auto& param_info) {
                           return std::string(param_info.param.tls ? "Tls" : "Tcp") +
                                  (param_info.param.body == ExportBody::kEcs ? "Ecs" : "Cef");
                         });

}  // namespace
}  // namespace cg::soc

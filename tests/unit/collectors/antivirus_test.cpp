// antivirus over fixture trees: each tree is copied to a temporary root so that a stand-in
// clamd can listen on the socket path inside it; the clock is fixed.
#include "collectors/antivirus.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include "platform/fake/fake_platform.h"
#include "platform/platform.h"
#include "policy/policy.h"

namespace cg::collectors {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using protocol::CheckStatus;

// 2026-11-26T12:00:00Z: the fixtures' databases are dated relative to this.
constexpr int64_t kNowUnix = 1795694400;

enum class Daemon { kNone, kPong, kSilent, kWrongAnswer };

// A stand-in clamd: answers zPING/zVERSION like clamd (NUL-terminated replies, then closes),
// or accepts and never answers, or answers something else.
class FakeClamd {
 public:
  FakeClamd(const std::string& host_path, Daemon mode) : mode_(mode) {
    stdfs::create_directories(stdfs::path(host_path).parent_path());
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    EXPECT_LT(host_path.size(), sizeof(addr.sun_path));
    std::memcpy(addr.sun_path, host_path.c_str(), host_path.size() + 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << host_path;
    EXPECT_EQ(::listen(fd_, 8), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeClamd() {
    stop_ = true;
    thread_.join();
    for (int c : held_) {
      ::close(c);
    }
    ::close(fd_);
  }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) {
        continue;
      }
      std::string request;
      char buf[256];
      while (request.find('\0') == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof(buf));
        if (n <= 0) {
          break;
        }
        request.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      if (mode_ == Daemon::kSilent) {
        held_.push_back(c);  // keep it open and say nothing: the client must time out
        continue;
      }
      std::string reply = "UNKNOWN COMMAND";
      if (mode_ == Daemon::kPong && request.starts_with(std::string("zPING\0", 6))) {
        reply = "PONG";
      } else if (mode_ == Daemon::kPong && request.starts_with(std::string("zVERSION\0", 9))) {
        reply = "ClamAV 1.0.7/27470/Thu Nov 26 06:00:00 2026";
      }
      reply.push_back('\0');
      EXPECT_EQ(::write(c, reply.data(), reply.size()), static_cast<ssize_t>(reply.size()));
      ::close(c);
    }
  }

  Daemon mode_;
  int fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::vector<int> held_;
};

// A copy of a fixture tree in a fresh temporary directory (short, for sockaddr_un).
class TempRoot {
 public:
  explicit TempRoot(const std::string& fixture) {
    char tmpl[] = "/tmp/cg-av-XXXXXX";
    path_ = ::mkdtemp(tmpl);
    stdfs::copy(std::string(CG_FIXTURES) + "/antivirus/" + fixture, path_,
                stdfs::copy_options::recursive | stdfs::copy_options::copy_symlinks);
  }
  ~TempRoot() { stdfs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

policy::CheckPolicy PolicyWith(const json& params) {
  auto p = policy::ParsePolicy(json{{"checks", {{"antivirus", params}}}});
  EXPECT_TRUE(p.ok()) << p.error().ToString();
  return p->Check("antivirus");
}

protocol::CheckResult RunOn(const std::string& root, const json& params = json::object()) {
  auto platform = platform::CreateNativePlatform(root);
  EXPECT_TRUE(platform.ok()) << platform.error().ToString();
  platform->clock = std::make_unique<platform::fake::FakeClock>(FromUnixSeconds(kNowUnix));
  const auto section = PolicyWith(params);
  AntivirusCheck check;
  return check.Evaluate(CheckContext{*platform, section});
}

struct Case {
  const char* fixture;
  Daemon daemon;
  CheckStatus status;
  const char* summary_has;
  const char* engine;
  json age_hours;  // null: not known
  json running;    // null: not known
  json params = json::object();
  const char* socket = "/var/run/clamav/clamd.ctl";
  // Optional change to the copied tree before the run.
  std::function<void(const std::string&)> prepare = nullptr;
};

std::string MakeCvdHeader(const std::string& when, int version) {
  std::string h = "ClamAV-VDB:" + when + ":" + std::to_string(version) +
                  ":2068001:90:0123456789abcdef0123456789abcdef:dsig:raynman";
  h.resize(kCvdHeaderSize, ' ');
  return h;
}

TEST(Antivirus, Fixtures) {
  const std::vector<Case> cases = {
      {"clamav_ok", Daemon::kPong, CheckStatus::kPass, "ClamAV 1.0.7", "clamav", 6, true},
      // daily.cld (incremental updates, newer version) wins over the older daily.cvd;
      // its time is in +0700: 25 Nov 21:14 local = 14:14 UTC, 21 h before the clock.
      {"clamav_cld_newer", Daemon::kPong, CheckStatus::kPass, "signatures 21 h old", "clamav", 21,
       true},
      {"clamav_stale", Daemon::kPong, CheckStatus::kFail, "signatures are 146 h old (limit 72 h)",
       "clamav", 146, true},
      // The same tree passes under a policy that tolerates a week.
      {"clamav_stale",
       Daemon::kPong,
       CheckStatus::kPass,
       "ClamAV",
       "clamav",
       146,
       true,
       {{"max_signature_age_hours", 168}}},
      {"clamav_ok", Daemon::kNone, CheckStatus::kFail, "clamd is not answering", "clamav", 6,
       false},
      {"clamav_ok", Daemon::kSilent, CheckStatus::kFail, "clamd is not answering", "clamav", 6,
       false},
      {"clamav_ok", Daemon::kWrongAnswer, CheckStatus::kFail, "instead of PONG", "clamav", 6,
       false},
      {"clamav_custom_socket", Daemon::kPong, CheckStatus::kPass, "ClamAV", "clamav", 6, true,
       json::object(), "/run/clamd.scan/clamd.sock"},
      // On-access configured but the process table (no proc/ in the tree) cannot confirm
      // clamonacc: fine unless the policy requires real-time scanning.
      {"clamav_custom_socket",
       Daemon::kPong,
       CheckStatus::kError,
       "real-time scanning state cannot be read",
       "clamav",
       6,
       true,
       {{"require_realtime", true}},
       "/run/clamd.scan/clamd.sock"},
      {"clamav_onaccess",
       Daemon::kPong,
       CheckStatus::kPass,
       "real-time on",
       "clamav",
       6,
       true,
       {{"require_realtime", true}}},
      {"clamav_ok",
       Daemon::kPong,
       CheckStatus::kFail,
       "real-time scanning is off",
       "clamav",
       6,
       true,
       {{"require_realtime", true}}},
      {"clamav_corrupt_db", Daemon::kPong, CheckStatus::kError, "truncated database header",
       "clamav", nullptr, true},
      {"clamav_bad_header", Daemon::kPong, CheckStatus::kError, "bad database build time", "clamav",
       nullptr, true},
      {"clamav_missing_db", Daemon::kPong, CheckStatus::kError,
       "no daily.cvd or daily.cld in /var/lib/clamav", "clamav", nullptr, true},
      {"clamav_future_db", Daemon::kPong, CheckStatus::kError, "machine clock is wrong", "clamav",
       nullptr, true},
      {"clamav_freshclam_example", Daemon::kPong, CheckStatus::kFail,
       "freshclam.conf still has the 'Example' line", "clamav", 6, true},
      {"clamav_no_freshclam", Daemon::kPong, CheckStatus::kFail, "freshclam is not configured",
       "clamav", 6, true},
      {"clamav_dbdir_mismatch", Daemon::kPong, CheckStatus::kFail,
       "clamd loads databases from /var/lib/clamav but freshclam updates /srv/clamav", "clamav", 6,
       true},
      {"clamav_scanner_only", Daemon::kNone, CheckStatus::kFail, "clamd is not installed", "clamav",
       6, false},
      // A database larger than the small-file bound is read by its header only.
      {"clamav_ok", Daemon::kPong, CheckStatus::kPass, "signatures 3 h old", "clamav", 3, true,
       json::object(), "/var/run/clamav/clamd.ctl",
       [](const std::string& root) {
         std::ofstream out(root + "/var/lib/clamav/daily.cvd", std::ios::binary | std::ios::trunc);
         out << MakeCvdHeader("26 Nov 2026 09-00 +0000", 27471) << std::string(3u << 20, 'x');
       }},
      {"no_engine", Daemon::kNone, CheckStatus::kFail, "no antivirus engine found", "none", nullptr,
       false},
      {"clamav_removed", Daemon::kNone, CheckStatus::kFail, "no antivirus engine found", "none",
       nullptr, false},
      {"eset_running", Daemon::kNone, CheckStatus::kError, "cannot read this engine's signature",
       "eset", nullptr, true},
      {"eset_running",
       Daemon::kNone,
       CheckStatus::kPass,
       "ESET Endpoint/Server Security 11.1.3.0",
       "eset",
       nullptr,
       true,
       {{"accept_unknown_signature_age", true}, {"require_realtime", true}}},
      {"kesl_stopped",
       Daemon::kNone,
       CheckStatus::kFail,
       "installed but not running",
       "kaspersky",
       nullptr,
       false,
       {{"accept_unknown_signature_age", true}}},
      {"mdatp_running",
       Daemon::kNone,
       CheckStatus::kPass,
       "Microsoft Defender",
       "mdatp",
       nullptr,
       true,
       {{"accept_unknown_signature_age", true}}},
      {"sophos_no_proc_table", Daemon::kNone, CheckStatus::kError, "process table is unreadable",
       "sophos", nullptr, nullptr},
      {"clamav_stale_and_eset",
       Daemon::kPong,
       CheckStatus::kPass,
       "ESET",
       "eset",
       nullptr,
       true,
       {{"accept_unknown_signature_age", true}}},
      {"clamav_stale_and_eset", Daemon::kPong, CheckStatus::kError, "signatures are 146 h old",
       "eset", nullptr, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.fixture) + " " + c.params.dump());
    TempRoot root(c.fixture);
    if (c.prepare) {
      c.prepare(root.path());
    }
    std::optional<FakeClamd> clamd;
    if (c.daemon != Daemon::kNone) {
      clamd.emplace(root.path() + c.socket, c.daemon);
    }
    const auto r = RunOn(root.path(), c.params);
    EXPECT_EQ(r.status, c.status) << r.summary;
    EXPECT_NE(r.summary.find(c.summary_has), std::string::npos) << r.summary;
    EXPECT_EQ(r.facts.value("engine", ""), c.engine) << r.facts.dump();
    EXPECT_EQ(r.facts.value("age_hours", json()), c.age_hours) << r.facts.dump();
    EXPECT_EQ(r.facts.value("running", json()), c.running) << r.facts.dump();
    EXPECT_EQ(r.id, "antivirus");
    if (c.daemon == Daemon::kPong) {
      EXPECT_GE(clamd->requests(), 1) << "the check never asked clamd";
    }
  }
}

TEST(Antivirus, FactsOfAPassingClamav) {
  TempRoot root("clamav_ok");
  FakeClamd clamd(root.path() + "/var/run/clamav/clamd.ctl", Daemon::kPong);
  const auto r = RunOn(root.path());
  ASSERT_EQ(r.status, CheckStatus::kPass) << r.summary;
  EXPECT_EQ(r.facts["version"], "1.0.7+dfsg-1~deb12u1");
  EXPECT_EQ(r.facts["signature_time"], "2026-11-26T06:00:00Z");
  EXPECT_EQ(r.facts["realtime"], false);
  const json& engine = r.facts["engines"][0];
  EXPECT_EQ(engine["clamd"]["ping"], "PONG");
  EXPECT_EQ(engine["clamd"]["version"], "ClamAV 1.0.7/27470/Thu Nov 26 06:00:00 2026");
  EXPECT_EQ(engine["freshclam"]["database_directory"], "/var/lib/clamav");
  // main and bytecode are reported, daily judged.
  EXPECT_EQ(engine["databases"]["main"]["version"], 62);
  EXPECT_EQ(engine["databases"]["main"]["build_time"], "2021-09-16T12:32:00Z");
  EXPECT_EQ(engine["databases"]["bytecode"]["version"], 335);
  EXPECT_EQ(engine["databases"]["daily"]["signatures"], 2068001);
  EXPECT_EQ(r.expected["max_signature_age_hours"], 72);
  EXPECT_EQ(r.observed["age_hours"], 6);
}

TEST(Antivirus, CvdHeaderParsing) {
  auto h = ParseCvdHeader(MakeCvdHeader("23 Nov 2026 09-26 +0000", 27464));
  ASSERT_TRUE(h.ok()) << h.error().ToString();
  EXPECT_EQ(h->version, 27464);
  EXPECT_EQ(h->signatures, 2068001);
  EXPECT_EQ(FormatRfc3339(h->build_time), "2026-11-23T09:26:00Z");
  EXPECT_EQ(h->build_time_text, "23 Nov 2026 09-26 +0000");

  // Negative offsets move the time forward to UTC.
  auto t = ParseCvdTime("16 Sep 2021 08-32 -0400");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2021-09-16T12:32:00Z");

  // An unparsable time string falls back to the Unix-seconds field of newer headers.
  std::string with_stime = "ClamAV-VDB:garbled:27464:2068001:90:md5:dsig:raynman:1795166760";
  with_stime.resize(kCvdHeaderSize, ' ');
  auto s = ParseCvdHeader(with_stime);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(FormatRfc3339(s->build_time), "2026-11-20T09:26:00Z");

  for (const std::string& bad :
       {std::string("ClamAV-VDB:23 Nov 2026 09-26 +0000:1:2"), std::string(512, ' '),
        std::string("ClamAV-VDB:31 Feb 2026 09-26 +0000:1:2:90:m:d:b").append(512, ' '),
        std::string("ClamAV-VDB:23 Nov 2026 09-26 +0000:-4:2:90:m:d:b").append(512, ' '),
        std::string("ClamAV-VDB:23 Nov 2026 09-26 +0000:x:2:90:m:d:b").append(512, ' ')}) {
    EXPECT_FALSE(ParseCvdHeader(bad).ok()) << bad.substr(0, 60);
  }
  for (const char* bad : {"23 Nov 2026 09-26", "23 Foo 2026 09-26 +0000", "23 Nov 2026 25-00 +0000",
                          "23 Nov 26 09-26 +0000", "aa Nov 2026 09-26 +0000"}) {
    EXPECT_FALSE(ParseCvdTime(bad).ok()) << bad;
  }
}

TEST(Antivirus, ClamConfParsing) {
  const auto conf = ParseClamConf(
      "# comment\n\nExample\nLocalSocket \"/run/clamav/clamd.ctl\"\nDatabaseDirectory  /a\n"
      "  DatabaseDirectory /b  \nOnAccessIncludePath /home\n");
  ASSERT_EQ(conf.size(), 5u);
  EXPECT_EQ(conf[0].first, "Example");
  EXPECT_EQ(conf[0].second, "");
  EXPECT_EQ(conf[1].second, "/run/clamav/clamd.ctl");
  EXPECT_EQ(conf[3].first, "DatabaseDirectory");
  EXPECT_EQ(conf[3].second, "/b");
}

// The real machine: whatever is installed, the check decides or says why it cannot.
TEST(Antivirus, RealMachine) {
  auto platform = platform::CreateNativePlatform("/");
  ASSERT_TRUE(platform.ok()) << platform.error().ToString();
  const auto section = PolicyWith(json::object());
  const auto r = AntivirusCheck().Evaluate(CheckContext{*platform, section});
  EXPECT_FALSE(r.summary.empty());
  EXPECT_TRUE(r.status == CheckStatus::kPass || r.status == CheckStatus::kFail ||
              r.status == CheckStatus::kError)
      << r.summary;
  std::cout << "antivirus on this machine: " << protocol::ToString(r.status) << ": " << r.summary
            << "\n";
}

}  // namespace
}  // namespace cg::collectors

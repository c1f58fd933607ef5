// Tests for agent/spool.cpp on a real directory: entry format and checksums, corrupt and
// truncated entries, the byte bound and its drop order, and the events that report losses.
#include "agent/spool.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/state.h"
#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using std::chrono::seconds;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

protocol::Report Posture(int n, size_t padding = 0) {
  protocol::Report r;
  r.report_id = Uuid(n);
  r.device_id = Uuid(999);
  r.hostname = "pc";
  r.agent_version = "0.1.0";
  r.collected_at = FormatRfc3339(kT0 + seconds(n));
  r.policy_hash = std::string(padding + 1, 'h');
  return r;
}

protocol::Report Security(int n, size_t padding = 0) {
  auto r = Posture(n, padding);
  r.events.push_back({"policy_refused", r.collected_at, {{"reason", "not_newer"}}});
  return r;
}

std::vector<std::string> Ids(Spool& spool) {
  auto entries = spool.List(/*repair=*/false);
  EXPECT_TRUE(entries.ok());
  std::vector<std::string> ids;
  for (const auto& e : entries.value_or(std::vector<SpoolEntry>{})) {
    ids.push_back(e.report_id);
  }
  return ids;
}

class SpoolTest : public ::testing::Test {
 protected:
  std::string Dir() const { return dir_.File("spool"); }
  TempDir dir_;
};

TEST_F(SpoolTest, EntriesComeBackInOrderWithTheirBodies) {
  Spool spool(Dir());
  for (int n : {3, 1, 2}) {
    auto r = Posture(n);
    ASSERT_TRUE(spool.Put(r, kT0).ok());
  }
  auto entries = spool.List();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(3), Uuid(1), Uuid(2)})) << "spool order";
  auto body = spool.Read((*entries)[1]);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(nlohmann::json::parse(*body), protocol::ToJson(Posture(1)));
  const std::string file = ReadFileToString(Dir() + "/" + (*entries)[0].file).value_or("");
  EXPECT_EQ(file.rfind("CGSPOOL1 ", 0), 0u) << file.substr(0, 80);
  EXPECT_EQ(fs::status(Dir() + "/" + (*entries)[0].file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ASSERT_TRUE(spool.Remove((*entries)[1]).ok());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(3), Uuid(2)}));
}

TEST_F(SpoolTest, ATruncatedEntryIsMovedAsideCountedAndReportedWithoutBlockingTheQueue) {
  Spool spool(Dir());
  for (int n : {1, 2, 3}) {
    auto r = Posture(n);
    ASSERT_TRUE(spool.Put(r, kT0).ok());
  }
  auto entries = spool.List();
  ASSERT_TRUE(entries.ok());
  const std::string victim = Dir() + "/" + (*entries)[1].file;
  fs::resize_file(victim, fs::file_size(victim) - 10);  // power loss mid-write
  EXPECT_EQ(Ids(spool).size(), 3u) << "a listing without repair changes nothing";
  EXPECT_EQ(spool.List()->size(), 2u);
  EXPECT_TRUE(fs::exists(Dir() + "/corrupt/" + (*entries)[1].file));
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(1), Uuid(3)}));
  EXPECT_EQ(spool.Counters()->corrupt, 1);

  auto next = Posture(4);
  ASSERT_TRUE(spool.Put(next, kT0).ok());
  ASSERT_EQ(next.events.size(), 1u);
  EXPECT_EQ(next.events[0].type, "spool_damaged");
  EXPECT_EQ(next.events[0].details["corrupt_entries"], 1);
  auto after = Posture(5);
  ASSERT_TRUE(spool.Put(after, kT0).ok());
  EXPECT_TRUE(after.events.empty()) << "reported once";
}

TEST_F(SpoolTest, AFlippedByteFailsTheChecksumOnRead) {
  Spool spool(Dir());
  for (int n : {1, 2}) {
    auto r = Posture(n);
    ASSERT_TRUE(spool.Put(r, kT0).ok());
  }
  auto entries = spool.List();
  ASSERT_TRUE(entries.ok());
  const std::string path = Dir() + "/" + (*entries)[0].file;
  std::string data = ReadFileToString(path).value();
  data[data.size() - 5] ^= 0x20;  // same size: only the checksum can tell
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
  }
  ASSERT_EQ(spool.List()->size(), 2u);
  auto body = spool.Read((*entries)[0]);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.error().code, ErrorCode::kParse);
  EXPECT_TRUE(spool.Read((*entries)[1]).ok());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(2)}));
  EXPECT_EQ(spool.Counters()->corrupt, 1);
}

TEST_F(SpoolTest, LeftoversOfInterruptedWritesAreRemoved) {
  Spool spool(Dir());
  auto r = Posture(1);
  ASSERT_TRUE(spool.Put(r, kT0).ok());
  ASSERT_TRUE(WriteFileAtomic(Dir() + "/.00000000000000000002-p-x.rep.tmpAbCdEf", "CGSP").ok());
  EXPECT_EQ(spool.List()->size(), 1u);
  EXPECT_FALSE(fs::exists(Dir() + "/.00000000000000000002-p-x.rep.tmpAbCdEf"));
}

TEST_F(SpoolTest, WhenFullOlderPostureGoesFirstSecurityLastAndEveryDropIsReported) {
  // Each entry is a bit over 1 KiB; the bound holds four.
  const size_t pad = 1000;
  auto size_of = [&](protocol::Report r) {
    Spool probe(dir_.File("probe"));
    EXPECT_TRUE(probe.Put(r, kT0).ok());
    return probe.List()->front().bytes;
  };
  const uint64_t entry = size_of(Security(0, pad));
  Spool spool(Dir(), entry * 4 + 400);
  std::vector<protocol::Report> put = {Security(1, pad), Posture(2, pad), Posture(3, pad),
                                       Security(4, pad)};
  for (auto& r : put) {
    ASSERT_TRUE(spool.Put(r, kT0).ok());
  }
  auto s5 = Security(5, pad);  // full: the older posture snapshot (2) goes; 3 is the newest
  ASSERT_TRUE(spool.Put(s5, kT0).ok());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(1), Uuid(3), Uuid(4), Uuid(5)}));
  auto s6 = Security(6, pad);  // only the newest posture left: now the oldest security goes
  ASSERT_TRUE(spool.Put(s6, kT0).ok());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(3), Uuid(4), Uuid(5), Uuid(6)}));
  auto p7 = Posture(7, pad);  // a new posture snapshot supersedes the old one
  ASSERT_TRUE(spool.Put(p7, kT0).ok());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(4), Uuid(5), Uuid(6), Uuid(7)}));
  auto c = spool.Counters();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dropped_posture, 2);
  EXPECT_EQ(c->dropped_security, 1);

  // Each drop is told once, in the next report spooled after it.
  auto dropped_event = [](const protocol::Report& r) {
    for (const auto& e : r.events) {
      if (e.type == "spool_dropped") {
        return e.details;
      }
    }
    return nlohmann::json();
  };
  EXPECT_TRUE(dropped_event(s5).is_null());
  EXPECT_EQ(dropped_event(s6)["posture_reports"], 1);  // 2, dropped for s5
  EXPECT_EQ(dropped_event(s6)["security_reports"], 0);
  EXPECT_EQ(dropped_event(p7)["posture_reports"], 0);
  EXPECT_EQ(dropped_event(p7)["security_reports"], 1);  // 1, dropped for s6
  auto p8 = Posture(8);
  ASSERT_TRUE(spool.Put(p8, kT0).ok());
  EXPECT_EQ(dropped_event(p8)["posture_reports"], 1);  // 3, dropped for p7
  EXPECT_EQ(dropped_event(p8)["total_posture_reports"], 2);
  EXPECT_EQ(dropped_event(p8)["total_security_reports"], 1);
}

TEST_F(SpoolTest, AReportLargerThanTheBoundIsRefusedAndNothingIsDropped) {
  Spool spool(Dir(), 2000);
  auto small = Posture(1);
  ASSERT_TRUE(spool.Put(small, kT0).ok());
  auto big = Posture(2, 5000);
  auto s = spool.Put(big, kT0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(1)}));
}

TEST_F(SpoolTest, TheStateDirReportIdApiUsesTheSameSpool) {
  StateDir state(dir_.File("state"));
  ASSERT_TRUE(state.Prepare().ok());
  const std::string body = protocol::ToJson(Posture(1)).dump();
  ASSERT_TRUE(state.SpoolPut(Uuid(1), body).ok());
  EXPECT_FALSE(state.SpoolPut(Uuid(2), body).ok()) << "id and report must agree";
  EXPECT_FALSE(state.SpoolPut(Uuid(3), "{not json").ok());
  Spool spool(state.SpoolDir());
  EXPECT_EQ(Ids(spool), (std::vector<std::string>{Uuid(1)})) << "a checksummed entry";
  EXPECT_EQ(state.SpoolList().value_or(std::vector<std::string>{}),
            (std::vector<std::string>{Uuid(1)}));
  auto read = state.SpoolGet(Uuid(1));
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(nlohmann::json::parse(*read), nlohmann::json::parse(body));
  ASSERT_TRUE(state.SpoolRemove(Uuid(1)).ok());
  EXPECT_TRUE(state.SpoolRemove(Uuid(1)).ok());
  EXPECT_TRUE(Ids(spool).empty());
}

TEST(SpoolKindTest, SecurityReportsAreThoseWithEventsMatchesOrEnforcement) {
  auto r = Posture(1);
  EXPECT_EQ(KindOf(r), SpoolKind::kPosture);
  protocol::CheckResult yara;
  yara.id = "yara";
  yara.status = protocol::CheckStatus::kFail;
  r.checks.push_back(yara);
  EXPECT_EQ(KindOf(r), SpoolKind::kSecurity);
  r.checks[0].status = protocol::CheckStatus::kPass;
  r.checks[0].remediation = {{"action", "set"}, {"dry_run", true}};
  EXPECT_EQ(KindOf(r), SpoolKind::kPosture);
  r.checks[0].remediation["dry_run"] = false;
  EXPECT_EQ(KindOf(r), SpoolKind::kSecurity);
}

}  // namespace
}  // namespace cg::agent

// Tests for agent/sender.cpp: a real spool in a temporary directory, and a scripted SOC behind
// the Transport interface (the answers a real SOC gives; the integration tests use the real
// one). Sleeps are recorded instead of slept, the random generator is seeded.
#include "agent/sender.h"

#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

// A SOC that answers from a script; with the script empty it commits everything it is sent.
struct ScriptedSoc {
  struct Call {
    std::string target;
    std::vector<std::string> report_ids;
  };
  // Next answers: an HTTP response, or a transport error when status == 0.
  std::deque<protocol::HttpResponse> script;
  std::vector<Call> calls;
  int connects = 0;
  int closes = 0;
  int credentials = 1;  // bumped by a renewal: connections made before are stale
  std::vector<std::string> committed;

  Result<protocol::HttpResponse> Answer(const std::string& target, const std::string& body) {
    const json j = json::parse(body);
    Call call{target, {}};
    if (target == "/v1/reports") {
      call.report_ids.push_back(j["report_id"]);
    } else {
      for (const auto& r : j["reports"]) {
        call.report_ids.push_back(r["report_id"]);
      }
    }
    calls.push_back(call);
    if (!script.empty()) {
      auto r = script.front();
      script.pop_front();
      if (r.status == 0) {
        return MakeError(ErrorCode::kNetwork, "connection reset by peer");
      }
      return r;
    }
    for (const auto& id : call.report_ids) {
      committed.push_back(id);
    }
    if (target == "/v1/reports") {
      return protocol::HttpResponse::Json(
          200, {{"status", "committed"}, {"report_id", call.report_ids[0]}, {"duplicate", false}});
    }
    json results = json::array();
    for (const auto& id : call.report_ids) {
      results.push_back({{"report_id", id}, {"status", "committed"}, {"duplicate", false}});
    }
    return protocol::HttpResponse::Json(200, {{"results", results}});
  }
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(ScriptedSoc& soc) : soc_(soc) {}
  Result<protocol::HttpResponse> Post(const std::string& target, const std::string& body) override {
    return soc_.Answer(target, body);
  }
  void Close() override { ++soc_.closes; }
  bool Stale() const override { return soc_.credentials != credentials_; }

 private:
  ScriptedSoc& soc_;
  int credentials_ = soc_.credentials;  // what the connection was made with
};

class SenderTest : public ::testing::Test {
 protected:
  SenderTest() : spool_(dir_.File("spool")) {}

  void Spool(int count) {
    for (int i = 0; i < count; ++i) {
      protocol::Report r;
      r.report_id = Uuid(++next_);
      r.device_id = Uuid(999);
      r.hostname = "pc";
      r.agent_version = "0.1.0";
      r.collected_at = FormatRfc3339(kT0 + seconds(next_));
      r.policy_hash = "h";
      ASSERT_TRUE(spool_.Put(r, kT0).ok());
    }
  }

  Sender MakeSender(SenderOptions options = {}) {
    return Sender(
        spool_,
        [this]() -> Result<std::unique_ptr<Transport>> {
          ++soc_.connects;
          return std::unique_ptr<Transport>(std::make_unique<FakeTransport>(soc_));
        },
        options, [this](milliseconds d) { sleeps_.push_back(d); }, 42);
  }

  static protocol::HttpResponse Status(int status, std::string retry_after = "") {
    auto r = protocol::HttpResponse::Error(status, "x", "status " + std::to_string(status));
    if (!retry_after.empty()) {
      r.headers.emplace_back("Retry-After", retry_after);
    }
    return r;
  }

  size_t Spooled() { return spool_.List(false)->size(); }

  TempDir dir_;
  agent::Spool spool_;
  ScriptedSoc soc_;
  std::vector<milliseconds> sleeps_;
  int next_ = 0;
};

TEST_F(SenderTest, SendsInOrderInBatchesOverOneConnection) {
  Spool(5);
  SenderOptions options;
  options.max_batch_reports = 2;
  auto sender = MakeSender(options);
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->committed, 5);
  ASSERT_EQ(soc_.calls.size(), 3u);
  EXPECT_EQ(soc_.calls[0].target, "/v1/reports/batch");
  EXPECT_EQ(soc_.calls[0].report_ids, (std::vector<std::string>{Uuid(1), Uuid(2)}));
  EXPECT_EQ(soc_.calls[2].target, "/v1/reports") << "a batch of one goes to the single route";
  EXPECT_EQ(soc_.committed,
            (std::vector<std::string>{Uuid(1), Uuid(2), Uuid(3), Uuid(4), Uuid(5)}));
  EXPECT_EQ(Spooled(), 0u);
  Spool(1);
  ASSERT_TRUE(sender.Deliver().ok());
  EXPECT_EQ(soc_.connects, 1) << "the connection is kept between deliveries";
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(SenderTest, RetryAfterFrom503And429IsHonoured) {
  Spool(2);
  soc_.script = {Status(503, "7"), Status(429, "3")};
  auto sender = MakeSender();
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(sleeps_.size(), 2u);
  EXPECT_GE(sleeps_[0], milliseconds(7000));
  EXPECT_LE(sleeps_[0], milliseconds(7700));
  EXPECT_GE(sleeps_[1], milliseconds(3000));
  EXPECT_LE(sleeps_[1], milliseconds(3300));
  EXPECT_EQ(soc_.committed.size(), 2u);
  EXPECT_EQ(soc_.closes, 0) << "an HTTP answer keeps the connection";
}

TEST_F(SenderTest, TransportErrorsReconnectWithExponentialJitteredBackoffThenGiveUp) {
  Spool(3);
  SenderOptions options;
  options.max_attempts = 4;
  options.backoff_initial = milliseconds(1000);
  options.backoff_max = milliseconds(3000);
  options.reconnect_window = milliseconds(20'000);
  soc_.script = {Status(0), Status(0), Status(0), Status(0)};
  auto sender = MakeSender(options);
  auto result = sender.Deliver();
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("3 report(s) stay spooled"), std::string::npos)
      << result.error().message;
  EXPECT_EQ(Spooled(), 3u);
  EXPECT_EQ(soc_.connects, 4) << "each transport error drops the connection";
  ASSERT_EQ(sleeps_.size(), 3u);
  EXPECT_LE(sleeps_[0], milliseconds(1000));  // full jitter over 1 s, 2 s, then the 3 s cap
  EXPECT_LE(sleeps_[1], milliseconds(2000));
  EXPECT_LE(sleeps_[2], milliseconds(3000));
  EXPECT_EQ(sender.failures(), 1);

  // The SOC is back: the first reconnection waits a random part of the window, then all goes.
  sleeps_.clear();
  result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  ASSERT_EQ(sleeps_.size(), 1u);
  EXPECT_LT(sleeps_[0], milliseconds(20'000));
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(1), Uuid(2), Uuid(3)}));
  EXPECT_EQ(sender.failures(), 0);
}

TEST_F(SenderTest, AReportTheSocRefusesForGoodIsMovedAsideAndTheRestGoOn) {
  Spool(3);
  json results = json::array({{{"report_id", Uuid(1)}, {"status", "committed"}},
                              {{"report_id", Uuid(2)},
                               {"status", "rejected"},
                               {"http_status", 400},
                               {"error", {{"code", "invalid_report"}}}},
                              {{"report_id", Uuid(3)}, {"status", "error"}}});
  soc_.script = {protocol::HttpResponse::Json(200, {{"results", results}})};
  auto sender = MakeSender();
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->committed, 2);
  EXPECT_EQ(result->rejected, 1);
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(3)})) << "3 was retried";
  EXPECT_TRUE(std::filesystem::exists(spool_.dir() + "/rejected"));
  EXPECT_EQ(spool_.Counters()->rejected, 1);
  EXPECT_EQ(Spooled(), 0u);
}

TEST_F(SenderTest, RefusedCredentialsKeepTheReportsAndReconnect) {
  // 403 for the request (a certificate superseded meanwhile): about the connection, not the
  // reports, which stay spooled and go on a new connection.
  Spool(3);
  soc_.script = {Status(403), Status(401)};
  auto sender = MakeSender();
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->rejected, 0);
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(1), Uuid(2), Uuid(3)}));
  EXPECT_EQ(soc_.connects, 3) << "each refusal drops the connection";
  EXPECT_FALSE(std::filesystem::exists(spool_.dir() + "/rejected"));
  // A single report too.
  Spool(1);
  soc_.script = {Status(403)};
  ASSERT_TRUE(sender.Deliver().ok());
  EXPECT_EQ(soc_.committed.back(), Uuid(4));
  EXPECT_EQ(spool_.Counters()->rejected, 0);
}

TEST_F(SenderTest, AnAnswerNestedTooDeepIsNotUnderstoodAndTheReportsStay) {
  // A hostile or broken SOC: 200 with a body nested 100 000 levels. Parsed with the protocol's
  // depth bound it is "not understood" (never built, so nothing recurses on it).
  Spool(2);
  protocol::HttpResponse deep;
  deep.status = 200;
  deep.body = std::string(100'000, '[') + std::string(100'000, ']');
  soc_.script = {deep};
  auto sender = MakeSender();
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->committed, 2);
  EXPECT_EQ(result->rejected, 0);
  EXPECT_EQ(soc_.calls.size(), 2u) << "retried after the answer that was not understood";
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(1), Uuid(2)}));
}

TEST_F(SenderTest, ANewDeviceCertificateIsUsedAtOnce) {
  Spool(1);
  auto sender = MakeSender();
  ASSERT_TRUE(sender.Deliver().ok());
  EXPECT_EQ(soc_.connects, 1);
  ++soc_.credentials;  // a renewal installed a new certificate
  Spool(1);
  ASSERT_TRUE(sender.Deliver().ok());
  EXPECT_EQ(soc_.connects, 2) << "the connection made with the old certificate is not reused";
  EXPECT_EQ(soc_.closes, 1);
  Spool(1);
  ASSERT_TRUE(sender.Deliver().ok());
  EXPECT_EQ(soc_.connects, 2);
}

TEST_F(SenderTest, ACorruptEntryIsSkippedAndCounted) {
  Spool(3);
  auto entries = spool_.List();
  const std::string path = spool_.dir() + "/" + (*entries)[0].file;
  std::string data = ReadFileToString(path).value();
  data[data.size() - 3] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(path, data, 0600).ok());
  auto sender = MakeSender();
  auto result = sender.Deliver();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result->corrupt, 1);
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(2), Uuid(3)}));
}

TEST_F(SenderTest, AnOlderSocWithoutTheBatchRouteGetsReportsOneByOne) {
  Spool(3);
  soc_.script = {Status(404)};
  auto sender = MakeSender();
  ASSERT_TRUE(sender.Deliver().ok());
  ASSERT_EQ(soc_.calls.size(), 4u);
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(soc_.calls[i].target, "/v1/reports");
  }
  EXPECT_EQ(soc_.committed, (std::vector<std::string>{Uuid(1), Uuid(2), Uuid(3)}));
}

TEST(RetryAfterTest, DelaySecondsOnly) {
  EXPECT_EQ(ParseRetryAfter("120"), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 "), seconds(0));
  EXPECT_EQ(ParseRetryAfter("999999999"), seconds(24 * 3600));
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 1999 23:59:59 GMT"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5"), std::nullopt);
  EXPECT_EQ(ParseRetryAfter(""), std::nullopt);
}

}  // namespace
}  // namespace cg::agent

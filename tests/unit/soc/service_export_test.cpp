// Tests for soc/service_export.cpp and soc/metrics.cpp through the operator port's handler:
// /healthz without a token and without an audit row, /readyz (database, ingest writer), /metrics
// (bearer token, valid Prometheus text, counters that move with ingest), the export status and
// the staleness sweep.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/timeutil.h"
#include "protocol/pki.h"
#include "soc/exporter.h"
#include "soc/ingest_writer.h"
#include "soc/metrics.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};
const std::string kDevice = "00000000-0000-4000-8000-000000000001";

// Parses the text exposition format (0.0.4): every sample belongs to a family declared by
// # TYPE before it; names and label syntax are checked; returns "name{labels}" -> value.
std::map<std::string, double> ParseExposition(const std::string& text,
                                              std::vector<std::string>& errors) {
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*")*\})? ([-+0-9.eE]+|\+Inf|NaN)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kType)) {
      if (!types.emplace(m[1], m[2]).second) {
        errors.push_back("family declared twice: " + line);
      }
    } else if (std::regex_match(line, kHelp)) {
    } else if (std::regex_match(line, m, kSample)) {
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string s = suffix;
        if (!types.count(family) && family.size() > s.size() &&
            family.compare(family.size() - s.size(), s.size(), s) == 0) {
          family.resize(family.size() - s.size());
        }
      }
      if (!types.count(family)) {
        errors.push_back("sample before its # TYPE: " + line);
      }
      const std::string key = line.substr(0, line.rfind(' '));
      if (!samples.emplace(key, std::stod(line.substr(line.rfind(' ') + 1))).second) {
        errors.push_back("sample twice: " + line);
      }
    } else {
      errors.push_back("not exposition format: " + line);
    }
  }
  return samples;
}

// Every backend (the storage conformance suite, issue 17).
class ServiceExportTest : public ::testing::TestWithParam<storage_testing::Backend> {
 protected:
  void SetUp() override {
    db_ = storage_testing::MakeTestDatabase(GetParam(), dir_.path());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    auto s = db_->Open(true);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    storage_ = std::move(s).value();
    auto ca = protocol::CertificateAuthority::Create("Test CA", hours(24 * 365), kT0);
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    service_ = std::make_unique<SocService>(
        *storage_, *ca_, [this] { return now_; }, SocConfig{});
    analyst_ = *service_->CreateOperatorToken("nguyen.van.a", "analyst", std::nullopt);
    Device d;
    d.device_id = kDevice;
    d.hostname = "Bắc Hà 01";
    d.machine_id = "m1";
    d.group = "laocai/bac-ha";
    d.cert_serial = "0a1b";
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0;
    ASSERT_TRUE(storage_->AddDevice(d).ok());
  }

  HttpResponse Operator(const std::string& method, const std::string& target,
                        const std::string& token) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) {
      r.headers.emplace_back("Authorization", "Bearer " + token);
    }
    r.peer_address = "127.0.0.1:40000";
    std::optional<HttpResponse> answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse a) { answer = std::move(a); });
    return answer.value_or(HttpResponse{});
  }

  HttpResponse Report(const std::string& body) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/v1/reports";
    r.body = body;
    r.peer_address = "10.0.0.5:5000";
    r.peer_cert = protocol::PeerCertificate{kDevice, "laocai/bac-ha", "0a1b"};
    std::optional<HttpResponse> answer;
    service_->HandleAgent(std::move(r), [&](HttpResponse a) { answer = std::move(a); });
    return answer.value_or(HttpResponse{});
  }

  static std::string ReportBody(const std::string& report_id, protocol::CheckStatus status) {
    protocol::Report r;
    r.report_id = report_id;
    r.device_id = kDevice;
    r.hostname = "pc";
    r.agent_version = "0.1.0";
    r.collected_at = FormatRfc3339(kT0);
    protocol::CheckResult c;
    c.id = "screen_lock";
    c.status = status;
    c.summary = "s";
    r.checks.push_back(c);
    return protocol::ToJson(r).dump();
  }

  std::map<std::string, double> Scrape() {
    const HttpResponse answer = Operator("GET", "/metrics", analyst_);
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_THAT(answer.content_type, HasSubstr("version=0.0.4"));
    std::vector<std::string> errors;
    auto samples = ParseExposition(answer.body, errors);
    EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors) << "\n" << answer.body;
    return samples;
  }

  TempDir dir_;
  std::unique_ptr<storage_testing::TestDatabase> db_;  // outlives the storage
  std::unique_ptr<Storage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  std::string analyst_;
  SysTime now_ = kT0;
};

INSTANTIATE_TEST_SUITE_P(Backends, ServiceExportTest,
                         ::testing::Values(storage_testing::Backend::kSqlite,
                                           storage_testing::Backend::kPostgres),
                         storage_testing::BackendNamer());

TEST_P(ServiceExportTest, HealthzNeedsNoTokenSaysNothingAndIsNotAudited) {
  const size_t audited = storage_->ListAudit(100)->size();
  const HttpResponse answer = Operator("GET", "/healthz", "");
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, "ok\n");
  EXPECT_EQ(Operator("POST", "/healthz", "").status, 405);
  EXPECT_EQ(storage_->ListAudit(100)->size(), audited);
}

TEST_P(ServiceExportTest, ReadyzFollowsTheIngestWriter) {
  IngestWriter writer(*storage_, {});
  service_->SetIngestWriter(&writer);
  EXPECT_EQ(Operator("GET", "/readyz", "").status, 200);
  writer.Stop();
  const HttpResponse stopped = Operator("GET", "/readyz", "");
  EXPECT_EQ(stopped.status, 503);
  EXPECT_THAT(stopped.body, HasSubstr("ingest writer stopped"));
  service_->SetIngestWriter(nullptr);
}

TEST_P(ServiceExportTest, MetricsNeedATokenAndTheCountersMove) {
  EXPECT_EQ(Operator("GET", "/metrics", "").status, 401);
  service_->SetExportSinks({"file"});
  auto before = Scrape();
  EXPECT_EQ(before[R"(counterguard_devices{group="laocai/bac-ha",status="unknown"})"], 1);
  EXPECT_EQ(before[R"(counterguard_export_backlog_events{sink="file"})"], 0);

  EXPECT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a001", protocol::CheckStatus::kFail))
                .status,
            200);
  EXPECT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a001", protocol::CheckStatus::kFail))
                .status,
            200);
  EXPECT_EQ(Report("{not json").status, 400);
  auto after = Scrape();
  const std::string stored = R"(counterguard_reports_ingested_total{result="stored"})";
  const std::string duplicate = R"(counterguard_reports_ingested_total{result="duplicate"})";
  const std::string bad = R"(counterguard_reports_refused_total{reason="bad_json"})";
  EXPECT_EQ(after[stored] - before[stored], 1);
  EXPECT_EQ(after[duplicate] - before[duplicate], 1);
  EXPECT_EQ(after[bad] - before[bad], 1);
  EXPECT_EQ(after[R"(counterguard_devices{group="laocai/bac-ha",status="noncompliant"})"], 1);
  EXPECT_EQ(after.count(R"(counterguard_devices{group="laocai/bac-ha",status="unknown"})"), 0u);
  // The noncompliant device and its failing check are waiting for the file sink.
  EXPECT_EQ(after[R"(counterguard_export_backlog_events{sink="file"})"], 2);
  // The histogram is consistent: cumulative buckets, +Inf equals the count.
  double previous = 0;
  for (const char* le : {"0.001", "0.01", "0.1", "1", "10", "+Inf"}) {
    const double v =
        after[std::string("counterguard_ingest_latency_seconds_bucket{le=\"") + le + "\"}"];
    EXPECT_GE(v, previous) << le;
    previous = v;
  }
  EXPECT_EQ(previous, after["counterguard_ingest_latency_seconds_count"]);
}

TEST_P(ServiceExportTest, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsSnapshot snapshot;
  snapshot.devices[{"weird\"group\n", "stale"}] = 2;
  std::vector<std::string> errors;
  auto samples = ParseExposition(RenderMetrics(Metrics(), snapshot), errors);
  EXPECT_TRUE(errors.empty()) << ::testing::PrintToString(errors);
  EXPECT_EQ(samples[R"(counterguard_devices{group="weird\"group\n",status="stale"})"], 2);
}

TEST_P(ServiceExportTest, ExportStatusShowsTheBacklogPerSink) {
  service_->SetExportSinks({"file", "syslog"});
  ASSERT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a002", protocol::CheckStatus::kPass))
                .status,
            200);
  const HttpResponse answer = Operator("GET", "/api/v1/export/status", analyst_);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json j = json::parse(answer.body);
  EXPECT_TRUE(j["enabled"].get<bool>());
  ASSERT_EQ(j["sinks"].size(), 2u);
  EXPECT_EQ(j["sinks"][0]["sink"], "file");
  EXPECT_EQ(j["sinks"][0]["pending"], 1);  // device-compliant
  EXPECT_EQ(j["sinks"][1]["pending"], 1);
}

TEST_P(ServiceExportTest, TheSweepRecordsADeviceGoneSilentOnce) {
  ASSERT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a003", protocol::CheckStatus::kFail))
                .status,
            200);
  auto count_stale = [&] {
    int n = 0;
    auto entries = storage_->ReadOutbox("x", 100);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : *entries) {
      n += e.event.action == export_action::kDeviceStale;
    }
    return n;
  };
  service_->SweepStale();
  EXPECT_EQ(count_stale(), 0);
  now_ = kT0 + hours(73);  // past the default 72 h
  service_->SweepStale();
  service_->SweepStale();
  EXPECT_EQ(count_stale(), 1);
  auto entries = storage_->ReadOutbox("x", 100);
  ASSERT_TRUE(entries.ok());
  for (const auto& e : *entries) {
    if (e.event.action == export_action::kDeviceStale) {
      EXPECT_EQ(e.event.previous_status, "noncompliant") << "the last posture is kept";
      EXPECT_EQ(e.event.hostname, "Bắc Hà 01");
    }
  }
}

// cg-soc serve runs its exporter without a sink too (soc/data_dir.cpp): before, it made one
// only with a sink, so without a SIEM no device was ever recorded as gone silent and the
// outbox grew without end (seen: the outbox kept every event of every report).
TEST_P(ServiceExportTest, WithoutASinkTheExporterStillSweepsAndTrimsTheOutbox) {
  ASSERT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a004", protocol::CheckStatus::kFail))
                .status,
            200);
  auto actions = [&] {
    std::vector<std::string> out;
    auto entries = storage_->ReadOutbox("any", 100);
    EXPECT_TRUE(entries.ok());
    for (const auto& e : *entries) {
      out.push_back(e.event.action);
    }
    return out;
  };
  const auto reported = actions();
  ASSERT_EQ(reported.size(), 2u);  // device-noncompliant and its failing check
  ExportConfig none;               // what cg-soc serve runs without an "export" section
  ASSERT_TRUE(none.SinkNames().empty());
  none.batch = 1;  // several small transactions
  Exporter exporter(
      *storage_, none, [this] { return now_; }, [this] { service_->SweepStale(); });
  now_ = kT0 + hours(73);
  EXPECT_EQ(exporter.Housekeep(), 0);  // nothing older than a week yet
  auto with_stale = reported;
  with_stale.push_back(export_action::kDeviceStale);
  EXPECT_EQ(actions(), with_stale);
  now_ = kT0 + hours(8 * 24);  // the report's events are 8 days old, the stale one 5
  EXPECT_EQ(exporter.Housekeep(), 2);
  EXPECT_EQ(actions(), std::vector<std::string>{export_action::kDeviceStale});
  now_ = kT0 + hours(11 * 24);
  EXPECT_EQ(exporter.Housekeep(), 1);
  EXPECT_TRUE(actions().empty());

  // With a sink, undelivered events are never trimmed, however old: they wait for it.
  ASSERT_EQ(Report(ReportBody("00000000-0000-4000-8000-00000000a005", protocol::CheckStatus::kPass))
                .status,
            200);
  const size_t waiting = actions().size();
  ASSERT_GT(waiting, 0u);
  ExportConfig file;
  file.file =
      ExportFileConfig{dir_.File("missing-dir/events.ndjson"), 1 << 20, 1, ExportBody::kEcs};
  Exporter with_sink(*storage_, file, [this] { return now_; });
  now_ = kT0 + hours(400 * 24);
  EXPECT_EQ(with_sink.Housekeep(), 0);
  EXPECT_EQ(actions().size(), waiting);
}

}  // namespace
}  // namespace cg::soc

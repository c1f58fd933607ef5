// Tests for the export outbox (soc/sqlite_storage_export.cpp) and the exporter's file sink
// (soc/exporter.cpp) on real database files: events recorded in the transaction of their change,
// once per change; delivery after a restart with nothing lost and nothing twice; a failing sink
// retried without loss; rotation; the configuration's refusals.
#include "soc/exporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/timeutil.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/storage_backends.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

protocol::Report MakeReport(int n, const std::string& device_id, SysTime at,
                            std::vector<std::pair<std::string, CheckStatus>> checks) {
  protocol::Report r;
  r.report_id = Uuid(1000 + n);
  r.device_id = device_id;
  r.hostname = "pc";
  r.agent_version = "0.1.0";
  r.collected_at = FormatRfc3339(at);
  for (auto& [id, status] : checks) {
    protocol::CheckResult c;
    c.id = id;
    c.status = status;
    c.summary = id;
    r.checks.push_back(std::move(c));
  }
  return r;
}

// Every line of a file, or of a rotated set (path, path.1, ...).
std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> EventIds(const std::vector<std::string>& lines) {
  std::vector<std::string> ids;
  for (const auto& line : lines) {
    ids.push_back(json::parse(line)["event"]["id"].get<std::string>());
  }
  return ids;
}

// Every backend (the storage conformance suite, issue 17).
class OutboxTest : public ::testing::TestWithParam<storage_testing::Backend> {
 protected:
  void SetUp() override {
    db_ = storage_testing::MakeTestDatabase(GetParam(), dir_.path());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    storage_ = Open();
  }

  std::unique_ptr<Storage> Open() {
    auto s = db_->Open(true);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  void AddDevice(int n, const std::string& group = "laocai/bac-ha") {
    Device d;
    d.device_id = Uuid(n);
    d.hostname = "host-" + std::to_string(n);
    d.machine_id = "m" + std::to_string(n);
    d.group = group;
    d.cert_serial = "s" + std::to_string(n);
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0;
    ASSERT_TRUE(storage_->AddDevice(d).ok());
  }

  void Store(const protocol::Report& r, SysTime received_at) {
    auto stored = storage_->StoreReport(r, protocol::ToJson(r).dump(), received_at);
    ASSERT_TRUE(stored.ok()) << stored.error().ToString();
  }

  std::vector<std::string> PendingActions(const std::string& sink = "test") {
    auto entries = storage_->ReadOutbox(sink, 1000);
    EXPECT_TRUE(entries.ok()) << entries.error().ToString();
    std::vector<std::string> actions;
    for (const auto& e : *entries) {
      actions.push_back(e.event.action + (e.event.rule_id.empty() ? "" : ":" + e.event.rule_id));
    }
    return actions;
  }

  ExportConfig FileConfig() {
    ExportConfig c;
    c.file = ExportFileConfig{dir_.File("export/events.ndjson"), 64ull << 20, 3, ExportBody::kEcs};
    c.retry_initial = std::chrono::milliseconds(10);
    c.retry_max = std::chrono::milliseconds(20);
    return c;
  }

  TempDir dir_;
  std::unique_ptr<storage_testing::TestDatabase> db_;  // outlives the storage
  std::unique_ptr<Storage> storage_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest,
                         ::testing::Values(storage_testing::Backend::kSqlite,
                                           storage_testing::Backend::kPostgres),
                         storage_testing::BackendNamer());

TEST_P(OutboxTest, ReportsRecordEachChangeOnceInTheirTransaction) {
  AddDevice(1);
  const std::string dev = Uuid(1);
  Store(MakeReport(1, dev, kT0, {{"screen_lock", CheckStatus::kPass}}), kT0);
  EXPECT_EQ(PendingActions(), std::vector<std::string>{"device-compliant"});
  Store(MakeReport(2, dev, kT0 + hours(1), {{"screen_lock", CheckStatus::kFail}}), kT0 + hours(1));
  // Still failing: nothing new.
  Store(MakeReport(3, dev, kT0 + hours(2), {{"screen_lock", CheckStatus::kFail}}), kT0 + hours(2));
  // A retry of a stored report: nothing new either.
  Store(MakeReport(3, dev, kT0 + hours(2), {{"screen_lock", CheckStatus::kFail}}), kT0 + hours(2));
  // An older report arriving late does not change what the device shows.
  Store(MakeReport(4, dev, kT0 - hours(5), {{"screen_lock", CheckStatus::kPass}}), kT0 - hours(5));
  Store(MakeReport(5, dev, kT0 + hours(3), {{"screen_lock", CheckStatus::kPass}}), kT0 + hours(3));
  EXPECT_EQ(PendingActions(),
            (std::vector<std::string>{"device-compliant", "device-noncompliant",
                                      "check-failed:screen_lock", "device-compliant",
                                      "check-passed:screen_lock"}));
}

TEST_P(OutboxTest, RevocationRecordsOneEventAndRollsBackWithItsTransaction) {
  AddDevice(1);
  ASSERT_TRUE(storage_->RevokeDevice(Uuid(1), kT0).ok());
  ASSERT_TRUE(storage_->RevokeDevice(Uuid(1), kT0 + hours(1)).ok());
  EXPECT_EQ(PendingActions(), std::vector<std::string>{"device-revoked"});
  // An unknown device: the revocation fails and leaves no event behind.
  EXPECT_FALSE(storage_->RevokeDevice(Uuid(9), kT0).ok());
  EXPECT_EQ(PendingActions().size(), 1u);
}

TEST_P(OutboxTest, StaleDevicesAreRecordedOncePerSilence) {
  AddDevice(1);
  Store(MakeReport(1, Uuid(1), kT0, {{"screen_lock", CheckStatus::kPass}}), kT0);
  const StaleDevice stale{
      Uuid(1), kT0,
      StaleEvent(Uuid(1), "host-1", "laocai/bac-ha", kT0, "compliant", kT0 + hours(80))};
  EXPECT_EQ(*storage_->RecordStaleDevices({&stale, 1}, kT0 + hours(80)), 1);
  const StaleDevice again{
      Uuid(1), kT0,
      StaleEvent(Uuid(1), "host-1", "laocai/bac-ha", kT0, "compliant", kT0 + hours(81))};
  EXPECT_EQ(*storage_->RecordStaleDevices({&again, 1}, kT0 + hours(81)), 0);
  // A report read after the sweep listed the device: its silence is over, nothing recorded.
  Store(MakeReport(2, Uuid(1), kT0 + hours(90), {{"screen_lock", CheckStatus::kPass}}),
        kT0 + hours(90));
  const StaleDevice outdated{
      Uuid(1), kT0,
      StaleEvent(Uuid(1), "host-1", "laocai/bac-ha", kT0, "compliant", kT0 + hours(91))};
  EXPECT_EQ(*storage_->RecordStaleDevices({&outdated, 1}, kT0 + hours(91)), 0);
  // The next silence is a new one.
  const StaleDevice next{Uuid(1), kT0 + hours(90),
                         StaleEvent(Uuid(1), "host-1", "laocai/bac-ha", kT0 + hours(90),
                                    "compliant", kT0 + hours(200))};
  EXPECT_EQ(*storage_->RecordStaleDevices({&next, 1}, kT0 + hours(200)), 1);
  EXPECT_EQ(PendingActions(),
            (std::vector<std::string>{"device-compliant", "device-stale", "device-stale"}));
}

TEST_P(OutboxTest, EventsWaitForAStoppedExporterAndAreDeliveredOnceAfterARestart) {
  AddDevice(1);
  AddDevice(2);
  // The exporter is not running: events accumulate.
  for (int i = 0; i < 6; ++i) {
    Store(MakeReport(i, Uuid(1 + i % 2), kT0 + hours(i),
                     {{"screen_lock", i % 4 < 2 ? CheckStatus::kFail : CheckStatus::kPass}}),
          kT0 + hours(i));
  }
  ASSERT_TRUE(storage_->RevokeDevice(Uuid(2), kT0 + hours(7)).ok());
  auto recorded = storage_->ReadOutbox(kFileSink, 1000);
  ASSERT_TRUE(recorded.ok());
  std::vector<std::string> expected_ids;
  for (const auto& e : *recorded) {
    expected_ids.push_back(e.event.id);
  }
  ASSERT_GE(expected_ids.size(), 8u);
  // A restart of the SOC: the database is opened again.
  storage_.reset();
  storage_ = Open();
  ASSERT_TRUE(EnsureDirectory(dir_.File("export"), 0750).ok());
  ExportConfig config = FileConfig();
  config.batch = 3;  // several batches
  {
    Exporter exporter(*storage_, config, [] { return kT0 + hours(8); });
    EXPECT_EQ(exporter.RunOnce(), expected_ids.size());
    EXPECT_EQ(exporter.RunOnce(), 0u);
  }
  {
    // Another restart: nothing is delivered twice.
    Exporter exporter(*storage_, config, [] { return kT0 + hours(9); });
    EXPECT_EQ(exporter.RunOnce(), 0u);
  }
  EXPECT_EQ(EventIds(Lines(config.file->path)), expected_ids);
  auto status = storage_->ExportStatus({kFileSink});
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)[0].pending, 0);
  // Delivered to every configured sink: pruned.
  EXPECT_TRUE(storage_->ReadOutbox("another-sink", 10)->empty());
}

TEST_P(OutboxTest, AFailingSinkLosesNothingAndCatchesUp) {
  AddDevice(1);
  ExportConfig config = FileConfig();
  // The export directory does not exist yet: every write fails.
  Exporter exporter(*storage_, config, [] { return kT0; });
  Store(MakeReport(1, Uuid(1), kT0, {{"screen_lock", CheckStatus::kFail}}), kT0);
  EXPECT_EQ(exporter.RunOnce(), 0u);
  Store(MakeReport(2, Uuid(1), kT0 + hours(1), {{"screen_lock", CheckStatus::kPass}}),
        kT0 + hours(1));
  auto status = storage_->ExportStatus({kFileSink});
  EXPECT_EQ((*status)[0].pending, 4);
  EXPECT_EQ((*status)[0].oldest_pending, kT0);
  ASSERT_TRUE(EnsureDirectory(dir_.File("export"), 0750).ok());
  // Retried after its back-off (10-20 ms here).
  size_t delivered = 0;
  for (int i = 0; i < 500 && delivered == 0; ++i) {
    delivered = exporter.RunOnce();
    if (delivered == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_EQ(delivered, 4u);
  const auto lines = Lines(config.file->path);
  ASSERT_EQ(lines.size(), 4u);
  const auto ids = EventIds(lines);
  const std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), 4u);
}

TEST_P(OutboxTest, TheFileRotatesBySizeKeepingNFiles) {
  AddDevice(1);
  ExportConfig config = FileConfig();
  config.file->max_bytes = 4096;
  config.file->keep = 2;
  config.batch = 1;
  ASSERT_TRUE(EnsureDirectory(dir_.File("export"), 0750).ok());
  Exporter exporter(*storage_, config, [] { return kT0; });
  size_t total = 0;
  for (int i = 0; i < 40; ++i) {
    Store(MakeReport(i, Uuid(1), kT0 + hours(i),
                     {{"screen_lock", i % 2 ? CheckStatus::kPass : CheckStatus::kFail}}),
          kT0 + hours(i));
    total += exporter.RunOnce();
  }
  EXPECT_EQ(total, 80u);
  const std::string path = config.file->path;
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  for (const auto& p : {path, path + ".1", path + ".2"}) {
    EXPECT_LE(std::filesystem::file_size(p), 4096u) << p;
  }
  // The newest events are in the current file, the ones before in .1.
  const auto current = Lines(path);
  const auto previous = Lines(path + ".1");
  ASSERT_FALSE(current.empty());
  ASSERT_FALSE(previous.empty());
  EXPECT_LE(json::parse(previous.back())["@timestamp"].get<std::string>(),
            json::parse(current.front())["@timestamp"].get<std::string>());
}

// The CEF body through a sink (not only ToCef): each recorded event is one CEF line in the file,
// delivered once, with its event id as externalId and no JSON left in the line.
TEST_P(OutboxTest, TheFileSinkWritesCefWhenConfigured) {
  AddDevice(1);
  for (int i = 0; i < 4; ++i) {
    Store(MakeReport(i, Uuid(1), kT0 + hours(i),
                     {{"screen_lock", i % 2 ? CheckStatus::kPass : CheckStatus::kFail}}),
          kT0 + hours(i));
  }
  auto recorded = storage_->ReadOutbox(kFileSink, 1000);
  ASSERT_TRUE(recorded.ok());
  ASSERT_GE(recorded->size(), 7u);  // the device's status and the check's, at every flip
  ExportConfig config = FileConfig();
  config.file->body = ExportBody::kCef;
  ASSERT_TRUE(EnsureDirectory(dir_.File("export"), 0750).ok());
  Exporter exporter(*storage_, config, [] { return kT0; });
  EXPECT_EQ(exporter.RunOnce(), recorded->size());
  EXPECT_EQ(exporter.RunOnce(), 0u);
  const auto lines = Lines(config.file->path);
  ASSERT_EQ(lines.size(), recorded->size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind("CEF:0|CounterGuard|cg-soc|", 0), 0u) << lines[i];
    EXPECT_NE(lines[i].find("externalId=" + (*recorded)[i].event.id + " "), std::string::npos)
        << lines[i];
    EXPECT_NE(lines[i].find("act=" + (*recorded)[i].event.action), std::string::npos) << lines[i];
    EXPECT_FALSE(json::accept(lines[i])) << "an ECS document in the CEF file: " << lines[i];
  }
}

TEST(ExportConfigTest, RefusesWhatWouldExportNothingOrUnverified) {
  struct Case {
    const char* json;
    const char* error;  // nullptr: accepted
  };
  const Case cases[] = {
      {R"({"file": {"path": "e.ndjson"}})", nullptr},
      {R"({"syslog": {"host": "siem", "port": 6514, "tls": true, "ca_file": "ca.pem"}})", nullptr},
      {R"({"fiel": {"path": "e.ndjson"}})", "unknown key \"fiel\""},
      {R"({"file": {}})", "export.file.path is required"},
      {R"({"file": {"path": "e", "format": "leef"}})", "format must be"},
      {R"({"syslog": {"host": "siem", "tls": true}})", "ca_file is required"},
      {R"({"syslog": {"host": "siem", "port": 70000}})", "port must be from 1 to 65535"},
      {R"({"syslog": {"host": "siem", "cert_file": "c.pem"}})", "go together"},
  };
  for (const auto& c : cases) {
    auto config = ParseExportConfig(json::parse(c.json), "/var/lib/cg");
    if (c.error == nullptr) {
      EXPECT_TRUE(config.ok()) << c.json << ": " << config.error().ToString();
    } else {
      ASSERT_FALSE(config.ok()) << c.json;
      EXPECT_THAT(config.error().message, HasSubstr(c.error)) << c.json;
    }
  }
  auto config = ParseExportConfig(json::parse(R"({"file": {"path": "e.ndjson"},
      "syslog": {"host": "siem", "tls": true, "ca_file": "ca.pem"}})"),
                                  "/var/lib/cg");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->file->path, "/var/lib/cg/e.ndjson");
  EXPECT_EQ(config->syslog->target.port, 6514);
  EXPECT_EQ(config->syslog->target.ca_file, "/var/lib/cg/ca.pem");
  EXPECT_EQ(config->SinkNames(), (std::vector<std::string>{"file", "syslog"}));
}

}  // namespace
}  // namespace cg::soc

// Tests for soc/service_reports.cpp, soc/inspection_report.cpp and soc/inspection_render.cpp:
// the history route and the inspection report of a generated fleet whose compliance is known,
// driven through SocService over a real SQLite database (no network, fixed clock).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/timeutil.h"
#include "protocol/api_paths.h"
#include "protocol/pki.h"
#include "soc/inspection_report.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/soc_service.h"
#include "tests/unit/testing/storage_backends.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::HttpRequest;
using protocol::HttpResponse;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

// The period asked for: June 2026 in Vietnam's time.
const SysTime kFrom = FromUnixSeconds(UnixSecondsFromUtc(2026, 6, 1, 0, 0, 0) - 7 * 3600);
const SysTime kTo = kFrom + hours(24 * 30);
constexpr const char* kA = "00000000-0000-4000-8000-00000000000a";
constexpr const char* kB = "00000000-0000-4000-8000-00000000000b";
constexpr const char* kC = "00000000-0000-4000-8000-00000000000c";
constexpr const char* kD = "00000000-0000-4000-8000-00000000000d";
constexpr const char* kE = "00000000-0000-4000-8000-00000000000e";

// On every backend: the reports are built from the status history each one keeps at ingest.
class ServiceReportsTest
    : public testing::BasicSocServiceTest<::testing::TestWithParam<storage_testing::Backend>> {
 protected:
  void SetUp() override {
    db_ = storage_testing::MakeTestDatabase(GetParam(), dir_.path());
    if (db_ == nullptr) {
      return;  // skipped or failed
    }
    auto storage = db_->Open(/*create=*/true);
    ASSERT_TRUE(storage.ok()) << storage.error().ToString();
    storage_ = std::move(storage).value();
    now_ = kFrom;
    SocConfig config;
    config.soc_name = "soc.laocai.gov.vn";
    ASSERT_NO_FATAL_FAILURE(StartService(kFrom, config));
    analyst_ = OperatorToken("nguyen.van.a", "analyst");
    ASSERT_FALSE(analyst_.empty());
  }

  void AddDevice(const char* id, const std::string& hostname, const std::string& group,
                 SysTime enrolled_at) {
    Device d;
    d.device_id = id;
    d.hostname = hostname;
    d.group = group;
    d.cert_serial = std::string("ab") + id[35];
    d.cert_not_after = kTo + hours(24 * 365);
    d.enrolled_at = enrolled_at;
    ASSERT_TRUE(storage_->AddDevice(d).ok());
  }

  // A report of `id` with these check statuses, received at `at`.
  void Report(const char* id, SysTime at, std::vector<std::pair<const char*, CheckStatus>> checks,
              std::function<void(protocol::Report&)> edit = {}) {
    protocol::Report r;
    r.report_id = "00000000-0000-4000-9000-" + std::to_string(100000000000 + ++reports_);
    r.device_id = id;
    r.hostname = "x";
    r.collected_at = FormatRfc3339(at);
    for (const auto& [check, status] : checks) {
      r.checks.emplace_back();
      r.checks.back().id = check;
      r.checks.back().status = status;
      r.checks.back().summary = std::string(check) + " " + std::string(protocol::ToString(status));
    }
    if (edit) {
      edit(r);
    }
    auto stored = storage_->StoreReport(r, protocol::ToJson(r).dump(), at);
    ASSERT_TRUE(stored.ok()) << stored.error().ToString();
    last_report_id_ = r.report_id;
  }

  HttpResponse Get(const std::string& target) { return OperatorCall("GET", target, analyst_); }

  std::string Header(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) {
        return v;
      }
    }
    return "";
  }

  // The fleet of the unit laocai/bac-ha in June 2026 (30 days):
  // A compliant until day 22.5 then noncompliant (antivirus fails): 75.0 %, with an enforcement
  //   change on screen_lock and an ad-hoc inspection answered while failing;
  // B password_age in error for the first 15 days, then passing: 50.0 %;
  // C enrolled, never reported;
  // D reported on day 1 only (compliant): 100.0 % of its 29 observed days, stale at the end.
  void MakeFleet() {
    const SysTime enrolled = kFrom - hours(24 * 10);
    AddDevice(kA, "may-a", "laocai/bac-ha", enrolled);
    AddDevice(kB, "may-b", "laocai/bac-ha", enrolled);
    AddDevice(kC, "may-c", "laocai/bac-ha", enrolled);
    AddDevice(kD, "may-d", "laocai/bac-ha", enrolled);
    for (int day = -1; day < 30; ++day) {
      const SysTime at = kFrom + hours(24 * day) + (day == 22 ? hours(12) : hours(0));
      const bool failing = day >= 22;
      Report(kA, at,
             {{"antivirus", failing ? CheckStatus::kFail : CheckStatus::kPass},
              {"screen_lock", CheckStatus::kPass}},
             [&](protocol::Report& r) {
               if (day == 22) {
                 r.checks[1].remediation = {{"dry_run", false},
                                            {"result", "applied"},
                                            {"changes",
                                             {{{"target", "/etc/dconf/db/local.d/00-counterguard"},
                                               {"action", "write"},
                                               {"before", "lock-enabled=false"},
                                               {"after", "lock-enabled=true"}}}}};
                 r.checks[0].expected = {{"max_signature_age_days", 3}};
                 r.checks[0].observed = {{"signature_age_days", 12}};
               }
               if (day == 25) {
                 r.task_ids.push_back(task_id_);
               }
             });
      if (day == 24) {
        Task task;
        task.id = task_id_;
        task.target = "group laocai/bac-ha";
        task.created_by = "thanh.tra.tinh";
        task.created_at = kFrom + hours(24 * 24 + 1);
        task.expires_at = task.created_at + hours(48);
        ASSERT_TRUE(storage_->CreateTask(task, {kA}).ok());
      }
      Report(kB, kFrom + hours(24 * day),
             {{"password_age", day < 15 ? CheckStatus::kError : CheckStatus::kPass}});
    }
    Report(kD, kFrom + hours(24), {{"antivirus", CheckStatus::kPass}});
    StoredPolicy policy;
    policy.target = "laocai";
    policy.version = 3;
    policy.hash = std::string(64, 'c');
    policy.key_id = "k";
    policy.name = "Chính sách tỉnh Lào Cai";
    policy.scope = "laocai";
    policy.envelope = "{}";
    policy.pushed_by = "quan.tri";
    policy.pushed_at = kFrom + hours(24 * 3);
    ASSERT_TRUE(storage_->AddPolicy(policy).ok());
    now_ = kTo + hours(24);
  }

  std::string analyst_;
  int reports_ = 0;
  std::string last_report_id_;
  const std::string task_id_ = "00000000-0000-4000-a000-000000000001";
};
INSTANTIATE_TEST_SUITE_P(Backends, ServiceReportsTest,
                         ::testing::Values(storage_testing::Backend::kSqlite,
                                           storage_testing::Backend::kPostgres),
                         storage_testing::BackendNamer());

constexpr const char* kReportVi =
    "/api/v1/inspection-reports/generate?group=laocai%2Fbac-ha&from=2026-06-01&to=2026-06-30";

TEST_P(ServiceReportsTest, HtmlShowsTheFleetsKnownFigures) {
  MakeFleet();
  const HttpResponse r = Get(kReportVi);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const std::string& html = r.body;
  // Period, SOC, who and when, in Vietnamese.
  EXPECT_THAT(html, HasSubstr("từ ngày 1 tháng 6 năm 2026 đến ngày 30 tháng 6 năm 2026"));
  EXPECT_THAT(html, HasSubstr("soc.laocai.gov.vn"));
  EXPECT_THAT(html, HasSubstr("nguyen.van.a"));
  EXPECT_THAT(html, HasSubstr("02/07/2026"));  // generated a day after the period (UTC+7)
  EXPECT_THAT(html, HasSubstr("Báo cáo kiểm tra tuân thủ an toàn thông tin"));
  // Per device: A 75.0 %, B 50.0 %, D 100.0 %; the unit: (22.5 + 15 + 29) / (30 + 30 + 29) days.
  EXPECT_THAT(html, HasSubstr("<td>may-a</td><td>Tổng hợp</td><td class=\"n\">75,0 %</td>"
                              "<td>Không tuân thủ</td>"));
  EXPECT_THAT(html, HasSubstr("<td>may-b</td><td>Tổng hợp</td><td class=\"n\">50,0 %</td>"
                              "<td>Tuân thủ</td>"));
  EXPECT_THAT(html, HasSubstr("<td>may-d</td><td>Tổng hợp</td><td class=\"n\">100,0 %</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"n\">4</td><td class=\"n\">74,7 %</td>"
                              "<td class=\"n\">1</td><td class=\"n\">1</td>"
                              "<td class=\"n\">1</td><td class=\"n\">0</td>"));
  // Per check over the unit: antivirus (A 22.5 of 30 days, D 29 of 29) = 51.5 / 59.
  EXPECT_THAT(html, HasSubstr("<td>Phần mềm diệt virus</td><td class=\"n\">87,3 %</td>"));
  // Findings with evidence, enforcement, the ad-hoc inspection, stale and silent devices, policy.
  EXPECT_THAT(html, HasSubstr("antivirus fail"));
  EXPECT_THAT(html, HasSubstr("{&quot;expected&quot;:{&quot;max_signature_age_days&quot;:3}"));
  EXPECT_THAT(html, HasSubstr("/etc/dconf/db/local.d/00-counterguard"));
  EXPECT_THAT(html, HasSubstr("thanh.tra.tinh"));
  EXPECT_THAT(html, HasSubstr("Chưa từng gửi báo cáo"));
  EXPECT_THAT(html, HasSubstr("<td>may-c</td>"));
  EXPECT_THAT(html, HasSubstr("Chính sách tỉnh Lào Cai"));
  // One file: no external asset of any kind.
  EXPECT_THAT(html, Not(HasSubstr("http://")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, HasSubstr("@media print"));
  // The digest is in the footer and in the header, and the SOC finds its record by it.
  const std::string digest = Header(r, protocol::api::kReportDigestHeader);
  ASSERT_EQ(digest.size(), 64u);
  EXPECT_THAT(html, HasSubstr("<span class=\"digest\">" + digest + "</span>"));
  const HttpResponse found = Get("/api/v1/inspection-reports?digest=" + digest);
  ASSERT_EQ(found.status, 200) << found.body;
  const json records = json::parse(found.body)["reports"];
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["id"], Header(r, protocol::api::kReportIdHeader));
  EXPECT_EQ(records[0]["generated_by"], "nguyen.van.a");
  EXPECT_EQ(records[0]["parameters"]["group"], "laocai/bac-ha");
  EXPECT_EQ(records[0]["parameters"]["to"], "2026-06-30");
  EXPECT_EQ(Get("/api/v1/inspection-reports?digest=" + std::string(64, '0')).status, 404);
  EXPECT_EQ(Get("/api/v1/inspection-reports?digest=abc").status, 400);
}

TEST_P(ServiceReportsTest, EnglishAndCsvCarryTheSameContentAndDigest) {
  MakeFleet();
  const HttpResponse vi = Get(kReportVi);
  const HttpResponse en = Get(std::string(kReportVi) + "&lang=en");
  const HttpResponse csv = Get(std::string(kReportVi) + "&format=csv");
  ASSERT_EQ(en.status, 200);
  ASSERT_EQ(csv.status, 200);
  EXPECT_THAT(en.body, HasSubstr("from 1 June 2026 to 30 June 2026"));
  EXPECT_THAT(en.body, HasSubstr("Security compliance inspection report"));
  EXPECT_THAT(en.body, HasSubstr("<td class=\"n\">75.0%</td><td>Noncompliant</td>"));
  EXPECT_THAT(en.body, Not(HasSubstr("Tuân thủ")));
  EXPECT_THAT(en.body, HasSubstr("2026-07-02"));
  // Same figures at the same moment: same content, same digest, whatever the rendering.
  const std::string digest = Header(vi, protocol::api::kReportDigestHeader);
  EXPECT_EQ(Header(en, protocol::api::kReportDigestHeader), digest);
  EXPECT_EQ(Header(csv, protocol::api::kReportDigestHeader), digest);
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  // A download from the dashboard's link, named after what it covers.
  EXPECT_EQ(Header(vi, "Content-Disposition"),
            "attachment; filename=\"inspection-report_laocai_bac-ha_2026-06-01_2026-06-30.html\"");
  EXPECT_EQ(Header(csv, "Content-Disposition"),
            "attachment; filename=\"inspection-report_laocai_bac-ha_2026-06-01_2026-06-30.csv\"");
  EXPECT_THAT(csv.body, HasSubstr("don_vi,ma_thiet_bi,ten_may,hang_muc,ty_le_tuan_thu"));
  EXPECT_THAT(csv.body, HasSubstr(std::string("laocai/bac-ha,") + kA +
                                  ",may-a,,75.0%,2592000,1944000,noncompliant,1,1,0,0\r\n"));
  EXPECT_THAT(csv.body, HasSubstr(std::string("laocai/bac-ha,") + kA +
                                  ",may-a,antivirus,75.0%,2592000,1944000,fail,1,0,0,0\r\n"));
  EXPECT_THAT(csv.body, HasSubstr(std::string(",") + kC + ",may-c,,—,0,0,,0,0,1,0\r\n"));
  EXPECT_THAT(csv.body, HasSubstr(std::string(",") + kD +
                                  ",may-d,,100.0%,2505600,2505600,"
                                  "compliant,0,0,0,1\r\n"));
  EXPECT_THAT(csv.body, HasSubstr("#,ma_xac_thuc_sha256," + digest));
  // A report stored since changes the figures (same moment, same parameters): another digest.
  Report(kC, kTo - hours(1), {{"antivirus", CheckStatus::kFail}});
  EXPECT_NE(Header(Get(kReportVi), protocol::api::kReportDigestHeader), digest);
}

// The SOC keeps each generated report's canonical content with its record: the report is
// downloaded again by id, byte for byte, after the fleet changed and retention ran, and only
// while that content still matches the digest printed on it.
TEST_P(ServiceReportsTest, ARecordedReportDownloadsAgainByteForByte) {
  MakeFleet();
  const HttpResponse original = Get(kReportVi);
  ASSERT_EQ(original.status, 200) << original.body;
  const std::string id = Header(original, protocol::api::kReportIdHeader);
  const std::string digest = Header(original, protocol::api::kReportDigestHeader);
  // The fleet changes and time passes: a new report would differ, the recorded one does not.
  Report(kC, kTo - hours(1), {{"antivirus", CheckStatus::kFail}});
  now_ = kTo + hours(24 * 30);  // within the analyst token's 90 days
  ASSERT_TRUE(storage_->DeleteReportsBefore(kTo + hours(24 * 200), 100000).ok());
  const std::string path = protocol::api::PathWithId(protocol::api::kInspectionReportById, id);
  const HttpResponse again = Get(path);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body, original.body);
  EXPECT_EQ(again.content_type, original.content_type);
  EXPECT_EQ(Header(again, protocol::api::kReportDigestHeader), digest);
  EXPECT_EQ(Header(again, protocol::api::kReportIdHeader), id);
  // The same record in another format or language: same digest, the figures of June.
  const HttpResponse csv = Get(path + "?format=csv&lang=en");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.content_type, "text/csv; charset=utf-8");
  EXPECT_EQ(Header(csv, protocol::api::kReportDigestHeader), digest);
  EXPECT_THAT(csv.body, HasSubstr(std::string(",") + kC + ",may-c,,"));
  EXPECT_THAT(csv.body, HasSubstr(std::string(",") + kA + ",may-a,,75.0%,"));
  EXPECT_THAT(csv.body, HasSubstr(digest));
  // Bad, unknown and hostile ids; bad parameters.
  EXPECT_EQ(Get(protocol::api::PathWithId(protocol::api::kInspectionReportById,
                                          "00000000-0000-4000-8000-0000000000ff"))
                .status,
            404);
  for (const std::string& bad : std::vector<std::string>{
           "not-a-uuid", "x'; DROP TABLE generated_reports--", std::string(5000, 'a'), "bắc-hà"}) {
    EXPECT_EQ(Get(protocol::api::PathWithId(protocol::api::kInspectionReportById, bad)).status, 400)
        << bad;
  }
  EXPECT_EQ(Get(path + "?format=pdf").status, 400);
  EXPECT_EQ(Get(path + "?lang=fr").status, 400);
  // Content altered in the database no longer matches the digest: refused, not served.
  ASSERT_TRUE(db_->Exec(
      "UPDATE generated_reports SET content = replace(content, 'may-a', 'may-z') WHERE id = '" +
      id + "'"));
  ASSERT_EQ(db_->Int("SELECT count(*) FROM generated_reports WHERE content LIKE '%may-z%'"), 1);
  const HttpResponse tampered = Get(path);
  EXPECT_EQ(tampered.status, 500);
  EXPECT_THAT(tampered.body, HasSubstr("does not match its digest"));
  EXPECT_THAT(tampered.body, Not(HasSubstr("may-z")));
}

TEST_P(ServiceReportsTest, HostileTextFromDevicesIsEscaped) {
  AddDevice(kE, "<script>alert(1)</script>", "laocai/si-ma-cai", kFrom - hours(24));
  Report(kE, kFrom + hours(2), {{"antivirus", CheckStatus::kFail}}, [](protocol::Report& r) {
    r.checks[0].summary = "<img src=x onerror=alert(2)> & \"quoted\"";
  });
  now_ = kTo + hours(1);
  for (const char* lang : {"vi", "en"}) {
    const HttpResponse r = Get(
        "/api/v1/inspection-reports/generate?group=laocai/si-ma-cai&from=2026-06-01&to=2026-06-30"
        "&lang=" +
        std::string(lang));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, Not(HasSubstr("<script>")));
    EXPECT_THAT(r.body, Not(HasSubstr("<img")));
    EXPECT_THAT(r.body, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_THAT(r.body, HasSubstr("&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quoted&quot;"));
  }
  // A formula in a host name does not run in a spreadsheet.
  const std::string csv =
      Get("/api/v1/inspection-reports/generate?group=laocai/si-ma-cai&from=2026-06-01&to=2026-06-"
          "30&format=csv")
          .body;
  EXPECT_THAT(csv, HasSubstr(",<script>alert(1)</script>,"));  // CSV is text, not HTML
}

TEST_P(ServiceReportsTest, BadParametersAreRefused) {
  now_ = kTo;
  for (const std::string q : {
           "?from=2026-06-01&to=2026-06-30",                          // no group
           "?group=laocai&to=2026-06-30",                             // no from
           "?group=laocai&from=2026-06-31&to=2026-07-30",             // no such day
           "?group=laocai&from=2026-06-30&to=2026-06-01",             // backwards
           "?group=laocai&from=2020-01-01&to=2026-06-01",             // too long
           "?group=laocai&from=2026-06-01&to=2026-06-30&format=pdf",  // format
           "?group=laocai&from=2026-06-01&to=2026-06-30&lang=fr",     // language
           "?group=laocai'%3B%20DROP%20TABLE%20reports--&from=2026-06-01&to=2026-06-30",
       }) {
    const HttpResponse r = Get(std::string(protocol::api::kInspectionReport) + q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
  }
}

TEST_P(ServiceReportsTest, HistoryRouteGivesStatusChangesNotReports) {
  MakeFleet();
  const HttpResponse r =
      Get(protocol::api::PathWithId(protocol::api::kDeviceHistory, kA) + "?from=2026-06-01");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  ASSERT_EQ(body["overall"].size(), 2u);  // compliant since before June, noncompliant from day 22.5
  EXPECT_EQ(body["overall"][0]["status"], "compliant");
  EXPECT_EQ(body["overall"][1]["status"], "noncompliant");
  EXPECT_EQ(body["overall"][1]["since"], FormatRfc3339(kFrom + hours(24 * 22 + 12)));
  EXPECT_TRUE(body["overall"][1]["until"].is_null());
  ASSERT_EQ(body["checks"].size(), 2u);
  EXPECT_EQ(body["checks"][0]["id"], "antivirus");
  EXPECT_EQ(body["checks"][0]["changes"][1]["evidence"]["observed"]["signature_age_days"], 12);
  // One check only, and a period after the change.
  const json only = json::parse(Get(protocol::api::PathWithId(protocol::api::kDeviceHistory, kA) +
                                    "?check=screen_lock&from=2026-06-25T00:00:00Z")
                                    .body);
  ASSERT_EQ(only["checks"].size(), 1u);
  EXPECT_EQ(only["checks"][0]["id"], "screen_lock");
  EXPECT_EQ(only["overall"].size(), 1u);
  EXPECT_EQ(
      Get(protocol::api::PathWithId(protocol::api::kDeviceHistory, kA) + "?from=yesterday").status,
      400);
  EXPECT_EQ(Get(protocol::api::PathWithId(protocol::api::kDeviceHistory,
                                          "00000000-0000-4000-8000-0000000000ff"))
                .status,
            404);
}

// SQL metacharacters, oversized and Unicode input on every parameter of the history, report and
// verify routes: a 400 (or 404 for an id that names nothing), never a 500, and nothing lost.
TEST_P(ServiceReportsTest, HostileInputOnEveryReportParameterIsRefused) {
  MakeFleet();
  const std::string sql = "%27%3B%20DROP%20TABLE%20status_intervals%3B%20--";
  const std::string huge(5000, '9');
  const std::string unicode = "ng%C3%A0y%201";  // "ngày 1"
  const std::string control = "%1b%5b2J";
  const std::string history = protocol::api::PathWithId(protocol::api::kDeviceHistory, kA);
  std::vector<std::string> bad;
  for (const std::string& v : {sql, huge, unicode, control, std::string("%ff%fe")}) {
    for (const char* key : {"from", "to", "check", "limit"}) {
      bad.push_back(history + "?" + key + "=" + v);
    }
    for (const std::string key : {"group", "from", "to", "format", "lang"}) {
      std::string q;
      for (const auto& [k, good] : std::vector<std::pair<std::string, std::string>>{
               {"group", "laocai"}, {"from", "2026-06-01"}, {"to", "2026-06-30"}}) {
        q += (q.empty() ? "?" : "&") + k + "=" + (k == key ? v : good);
      }
      if (key == "format" || key == "lang") {
        q += "&" + key + "=" + v;
      }
      bad.push_back(std::string(protocol::api::kInspectionReport) + q);
    }
    bad.push_back(std::string(protocol::api::kInspectionReports) + "?digest=" + v);
  }
  for (const auto& target : bad) {
    const HttpResponse r = Get(target);
    EXPECT_EQ(r.status, 400) << target.substr(0, 120) << ": " << r.body.substr(0, 200);
  }
  for (const std::string& id :
       std::vector<std::string>{"'; DROP TABLE devices; --", std::string(5000, 'a'), "bắc-hà"}) {
    const int status =
        Get(protocol::api::PathWithId(protocol::api::kDeviceHistory, id) + "?from=2026-06-01")
            .status;
    EXPECT_TRUE(status == 400 || status == 404) << id.substr(0, 40) << ": " << status;
  }
  // Nothing was lost: the history and the report are what they were.
  const HttpResponse after = Get(history + "?from=2026-06-01");
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(json::parse(after.body)["overall"].size(), 2u);
  EXPECT_EQ(Get(kReportVi).status, 200);
}

TEST(InspectionTextTest, VietnameseAndEnglishDatesAndPercentages) {
  const SysTime t = FromUnixSeconds(UnixSecondsFromUtc(2026, 12, 2, 1, 5, 0));
  EXPECT_EQ(LongDate(t, "vi", kReportUtcOffset), "ngày 2 tháng 12 năm 2026");
  EXPECT_EQ(LongDate(t, "en", kReportUtcOffset), "2 December 2026");
  EXPECT_EQ(ShortDateTime(t, "vi", kReportUtcOffset), "02/12/2026 08:05");
  EXPECT_EQ(ShortDateTime(t, "en", kReportUtcOffset), "2026-12-02 08:05");
  // 23:30 UTC on 1 December is already 2 December in Vietnam.
  EXPECT_EQ(LongDate(t - hours(2) + std::chrono::minutes(25) - hours(0), "vi", kReportUtcOffset),
            "ngày 2 tháng 12 năm 2026");
  EXPECT_EQ(
      LongDate(FromUnixSeconds(UnixSecondsFromUtc(2026, 12, 1, 16, 59, 0)), "vi", kReportUtcOffset),
      "ngày 1 tháng 12 năm 2026");
  EXPECT_EQ(Percent(3, 4, "vi"), "75,0 %");
  EXPECT_EQ(Percent(3, 4, "en"), "75.0%");
  EXPECT_EQ(Percent(2, 3, "en"), "66.7%");
  EXPECT_EQ(Percent(0, 0, "vi"), "—");
  auto day = ParseReportDate("2026-12-02", kReportUtcOffset);
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(FormatRfc3339(*day), "2026-12-01T17:00:00Z");
  EXPECT_FALSE(ParseReportDate("2026-02-29", kReportUtcOffset).ok());
  EXPECT_TRUE(ParseReportDate("2028-02-29", kReportUtcOffset).ok());
  EXPECT_FALSE(ParseReportDate("02/12/2026", kReportUtcOffset).ok());
  EXPECT_EQ(HtmlEscape("<a href='x'>&\x01"), "&lt;a href=&#39;x&#39;&gt;&amp;\\x01");
}

}  // namespace
}  // namespace cg::soc

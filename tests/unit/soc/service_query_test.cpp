// Tests for soc/service_query.cpp through SocService::HandleOperator (no network) over a real
// SQLite database: every filter, sort and page boundary of GET /api/v1/devices, the summary,
// reports by id, inspection results, who may call them, and bad input on every parameter (SQL
// metacharacters, oversized and Unicode values) answered 400 with nothing lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/api_paths.h"
#include "protocol/fleet_api.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

using nlohmann::json;
using protocol::CheckStatus;
using protocol::HttpRequest;
using protocol::HttpResponse;
using std::chrono::hours;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TempDir;
namespace api = protocol::api;

constexpr SysTime kT0{seconds(1'790'000'000)};

std::string Uuid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "00000000-0000-4000-8000-%012d", n);
  return buf;
}

class ServiceQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto real = OpenSqliteStorage(dir_.File("soc.db"), /*create=*/true);
    ASSERT_TRUE(real.ok()) << real.error().ToString();
    storage_ = std::move(real).value();
    auto ca = protocol::CertificateAuthority::Create("Test CA", hours(24 * 3650), kT0);
    ASSERT_TRUE(ca.ok());
    ca_.emplace(std::move(ca).value());
    service_ = std::make_unique<SocService>(
        *storage_, *ca_, [this] { return now_; }, SocConfig{});
    admin_ = service_->CreateOperatorToken("root", "admin", std::nullopt).value_or("");
    analyst_ = service_->CreateOperatorToken("an", "analyst", std::nullopt).value_or("");
    ASSERT_FALSE(admin_.empty());
    ASSERT_FALSE(analyst_.empty());
  }

  void Add(int n, const std::string& hostname, const std::string& group,
           std::vector<std::pair<std::string, CheckStatus>> checks, SysTime seen = kT0,
           const std::string& os = "Windows 10 Pro", const std::string& agent = "1.4.2",
           std::vector<std::string> task_ids = {}) {
    Device d;
    d.device_id = Uuid(n);
    d.hostname = hostname;
    d.machine_id = "m" + std::to_string(n);
    d.group = group;
    d.cert_serial = "c" + std::to_string(n);
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0 - hours(24 * 10);
    ASSERT_TRUE(storage_->AddDevice(d).ok());
    if (checks.empty()) {
      return;
    }
    protocol::Report r;
    r.report_id = Uuid(1000 + n);
    r.device_id = d.device_id;
    r.hostname = hostname;
    r.os = {os, "10", "", "x86_64"};
    r.agent_version = agent;
    r.collected_at = FormatRfc3339(seen);
    r.policy_version = 4;
    r.task_ids = std::move(task_ids);
    for (const auto& [id, status] : checks) {
      protocol::CheckResult c;
      c.id = id;
      c.status = status;
      c.summary = id + " " + std::string(protocol::ToString(status));
      c.expected = {{"max_age_days", 90}};
      c.observed = {{"age_days", status == CheckStatus::kPass ? 10 : 97}};
      r.checks.push_back(c);
    }
    ASSERT_TRUE(storage_->StoreReport(r, protocol::ToJson(r).dump(), seen).ok());
  }

  void AddFleet() {
    const auto pass = CheckStatus::kPass;
    const auto fail = CheckStatus::kFail;
    Add(1, "Bắc Hà Quầy 01", "laocai/bac-ha", {{"antivirus", pass}});
    Add(2, "BACHA-PC02", "laocai/bac-ha", {{"antivirus", fail}});
    Add(3, "Đồng Tuyển 03", "laocai/lao-cai", {{"antivirus", fail}, {"screen_lock", fail}},
        kT0 - hours(96));
    Add(4, "sa-pa-04", "laocai/sa-pa", {{"password_age", CheckStatus::kError}}, kT0,
        "Debian GNU/Linux", "1.3.0");
    Add(5, "never-05", "laocai/sa-pa", {});
    Add(6, "东京-06", "hanoi", {{"antivirus", pass}});
  }

  HttpResponse Get(const std::string& target, const std::string& token) {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.peer_address = "127.0.0.1:40000";
    std::optional<HttpResponse> answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse response) { answer = response; });
    return answer.value_or(HttpResponse{});
  }

  HttpResponse Post(const std::string& target, const std::string& token) {
    HttpRequest r;
    r.method = "POST";
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.peer_address = "127.0.0.1:40000";
    std::optional<HttpResponse> answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse response) { answer = response; });
    return answer.value_or(HttpResponse{});
  }

  // The device numbers a devices query answers, in order (one page).
  std::vector<int> Devices(const std::string& query) {
    const HttpResponse r = Get(std::string(api::kDevices) + query, analyst_);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    std::vector<int> ids;
    const json body = json::parse(r.body, nullptr, false);
    for (const auto& d : body.value("devices", json::array())) {
      ids.push_back(std::stoi(d.value("device_id", "0").substr(24)));
    }
    return ids;
  }

  std::string ErrorOf(const HttpResponse& r) {
    const json body = json::parse(r.body, nullptr, false);
    return body.is_object() && body.contains("error") ? body["error"].value("message", "") : "";
  }

  TempDir dir_;
  SysTime now_ = kT0;
  std::unique_ptr<Storage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  std::string admin_;
  std::string analyst_;
};

TEST_F(ServiceQueryTest, EveryFilter) {
  AddFleet();
  struct Case {
    std::string query;
    std::vector<int> want;  // sorted by group, then folded host name
  };
  const std::vector<Case> cases = {
      {"", {6, 2, 1, 3, 5, 4}},
      {"?group=laocai", {2, 1, 3, 5, 4}},
      {"?group=laocai/sa-pa/", {5, 4}},
      {"?status=noncompliant", {2, 3}},  // 3 is stale and still noncompliant
      {"?status=unknown", {5}},
      {"?status=error,unknown", {5, 4}},
      {"?status=stale", {3, 5}},
      {"?status=noncompliant&stale=true", {3}},
      {"?stale=false", {6, 2, 1, 4}},
      {"?revoked=false", {6, 2, 1, 3, 5, 4}},
      {"?revoked=true", {}},
      {"?check=antivirus", {2, 3}},
      {"?check=password_age", {4}},
      {"?os=Debian%20GNU%2FLinux", {4}},
      {"?os=Windows+10+Pro&os_version=10", {6, 2, 1, 3}},
      {"?agent_version=1.3.0", {4}},
      {"?policy_version=4", {6, 2, 1, 3, 4}},
      {"?policy_version=0", {5}},
      {"?last_seen_before=2026-09-20T00:00:00Z", {3}},
      {"?last_seen_after=" + FormatRfc3339(kT0), {6, 2, 1, 4}},
      {"?search=bac%20ha", {2, 1}},
      {"?search=B%E1%BA%AEC+H%C3%80", {2, 1}},  // "BẮC HÀ"
      {"?search=dong", {3}},                    // "Đồng": đ/Đ fold to d
      {"?search=%E4%B8%9C%E4%BA%AC", {6}},      // "东京"
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Devices(c.query), c.want) << c.query;
  }
}

TEST_F(ServiceQueryTest, AStaleDeviceKeepsItsLastPostureAndShowsStaleBesideIt) {
  AddFleet();
  const HttpResponse r = Get(std::string(api::kDevices) + "?status=noncompliant", analyst_);
  ASSERT_EQ(r.status, 200);
  const json devices = json::parse(r.body)["devices"];
  ASSERT_EQ(devices.size(), 2u);
  const json& stale = devices[1];
  EXPECT_EQ(stale[api::device_field::kHostname], "Đồng Tuyển 03");
  EXPECT_EQ(stale[api::device_field::kStatus], "noncompliant");
  EXPECT_EQ(stale[api::device_field::kStale], true);
  EXPECT_EQ(stale[api::device_field::kFailingChecks], json::array({"antivirus", "screen_lock"}));
  EXPECT_EQ(json::parse(r.body)[api::devices_field::kTotal], 2);
  // The device page says the same.
  const HttpResponse one = Get(api::PathWithId(api::kDevice, Uuid(3)), analyst_);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["device"]["status"], "noncompliant");
  EXPECT_EQ(json::parse(one.body)["device"]["stale"], true);
}

TEST_F(ServiceQueryTest, EverySortAndPageBoundary) {
  for (int i = 1; i <= 10; ++i) {
    Add(i, "pc-" + std::to_string(20 - i), i % 3 == 0 ? "a" : "b",
        {{"antivirus", i % 4 == 0 ? CheckStatus::kFail : CheckStatus::kPass}}, kT0 - hours(i % 5));
  }
  for (const std::string sort : {"group", "hostname", "status", "last_seen"}) {
    for (const std::string order : {"asc", "desc"}) {
      const std::string base = "?sort=" + sort + "&order=" + order;
      const std::vector<int> all = Devices(base + "&limit=1000");
      ASSERT_EQ(all.size(), 10u) << base;
      for (int limit : {1, 3, 5, 10, 11}) {
        std::vector<int> seen;
        std::string cursor;
        int pages = 0;
        while (pages++ < 20) {
          const std::string target = std::string(api::kDevices) + base +
                                     "&limit=" + std::to_string(limit) +
                                     (cursor.empty() ? "" : "&cursor=" + cursor);
          const HttpResponse r = Get(target, analyst_);
          ASSERT_EQ(r.status, 200) << target << ": " << r.body;
          const json body = json::parse(r.body);
          for (const auto& d : body["devices"]) {
            seen.push_back(std::stoi(d["device_id"].get<std::string>().substr(24)));
          }
          // Counted on the first page only; a cursor page does not read every match again.
          if (cursor.empty()) {
            EXPECT_EQ(body["total"], 10);
          } else {
            EXPECT_TRUE(body["total"].is_null()) << body.dump();
          }
          if (body["next_cursor"].is_null()) {
            break;
          }
          EXPECT_EQ(body["devices"].size(), static_cast<size_t>(limit));
          cursor = protocol::UrlEncode(body["next_cursor"].get<std::string>());
        }
        EXPECT_EQ(seen, all) << base << " limit " << limit;
        // First page to last, and an exact multiple ends without an empty page.
        EXPECT_EQ(pages, (10 + limit - 1) / limit) << base << " limit " << limit;
      }
    }
  }
  // Status sorts worst first.
  const auto by_status = Devices("?sort=status&limit=3");
  EXPECT_THAT(by_status, ElementsAre(8, 4, 10));  // the failing ones: pc-12, pc-16 first
}

TEST_F(ServiceQueryTest, CursorsAreBoundToTheirQueryAndSurviveNewData) {
  for (int i = 1; i <= 4; ++i) {
    Add(i, "pc-" + std::to_string(i), "a", {{"antivirus", CheckStatus::kPass}});
  }
  const HttpResponse first = Get(std::string(api::kDevices) + "?sort=hostname&limit=2", analyst_);
  ASSERT_EQ(first.status, 200);
  const std::string cursor =
      protocol::UrlEncode(json::parse(first.body)["next_cursor"].get<std::string>());
  // The same cursor with another filter or order is refused, not silently misapplied.
  for (const char* other :
       {"?sort=group", "?sort=hostname&order=desc", "?sort=hostname&status=compliant"}) {
    const HttpResponse r =
        Get(std::string(api::kDevices) + other + "&limit=2&cursor=" + cursor, analyst_);
    EXPECT_EQ(r.status, 400) << other;
    EXPECT_THAT(ErrorOf(r), HasSubstr("cursor")) << other;
  }
  // New devices arrive before and after the cursor: the next page holds only those after it.
  Add(5, "pc-0", "a", {{"antivirus", CheckStatus::kPass}});
  Add(6, "pc-25", "a", {{"antivirus", CheckStatus::kPass}});
  EXPECT_THAT(Devices("?sort=hostname&limit=2&cursor=" + cursor), ElementsAre(6, 3));
  // Tampered cursors.
  for (const std::string& bad :
       std::vector<std::string>{"x", "%00", "eyJ2IjoxfQ", std::string(3000, 'A')}) {
    const HttpResponse r =
        Get(std::string(api::kDevices) + "?sort=hostname&cursor=" + bad, analyst_);
    EXPECT_EQ(r.status, 400) << bad.substr(0, 20);
  }
}

TEST_F(ServiceQueryTest, BadInputOnEveryParameterIsA400AndLosesNothing) {
  AddFleet();
  const std::string huge(5000, 'a');
  const std::string sql = "%27%3B%20DROP%20TABLE%20devices%3B%20--";  // '; DROP TABLE devices; --
  struct Case {
    std::string query;
    std::string message;
  };
  const std::vector<Case> bad = {
      {"?group=Lao%20Cai", "group"},
      {"?group=" + sql, "group"},
      {"?group=" + huge, "group"},
      {"?status=bogus", "status"},
      {"?status=" + sql, "status"},
      {"?check=firewall", "unknown check"},
      {"?check=" + sql, "unknown check"},
      {"?stale=maybe", "stale"},
      {"?revoked=2", "revoked"},
      {"?stale=false&status=stale", "contradicts"},
      {"?os=" + huge, "os"},
      {"?os=a%1b%5b2J", "control"},
      {"?os_version=%ff%fe", "UTF-8"},
      {"?agent_version=" + huge, "agent_version"},
      {"?policy_version=-1", "policy_version"},
      {"?policy_version=1e3", "policy_version"},
      {"?policy_version=99999999999999999999999", "policy_version"},
      {"?last_seen_before=yesterday", "last_seen_before"},
      {"?last_seen_after=" + sql, "last_seen_after"},
      {"?search=" + huge, "search"},
      {"?search=%20-%20", "letter or a digit"},
      {"?search=%07", "control"},
      {"?sort=" + sql, "sort"},
      {"?order=up", "order"},
      {"?limit=0", "limit"},
      {"?limit=1001", "limit"},
      {"?limit=ten", "limit"},
      {"?cursor=" + huge, "cursor"},
      {"?stauts=noncompliant", "unknown parameter"},
  };
  for (const auto& c : bad) {
    const HttpResponse r = Get(std::string(api::kDevices) + c.query, analyst_);
    EXPECT_EQ(r.status, 400) << c.query.substr(0, 60) << ": " << r.body.substr(0, 200);
    EXPECT_THAT(ErrorOf(r), HasSubstr(c.message)) << c.query.substr(0, 60);
  }
  // SQL text where free text is allowed is only text: no match, nothing dropped.
  EXPECT_THAT(Devices("?search=" + sql), ElementsAre());
  EXPECT_THAT(Devices("?os=" + sql), ElementsAre());
  EXPECT_THAT(Devices("?agent_version=%25"), ElementsAre());  // '%' is no wildcard
  EXPECT_EQ(Devices("").size(), 6u);
  // The summary's parameter too.
  EXPECT_EQ(Get(std::string(api::kSummary) + "?group=" + sql, analyst_).status, 400);
  EXPECT_EQ(Get(std::string(api::kSummary) + "?groups=laocai", analyst_).status, 400);
  EXPECT_EQ(Get(api::PathWithId(api::kStoredReport, "'; DROP TABLE reports; --"), analyst_).status,
            404);
  EXPECT_EQ(Get(std::string(api::kSummary), analyst_).status, 200);
}

TEST_F(ServiceQueryTest, AnalystsReadAndNeverWrite) {
  AddFleet();
  for (const std::string& target :
       std::vector<std::string>{std::string(api::kDevices), std::string(api::kSummary),
                                api::PathWithId(api::kStoredReport, Uuid(1001))}) {
    EXPECT_EQ(Get(target, analyst_).status, 200) << target;
    EXPECT_EQ(Get(target, admin_).status, 200) << target;
    EXPECT_EQ(Get(target, "not-a-token").status, 401) << target;
    EXPECT_EQ(Post(target, analyst_).status, 405) << target;  // read-only routes
  }
  EXPECT_EQ(Post(api::PathWithId(api::kDeviceRevoke, Uuid(1)), analyst_).status, 403);
  auto device = storage_->GetDevice(Uuid(1));
  ASSERT_TRUE(device.ok());
  EXPECT_FALSE(device->revoked);
}

TEST_F(ServiceQueryTest, SummaryPerGroupWithTotals) {
  AddFleet();
  const HttpResponse r = Get(std::string(api::kSummary) + "?group=laocai", analyst_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  namespace f = api::summary_field;
  ASSERT_EQ(body[f::kGroups].size(), 3u);
  const json& bac_ha = body[f::kGroups][0];
  EXPECT_EQ(bac_ha[f::kGroup], "laocai/bac-ha");
  EXPECT_EQ(bac_ha[f::kStatus], (json{{"compliant", 1}, {"noncompliant", 1}}));
  EXPECT_EQ(bac_ha[f::kFailing], (json{{"antivirus", 1}}));
  const json& total = body[f::kTotal];
  EXPECT_EQ(total[f::kGroup], "laocai");
  EXPECT_EQ(total[f::kDevices], 5);
  EXPECT_EQ(total[f::kStale], 2);
  EXPECT_EQ(total[f::kNeverReported], 1);
  EXPECT_EQ(total[f::kFailing], (json{{"antivirus", 2}, {"screen_lock", 1}}));
  EXPECT_EQ(total[f::kErrors], (json{{"password_age", 1}}));
  EXPECT_EQ(total[f::kStatus],
            (json{{"compliant", 1}, {"noncompliant", 2}, {"error", 1}, {"unknown", 1}}));
}

TEST_F(ServiceQueryTest, AnyStoredReportWithItsEvidence) {
  AddFleet();
  const HttpResponse r = Get(api::PathWithId(api::kStoredReport, Uuid(1003)), analyst_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  namespace f = api::report_field;
  EXPECT_EQ(body[f::kDeviceId], Uuid(3));
  EXPECT_EQ(body[f::kHostname], "Đồng Tuyển 03");
  EXPECT_EQ(body[f::kStatus], "noncompliant");
  EXPECT_EQ(body[f::kReport]["checks"][0]["expected"], (json{{"max_age_days", 90}}));
  EXPECT_EQ(body[f::kReport]["checks"][0]["observed"], (json{{"age_days", 97}}));
  EXPECT_EQ(Get(api::PathWithId(api::kStoredReport, Uuid(99999)), analyst_).status, 404);
  EXPECT_EQ(Get(api::PathWithId(api::kStoredReport, "not-a-uuid"), analyst_).status, 404);
}

TEST_F(ServiceQueryTest, AnInspectionShowsEachDevicesResult) {
  Add(1, "pc-1", "a", {});
  Add(2, "pc-2", "a", {});
  Task task;
  task.id = Uuid(500);
  task.target = "group a";
  task.created_by = "root";
  task.created_at = kT0;
  task.expires_at = kT0 + hours(1);
  ASSERT_TRUE(storage_->CreateTask(task, {Uuid(1), Uuid(2)}).ok());
  // Device 1 answers with a failing check; device 2 has not answered.
  protocol::Report r;
  r.report_id = Uuid(2001);
  r.device_id = Uuid(1);
  r.hostname = "pc-1";
  r.collected_at = FormatRfc3339(kT0);
  r.task_ids = {task.id};
  protocol::CheckResult c;
  c.id = "screen_lock";
  c.status = CheckStatus::kFail;
  r.checks = {c};
  ASSERT_TRUE(storage_->StoreReport(r, protocol::ToJson(r).dump(), kT0).ok());
  const HttpResponse answer = Get(api::PathWithId(api::kInspection, task.id), analyst_);
  ASSERT_EQ(answer.status, 200) << answer.body;
  const json devices = json::parse(answer.body)[api::inspection_field::kDevices];
  ASSERT_EQ(devices.size(), 2u);
  namespace f = api::inspection_field;
  EXPECT_EQ(devices[0][f::kState], "done");
  EXPECT_EQ(devices[0][f::kResult], "noncompliant");
  EXPECT_EQ(devices[0][f::kFailingChecks], json::array({"screen_lock"}));
  EXPECT_EQ(devices[0][f::kReportId], Uuid(2001));
  EXPECT_EQ(devices[1][f::kResult], nullptr);
  EXPECT_EQ(devices[1][f::kFailingChecks], json::array());
}

}  // namespace
}  // namespace cg::soc

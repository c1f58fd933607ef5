// Groups' display names through SocService::HandleOperator (no network) over a real SQLite
// database: GET /api/v1/groups and POST /api/v1/group-names, who may call them, the names kept in
// NFC with who set them and when, every refusal answered 400 with nothing changed, and the
// audit rows of the changes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
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

class ServiceGroupsTest : public ::testing::Test {
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
    Device d;
    d.device_id = "00000000-0000-4000-8000-000000000001";
    d.hostname = "ub-bacha-01";
    d.machine_id = "m1";
    d.group = "laocai/bac-ha";
    d.cert_serial = "c1";
    d.cert_not_after = kT0 + hours(24 * 30);
    d.enrolled_at = kT0 - hours(24);
    ASSERT_TRUE(storage_->AddDevice(d).ok());
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token,
                    const std::string& body = "") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.body = body;
    r.peer_address = "10.0.0.9:4000";
    std::optional<HttpResponse> answer;
    service_->HandleOperator(std::move(r), [&](HttpResponse response) { answer = response; });
    EXPECT_TRUE(answer.has_value());
    return answer.value_or(HttpResponse{});
  }

  HttpResponse SetName(const std::string& token, const json& body) {
    return Call("POST", "/api/v1/group-names", token, body.dump());
  }

  json Groups() {
    const HttpResponse r = Call("GET", "/api/v1/groups", analyst_);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("groups", json::array());
  }

  static std::string Message(const HttpResponse& r) {
    const json j = json::parse(r.body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : r.body;
  }

  TempDir dir_;
  std::unique_ptr<Storage> storage_;
  std::optional<protocol::CertificateAuthority> ca_;
  std::unique_ptr<SocService> service_;
  SysTime now_ = kT0;
  std::string admin_;
  std::string analyst_;
};

TEST_F(ServiceGroupsTest, AnAdminNamesAGroupAndAnalystsSeeTheNameWithWhoAndWhen) {
  // Before: the device's group, without a name.
  json groups = Groups();
  ASSERT_EQ(groups.size(), 1u) << groups;
  EXPECT_EQ(groups[0]["group"], "laocai/bac-ha");
  EXPECT_TRUE(groups[0]["display_name"].is_null());
  EXPECT_EQ(groups[0]["has_devices"], true);

  // Typed decomposed (Unikey "Unicode tổ hợp"): stored precomposed (NFC).
  const HttpResponse set = SetName(
      admin_,
      {{"group", "laocai/bac-ha"}, {"display_name", " Xa\u0303 Ba\u0306\u0301c Ha\u0300 "}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["display_name"], "X\u00e3 B\u1eafc H\u00e0");
  // A group with no device yet may be named ahead of its enrollment.
  now_ = kT0 + seconds(60);
  ASSERT_EQ(
      SetName(admin_, {{"group", "laocai/si-ma-cai"}, {"display_name", "Huyện Si Ma Cai"}}).status,
      200);

  groups = Groups();
  ASSERT_EQ(groups.size(), 2u) << groups;
  EXPECT_EQ(groups[0]["group"], "laocai/bac-ha");
  EXPECT_EQ(groups[0]["display_name"], "Xã Bắc Hà");
  EXPECT_EQ(groups[0]["set_by"], "root");
  EXPECT_EQ(groups[0]["set_at"], FormatRfc3339(kT0));
  EXPECT_EQ(groups[1]["group"], "laocai/si-ma-cai");
  EXPECT_EQ(groups[1]["display_name"], "Huyện Si Ma Cai");
  EXPECT_EQ(groups[1]["has_devices"], false);

  // Renaming replaces it; clearing removes it (a second clear says there was none).
  ASSERT_EQ(SetName(admin_, {{"group", "laocai/bac-ha"}, {"display_name", "Xã Bắc Hà mới"}}).status,
            200);
  EXPECT_EQ(Groups()[0]["display_name"], "Xã Bắc Hà mới");
  const HttpResponse cleared =
      SetName(admin_, {{"group", "laocai/si-ma-cai"}, {"display_name", nullptr}});
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(json::parse(cleared.body)["cleared"], true);
  EXPECT_EQ(json::parse(SetName(admin_, {{"group", "laocai/si-ma-cai"}, {"display_name", ""}}).body)
                .value("cleared", true),
            false);
  EXPECT_EQ(Groups().size(), 1u);  // the named group without devices is gone with its name

  // The audit log has each change with the name it set.
  auto audit = storage_->ListAudit(20);
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> targets;
  for (const AuditEntry& e : *audit) {
    if (e.method == "POST") {
      targets.push_back(e.target);
      EXPECT_EQ(e.actor, "root");
      EXPECT_EQ(e.result, 200);
    }
  }
  EXPECT_THAT(targets,
              ::testing::ElementsAre("group laocai/si-ma-cai display name cleared (had none)",
                                     "group laocai/si-ma-cai display name cleared",
                                     "group laocai/bac-ha display name \"Xã Bắc Hà mới\"",
                                     "group laocai/si-ma-cai display name \"Huyện Si Ma Cai\"",
                                     "group laocai/bac-ha display name \"Xã Bắc Hà\""));
}

TEST_F(ServiceGroupsTest, AnAnalystReadsButMayNotName) {
  const HttpResponse r =
      SetName(analyst_, {{"group", "laocai/bac-ha"}, {"display_name", "Xã Bắc Hà"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_TRUE(Groups()[0]["display_name"].is_null());
}

TEST_F(ServiceGroupsTest, BadInputIsRefusedWithTheReasonAndChangesNothing) {
  ASSERT_EQ(SetName(admin_, {{"group", "laocai/bac-ha"}, {"display_name", "Xã Bắc Hà"}}).status,
            200);
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"group", "Lao Cai"}, {"display_name", "x"}}, "must be a group slug"},
      {{{"group", "laocai//bac-ha"}, {"display_name", "x"}}, "must be a group slug"},
      {{{"group", "laocai/bac-ha"}}, "'display_name' is missing"},
      {{{"group", "laocai/bac-ha"}, {"display_name", 7}}, "must be a string or null"},
      {{{"group", "laocai/bac-ha"}, {"display_name", "Xã\nBắc Hà"}}, "U+000A"},
      {{{"group", "laocai/bac-ha"}, {"display_name", "Bắc\u202eHà"}}, "U+202E"},
      {{{"group", "laocai/bac-ha"}, {"display_name", "Xã \ue000"}}, "U+E000"},
      {{{"group", "laocai/bac-ha"}, {"display_name", std::string(81, 'a')}}, "longer than 80"},
      {{{"group", "laocai/bac-ha"}, {"display_name", "x"}, {"by", "me"}}, "unknown field 'by'"},
  };
  for (const auto& [body, why] : cases) {
    const HttpResponse r = SetName(admin_, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_THAT(Message(r), HasSubstr(why)) << body;
  }
  const HttpResponse not_json = Call("POST", "/api/v1/group-names", admin_, "{\"group\":");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(Groups()[0]["display_name"], "Xã Bắc Hà");
  EXPECT_EQ(Groups().size(), 1u);
}

}  // namespace
}  // namespace cg::soc

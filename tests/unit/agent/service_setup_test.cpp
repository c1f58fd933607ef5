// Tests for agent/service_setup.cpp: agent.json as `cg-agent service install` (and the MSI)
// leaves it, and the token file it stages for the service.
#include "agent/service_setup.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/config.h"
#include "agent/state.h"
#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;
using testing::TempDir;

TEST(NormalizeServerAddressTest, HostPortOrHttpsUrl) {
  struct Case {
    const char* in;
    const char* out;  // nullptr: an error naming the value
  };
  const Case cases[] = {
      {"soc.laocai.gov.vn:8443", "soc.laocai.gov.vn:8443"},
      {"https://soc:8443", "soc:8443"},
      {"https://soc:8443/", "soc:8443"},
      {"10.0.0.5:8443", "10.0.0.5:8443"},
      {"http://soc:8443", nullptr},
      {"https://soc:8443/v1", nullptr},
      {"soc", nullptr},
      {"soc:", nullptr},
      {":8443", nullptr},
      {"soc:84x3", nullptr},
      {"soc:70000", nullptr},
      {"", nullptr},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    auto got = NormalizeServerAddress(c.in);
    if (c.out == nullptr) {
      ASSERT_FALSE(got.ok());
      EXPECT_NE(got.error().message.find(std::string("'") + c.in + "'"), std::string::npos)
          << got.error().message;
    } else {
      ASSERT_TRUE(got.ok()) << got.error().ToString();
      EXPECT_EQ(*got, c.out);
    }
  }
}

TEST(UpdateServiceConfigTest, CreatesAConfigurationTheServiceAccepts) {
  TempDir dir;
  const std::string file = dir.File("agent.json");
  ServiceConfigUpdate update;
  update.server = "https://soc:8443";
  update.group = "laocai/bac-ha";
  update.state_dir = dir.File("state");
  update.ca_file = dir.File("ca.pem");
  ASSERT_TRUE(UpdateServiceConfig(file, update).ok());
  auto config = LoadAgentConfig(file);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->server, "soc:8443");
  EXPECT_EQ(config->group, "laocai/bac-ha");
  EXPECT_EQ(config->state_dir, dir.File("state"));
  EXPECT_EQ(config->ca_file, dir.File("ca.pem"));
  EXPECT_FALSE(config->policy_key_file.has_value());
  EXPECT_FALSE(FileExists(file + ".new"));
}

TEST(UpdateServiceConfigTest, AnUpgradeKeepsTheAdminsSettings) {
  TempDir dir;
  const std::string file = dir.File("agent.json");
  ASSERT_TRUE(WriteFileAtomic(file, R"({"server": "old:8443", "group": "laocai/sa-pa",
      "interval_seconds": 300, "log_level": "debug", "state_dir": "D:\\cg"})",
                              0644)
                  .ok());
  // An upgrade without properties: nothing given, nothing changes.
  ServiceConfigUpdate upgrade;
  upgrade.state_dir = dir.File("state");
  ASSERT_TRUE(UpdateServiceConfig(file, upgrade).ok());
  auto config = LoadAgentConfig(file);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->server, "old:8443");
  EXPECT_EQ(config->group, "laocai/sa-pa");
  EXPECT_EQ(config->interval_seconds, 300);
  EXPECT_EQ(config->log_level, "debug");
  EXPECT_EQ(config->state_dir, "D:\\cg");  // the admin's state dir wins over the default

  // A reinstall naming a new SOC and group replaces those two only.
  ServiceConfigUpdate moved;
  moved.server = "soc2:9443";
  moved.group = "laocai/bac-ha";
  ASSERT_TRUE(UpdateServiceConfig(file, moved).ok());
  config = LoadAgentConfig(file);
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->server, "soc2:9443");
  EXPECT_EQ(config->group, "laocai/bac-ha");
  EXPECT_EQ(config->interval_seconds, 300);
}

TEST(UpdateServiceConfigTest, BadInputIsRefusedAndLosesNothing) {
  TempDir dir;
  const std::string file = dir.File("agent.json");
  const std::string damaged = R"({"server": "soc:8443", )";
  ASSERT_TRUE(WriteFileAtomic(file, damaged, 0644).ok());
  ServiceConfigUpdate update;
  update.group = "laocai/bac-ha";
  auto s = UpdateServiceConfig(file, update);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("not a JSON object"), std::string::npos);
  EXPECT_EQ(*ReadFileToString(file), damaged);

  const std::string good = R"({"server": "soc:8443", "interval_seconds": 300})";
  ASSERT_TRUE(WriteFileAtomic(file, good, 0644).ok());
  ServiceConfigUpdate bad_server;
  bad_server.server = "http://soc:8443";
  EXPECT_FALSE(UpdateServiceConfig(file, bad_server).ok());
  ServiceConfigUpdate empty_group;
  empty_group.group = "";
  EXPECT_FALSE(UpdateServiceConfig(file, empty_group).ok());
  EXPECT_EQ(*ReadFileToString(file), good);

  // A key the agent refuses (a typo an admin made) is found before the file is replaced.
  const std::string typo = R"({"server": "soc:8443", "intervall_seconds": 300})";
  ASSERT_TRUE(WriteFileAtomic(file, typo, 0644).ok());
  ServiceConfigUpdate any;
  any.group = "laocai/bac-ha";
  s = UpdateServiceConfig(file, any);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("intervall_seconds"), std::string::npos) << s.error().message;
  EXPECT_EQ(*ReadFileToString(file), typo);
  EXPECT_FALSE(FileExists(file + ".new"));
}

TEST(StageEnrollTokenTest, CopiesTheTokenUnlessEnrolled) {
  TempDir dir;
  const std::string source = dir.File("token.txt");
  const std::string staged = dir.File("enroll.token");
  const std::string state = dir.File("state");
  ASSERT_TRUE(StateDir(state).Prepare().ok());
  ASSERT_TRUE(WriteFileAtomic(source, "  tok-123_abc \r\n", 0644).ok());
  auto copied = StageEnrollToken(source, staged, state);
  ASSERT_TRUE(copied.ok()) << copied.error().ToString();
  EXPECT_TRUE(*copied);
  EXPECT_EQ(*ReadFileToString(staged), "tok-123_abc\n");

  ASSERT_TRUE(WriteFileAtomic(source, "two\nlines\n", 0644).ok());
  EXPECT_FALSE(StageEnrollToken(source, dir.File("other.token"), state).ok());
  EXPECT_FALSE(FileExists(dir.File("other.token")));

  ASSERT_TRUE(std::filesystem::remove(staged));
  ASSERT_TRUE(StateDir(state)
                  .SaveEnrollment({"soc:8443", "0b6f3e0e-7c4e-4d8b-9a57-6b0d1c8e2f10", "g", "t"})
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(source, "tok-456\n", 0644).ok());
  copied = StageEnrollToken(source, staged, state);
  ASSERT_TRUE(copied.ok());
  EXPECT_FALSE(*copied);
  EXPECT_FALSE(FileExists(staged));
}

}  // namespace
}  // namespace cg::agent

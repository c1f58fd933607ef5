// Tests for agent/config.cpp: the delivery settings of agent.json (and that typos are errors).
#include "agent/config.h"

#include <gtest/gtest.h>

#include <string>

#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using testing::TempDir;

class AgentConfigTest : public ::testing::Test {
 protected:
  Result<AgentConfig> Load(const std::string& text) {
    const std::string path = dir_.File("agent.json");
    EXPECT_TRUE(WriteFileAtomic(path, text, 0600).ok());
    return LoadAgentConfig(path);
  }
  TempDir dir_;
};

TEST_F(AgentConfigTest, DeliverySettings) {
  auto c = Load(
      R"({"spool_max_bytes": 1048576, "reconnect_window_seconds": 120, "delivery_attempts": 3})");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->spool_max_bytes, 1048576);
  EXPECT_EQ(c->reconnect_window_seconds, 120);
  EXPECT_EQ(c->delivery_attempts, 3);
  auto none = Load("{}");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->spool_max_bytes.has_value());
  EXPECT_FALSE(none->reconnect_window_seconds.has_value());
}

TEST_F(AgentConfigTest, BadDeliverySettingsNameTheKey) {
  for (const char* text :
       {R"({"spool_max_bytes": 1000})", R"({"spool_max_bytes": "50MB"})",
        R"({"reconnect_window_seconds": -1})", R"({"reconnect_window_seconds": 1.5})",
        R"({"spool_max_byte": 1048576})", R"({"delivery_attempts": 0})"}) {
    auto c = Load(text);
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_TRUE(c.error().message.find("'spool_max_byte") != std::string::npos ||
                c.error().message.find("'reconnect_window_seconds'") != std::string::npos ||
                c.error().message.find("'delivery_attempts'") != std::string::npos)
        << c.error().message;
  }
}

TEST_F(AgentConfigTest, EnrollmentSettings) {
  auto c = Load(R"({"server": "soc.laocai.gov.vn:8443", "ca_file": "/etc/counterguard/ca.pem",
                    "group": "laocai/bac-ha", "policy_key_file": "/etc/counterguard/policy.pub",
                    "enroll_token_file": "/etc/counterguard/enroll.token"})");
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->server, "soc.laocai.gov.vn:8443");
  EXPECT_EQ(c->ca_file, "/etc/counterguard/ca.pem");
  EXPECT_EQ(c->group, "laocai/bac-ha");
  EXPECT_EQ(c->policy_key_file, "/etc/counterguard/policy.pub");
  EXPECT_EQ(c->enroll_token_file, "/etc/counterguard/enroll.token");
  for (const char* text : {R"({"server": ""})", R"({"group": 7})", R"({"ca_file": null})"}) {
    auto bad = Load(text);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_NE(bad.error().message.find("must be a non-empty string"), std::string::npos);
  }
}

}  // namespace
}  // namespace cg::agent

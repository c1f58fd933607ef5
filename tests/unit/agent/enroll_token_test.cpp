// Tests for agent/enroll_token.cpp: what a token file may hold, where the service looks for
// it, and what the service does with it when there is nothing to enroll.
#include "agent/enroll_token.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "agent/state.h"
#include "platform/fake/fake_platform.h"
#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using testing::TempDir;

TEST(ReadTokenFileTest, TheFirstLineTrimmedOrAClearError) {
  struct Case {
    const char* name;
    const char* content;
    const char* token;  // nullptr: an error is expected
    const char* error_part;
  };
  const Case cases[] = {
      {"bare", "AbC-123_xyz", "AbC-123_xyz", ""},
      {"newline", "AbC-123_xyz\n", "AbC-123_xyz", ""},
      {"crlf and spaces", "  AbC-123_xyz \r\n\n", "AbC-123_xyz", ""},
      {"empty", "", nullptr, "no enrollment token"},
      {"blank lines", "\n \n", nullptr, "no enrollment token"},
      {"two lines", "first\nsecond\n", nullptr, "more than one line"},
      {"space inside", "abc def", nullptr, "does not hold a token"},
      {"control character",
       "abc\x01"
       "def",
       nullptr, "does not hold a token"},
  };
  TempDir dir;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.File("token");
    ASSERT_TRUE(WriteFileAtomic(path, c.content, 0600).ok());
    auto token = ReadTokenFile(path);
    if (c.token != nullptr) {
      ASSERT_TRUE(token.ok()) << token.error().ToString();
      EXPECT_EQ(*token, c.token);
    } else {
      ASSERT_FALSE(token.ok());
      EXPECT_NE(token.error().message.find(c.error_part), std::string::npos)
          << token.error().message;
      // The message never repeats what the file holds (it may be a secret after all).
      if (std::string(c.content).size() > 3) {
        EXPECT_EQ(token.error().message.find(c.content), std::string::npos);
      }
    }
  }
  EXPECT_FALSE(ReadTokenFile(dir.File("missing")).ok());
}

TEST(TokenFilePathTest, BesideTheConfigurationUnlessConfigured) {
  AgentConfig config;
  EXPECT_EQ(TokenFilePath(config, "/etc/counterguard/agent.json"),
            "/etc/counterguard/enroll.token");
  EXPECT_EQ(TokenFilePath(config, "agent.json"), "./enroll.token");
  // The Windows service's configuration (it used to give ./enroll.token, the service's
  // working directory being C:\Windows\System32).
  EXPECT_EQ(TokenFilePath(config, "C:\\ProgramData\\CounterGuard\\agent.json"),
            "C:\\ProgramData\\CounterGuard\\enroll.token");
  config.enroll_token_file = "/run/cg/token";
  EXPECT_EQ(TokenFilePath(config, "/etc/counterguard/agent.json"), "/run/cg/token");
}

class EnrollFromTokenFileTest : public ::testing::Test {
 protected:
  std::string ConfigFile() const { return dir_.File("agent.json"); }
  std::string TokenFile() const { return dir_.File("enroll.token"); }
  std::string StateDirPath() const { return dir_.File("state"); }

  TempDir dir_;
  platform::fake::FakePlatform fake_ = platform::fake::MakeFakePlatform();
};

TEST_F(EnrollFromTokenFileTest, NoTokenFileIsNothingToDo) {
  AgentConfig config;
  EXPECT_TRUE(EnrollFromTokenFile(config, ConfigFile(), StateDirPath(), fake_.platform()).ok());
  EXPECT_FALSE(FileExists(StateDirPath()));
}

TEST_F(EnrollFromTokenFileTest, ATokenWithoutAServerToEnrollWithIsAnErrorAndKept) {
  ASSERT_TRUE(WriteFileAtomic(TokenFile(), "tok\n", 0600).ok());
  AgentConfig config;
  config.ca_file = dir_.File("ca.pem");
  auto s = EnrollFromTokenFile(config, ConfigFile(), StateDirPath(), fake_.platform());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("\"server\" and \"ca_file\""), std::string::npos)
      << s.error().message;
  EXPECT_TRUE(FileExists(TokenFile()));  // the configuration is wrong, not the token
}

TEST_F(EnrollFromTokenFileTest, AnEnrolledDeviceDeletesTheTokenUnused) {
  StateDir state(StateDirPath());
  ASSERT_TRUE(state.Prepare().ok());
  ASSERT_TRUE(state
                  .SaveEnrollment({"localhost:1", "6f1c1f3e-8d0e-4d55-9a57-3a3c1b7e2f10",
                                   "laocai/bac-ha", "2026-01-01T00:00:00Z"})
                  .ok());
  ASSERT_TRUE(WriteFileAtomic(TokenFile(), "tok\n", 0600).ok());
  AgentConfig config;
  config.server = "localhost:1";  // never reached: nothing is sent
  config.ca_file = dir_.File("ca.pem");
  EXPECT_TRUE(EnrollFromTokenFile(config, ConfigFile(), StateDirPath(), fake_.platform()).ok());
  EXPECT_FALSE(FileExists(TokenFile()));
}

// The service's waits between attempts with the token file (agent.cpp's Run): 10 s, doubling,
// at most 5 min, each scaled into [0.8, 1.2) by the random draw.
TEST(EnrollRetryDelayTest, DoublesFromTenSecondsToFiveMinutesWithJitter) {
  using std::chrono::milliseconds;
  EXPECT_EQ(EnrollRetryDelay(1, 0.5), milliseconds(10'000));
  EXPECT_EQ(EnrollRetryDelay(2, 0.5), milliseconds(20'000));
  EXPECT_EQ(EnrollRetryDelay(3, 0.5), milliseconds(40'000));
  EXPECT_EQ(EnrollRetryDelay(5, 0.5), milliseconds(160'000));
  EXPECT_EQ(EnrollRetryDelay(6, 0.5), milliseconds(300'000));
  EXPECT_EQ(EnrollRetryDelay(1000, 0.5), milliseconds(300'000));  // no overflow, still capped
  EXPECT_EQ(EnrollRetryDelay(1, 0.0), milliseconds(8'000));
  EXPECT_EQ(EnrollRetryDelay(1, 0.999), milliseconds(11'996));
  EXPECT_EQ(EnrollRetryDelay(6, 0.0), milliseconds(240'000));
  // Out-of-range draws are clamped rather than trusted.
  EXPECT_EQ(EnrollRetryDelay(1, -3.0), milliseconds(8'000));
  EXPECT_EQ(EnrollRetryDelay(1, 7.0), milliseconds(12'000));
  EXPECT_EQ(EnrollRetryDelay(0, 0.5), milliseconds(10'000));
}

TEST(RevocationRecordTest, KeepsTheFirstTimeAndIsClearedByANewEnrollment) {
  TempDir dir;
  StateDir state(dir.path());
  auto none = state.LoadRevocation();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(state.RecordRevoked("refused 1", "2026-01-01T00:00:00Z").ok());
  ASSERT_TRUE(state.RecordRevoked("refused 2", "2026-01-02T00:00:00Z").ok());
  auto r = state.LoadRevocation();
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->first_refused_at, "2026-01-01T00:00:00Z");
  EXPECT_EQ((*r)->last_refused_at, "2026-01-02T00:00:00Z");
  EXPECT_EQ((*r)->error, "refused 2");
  ASSERT_TRUE(state.ClearRevocation().ok());
  EXPECT_FALSE(state.LoadRevocation()->has_value());
  EXPECT_TRUE(state.ClearRevocation().ok());  // twice is fine
}

}  // namespace
}  // namespace cg::agent

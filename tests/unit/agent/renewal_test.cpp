// Tests for agent/renewal.cpp: when the agent renews its certificate, read through an injected
// clock, and what it does when the certificate has expired or a renewal was interrupted.
#include "agent/renewal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "platform/fake/fake_platform.h"
#include "platform/os/files.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::agent {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::HasSubstr;

constexpr SysTime kT0{seconds(1'790'000'000)};
constexpr auto kDay = hours(24);

TEST(PlanRenewalTest, RenewsAfterTwoThirdsAndNeverAnExpiredCertificate) {
  const SysTime not_before = kT0;
  const SysTime not_after = kT0 + 30 * kDay;
  struct Case {
    SysTime now;
    RenewalAction action;
  };
  const std::vector<Case> cases = {
      {kT0 - hours(1), RenewalAction::kNone},  // clock behind the certificate
      {kT0, RenewalAction::kNone},
      {kT0 + 20 * kDay - seconds(1), RenewalAction::kNone},
      {kT0 + 20 * kDay, RenewalAction::kRenew},
      {kT0 + 29 * kDay, RenewalAction::kRenew},
      {kT0 + 30 * kDay - seconds(1), RenewalAction::kRenew},
      {kT0 + 30 * kDay, RenewalAction::kExpired},
      {kT0 + 400 * kDay, RenewalAction::kExpired},
  };
  for (const auto& c : cases) {
    const RenewalPlan plan = PlanRenewal(not_before, not_after, c.now);
    EXPECT_EQ(plan.action, c.action) << FormatRfc3339(c.now);
    EXPECT_EQ(plan.due, kT0 + 20 * kDay);
  }
}

class RenewCertificateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(state_.Prepare().ok());
    // Issued at kT0 for 30 days (valid from kT0 - 5 min, the CA's clock-skew allowance).
    const auto files = ca_.IssueDevice(kDeviceId, "laocai/bac-ha", kT0, 30 * kDay);
    cert_pem_ = *ReadFileToString(files.cert_file);
    ASSERT_TRUE(WriteFileAtomic(state_.CertPath(), cert_pem_).ok());
    ASSERT_TRUE(WriteFileAtomic(state_.KeyPath(), *ReadFileToString(files.key_file), 0600).ok());
    ASSERT_TRUE(WriteFileAtomic(state_.CaPath(), ca_.ca().cert_pem()).ok());
  }

  Status RenewAt(SysTime now) {
    fake_.clock().Set(now);
    return RenewCertificateIfDue(state_, enrollment_, *fake_.platform().clock, seconds(5));
  }

  static constexpr const char* kDeviceId = "6f1e2d3c-4b5a-4987-8a6b-5c4d3e2f1a0b";
  testing::TempDir dir_;
  testing::TestCa ca_{dir_, "soc", kT0 - kDay};
  StateDir state_{dir_.File("state")};
  // Port 1 on loopback: nothing listens there, so a renewal attempt fails at once.
  Enrollment enrollment_{"127.0.0.1:1", kDeviceId, "laocai/bac-ha", FormatRfc3339(kT0)};
  platform::fake::FakePlatform fake_;
  std::string cert_pem_;
};

TEST_F(RenewCertificateTest, NothingHappensBeforeTwoThirdsOfTheLifetime) {
  EXPECT_TRUE(RenewAt(kT0 + 19 * kDay).ok());
  EXPECT_EQ(*ReadFileToString(state_.CertPath()), cert_pem_);
}

TEST_F(RenewCertificateTest, AFailedRenewalKeepsTheCertificateForTheNextCycle) {
  // Due, but the SOC cannot be reached: the cycle goes on with the current certificate.
  EXPECT_TRUE(RenewAt(kT0 + 21 * kDay).ok());
  EXPECT_EQ(*ReadFileToString(state_.CertPath()), cert_pem_);
  EXPECT_FALSE(FileExists(state_.path() + "/renew.crt"));
}

TEST_F(RenewCertificateTest, AnExpiredCertificateAsksForANewEnrollmentToken) {
  const Status s = RenewAt(kT0 + 31 * kDay);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kPermissionDenied);
  EXPECT_THAT(s.error().message, HasSubstr("expired"));
  EXPECT_THAT(s.error().message, HasSubstr("new enrollment token"));
  EXPECT_THAT(s.error().message, HasSubstr("cgctl enroll-token create --group laocai/bac-ha"));
  EXPECT_THAT(s.error().message, HasSubstr("cg-agent enroll --server 127.0.0.1:1"));
  auto status = state_.LoadStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_THAT(status->last_error, HasSubstr("expired"));
  EXPECT_EQ(*ReadFileToString(state_.CertPath()), cert_pem_);
}

TEST_F(RenewCertificateTest, AnInterruptedRenewalIsFinishedOrDropped) {
  // Crashed after both new files were written: they are moved into place.
  const auto renewed = ca_.IssueDevice(kDeviceId, "laocai/bac-ha", kT0 + 20 * kDay, 30 * kDay);
  const std::string new_cert = *ReadFileToString(renewed.cert_file);
  const std::string new_key = *ReadFileToString(renewed.key_file);
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/renew.key", new_key, 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/renew.crt", new_cert).ok());
  EXPECT_TRUE(RenewAt(kT0 + 21 * kDay).ok());
  EXPECT_EQ(*ReadFileToString(state_.CertPath()), new_cert);
  EXPECT_EQ(*ReadFileToString(state_.KeyPath()), new_key);
  EXPECT_FALSE(FileExists(state_.path() + "/renew.crt"));

  // Crashed with only the new key written: dropped, the current pair stays.
  ASSERT_TRUE(WriteFileAtomic(state_.path() + "/renew.key", "half", 0600).ok());
  EXPECT_TRUE(RenewAt(kT0 + 22 * kDay).ok());
  EXPECT_FALSE(FileExists(state_.path() + "/renew.key"));
  EXPECT_EQ(*ReadFileToString(state_.KeyPath()), new_key);
}

TEST(ClockOffsetTest, ShiftsThePlatformClock) {
  platform::fake::FakePlatform fake;
  fake.clock().Set(kT0);
  platform::Platform& p = fake.platform();
  ApplyClockOffset(p, std::chrono::duration_cast<seconds>(21 * kDay));
  EXPECT_EQ(p.clock->Now(), kT0 + 21 * kDay);
  ApplyClockOffset(p, seconds(0));
  EXPECT_EQ(p.clock->Now(), kT0 + 21 * kDay);
}

}  // namespace
}  // namespace cg::agent

// Device certificate renewal: certificates are short-lived (30 days by default) and the agent
// replaces its own over mutual TLS once two thirds of the lifetime has passed, with a new key
// made here (it never leaves the device). An expired certificate cannot be renewed: the device
// must enroll again with a new token.
#pragma once

#include <chrono>

#include "agent/state.h"
#include "common/result.h"
#include "common/timeutil.h"
#include "platform/platform.h"

namespace cg::agent {

enum class RenewalAction { kNone, kRenew, kExpired };

struct RenewalPlan {
  RenewalAction action = RenewalAction::kNone;
  SysTime due;  // when renewal starts: not_before + 2/3 of the certificate's lifetime
};

// The decision alone, on the times of the current certificate and `now` (the platform clock).
RenewalPlan PlanRenewal(SysTime not_before, SysTime not_after, SysTime now);

// Renews the device certificate when PlanRenewal says so (POST /v1/renew with the current
// certificate; the SOC supersedes it). A renewal that fails (SOC unreachable, refused) is
// logged and tried again next cycle: OK is returned and the current certificate stays. Errors:
// an expired certificate (kPermissionDenied, telling the operator to enroll again with a new
// token; also written to status.json), or an unreadable state directory.
Status RenewCertificateIfDue(const StateDir& state, const Enrollment& enrollment,
                             const platform::Clock& clock,
                             std::chrono::seconds timeout = std::chrono::seconds(30));

// Test-only: shifts the platform's clock by `offset` (cg-agent run --clock-offset), so that a
// test can act "21 days later" without waiting. Zero leaves the platform unchanged.
void ApplyClockOffset(platform::Platform& platform, std::chrono::seconds offset);

}  // namespace cg::agent

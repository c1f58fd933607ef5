// The `password_age` check: interactive accounts must change their password at least every
// `max_days` days (the directive's 90), and new accounts must inherit that maximum from
// /etc/login.defs. Reads platform.accounts and platform.clock only.
#pragma once

#include <string_view>
#include <vector>

#include "collectors/check.h"

namespace cg::collectors {

// Policy parameters: max_days (90), expiry_warning_days (14), include_root (false).
//
// Judged ("interactive"): UID_MIN <= uid <= UID_MAX (root only with include_root), a login
// shell, and a usable or empty password, on an account that has not expired. Fails when the
// password is older than max_days, has no maximum or a larger one, has expired, or is empty;
// or when login.defs PASS_MAX_DAYS is missing or above max_days. A forced change at next
// login (last change 0) is reported, not failed. Locked, system and no-login accounts are
// listed in the facts. An entry that could not be read makes the result `error` unless the
// machine already fails on what could be read.
//
// Remediation sets PASS_MAX_DAYS in /etc/login.defs and runs `chage -M max_days USER` for
// judged accounts without a compliant maximum. It never locks an account or sets a password,
// so an empty password (or an already-old one) stays a failure for the administrator; the
// maximum makes the password expire and forces a change at the next login.
class PasswordAgeCheck final : public Check {
 public:
  static constexpr std::string_view kId = "password_age";

  std::string_view id() const override { return kId; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;
  bool CanRemediate() const override { return true; }
  // Reads the machine again (not `failed`), so it acts on the current state; refuses to
  // change anything while the account files hold entries it could not read.
  Result<std::vector<Change>> Remediate(const CheckContext& ctx,
                                        const protocol::CheckResult& failed,
                                        bool dry_run) const override;
};

}  // namespace cg::collectors

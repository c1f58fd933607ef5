// screen_lock: for every desktop user, the effective idle and lock settings of each installed
// desktop (GNOME through dconf, KDE through kscreenlockerrc, Xfce through xfconf: one source
// file each, see screen_lock_source.h), judged against the policy; enforcement writes
// CounterGuard-owned, locked system settings for GNOME (dconf keyfile + locks + profile, then
// `dconf update`) and KDE (kscreenlockerrc [$i]).
#pragma once

#include <string_view>
#include <vector>

#include "collectors/check.h"
#include "common/result.h"

namespace cg::collectors {

class ScreenLockCheck final : public Check {
 public:
  ScreenLockCheck() = default;
  std::string_view id() const override { return "screen_lock"; }
  protocol::CheckResult Evaluate(const CheckContext& ctx) const override;
  bool CanRemediate() const override { return true; }
  // GNOME: /etc/dconf/db/local.d/50-counterguard (values), .../locks/50-counterguard (unless
  // allow_user_override), user-db:user + system-db:local in /etc/dconf/profile/user, then
  // `dconf update` (with the database directory when the root is not "/"). KDE:
  // /etc/xdg/kscreenlockerrc [Daemon] with [$i]. Only what differs is written; the command runs
  // only when a file changed or the compiled database does not match its keyfiles.
  Result<std::vector<Change>> Remediate(const CheckContext& ctx,
                                        const protocol::CheckResult& failed,
                                        bool dry_run) const override;
};

}  // namespace cg::collectors

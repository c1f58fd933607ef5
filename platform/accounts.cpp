// The Accounts interface's enforcement calls where an OS has no account API for them.
#include "platform/platform.h"

namespace cg::platform {

Status Accounts::SetMaxPasswordDays(std::optional<int64_t> /*days*/) {
  return MakeError(ErrorCode::kUnavailable,
                   "this system's password ageing is set in files, not through an account API");
}

Status Accounts::SetPasswordNeverExpires(std::string_view account, bool /*never_expires*/) {
  return MakeError(ErrorCode::kUnavailable,
                   "account '" + std::string(account) +
                       "': this system has no \"password never expires\" flag to set");
}

}  // namespace cg::platform

// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): what authenticator apps show.
// Verification returns the time step it matched, and takes the last step the account used as a
// required argument, so a caller cannot check a code without also refusing its replay: store
// the returned step as the account's new last used step, in the same transaction as the login.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/auth/random.h"

namespace cg::soc::auth {

enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// "SHA1", "SHA256", "SHA512": the names the Key Uri Format uses.
const char* TotpAlgorithmName(TotpAlgorithm algorithm);

struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;  // what every authenticator app supports
  int digits = 6;                                  // 6..8
  int period_seconds = 30;
  // Steps accepted either side of now: 1 = the previous, current and next code (RFC 6238
  // section 5.2 recommends at most one step of network delay).
  int drift_steps = 1;
};

// 160 bits, the HMAC-SHA1 output size (RFC 4226 section 4 R6 asks for at least 128, recommends
// 160).
constexpr size_t kTotpSecretBytes = 20;
Result<Bytes> GenerateTotpSecret();

// Refuses digits outside 6..8, a period < 1 s, drift outside 0..10.
Status ValidateTotpParams(const TotpParams& params);

// The time step (RFC 6238 "T") of a moment: floor(unix seconds / period). An error before 1970.
Result<int64_t> TotpTimeStep(SysTime now, const TotpParams& params);
// Same from Unix seconds: SysTime (nanoseconds in 64 bits) ends in 2262, and RFC 6238's last
// test vector is in 2603.
Result<int64_t> TotpTimeStepAtUnix(int64_t unix_seconds, const TotpParams& params);

// The code for time step `step`, zero-padded to params.digits.
Result<std::string> TotpCode(const Bytes& secret, int64_t step, const TotpParams& params);

struct TotpMatch {
  int64_t step = 0;  // store as the account's last used step
};

// Checks `code` (exactly params.digits ASCII digits; spaces are not stripped here) against
// the steps around `now`. `last_used_step` is the step of the account's last accepted code, or
// nullopt if it never used one; codes of that step or earlier are refused as replays, so one
// code logs in once, and a newer accepted code also retires the older ones. Comparison is in
// constant time. Errors: kInvalidArgument (malformed code), kUnauthenticated (wrong code, or
// a replay: the message says which, for the audit log; it never contains the code).
Result<TotpMatch> VerifyTotp(const Bytes& secret, std::string_view code, SysTime now,
                             std::optional<int64_t> last_used_step, const TotpParams& params = {});

}  // namespace cg::soc::auth

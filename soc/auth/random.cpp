// RAND_bytes behind a Result.
#include "soc/auth/random.h"

#include <openssl/rand.h>

#include <climits>

#include "protocol/pki.h"

namespace cg::soc::auth {

Result<Bytes> RandomBytes(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kInvalidArgument, "random: too many bytes requested");
  }
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    return protocol::OpenSslError("random: RAND_bytes");
  }
  return out;
}

}  // namespace cg::soc::auth

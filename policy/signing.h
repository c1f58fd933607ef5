// Signed policy: Ed25519 keys, the signed envelope, and the agent's acceptance rules
// (signature from a trusted key, newer version, validity window, target group).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/timeutil.h"
#include "policy/policy.h"

namespace cg::policy {

inline constexpr const char* kEnvelopeFormat = "counterguard-policy-v1";

struct KeyPair {
  std::string private_pem;  // PKCS#8, encrypted with AES-256-CBC when a passphrase was given
  std::string public_pem;   // SubjectPublicKeyInfo
  std::string key_id;
};

// A new Ed25519 key pair; an empty passphrase leaves the private key unencrypted.
Result<KeyPair> GenerateSigningKey(std::string_view passphrase = {});

// Key id: the first 16 hex digits of the SHA-256 of the raw 32-byte public key.
Result<std::string> KeyIdOfPublicPem(std::string_view public_pem);

// Signs the canonical form of `policy_document` (validated first) with the private key.
// Returns the envelope: {"format", "key_id", "policy", "signature"}.
Result<nlohmann::json> SignPolicy(const nlohmann::json& policy_document,
                                  std::string_view private_pem, std::string_view passphrase = {});

// Trusted public keys by key id.
using TrustedKeys = std::map<std::string, std::string, std::less<>>;  // key id -> public PEM
Result<TrustedKeys> ParseTrustedKeys(const std::vector<std::string>& public_pems);

// Why a policy was refused: a stable code for reports and tests, and a message.
enum class Refusal {
  kMalformed,      // not an envelope, truncated, wrong types
  kUnknownKey,     // key id not in the trusted set
  kBadSignature,   // signature does not verify over the canonical policy
  kInvalidPolicy,  // verified, but the document is not a valid policy
  kNotNewer,       // version <= the version in force (rollback or replay)
  kNotYetValid,    // now < not_before
  kExpired,        // now >= expires_at
  kOtherGroup,     // target does not match the device's group
};
std::string_view RefusalCode(Refusal r);

struct VerifiedPolicy {
  Policy policy;
  std::string key_id;
  std::string hash;                              // SHA-256 of the canonical policy
  std::optional<TrustedKeys> next_trusted_keys;  // when the policy rotates the trusted set
};

struct AcceptanceContext {
  const TrustedKeys* trusted = nullptr;
  int64_t current_version = 0;
  std::string group;  // empty: skip the group test (e.g. the SOC verifying before storing)
  SysTime now;
  // false when re-verifying the policy already in force at start: it was judged on arrival,
  // and an agent must not drop to a weaker policy because a validity window has passed.
  bool check_time = true;
};

struct RefusedPolicy {
  Refusal reason;
  std::string message;
};

// Verifies and judges an envelope. On refusal, the caller keeps the policy in force.
std::variant<VerifiedPolicy, RefusedPolicy> VerifyEnvelope(const nlohmann::json& envelope,
                                                           const AcceptanceContext& ctx);

// Target rule: a policy with no target applies to every group; otherwise one of
// target.groups must equal the group or be a prefix ending in '/' ("laocai/") or a prefix at
// a segment boundary ("laocai/bac-ha" matches "laocai/bac-ha" and "laocai/bac-ha/x").
bool TargetMatches(const nlohmann::json& policy_document, std::string_view group);

}  // namespace cg::policy

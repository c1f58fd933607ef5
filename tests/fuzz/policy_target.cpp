// Fuzz target: the signed policy envelope and the policy document parser.
#include <nlohmann/json.hpp>
#include <variant>

#include "common/ids.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "policy/signing.h"
#include "protocol/json.h"
#include "tests/fuzz/targets.h"

namespace cg::fuzz {
namespace {

const policy::TrustedKeys& Trusted() {
  static const policy::TrustedKeys keys = [] {
    auto pem = ReadFileToString(std::string(CG_FUZZ_DIR) + "/policy_key.pub", 64u << 10);
    FUZZ_CHECK(pem.ok());
    auto parsed = policy::ParseTrustedKeys({*pem});
    FUZZ_CHECK(parsed.ok());
    return *parsed;
  }();
  return keys;
}

void CheckPolicyDocument(const nlohmann::json& document) {
  auto parsed = policy::ParsePolicy(document);
  if (!parsed.ok()) {
    return;
  }
  const std::string canonical = policy::CanonicalJson(parsed->document);
  auto reparsed = nlohmann::json::parse(canonical, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!reparsed.is_discarded());
  auto again = policy::ParsePolicy(reparsed);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(policy::PolicyHash(*again) == policy::PolicyHash(*parsed));
}

}  // namespace

void FuzzPolicy(std::string_view data) {
  auto parsed = protocol::ParseJsonBounded(data);
  if (!parsed.ok()) {
    return;
  }
  nlohmann::json envelope = std::move(parsed).value();
  policy::AcceptanceContext ctx;
  ctx.trusted = &Trusted();
  ctx.current_version = 1;
  ctx.group = "laocai/bac-ha";
  ctx.now = FromUnixSeconds(1'780'000'000);
  const auto verdict = policy::VerifyEnvelope(envelope, ctx);
  if (const auto* ok = std::get_if<policy::VerifiedPolicy>(&verdict)) {
    FUZZ_CHECK(ok->policy.version > ctx.current_version);
    // The hash names what was signed: the canonical form of the envelope's policy as given.
    FUZZ_CHECK(ok->hash == Sha256Hex(policy::CanonicalJson(envelope["policy"])));
  } else {
    FUZZ_CHECK(!std::get<policy::RefusedPolicy>(verdict).message.empty());
  }
  if (envelope.is_object() && envelope.contains("policy")) {
    CheckPolicyDocument(envelope["policy"]);
  } else {
    CheckPolicyDocument(envelope);
  }
}

}  // namespace cg::fuzz

// Ed25519 policy signatures over the canonical JSON of the policy document (OpenSSL EVP).
#include "policy/signing.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "common/ids.h"
#include "protocol/pki.h"

namespace cg::policy {
namespace {

using nlohmann::json;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
// Key handles and the OpenSSL error queue -> Error come from protocol/pki (one helper each).
using Pkey = protocol::PrivateKey;
using Bio = std::unique_ptr<BIO, BioDeleter>;
using protocol::OpenSslError;

Bio MemBio(std::string_view data) {
  return Bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<Pkey> LoadPublic(std::string_view pem) {
  Bio bio = MemBio(pem);
  Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return OpenSslError("not a PEM public key");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return MakeError(ErrorCode::kInvalidArgument, "policy keys must be Ed25519");
  }
  return key;
}

Result<Pkey> LoadPrivate(std::string_view pem, std::string_view passphrase) {
  Bio bio = MemBio(pem);
  std::string pass(passphrase);
  // An empty passphrase must not fall back to a terminal prompt.
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pass.data()));
  if (!key) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot read the private key (not an Ed25519 PEM key, or wrong passphrase)");
  }
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return MakeError(ErrorCode::kInvalidArgument, "policy keys must be Ed25519");
  }
  return key;
}

Result<std::string> RawPublic(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t len = sizeof(raw);
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != 32) {
    return OpenSslError("reading the raw public key");
  }
  return std::string(reinterpret_cast<char*>(raw), len);
}

Result<std::string> KeyIdOf(EVP_PKEY* key) {
  CG_ASSIGN_OR_RETURN(auto raw, RawPublic(key));
  return Sha256Hex(raw).substr(0, 16);
}

Result<std::string> PublicPem(EVP_PKEY* key) {
  Bio out(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(out.get(), key) != 1) {
    return OpenSslError("writing the public key");
  }
  return BioToString(out.get());
}

}  // namespace

std::string_view RefusalCode(Refusal r) {
  switch (r) {
    case Refusal::kMalformed:
      return "malformed";
    case Refusal::kUnknownKey:
      return "unknown_key";
    case Refusal::kBadSignature:
      return "bad_signature";
    case Refusal::kInvalidPolicy:
      return "invalid_policy";
    case Refusal::kNotNewer:
      return "not_newer";
    case Refusal::kNotYetValid:
      return "not_yet_valid";
    case Refusal::kExpired:
      return "expired";
    case Refusal::kOtherGroup:
      return "other_group";
  }
  return "malformed";
}

Result<KeyPair> GenerateSigningKey(std::string_view passphrase) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return OpenSslError("generating an Ed25519 key");
  }
  Pkey key(raw);
  Bio out(BIO_new(BIO_s_mem()));
  std::string pass(passphrase);
  const int ok = passphrase.empty() ? PEM_write_bio_PKCS8PrivateKey(out.get(), key.get(), nullptr,
                                                                    nullptr, 0, nullptr, nullptr)
                                    : PEM_write_bio_PKCS8PrivateKey(
                                          out.get(), key.get(), EVP_aes_256_cbc(), pass.data(),
                                          static_cast<int>(pass.size()), nullptr, nullptr);
  if (ok != 1) {
    return OpenSslError("writing the private key");
  }
  KeyPair pair;
  pair.private_pem = BioToString(out.get());
  CG_ASSIGN_OR_RETURN(pair.public_pem, PublicPem(key.get()));
  CG_ASSIGN_OR_RETURN(pair.key_id, KeyIdOf(key.get()));
  return pair;
}

Result<std::string> KeyIdOfPublicPem(std::string_view public_pem) {
  CG_ASSIGN_OR_RETURN(auto key, LoadPublic(public_pem));
  return KeyIdOf(key.get());
}

Result<json> SignPolicy(const json& policy_document, std::string_view private_pem,
                        std::string_view passphrase) {
  CG_ASSIGN_OR_RETURN(auto parsed, ParsePolicy(policy_document));
  if (parsed.version <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "policy version must be a positive integer (agents refuse older or equal "
                     "versions)");
  }
  CG_ASSIGN_OR_RETURN(auto key, LoadPrivate(private_pem, passphrase));
  // What is signed is the document as the admin wrote it (not the defaults-merged view), so
  // the agent verifies exactly these bytes and merges the defaults of its own version.
  const std::string message = CanonicalJson(policy_document);
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> md(EVP_MD_CTX_new());
  size_t sig_len = 64;
  std::string sig(sig_len, '\0');
  if (!md || EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return OpenSslError("signing the policy");
  }
  sig.resize(sig_len);
  CG_ASSIGN_OR_RETURN(auto key_id, KeyIdOf(key.get()));
  return json{{"format", kEnvelopeFormat},
              {"key_id", key_id},
              {"policy", policy_document},
              {"signature", Base64Encode(sig)}};
}

Result<TrustedKeys> ParseTrustedKeys(const std::vector<std::string>& public_pems) {
  TrustedKeys keys;
  for (const auto& pem : public_pems) {
    CG_ASSIGN_OR_RETURN(auto id, KeyIdOfPublicPem(pem));
    keys.emplace(id, pem);
  }
  if (keys.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no trusted policy key");
  }
  return keys;
}

bool TargetMatches(const json& doc, std::string_view group) {
  auto target = doc.find("target");
  if (target == doc.end()) {
    return true;
  }
  for (const auto& g : target->value("groups", json::array())) {
    if (!g.is_string()) {
      continue;
    }
    const auto& prefix = g.get_ref<const std::string&>();
    if (group == prefix) {
      return true;
    }
    if (group.starts_with(prefix) && (prefix.ends_with("/") || group[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

std::variant<VerifiedPolicy, RefusedPolicy> VerifyEnvelope(const json& envelope,
                                                           const AcceptanceContext& ctx) {
  auto refuse = [](Refusal r, std::string m) { return RefusedPolicy{r, std::move(m)}; };
  // No json::value() here: it throws when the member exists with another type (found by
  // fuzzing: {"format": {...}} ended the process).
  const auto format = envelope.is_object() ? envelope.find("format") : envelope.end();
  if (!envelope.is_object() || format == envelope.end() || !format->is_string() ||
      format->get_ref<const std::string&>() != kEnvelopeFormat || !envelope.contains("policy") ||
      !envelope["policy"].is_object() || !envelope.contains("key_id") ||
      !envelope["key_id"].is_string() || !envelope.contains("signature") ||
      !envelope["signature"].is_string()) {
    return refuse(Refusal::kMalformed, std::string("not a ") + kEnvelopeFormat +
                                           " envelope (format, key_id, policy, signature)");
  }
  const std::string key_id = envelope["key_id"].get<std::string>();
  const json& doc = envelope["policy"];
  auto trusted = ctx.trusted->find(key_id);
  if (trusted == ctx.trusted->end()) {
    return refuse(Refusal::kUnknownKey,
                  "signed by key " + key_id.substr(0, 32) + ", which is not in the trusted set");
  }
  auto sig = Base64Decode(envelope["signature"].get<std::string>());
  if (!sig.ok() || sig->size() != 64) {
    return refuse(Refusal::kMalformed, "signature is not a base64 Ed25519 signature");
  }
  auto key = LoadPublic(trusted->second);
  if (!key.ok()) {
    return refuse(Refusal::kUnknownKey, "trusted key " + key_id + ": " + key.error().message);
  }
  std::string message;
  try {
    message = CanonicalJson(doc);
  } catch (const json::exception&) {
    return refuse(Refusal::kMalformed, "policy contains invalid UTF-8");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> md(EVP_MD_CTX_new());
  const bool verified =
      md && EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, key->get()) == 1 &&
      EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  ERR_clear_error();
  if (!verified) {
    return refuse(Refusal::kBadSignature, "signature does not verify with key " + key_id);
  }
  auto policy = ParsePolicy(doc);
  if (!policy.ok()) {
    return refuse(Refusal::kInvalidPolicy, policy.error().message);
  }
  if (policy->version <= ctx.current_version) {
    return refuse(Refusal::kNotNewer, "version " + std::to_string(policy->version) +
                                          " is not newer than the policy in force (" +
                                          std::to_string(ctx.current_version) + ")");
  }
  if (ctx.check_time && doc.contains("not_before") &&
      ctx.now < *ParseRfc3339(doc["not_before"].get<std::string>())) {
    return refuse(Refusal::kNotYetValid,
                  "not valid before " + doc["not_before"].get<std::string>());
  }
  if (ctx.check_time && doc.contains("expires_at") &&
      ctx.now >= *ParseRfc3339(doc["expires_at"].get<std::string>())) {
    return refuse(Refusal::kExpired, "expired at " + doc["expires_at"].get<std::string>());
  }
  if (!ctx.group.empty() && !TargetMatches(doc, ctx.group)) {
    return refuse(Refusal::kOtherGroup,
                  "targets " + doc["target"].dump() + ", not group " + ctx.group);
  }
  VerifiedPolicy out{std::move(policy).value(), key_id, Sha256Hex(message), std::nullopt};
  if (auto keys = doc.find("trusted_keys"); keys != doc.end()) {
    std::vector<std::string> pems;
    for (const auto& k : *keys) {
      pems.push_back(k.get<std::string>());
    }
    auto parsed = ParseTrustedKeys(pems);
    if (!parsed.ok()) {
      return refuse(Refusal::kInvalidPolicy, "trusted_keys: " + parsed.error().message);
    }
    out.next_trusted_keys = std::move(parsed).value();
  }
  return out;
}

}  // namespace cg::policy

// TLS context policy and credential loading on OpenSSL 3.
#include "protocol/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <vector>

#include "platform/os/files.h"
#include "platform/os/secret_file.h"
#include "protocol/pki.h"

namespace cg::protocol {
namespace {

constexpr size_t kMaxPemFileBytes = 1u << 20;
constexpr unsigned char kSessionIdContext[] = "cg-soc";
// Our chains are CA -> leaf; a little headroom for an intermediate.
constexpr int kMaxVerifyDepth = 4;

void FreeNameStack(STACK_OF(X509_NAME) * names) { sk_X509_NAME_pop_free(names, X509_NAME_free); }
using NameStackPtr = std::unique_ptr<STACK_OF(X509_NAME), decltype(&FreeNameStack)>;

Error TlsError(std::string_view what) { return OpenSslError(what, ErrorCode::kTls); }

}  // namespace

Status HardenTlsContext(ssl_ctx_st* ctx, bool server) {
  if (ctx == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument, "HardenTlsContext: null SSL_CTX");
  }
  // Max version 0 = the highest the library supports, so TLS 1.3 wins whenever both sides have it.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, 0) != 1) {
    return TlsError("setting TLS protocol versions");
  }
  if (SSL_CTX_set_cipher_list(ctx, kTls12CipherList) != 1) {
    return TlsError("setting TLS 1.2 cipher list");
  }
  if (SSL_CTX_set_ciphersuites(ctx, kTls13CipherSuites) != 1) {
    return TlsError("setting TLS 1.3 cipher suites");
  }
  if (SSL_CTX_set1_groups_list(ctx, kTlsGroups) != 1) {
    return TlsError("setting TLS groups");
  }
  uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET;
  if (server) {
    options |= SSL_OP_CIPHER_SERVER_PREFERENCE;
  }
  SSL_CTX_set_options(ctx, options);
  // An idle connection (a held long-poll) keeps no 17 KB read and write record buffers: they
  // are taken when a record comes or goes and given back when empty. That is about 34 KiB of
  // the ~100 KiB a held long-poll cost the SOC (docs/performance.md, "10,000 agents").
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify_depth(ctx, kMaxVerifyDepth);
  if (server &&
      SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1) {
    return TlsError("setting session id context");
  }
  return OkStatus();
}

Status LoadCertificateAndKey(ssl_ctx_st* ctx, const std::string& cert_file,
                             const std::string& key_file) {
  const std::string cert_what = "loading certificate " + cert_file;
  auto cert_pem = ReadFileToString(cert_file, kMaxPemFileBytes);
  if (!cert_pem.ok()) {
    return cert_pem.error().Wrap(cert_what);
  }
  auto chain = CertificatesFromPem(*cert_pem);
  if (!chain.ok()) {
    return chain.error().Wrap(cert_what);
  }
  if (SSL_CTX_use_certificate(ctx, chain->front().get()) != 1) {
    return TlsError(cert_what);
  }
  for (size_t i = 1; i < chain->size(); ++i) {
    // SSL_CTX_add1_chain_cert, spelled out: the macro's C cast trips -Wold-style-cast.
    if (SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 1, (*chain)[i].get()) != 1) {
      return TlsError(cert_what);
    }
  }

  const std::string key_what = "loading private key " + key_file;
  auto key_pem = ReadSecretFile(key_file, kMaxPemFileBytes);
  if (!key_pem.ok()) {
    return key_pem.error().Wrap(key_what);
  }
  auto key = PrivateKeyFromPem(*key_pem);
  if (!key.ok()) {
    return key.error().Wrap(key_what);
  }
  if (X509_check_private_key(chain->front().get(), key->get()) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kTls,
                     key_what + ": the key does not belong to certificate " + cert_file);
  }
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return TlsError(key_what);
  }
  return OkStatus();
}

Status LoadTrustAnchors(ssl_ctx_st* ctx, const std::string& ca_file, bool advertise_to_clients) {
  const std::string what = "loading CA certificate " + ca_file;
  if (ca_file.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no CA certificate file given");
  }
  auto pem = ReadFileToString(ca_file, kMaxPemFileBytes);
  if (!pem.ok()) {
    return pem.error().Wrap(what);
  }
  auto certs = CertificatesFromPem(*pem);
  if (!certs.ok()) {
    return certs.error().Wrap(what);
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  NameStackPtr names(sk_X509_NAME_new_null(), &FreeNameStack);
  if (store == nullptr || !names) {
    return TlsError(what);
  }
  for (const Certificate& cert : *certs) {
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      return TlsError(what);
    }
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert.get()));
    if (name == nullptr || sk_X509_NAME_push(names.get(), name) <= 0) {
      X509_NAME_free(name);
      return TlsError(what);
    }
  }
  if (advertise_to_clients) {
    SSL_CTX_set_client_CA_list(ctx, names.release());
  }
  return OkStatus();
}

}  // namespace cg::protocol

// TLS policy in one place (versions, cipher suites, groups, options) and the loading of
// credentials and trust anchors into an SSL_CTX; the HTTPS client and the SOC listener use both.
#pragma once

#include <openssl/types.h>

#include <string>

#include "common/result.h"

namespace cg::protocol {

// TLS 1.3 preferred, TLS 1.2 floor with ECDHE + AEAD suites only, groups X25519:P-256, no
// compression, no renegotiation, no session tickets (nothing outlives a restart); a server
// also prefers its own cipher order and gets a session id context (needed for resumption when
// client certificates are verified).
Status HardenTlsContext(ssl_ctx_st* ctx, bool server);

// Our certificate (first PEM block; any further blocks are sent as its chain) and its key;
// refuses a key that does not belong to the certificate.
Status LoadCertificateAndKey(ssl_ctx_st* ctx, const std::string& cert_file,
                             const std::string& key_file);

// Makes the certificates in ca_file the ONLY trust anchors of ctx (the system store is never
// loaded). advertise_to_clients: a server names them in its CertificateRequest.
Status LoadTrustAnchors(ssl_ctx_st* ctx, const std::string& ca_file, bool advertise_to_clients);

// TLS 1.2 suites: ECDHE key exchange with AEAD ciphers only. Our keys are ECDSA; the RSA-signed
// variants cost nothing and keep third-party certificates working.
inline constexpr const char* kTls12CipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kTls13CipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr const char* kTlsGroups = "X25519:P-256";

}  // namespace cg::protocol

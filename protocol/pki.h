// The SOC's certificate authority and the key/CSR/certificate handling that agent and SOC share.
// ECDSA P-256 and SHA-256 throughout; OpenSSL 3 EVP APIs, every handle owned by a unique_ptr.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"

namespace cg::protocol {

// Drains this thread's OpenSSL error queue into one Error: "what: reason; reason".
// The single place where OpenSSL failures become cg::Error (default code kCrypto).
Error OpenSslError(std::string_view what, ErrorCode code = ErrorCode::kCrypto);

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* p) const;
};
using PrivateKey = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

struct X509Deleter {
  void operator()(X509* p) const;
};
using Certificate = std::unique_ptr<X509, X509Deleter>;

Result<PrivateKey> GenerateP256Key();
// PKCS#8 PEM ("BEGIN PRIVATE KEY"), unencrypted: the file mode protects it.
Result<std::string> PrivateKeyToPem(const EVP_PKEY& key);
// Refuses encrypted keys instead of prompting on a terminal.
Result<PrivateKey> PrivateKeyFromPem(std::string_view pem);

// A PKCS#10 request with subject CN=common_name, signed with SHA-256 by `key`.
Result<std::string> MakeCsrPem(const EVP_PKEY& key, std::string_view common_name);

// The first certificate of a PEM text.
Result<Certificate> CertificateFromPem(std::string_view pem);
// Every certificate of a PEM text (a chain or a bundle); at least one.
Result<std::vector<Certificate>> CertificatesFromPem(std::string_view pem);

struct CertificateInfo {
  std::string subject_cn, subject_ou, issuer_cn;
  std::string serial_hex;          // lower-case hex, no leading zeros
  std::string sha256_fingerprint;  // lower-case hex of the DER encoding's SHA-256
  SysTime not_before, not_after;
  bool is_ca = false;  // basicConstraints CA:TRUE
  std::vector<std::string> dns_names, ip_addresses;
  // Only what the extendedKeyUsage extension lists explicitly; false when it is absent.
  bool client_auth = false, server_auth = false;
};

Result<CertificateInfo> InspectCertificatePem(std::string_view pem);

// What a CRL lists, for tests and other consumers of the published CRL.
struct CrlInfo {
  std::vector<std::string> serials_hex;  // lower-case hex, as CertificateInfo::serial_hex
  bool signature_valid = false;          // signed by the given issuer's key
};
// Reads a PEM CRL and verifies its signature with `issuer_pem`'s public key (kParse if it is
// not a CRL).
Result<CrlInfo> InspectCrlPem(std::string_view crl_pem, std::string_view issuer_pem);
Result<CertificateInfo> InspectCertificate(const X509& cert);

class CertificateAuthority {
 public:
  // Self-signed P-256 root: basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign
  // (critical), subjectKeyIdentifier. Valid from now - 5 min to now + validity.
  static Result<CertificateAuthority> Create(std::string_view common_name,
                                             std::chrono::seconds validity, SysTime now);
  // Refuses a certificate that is not a CA or a key that does not belong to it.
  static Result<CertificateAuthority> Load(std::string_view cert_pem, std::string_view key_pem);

  const std::string& cert_pem() const { return cert_pem_; }
  Result<std::string> key_pem() const;

  // Server certificate: IP literals in `hostnames` become IP SANs, the others DNS SANs;
  // CN = hostnames[0], EKU serverAuth, keyUsage digitalSignature.
  Result<std::string> IssueServerCertificate(const EVP_PKEY& server_key,
                                             const std::vector<std::string>& hostnames,
                                             std::chrono::seconds validity, SysTime now) const;

  // Device (client) certificate from an agent's CSR. The CSR must be PEM of at most 8 KiB with
  // an EC P-256 key and a valid self-signature; its subject is ignored. Issues CN=device_id,
  // OU=group, EKU clientAuth, keyUsage digitalSignature, a random 128-bit serial, valid from
  // now - 5 min (clock skew) to now + validity. Refusals are kInvalidArgument with the reason.
  Result<std::string> IssueDeviceCertificate(std::string_view csr_pem, std::string_view device_id,
                                             std::string_view group, std::chrono::seconds validity,
                                             SysTime now) const;

  // An X.509 v2 CRL signed by this CA (SHA-256): lastUpdate `now`, nextUpdate now + validity,
  // crlNumber `number`, authorityKeyIdentifier, one entry per certificate with its revocation
  // time and reason (cessationOfOperation, or superseded). PEM.
  struct CrlEntry {
    std::string serial_hex;  // lower-case hex as CertificateInfo::serial_hex
    SysTime revoked_at;
    bool superseded = false;
  };
  Result<std::string> IssueCrl(const std::vector<CrlEntry>& entries, int64_t number,
                               std::chrono::seconds validity, SysTime now) const;

 private:
  CertificateAuthority(Certificate cert, PrivateKey key, std::string cert_pem);

  Certificate cert_;
  PrivateKey key_;
  std::string cert_pem_;
};

// Largest CSR the CA looks at.
inline constexpr size_t kMaxCsrBytes = 8 * 1024;

}  // namespace cg::protocol

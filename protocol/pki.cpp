// Keys, CSRs, certificates and the SOC's CA on OpenSSL 3 (EVP, X509, X509V3 APIs).
#include "protocol/pki.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <ctime>

#include "common/ids.h"
#include "common/text.h"

namespace cg::protocol {
namespace {

using std::chrono::seconds;

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using Asn1IntPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using BasicConstraintsPtr = std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS_free>>;
using EkuPtr = std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Deleter<X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, Deleter<X509_REVOKED_free>>;
using EnumeratedPtr = std::unique_ptr<ASN1_ENUMERATED, Deleter<ASN1_ENUMERATED_free>>;
void FreeOpenSslString(char* p) { OPENSSL_free(p); }
using OpenSslString = std::unique_ptr<char, Deleter<FreeOpenSslString>>;

// Issued certificates start this far in the past so that a device whose clock runs a little
// behind the SOC's can use its certificate at once.
constexpr seconds kClockSkew{300};
constexpr size_t kMaxNameEntry = 64;  // ub-common-name / ub-organizational-unit-name

// OpenSSL takes EVP_PKEY* where it only reads the key or bumps its reference count.
EVP_PKEY* Mutable(const EVP_PKEY& key) { return const_cast<EVP_PKEY*>(&key); }

Error Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

Result<BioPtr> ReadBio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) {
    return MakeError(ErrorCode::kTooLarge, "PEM input too large");
  }
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    return OpenSslError("BIO_new_mem_buf");
  }
  return bio;
}

Result<BioPtr> WriteBio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) {
    return OpenSslError("BIO_new");
  }
  return bio;
}

std::string BioContents(BIO* bio) {
  std::string out(BIO_ctrl_pending(bio), '\0');
  const int n = BIO_read(bio, out.data(), static_cast<int>(out.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

std::string NameEntry(const X509_NAME* name, int nid) {
  const int index = X509_NAME_get_index_by_NID(name, nid, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ERR_clear_error();
    return {};
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

Status AddNameEntry(X509_NAME* name, int nid, std::string_view value, std::string_view what) {
  if (value.empty() || value.size() > kMaxNameEntry) {
    return Invalid(std::string(what) + " must be 1 to 64 characters");
  }
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(std::string("setting ") + std::string(what), ErrorCode::kInvalidArgument);
  }
  return OkStatus();
}

Result<SysTime> FromAsn1Time(const ASN1_TIME* t) {
  // ASN1_TIME_diff against the epoch avoids timegm(), which Windows does not have.
  Asn1TimePtr epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int secs = 0;
  if (!epoch || ASN1_TIME_diff(&days, &secs, epoch.get(), t) != 1) {
    return OpenSslError("reading certificate validity");
  }
  return FromUnixSeconds(static_cast<int64_t>(days) * 86400 + secs);
}

// RFC 5952 text for a 16-byte IPv6 address: lower-case, longest zero run (>= 2 groups) as "::".
std::string FormatIpv6(const unsigned char* b) {
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) {
    groups[i] = static_cast<uint16_t>((b[2 * i] << 8) | b[2 * i + 1]);
  }
  int best_start = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) {
      ++j;
    }
    if (j - i > best_len && j - i >= 2) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char hex[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') {
      out += ':';
    }
    std::snprintf(hex, sizeof(hex), "%x", groups[i]);
    out += hex;
  }
  return out;
}

std::string FormatIp(const ASN1_OCTET_STRING* ip) {
  const unsigned char* b = ASN1_STRING_get0_data(ip);
  const int len = ASN1_STRING_length(ip);
  if (len == 4) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  if (len == 16) {
    return FormatIpv6(b);
  }
  return "<" + std::to_string(len) + "-byte address>";
}

bool IsDnsName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      name.front() == '-') {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return name.find("..") == std::string_view::npos;
}

// An IPv4 literal is digits and dots only (a2i_IPADDRESS alone would take "1.2.3.4x" as an
// address); anything with a colon is tried as IPv6.
ASN1_OCTET_STRING* ParseIpLiteral(const std::string& text) {
  const bool v4_chars = !text.empty() && text.find_first_not_of("0123456789.") == std::string::npos;
  if (!v4_chars && text.find(':') == std::string::npos) {
    return nullptr;
  }
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(text.c_str());
  if (ip == nullptr) {
    ERR_clear_error();
  }
  return ip;
}

std::string DescribeKey(const EVP_PKEY* key) {
  const char* type = EVP_PKEY_get0_type_name(key);
  std::string out = type != nullptr ? type : "of an unknown type";
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1) {
      out += " ";
      out += group;
    }
  }
  ERR_clear_error();
  return out;
}

bool IsP256(const EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return false;
  }
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
    ERR_clear_error();
    return false;
  }
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) {
    nid = EC_curve_nist2nid(group);
  }
  return nid == NID_X9_62_prime256v1;
}

// Adds an extension written in openssl.cnf syntax ("critical,CA:FALSE"); `issuer` supplies
// the authority key identifier.
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(std::string("adding extension ") + OBJ_nid2sn(nid));
  }
  return OkStatus();
}

Status SetRandomSerial(X509* cert) {
  BnPtr bn(BN_new());
  if (!bn) {
    return OpenSslError("BN_new");
  }
  do {
    if (BN_rand(bn.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return OpenSslError("generating serial number");
    }
  } while (BN_is_zero(bn.get()));
  Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError("setting serial number");
  }
  return OkStatus();
}

// A version 3 certificate with a random serial, the subject's key and the validity window;
// names, extensions and the signature are up to the caller.
Result<Certificate> NewCertificate(EVP_PKEY* subject_key, seconds validity, SysTime now) {
  if (validity <= seconds{0}) {
    return Invalid("certificate validity must be positive");
  }
  Certificate cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("X509_new");
  }
  CG_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  const auto not_before = static_cast<time_t>(ToUnixSeconds(now - kClockSkew));
  const auto not_after = static_cast<time_t>(ToUnixSeconds(now + validity));
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) == nullptr) {
    return OpenSslError("setting validity");
  }
  if (X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("setting public key");
  }
  return cert;
}

Status Sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) {
    return OpenSslError("signing certificate");
  }
  return OkStatus();
}

Result<std::string> CertificateToPem(X509* cert) {
  CG_ASSIGN_OR_RETURN(BioPtr bio, WriteBio());
  if (PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("writing certificate PEM");
  }
  return BioContents(bio.get());
}

bool IsCa(const X509& cert) {
  BasicConstraintsPtr bc(static_cast<BASIC_CONSTRAINTS*>(
      X509_get_ext_d2i(&cert, NID_basic_constraints, nullptr, nullptr)));
  return bc && bc->ca != 0;
}

int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

}  // namespace

Error OpenSslError(std::string_view what, ErrorCode code) {
  std::string reasons;
  const char* data = nullptr;
  int flags = 0;
  unsigned long e = 0;
  while ((e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
    const char* reason = ERR_reason_error_string(e);
    std::string text = reason != nullptr ? reason : "error code " + std::to_string(e);
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      text += " (" + std::string(data) + ")";
    }
    if (reasons.find(text) == std::string::npos) {
      reasons += reasons.empty() ? text : "; " + text;
    }
  }
  if (reasons.empty()) {
    reasons = "unknown OpenSSL error";
  }
  return Error{code, std::string(what) + ": " + reasons};
}

void EvpPkeyDeleter::operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
void X509Deleter::operator()(X509* p) const { X509_free(p); }

Result<PrivateKey> GenerateP256Key() {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") <= 0) {
    return OpenSslError("preparing P-256 key generation");
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) <= 0) {
    return OpenSslError("generating P-256 key");
  }
  return PrivateKey(raw);
}

Result<std::string> PrivateKeyToPem(const EVP_PKEY& key) {
  CG_ASSIGN_OR_RETURN(BioPtr bio, WriteBio());
  if (PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("writing private key PEM");
  }
  return BioContents(bio.get());
}

Result<PrivateKey> PrivateKeyFromPem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Invalid("private key is encrypted; an unencrypted key file (mode 0600) is required");
  }
  CG_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  PrivateKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return OpenSslError("reading private key", ErrorCode::kParse);
  }
  return key;
}

Result<std::string> MakeCsrPem(const EVP_PKEY& key, std::string_view common_name) {
  ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return OpenSslError("X509_REQ_new");
  }
  CG_RETURN_IF_ERROR(AddNameEntry(X509_REQ_get_subject_name(req.get()), NID_commonName, common_name,
                                  "CSR common name"));
  if (X509_REQ_set_pubkey(req.get(), Mutable(key)) != 1 ||
      X509_REQ_sign(req.get(), Mutable(key), EVP_sha256()) <= 0) {
    return OpenSslError("signing CSR");
  }
  CG_ASSIGN_OR_RETURN(BioPtr bio, WriteBio());
  if (PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1) {
    return OpenSslError("writing CSR PEM");
  }
  return BioContents(bio.get());
}

Result<Certificate> CertificateFromPem(std::string_view pem) {
  CG_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return OpenSslError("reading certificate PEM", ErrorCode::kParse);
  }
  return cert;
}

Result<std::vector<Certificate>> CertificatesFromPem(std::string_view pem) {
  CG_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(pem));
  std::vector<Certificate> out;
  for (;;) {
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      break;
    }
    out.push_back(std::move(cert));
  }
  const unsigned long last = ERR_peek_last_error();
  // Running out of input ends every successful read with "no start line".
  if (!out.empty() && (last == 0 || (ERR_GET_LIB(last) == ERR_LIB_PEM &&
                                     ERR_GET_REASON(last) == PEM_R_NO_START_LINE))) {
    ERR_clear_error();
    return out;
  }
  return OpenSslError("reading certificate PEM", ErrorCode::kParse);
}

namespace {

// A serial number as lower-case hex (the form CertificateInfo and CrlEntry use).
Result<std::string> SerialHex(const ASN1_INTEGER* serial_number) {
  BnPtr serial(ASN1_INTEGER_to_BN(serial_number, nullptr));
  if (!serial) {
    return OpenSslError("reading serial number");
  }
  OpenSslString hex(BN_bn2hex(serial.get()));
  if (!hex) {
    return OpenSslError("formatting serial number");
  }
  return AsciiLower(hex.get());
}

}  // namespace

Result<CrlInfo> InspectCrlPem(std::string_view crl_pem, std::string_view issuer_pem) {
  CG_ASSIGN_OR_RETURN(Certificate issuer, CertificateFromPem(issuer_pem));
  CG_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(crl_pem));
  CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    ERR_clear_error();
    return MakeError(ErrorCode::kParse, "not a PEM CRL");
  }
  CrlInfo info;
  info.signature_valid = X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer.get())) == 1;
  ERR_clear_error();
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    CG_ASSIGN_OR_RETURN(
        auto serial, SerialHex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
    info.serials_hex.push_back(std::move(serial));
  }
  return info;
}

Result<CertificateInfo> InspectCertificatePem(std::string_view pem) {
  CG_ASSIGN_OR_RETURN(Certificate cert, CertificateFromPem(pem));
  return InspectCertificate(*cert);
}

Result<CertificateInfo> InspectCertificate(const X509& cert) {
  CertificateInfo info;
  info.subject_cn = NameEntry(X509_get_subject_name(&cert), NID_commonName);
  info.subject_ou = NameEntry(X509_get_subject_name(&cert), NID_organizationalUnitName);
  info.issuer_cn = NameEntry(X509_get_issuer_name(&cert), NID_commonName);

  CG_ASSIGN_OR_RETURN(info.serial_hex, SerialHex(X509_get0_serialNumber(&cert)));

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(&cert, EVP_sha256(), md, &md_len) != 1) {
    return OpenSslError("computing certificate fingerprint");
  }
  info.sha256_fingerprint = HexEncode(std::string_view(reinterpret_cast<char*>(md), md_len));

  CG_ASSIGN_OR_RETURN(info.not_before, FromAsn1Time(X509_get0_notBefore(&cert)));
  CG_ASSIGN_OR_RETURN(info.not_after, FromAsn1Time(X509_get0_notAfter(&cert)));
  info.is_ca = IsCa(cert);

  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<size_t>(ASN1_STRING_length(dns)));
    } else if (name->type == GEN_IPADD) {
      info.ip_addresses.push_back(FormatIp(name->d.iPAddress));
    }
  }

  EkuPtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(&cert, NID_ext_key_usage, nullptr, nullptr)));
  for (int i = 0; eku && i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    const int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), i));
    info.client_auth = info.client_auth || nid == NID_client_auth;
    info.server_auth = info.server_auth || nid == NID_server_auth;
  }
  // A malformed extension leaves its decoding error on the queue; what could be read is returned.
  ERR_clear_error();
  return info;
}

CertificateAuthority::CertificateAuthority(Certificate cert, PrivateKey key, std::string cert_pem)
    : cert_(std::move(cert)), key_(std::move(key)), cert_pem_(std::move(cert_pem)) {}

Result<CertificateAuthority> CertificateAuthority::Create(std::string_view common_name,
                                                          seconds validity, SysTime now) {
  CG_ASSIGN_OR_RETURN(PrivateKey key, GenerateP256Key());
  CG_ASSIGN_OR_RETURN(Certificate cert, NewCertificate(key.get(), validity, now));
  X509_NAME* name = X509_get_subject_name(cert.get());
  CG_RETURN_IF_ERROR(AddNameEntry(name, NID_commonName, common_name, "CA common name"));
  if (X509_set_issuer_name(cert.get(), name) != 1) {
    return OpenSslError("setting issuer name");
  }
  // pathlen:0: this CA only ever signs leaves.
  CG_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  CG_RETURN_IF_ERROR(
      AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  CG_RETURN_IF_ERROR(Sign(cert.get(), key.get()));
  CG_ASSIGN_OR_RETURN(std::string pem, CertificateToPem(cert.get()));
  return CertificateAuthority(std::move(cert), std::move(key), std::move(pem));
}

Result<CertificateAuthority> CertificateAuthority::Load(std::string_view cert_pem,
                                                        std::string_view key_pem) {
  auto cert = CertificateFromPem(cert_pem);
  if (!cert.ok()) {
    return cert.error().Wrap("loading CA certificate");
  }
  auto key = PrivateKeyFromPem(key_pem);
  if (!key.ok()) {
    return key.error().Wrap("loading CA key");
  }
  if (!IsCa(**cert)) {
    return Invalid("loading CA: the certificate is not a CA certificate (basicConstraints)");
  }
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return Invalid("loading CA: the private key does not belong to the CA certificate");
  }
  CG_ASSIGN_OR_RETURN(std::string pem, CertificateToPem(cert->get()));
  return CertificateAuthority(std::move(cert).value(), std::move(key).value(), std::move(pem));
}

Result<std::string> CertificateAuthority::key_pem() const { return PrivateKeyToPem(*key_); }

Result<std::string> CertificateAuthority::IssueServerCertificate(
    const EVP_PKEY& server_key, const std::vector<std::string>& hostnames, seconds validity,
    SysTime now) const {
  if (hostnames.empty()) {
    return Invalid("a server certificate needs at least one host name");
  }
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) {
    return OpenSslError("allocating subjectAltName");
  }
  for (const std::string& host : hostnames) {
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!name) {
      return OpenSslError("GENERAL_NAME_new");
    }
    if (ASN1_OCTET_STRING* ip = ParseIpLiteral(host)) {
      GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip);
    } else if (IsDnsName(host)) {
      ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
      if (dns == nullptr || ASN1_STRING_set(dns, host.data(), static_cast<int>(host.size())) != 1) {
        ASN1_IA5STRING_free(dns);
        return OpenSslError("setting DNS name");
      }
      GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns);
    } else {
      return Invalid("'" + host + "' is neither an IP address nor a valid DNS name");
    }
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
      return OpenSslError("building subjectAltName");
    }
    name.release();  // now owned by `names`
  }

  CG_ASSIGN_OR_RETURN(Certificate cert, NewCertificate(Mutable(server_key), validity, now));
  CG_RETURN_IF_ERROR(AddNameEntry(X509_get_subject_name(cert.get()), NID_commonName,
                                  hostnames.front(), "server common name"));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1) {
    return OpenSslError("setting issuer name");
  }
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) !=
      1) {
    return OpenSslError("adding subjectAltName");
  }
  X509* ca = cert_.get();
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_key_usage, "critical,digitalSignature"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_ext_key_usage, "serverAuth"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_subject_key_identifier, "hash"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_authority_key_identifier, "keyid:always"));
  CG_RETURN_IF_ERROR(Sign(cert.get(), key_.get()));
  return CertificateToPem(cert.get());
}

Result<std::string> CertificateAuthority::IssueDeviceCertificate(std::string_view csr_pem,
                                                                 std::string_view device_id,
                                                                 std::string_view group,
                                                                 seconds validity,
                                                                 SysTime now) const {
  if (csr_pem.size() > kMaxCsrBytes) {
    return Invalid("CSR larger than 8 KiB");
  }
  ERR_clear_error();
  CG_ASSIGN_OR_RETURN(BioPtr bio, ReadBio(csr_pem));
  ReqPtr req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return Invalid("CSR is not valid PEM");
  }
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(req.get());
  if (public_key == nullptr) {
    ERR_clear_error();
    return Invalid("CSR has no usable public key");
  }
  if (!IsP256(public_key)) {
    return Invalid("CSR key is " + DescribeKey(public_key) + ", P-256 required");
  }
  if (X509_REQ_verify(req.get(), public_key) != 1) {
    ERR_clear_error();
    return Invalid("CSR signature does not verify");
  }

  CG_ASSIGN_OR_RETURN(Certificate cert, NewCertificate(public_key, validity, now));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  CG_RETURN_IF_ERROR(AddNameEntry(subject, NID_organizationalUnitName, group, "device group"));
  CG_RETURN_IF_ERROR(AddNameEntry(subject, NID_commonName, device_id, "device id"));
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) != 1) {
    return OpenSslError("setting issuer name");
  }
  X509* ca = cert_.get();
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_key_usage, "critical,digitalSignature"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_ext_key_usage, "clientAuth"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_subject_key_identifier, "hash"));
  CG_RETURN_IF_ERROR(AddExtension(cert.get(), ca, NID_authority_key_identifier, "keyid:always"));
  CG_RETURN_IF_ERROR(Sign(cert.get(), key_.get()));
  return CertificateToPem(cert.get());
}

Result<std::string> CertificateAuthority::IssueCrl(const std::vector<CrlEntry>& entries,
                                                   int64_t number, seconds validity,
                                                   SysTime now) const {
  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert_.get())) != 1) {
    return OpenSslError("creating CRL");
  }
  auto asn1_time = [](SysTime t) {
    return Asn1TimePtr(ASN1_TIME_set(nullptr, static_cast<time_t>(ToUnixSeconds(t))));
  };
  Asn1TimePtr last = asn1_time(now);
  Asn1TimePtr next = asn1_time(now + validity);
  if (!last || !next || X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return OpenSslError("setting CRL times");
  }
  for (const CrlEntry& entry : entries) {
    RevokedPtr revoked(X509_REVOKED_new());
    BIGNUM* raw_bn = nullptr;
    if (!revoked || entry.serial_hex.empty() || BN_hex2bn(&raw_bn, entry.serial_hex.c_str()) == 0) {
      BN_free(raw_bn);
      return Invalid("CRL entry: bad serial '" + entry.serial_hex + "'");
    }
    BnPtr bn(raw_bn);
    Asn1IntPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    Asn1TimePtr when = asn1_time(entry.revoked_at);
    EnumeratedPtr reason(ASN1_ENUMERATED_new());
    if (!serial || !when || !reason ||
        X509_REVOKED_set_serialNumber(revoked.get(), serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1 ||
        ASN1_ENUMERATED_set(reason.get(), entry.superseded
                                              ? CRL_REASON_SUPERSEDED
                                              : CRL_REASON_CESSATION_OF_OPERATION) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, reason.get(), 0, 0) != 1 ||
        X509_CRL_add0_revoked(crl.get(), revoked.get()) != 1) {
      return OpenSslError("adding a CRL entry");
    }
    revoked.release();  // now owned by the CRL
  }
  Asn1IntPtr crl_number(ASN1_INTEGER_new());
  if (!crl_number || ASN1_INTEGER_set_int64(crl_number.get(), number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0) != 1) {
    return OpenSslError("setting CRL number");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert_.get(), nullptr, nullptr, crl.get(), 0);
  ExtPtr akid(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!akid || X509_CRL_add_ext(crl.get(), akid.get(), -1) != 1) {
    return OpenSslError("setting CRL authorityKeyIdentifier");
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), key_.get(), EVP_sha256()) <= 0) {
    return OpenSslError("signing CRL");
  }
  CG_ASSIGN_OR_RETURN(BioPtr bio, WriteBio());
  if (PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) {
    return OpenSslError("writing CRL PEM");
  }
  return BioContents(bio.get());
}

}  // namespace cg::protocol

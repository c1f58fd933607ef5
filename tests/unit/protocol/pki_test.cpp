// Tests for protocol/pki.cpp: keys, CSRs, the CA and what it issues (checked with OpenSSL's
// own chain verification at a fixed time).
#include "protocol/pki.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace cg::protocol {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const SysTime kNow = FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;

template <typename T>
T Must(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().ToString());
  if (!r.ok()) {
    throw std::runtime_error(r.error().ToString());
  }
  return std::move(r).value();
}

// OpenSSL's verdict on leaf <- ca for `purpose` at time `at`; "" when the chain verifies.
std::string VerifyChain(const std::string& ca_pem, const std::string& leaf_pem, int purpose,
                        SysTime at) {
  Certificate ca = Must(CertificateFromPem(ca_pem));
  Certificate leaf = Must(CertificateFromPem(leaf_pem));
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), purpose) != 1) {
    return "setting up verification failed";
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(ToUnixSeconds(at)));
  if (X509_verify_cert(ctx.get()) == 1) {
    return "";
  }
  return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

PrivateKey GenerateKey(const char* type, const char* param) {
  EVP_PKEY* key = nullptr;
  if (std::string(type) == "RSA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
  }
  EXPECT_NE(key, nullptr);
  return PrivateKey(key);
}

// The CSR with one byte of its subject changed: still well-formed, signature no longer valid.
std::string TamperSubject(const std::string& csr_pem, const std::string& cn) {
  BioPtr in(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  ReqPtr req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(req);
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req.get(), &der);
  EXPECT_GT(len, 0);
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  const size_t at = bytes.find(cn);
  EXPECT_NE(at, std::string::npos);
  bytes[at] = static_cast<char>(bytes[at] ^ 0x01);
  BioPtr out(BIO_new(BIO_s_mem()));
  PEM_write_bio(out.get(), "CERTIFICATE REQUEST", "",
                reinterpret_cast<const unsigned char*>(bytes.data()),
                static_cast<long>(bytes.size()));
  std::string pem(BIO_ctrl_pending(out.get()), '\0');
  BIO_read(out.get(), pem.data(), static_cast<int>(pem.size()));
  return pem;
}

class PkiTest : public ::testing::Test {
 protected:
  CertificateAuthority ca_ =
      Must(CertificateAuthority::Create("CG Test CA", hours(24 * 365), kNow));
};

TEST(PkiKeyTest, PemRoundTripKeepsTheKey) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string pem = Must(PrivateKeyToPem(*key));
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  PrivateKey loaded = Must(PrivateKeyFromPem(pem));
  EXPECT_EQ(EVP_PKEY_eq(key.get(), loaded.get()), 1);
}

TEST(PkiKeyTest, FromPemRefusesGarbageAndEncryptedKeysAndClearsTheErrorQueue) {
  auto garbage = PrivateKeyFromPem("not a key");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("reading private key"));
  EXPECT_EQ(ERR_peek_error(), 0u);

  auto encrypted = PrivateKeyFromPem(
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_THAT(encrypted.error().message, HasSubstr("encrypted"));
}

TEST_F(PkiTest, CreatedCaIsASelfSignedCa) {
  CertificateInfo info = Must(InspectCertificatePem(ca_.cert_pem()));
  EXPECT_TRUE(info.is_ca);
  EXPECT_EQ(info.subject_cn, "CG Test CA");
  EXPECT_EQ(info.issuer_cn, "CG Test CA");
  EXPECT_EQ(info.not_before, kNow - minutes(5));
  EXPECT_EQ(info.not_after, kNow + hours(24 * 365));
  EXPECT_EQ(info.sha256_fingerprint.size(), 64u);
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), ca_.cert_pem(), X509_PURPOSE_ANY, kNow), "");
}

TEST_F(PkiTest, LoadRoundTripsAndTheLoadedCaIssuesForTheSameRoot) {
  const std::string key_pem = Must(ca_.key_pem());
  CertificateAuthority loaded = Must(CertificateAuthority::Load(ca_.cert_pem(), key_pem));
  EXPECT_EQ(loaded.cert_pem(), ca_.cert_pem());
  EXPECT_EQ(Must(loaded.key_pem()), key_pem);

  PrivateKey device_key = Must(GenerateP256Key());
  const std::string cert = Must(loaded.IssueDeviceCertificate(
      Must(MakeCsrPem(*device_key, "x")), "dev-1", "laocai/bac-ha", hours(1), kNow));
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), cert, X509_PURPOSE_SSL_CLIENT, kNow), "");
}

TEST_F(PkiTest, LoadRefusesAForeignKeyAndANonCaCertificate) {
  CertificateAuthority other = Must(CertificateAuthority::Create("Other", hours(24), kNow));
  auto mismatched = CertificateAuthority::Load(ca_.cert_pem(), Must(other.key_pem()));
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.error().message, HasSubstr("does not belong"));

  PrivateKey server_key = Must(GenerateP256Key());
  const std::string server_cert =
      Must(ca_.IssueServerCertificate(*server_key, {"localhost"}, hours(1), kNow));
  auto not_ca = CertificateAuthority::Load(server_cert, Must(PrivateKeyToPem(*server_key)));
  ASSERT_FALSE(not_ca.ok());
  EXPECT_THAT(not_ca.error().message, HasSubstr("not a CA"));

  EXPECT_FALSE(CertificateAuthority::Load("garbage", Must(ca_.key_pem())).ok());
}

TEST_F(PkiTest, ServerCertificateCarriesDnsAndIpSans) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string pem = Must(ca_.IssueServerCertificate(
      *key, {"soc.laocai.gov.vn", "localhost", "127.0.0.1", "::1", "2001:db8::1:0:0:1"}, hours(48),
      kNow));
  CertificateInfo info = Must(InspectCertificatePem(pem));
  EXPECT_EQ(info.subject_cn, "soc.laocai.gov.vn");
  EXPECT_EQ(info.issuer_cn, "CG Test CA");
  EXPECT_THAT(info.dns_names, ElementsAre("soc.laocai.gov.vn", "localhost"));
  EXPECT_THAT(info.ip_addresses, ElementsAre("127.0.0.1", "::1", "2001:db8::1:0:0:1"));
  EXPECT_TRUE(info.server_auth);
  EXPECT_FALSE(info.client_auth);
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_after, kNow + hours(48));
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_SERVER, kNow), "");
  // serverAuth only: the certificate cannot pose as a device.
  EXPECT_NE(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_CLIENT, kNow), "");
}

TEST_F(PkiTest, ServerCertificateRefusesBadHostNames) {
  PrivateKey key = Must(GenerateP256Key());
  for (const std::vector<std::string>& names :
       std::vector<std::vector<std::string>>{{},
                                             {"bad name"},
                                             {"a,DNS:evil.example"},
                                             {""},
                                             {"a..b"},
                                             {".example"},
                                             {"-x.example"}}) {
    auto result = ca_.IssueServerCertificate(*key, names, hours(1), kNow);
    ASSERT_FALSE(result.ok()) << (names.empty() ? "<none>" : names.front());
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(PkiTest, AlmostAnAddressIsADnsName) {
  PrivateKey key = Must(GenerateP256Key());
  CertificateInfo info = Must(
      InspectCertificatePem(Must(ca_.IssueServerCertificate(*key, {"1.2.3.4x"}, hours(1), kNow))));
  EXPECT_THAT(info.dns_names, ElementsAre("1.2.3.4x"));
  EXPECT_TRUE(info.ip_addresses.empty());
}

TEST_F(PkiTest, DeviceCertificateFromCsr) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string csr = Must(MakeCsrPem(*key, "counter-pc-01"));
  const std::string pem = Must(ca_.IssueDeviceCertificate(
      csr, "4f1c2b9e-8a7d-4c3b-9e2f-1a2b3c4d5e6f", "laocai/bac-ha", hours(24 * 90), kNow));
  CertificateInfo info = Must(InspectCertificatePem(pem));
  EXPECT_EQ(info.subject_cn, "4f1c2b9e-8a7d-4c3b-9e2f-1a2b3c4d5e6f");
  EXPECT_EQ(info.subject_ou, "laocai/bac-ha");
  EXPECT_EQ(info.issuer_cn, "CG Test CA");
  EXPECT_TRUE(info.client_auth);
  EXPECT_FALSE(info.server_auth);
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_before, kNow - minutes(5));
  EXPECT_EQ(info.not_after, kNow + hours(24 * 90));
  EXPECT_LE(info.serial_hex.size(), 32u);
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_CLIENT, kNow), "");
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_CLIENT, kNow - minutes(4)), "");
  EXPECT_EQ(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_CLIENT, kNow + hours(24 * 91)),
            "certificate has expired");
  EXPECT_NE(VerifyChain(ca_.cert_pem(), pem, X509_PURPOSE_SSL_SERVER, kNow), "");

  // The certificate is for the CSR's key.
  Certificate cert = Must(CertificateFromPem(pem));
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
}

TEST_F(PkiTest, DeviceCertificateIgnoresTheCsrSubject) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string csr = Must(MakeCsrPem(*key, "CG Test CA"));
  CertificateInfo info = Must(InspectCertificatePem(
      Must(ca_.IssueDeviceCertificate(csr, "device-7", "hanoi/ba-dinh", hours(1), kNow))));
  EXPECT_EQ(info.subject_cn, "device-7");
  EXPECT_EQ(info.subject_ou, "hanoi/ba-dinh");
}

TEST_F(PkiTest, DeviceSerialsAreRandomAndDistinct) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string csr = Must(MakeCsrPem(*key, "x"));
  std::vector<std::string> serials;
  for (int i = 0; i < 4; ++i) {
    serials.push_back(
        Must(InspectCertificatePem(Must(ca_.IssueDeviceCertificate(csr, "d", "g", hours(1), kNow))))
            .serial_hex);
  }
  for (size_t i = 0; i < serials.size(); ++i) {
    EXPECT_GE(serials[i].size(), 16u) << "a 128-bit random serial is rarely this short";
    for (size_t j = i + 1; j < serials.size(); ++j) {
      EXPECT_NE(serials[i], serials[j]);
    }
  }
}

TEST_F(PkiTest, CsrRefusals) {
  PrivateKey p256 = Must(GenerateP256Key());
  const std::string good = Must(MakeCsrPem(*p256, "device-csr"));
  PrivateKey rsa = GenerateKey("RSA", nullptr);
  PrivateKey p384 = GenerateKey("EC", "P-384");
  struct Case {
    std::string name;
    std::string csr;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"rsa", Must(MakeCsrPem(*rsa, "x")), "CSR key is RSA, P-256 required"},
      {"p384", Must(MakeCsrPem(*p384, "x")), "CSR key is EC secp384r1, P-256 required"},
      {"tampered", TamperSubject(good, "device-csr"), "CSR signature does not verify"},
      {"oversized", good + std::string(kMaxCsrBytes, '\n'), "CSR larger than 8 KiB"},
      {"garbage", "-----BEGIN CERTIFICATE REQUEST-----\nnope\n", "CSR is not valid PEM"},
      {"empty", "", "CSR is not valid PEM"},
      {"certificate", ca_.cert_pem(), "CSR is not valid PEM"},
  };
  for (const Case& c : cases) {
    auto result = ca_.IssueDeviceCertificate(c.csr, "d", "g", hours(1), kNow);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_EQ(result.error().message, c.message) << c.name;
    EXPECT_EQ(ERR_peek_error(), 0u) << c.name << ": OpenSSL error queue left dirty";
  }
  // The untampered CSR is fine: the refusals above are about the changes.
  EXPECT_TRUE(ca_.IssueDeviceCertificate(good, "d", "g", hours(1), kNow).ok());
}

TEST_F(PkiTest, DeviceCertificateRefusesBadIdentityAndValidity) {
  PrivateKey key = Must(GenerateP256Key());
  const std::string csr = Must(MakeCsrPem(*key, "x"));
  EXPECT_FALSE(ca_.IssueDeviceCertificate(csr, "", "g", hours(1), kNow).ok());
  EXPECT_FALSE(ca_.IssueDeviceCertificate(csr, "d", std::string(65, 'g'), hours(1), kNow).ok());
  EXPECT_FALSE(ca_.IssueDeviceCertificate(csr, "d", "g", hours(0), kNow).ok());
}

TEST_F(PkiTest, ACrlListsItsEntriesAndVerifiesOnlyWithItsCa) {
  const std::vector<CertificateAuthority::CrlEntry> entries = {{"0abc", kNow - hours(1), false},
                                                               {"ff01", kNow, true}};
  const std::string pem = Must(ca_.IssueCrl(entries, 7, hours(48), kNow));
  const CrlInfo info = Must(InspectCrlPem(pem, ca_.cert_pem()));
  EXPECT_TRUE(info.signature_valid);
  EXPECT_THAT(info.serials_hex, ::testing::UnorderedElementsAre("0abc", "ff01"));
  CertificateAuthority other = Must(CertificateAuthority::Create("Other CA", hours(24), kNow));
  EXPECT_FALSE(Must(InspectCrlPem(pem, other.cert_pem())).signature_valid);
  auto garbage =
      InspectCrlPem("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", ca_.cert_pem());
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, ErrorCode::kParse);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(PkiInspectTest, CertificatesFromPemReadsABundleAndRefusesNone) {
  CertificateAuthority a = Must(CertificateAuthority::Create("A", hours(1), kNow));
  CertificateAuthority b = Must(CertificateAuthority::Create("B", hours(1), kNow));
  auto both = Must(CertificatesFromPem(a.cert_pem() + b.cert_pem()));
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(Must(InspectCertificate(*both[1])).subject_cn, "B");
  EXPECT_FALSE(CertificatesFromPem("no certificates here").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

}  // namespace
}  // namespace cg::protocol

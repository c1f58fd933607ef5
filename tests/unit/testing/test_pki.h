// Test helper: a throw-away PKI in a temporary directory (CA, server and client certificates as
// PEM files) built with protocol/pki.h, for loopback TLS tests. Header-only; failures throw, which
// GoogleTest reports as a failed test.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "protocol/pki.h"

namespace cg::testing {

template <typename T>
T Unwrap(Result<T> result, const std::string& what) {
  if (!result.ok()) {
    throw std::runtime_error(what + ": " + result.error().ToString());
  }
  return std::move(result).value();
}

inline void Check(const Status& status, const std::string& what) {
  if (!status.ok()) {
    throw std::runtime_error(what + ": " + status.error().ToString());
  }
}

// mkdtemp under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cg-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CertFiles {
  std::string cert_file;
  std::string key_file;
};

// A CA whose certificate is written to <dir>/<name>-ca.pem, issuing certificates into <dir>.
class TestCa {
 public:
  TestCa(const TempDir& dir, const std::string& name,
         SysTime now = std::chrono::system_clock::now())
      : dir_(dir),
        name_(name),
        ca_(Unwrap(
            protocol::CertificateAuthority::Create(name + " CA", std::chrono::hours(24), now),
            "creating test CA")),
        ca_file_(dir.File(name + "-ca.pem")) {
    Check(WriteFileAtomic(ca_file_, ca_.cert_pem()), "writing " + ca_file_);
  }

  const std::string& ca_file() const { return ca_file_; }
  const protocol::CertificateAuthority& ca() const { return ca_; }

  CertFiles IssueServer(const std::vector<std::string>& hostnames,
                        SysTime now = std::chrono::system_clock::now()) {
    auto key = Unwrap(protocol::GenerateP256Key(), "server key");
    auto pem = Unwrap(ca_.IssueServerCertificate(*key, hostnames, std::chrono::hours(1), now),
                      "issuing server certificate");
    return Write("server", *key, pem);
  }

  CertFiles IssueDevice(const std::string& device_id, const std::string& group,
                        SysTime now = std::chrono::system_clock::now(),
                        std::chrono::seconds validity = std::chrono::hours(1)) {
    auto key = Unwrap(protocol::GenerateP256Key(), "device key");
    auto csr = Unwrap(protocol::MakeCsrPem(*key, "ignored"), "device CSR");
    auto pem = Unwrap(ca_.IssueDeviceCertificate(csr, device_id, group, validity, now),
                      "issuing device certificate");
    return Write("device-" + device_id, *key, pem);
  }

 private:
  CertFiles Write(const std::string& stem, const EVP_PKEY& key, const std::string& cert_pem) {
    const std::string base = dir_.File(name_ + "-" + stem + "-" + std::to_string(++counter_));
    CertFiles files{base + ".pem", base + ".key"};
    Check(WriteFileAtomic(files.cert_file, cert_pem), "writing " + files.cert_file);
    Check(WriteFileAtomic(files.key_file, Unwrap(protocol::PrivateKeyToPem(key), "key PEM"), 0600),
          "writing " + files.key_file);
    return files;
  }

  const TempDir& dir_;
  std::string name_;
  protocol::CertificateAuthority ca_;
  std::string ca_file_;
  int counter_ = 0;
};

}  // namespace cg::testing

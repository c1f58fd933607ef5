// Shared by the benchmark programs: stop at the first failure with one line naming the step.
// A benchmark that goes on after a failed step would time something else.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "common/result.h"
#include "platform/os/files.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"

namespace cg::bench {

// Set by main() to the program's name for the messages.
inline const char*& ProgramName() {
  static const char* name = "bench";
  return name;
}

[[noreturn]] inline void Die(const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", ProgramName(), message.c_str());
  std::exit(2);
}

template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) {
    Die(what + ": " + r.error().ToString());
  }
  return std::move(r).value();
}

inline void Must(const Status& s, const std::string& what) {
  if (!s.ok()) {
    Die(what + ": " + s.error().ToString());
  }
}

// An HTTPS client for "host:port", verifying the server with `ca`; with cert and key, mTLS.
inline std::unique_ptr<protocol::HttpsClient> Connect(const std::string& server,
                                                      const std::string& ca,
                                                      std::chrono::seconds timeout,
                                                      const std::string& cert = "",
                                                      const std::string& key = "") {
  auto hp = Must(protocol::ParseHostPort(server), "server address " + server);
  protocol::ClientOptions o;
  o.host = hp.first;
  o.port = hp.second;
  o.ca_file = ca;
  o.cert_file = cert;
  o.key_file = key;
  o.timeout = timeout;
  return Must(protocol::HttpsClient::Create(std::move(o)), "client");
}

// A simulated agent enrolled like cg-agent does: its own P-256 key, made here, and the
// certificate the SOC issued for it.
struct EnrolledAgent {
  std::string device_id;
  std::string group;
  std::string cert_file;  // <stem>.crt
  std::string key_file;   // <stem>.key (0600)
};

// Enrolls one agent through POST /v1/enroll on `client` (server-authenticated TLS to the
// agent port) with `token`, as host `name` (machine id "machine-<name>").
inline EnrolledAgent Enroll(protocol::HttpsClient& client, const std::string& token,
                            const std::string& name, const std::string& stem) {
  auto key = Must(protocol::GenerateP256Key(), "key");
  auto csr = Must(protocol::MakeCsrPem(*key, name), "csr");
  const nlohmann::json body = {
      {"token", token}, {"csr_pem", csr}, {"hostname", name}, {"machine_id", "machine-" + name}};
  auto r = Must(client.Request("POST", "/v1/enroll", body.dump()), "enroll");
  if (r.status != 200) {
    Die("enroll answered " + std::to_string(r.status) + ": " + r.body);
  }
  const nlohmann::json answer = nlohmann::json::parse(r.body);
  EnrolledAgent a;
  a.device_id = answer.at("device_id").get<std::string>();
  a.group = answer.at("group").get<std::string>();
  a.cert_file = stem + ".crt";
  a.key_file = stem + ".key";
  Must(WriteFileAtomic(a.cert_file, answer.at("certificate_pem").get<std::string>(), 0644),
       "certificate");
  Must(WriteFileAtomic(a.key_file, Must(protocol::PrivateKeyToPem(*key), "pem"), 0600), "key");
  return a;
}

}  // namespace cg::bench

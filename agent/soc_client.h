// The agent's HTTPS connections to its SOC: pinned CA, host name verification, and (once
// enrolled) the device certificate from the state dir. One place for enrollment, reports,
// renewal and the long-poll.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/state.h"
#include "common/result.h"
#include "protocol/https_client.h"

namespace cg::agent {

// `server` is "host:port"; empty cert/key files: server-authenticated TLS only (enrollment).
Result<std::unique_ptr<protocol::HttpsClient>> ConnectToSoc(const std::string& server,
                                                            const std::string& ca_file,
                                                            const std::string& cert_file,
                                                            const std::string& key_file,
                                                            std::chrono::seconds timeout);

// Which device credentials a connection is made with: the certificate file's contents ("" when
// unreadable). Taken before connecting; when it differs later (a renewal installed a new
// certificate), the holder of a long-lived connection reconnects with the new one.
std::string DeviceCredentialStamp(const StateDir& state);

// Mutual TLS as the enrolled device: the state dir's pinned CA, certificate and key.
inline Result<std::unique_ptr<protocol::HttpsClient>> ConnectAsDevice(
    const StateDir& state, const std::string& server, std::chrono::seconds timeout) {
  return ConnectToSoc(server, state.CaPath(), state.CertPath(), state.KeyPath(), timeout);
}

}  // namespace cg::agent

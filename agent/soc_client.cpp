// See soc_client.h.
#include "agent/soc_client.h"

#include <utility>

#include "platform/os/files.h"

namespace cg::agent {

Result<std::unique_ptr<protocol::HttpsClient>> ConnectToSoc(const std::string& server,
                                                            const std::string& ca_file,
                                                            const std::string& cert_file,
                                                            const std::string& key_file,
                                                            std::chrono::seconds timeout) {
  CG_ASSIGN_OR_RETURN(auto host_port, protocol::ParseHostPort(server));
  protocol::ClientOptions o;
  o.host = host_port.first;
  o.port = host_port.second;
  o.ca_file = ca_file;
  o.cert_file = cert_file;
  o.key_file = key_file;
  o.timeout = timeout;
  return protocol::HttpsClient::Create(std::move(o));
}

std::string DeviceCredentialStamp(const StateDir& state) {
  auto pem = ReadFileToString(state.CertPath(), 1u << 20);
  return pem.ok() ? std::move(pem).value() : std::string();
}

}  // namespace cg::agent

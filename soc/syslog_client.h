// A syslog sender's connection: TCP, or TLS per RFC 5425 with the receiver verified against a
// configured CA and its name. Blocking calls with deadlines, for the exporter's own thread;
// Asio stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace cg::soc {

struct SyslogTarget {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  std::string ca_file;      // TLS: the CA the receiver's certificate must chain to
  std::string server_name;  // TLS: the name it must carry (default: host)
  std::string cert_file;    // TLS: optional client certificate and key (mutual TLS)
  std::string key_file;
  std::chrono::milliseconds timeout{10000};
};

class SyslogConnection {
 public:
  static Result<std::unique_ptr<SyslogConnection>> Connect(const SyslogTarget& target);
  virtual ~SyslogConnection() = default;
  // Whether the receiver still holds the connection: false once it closed or reset it. Asked
  // before every write, so that events are not written into a connection the receiver already
  // dropped (the kernel would accept them and they would be lost).
  virtual bool Alive() = 0;
  // Writes all of `data` (kNetwork/kTimeout/kTls on failure; the connection is then unusable).
  virtual Status Write(std::string_view data) = 0;
};

}  // namespace cg::soc

// The SOC's request handlers for both ports: routing, authentication (a verified device
// certificate on the agent port, a bearer token on the operator port), validation, and the
// calls into Storage and the CA. No sockets here: the listeners hand over parsed requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "soc/https_server.h"
#include "soc/storage.h"

namespace cg::soc {

using Clock = std::function<SysTime()>;

struct SocConfig {
  std::chrono::seconds device_cert_validity{30 * 24 * 3600};
  size_t max_report_bytes = protocol::kMaxReportBytes;
  // A device not heard from for this long is listed as stale. Three days, so that counter PCs
  // switched off from Friday evening are not all stale on Monday morning.
  std::chrono::seconds stale_after{72 * 3600};
};

// Group names as tokens, certificates and filters carry them: segments of a-z 0-9 '-' '_'
// separated by single '/', 1 to 128 characters ("laocai/bac-ha").
bool IsValidGroupName(std::string_view group);

class IngestWriter;

// The handlers may run at the same time on several of the server's threads: the service keeps
// no mutable state of its own, Storage is thread-safe and the CA is only read.
class SocService {
 public:
  // `storage` and `ca` must outlive the service. `now` is the only clock the service reads.
  SocService(Storage& storage, const protocol::CertificateAuthority& ca, Clock now,
             SocConfig config);

  // Agent port: POST /v1/enroll (the one route without a client certificate), POST /v1/reports
  // and POST /v1/reports/batch. Answers before returning, except reports taken by the ingest
  // writer, which are answered from its thread once committed.
  void HandleAgent(protocol::HttpRequest request, Responder respond);
  // Operator port: bearer token, role check, and an audit row for every request, refused or
  // not. Answers before returning.
  void HandleOperator(protocol::HttpRequest request, Responder respond);

  // Creates an operator token with role "analyst" or "admin" and returns its secret, which is
  // shown once: only its SHA-256 is stored.
  Result<std::string> CreateOperatorToken(std::string_view name, std::string_view role,
                                          std::optional<SysTime> expires_at);

  // Whether a verified client certificate still belongs to a live device: the device exists,
  // is not revoked, and the certificate is the one it was issued. Consulted by the agent
  // listener at handshake time, so a revoked device's next connection is refused.
  bool CertificateAllowed(const protocol::PeerCertificate& peer);
  // With a writer, reports are group-committed by it and answered once committed; a full queue
  // is answered 503 with Retry-After. Without one (tools, tests), each is stored at once.
  // `writer` must outlive the service's use.
  void SetIngestWriter(IngestWriter* writer) { writer_ = writer; }
  // Called after a device is revoked (the server closes that device's open connections).
  void SetRevocationListener(std::function<void(const std::string& device_id)> listener) {
    on_revoke_ = std::move(listener);
  }

 private:
  // Who may call a route: anyone (enrollment), a device with a verified certificate, or an
  // operator with at least this role (an admin may do what an analyst may).
  enum class Access { kPublic, kDevice, kAnalyst, kAdmin };
  struct Call;
  using RouteHandler = protocol::HttpResponse (SocService::*)(Call&);
  struct Route {
    std::string_view method;
    std::string_view pattern;  // "/api/v1/devices/{id}": a {name} segment matches any segment
    Access access;
    RouteHandler handler;
  };

  // The one place where routes are added.
  static const std::vector<Route>& AgentRoutes();
  static const std::vector<Route>& OperatorRoutes();

  protocol::HttpResponse DispatchAgent(const protocol::HttpRequest& request, Responder& respond,
                                       bool& deferred);
  // A parsed report checked against the client certificate and the device record, or the
  // answer refusing it.
  std::variant<protocol::Report, protocol::HttpResponse> AdmitReport(
      const nlohmann::json& body, const protocol::HttpRequest& request);
  protocol::HttpResponse DispatchOperator(const protocol::HttpRequest& request, SysTime now,
                                          AuditEntry& audit);

  protocol::HttpResponse Enroll(Call& call);
  protocol::HttpResponse SubmitReport(Call& call);
  protocol::HttpResponse SubmitReportBatch(Call& call);
  protocol::HttpResponse ListDevices(Call& call);
  protocol::HttpResponse GetDevice(Call& call);
  protocol::HttpResponse DeviceHistory(Call& call);
  protocol::HttpResponse RevokeDevice(Call& call);
  protocol::HttpResponse CreateEnrollToken(Call& call);
  protocol::HttpResponse ListAudit(Call& call);

  Storage& storage_;
  const protocol::CertificateAuthority& ca_;
  Clock now_;
  SocConfig config_;
  std::function<void(const std::string& device_id)> on_revoke_;
  IngestWriter* writer_ = nullptr;
};

}  // namespace cg::soc

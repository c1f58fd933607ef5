// The SOC's request handlers for both ports: routing, authentication (a verified device
// certificate on the agent port, a bearer token on the operator port), validation, and the
// calls into Storage and the CA. No sockets here: the listeners hand over parsed requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/pki.h"
#include "protocol/report.h"
#include "soc/cluster_bus.h"
#include "soc/https_server.h"
#include "soc/rate_limit.h"
#include "soc/storage.h"

namespace cg::soc {
class PolicyHub;
class AccountService;
class DashboardFiles;
}  // namespace cg::soc

namespace cg::soc {

using Clock = std::function<SysTime()>;

struct SocConfig {
  std::chrono::seconds device_cert_validity{30 * 24 * 3600};
  size_t max_report_bytes = protocol::kMaxReportBytes;
  // A device not heard from for this long is listed as stale. Three days, so that counter PCs
  // switched off from Friday evening are not all stale on Monday morning.
  std::chrono::seconds stale_after{72 * 3600};
  // Where the CRL is rewritten after every revocation or renewal (empty: not written; it is
  // still served at GET /v1/crl.pem), and how long each one says it is valid.
  std::string crl_file{};
  std::chrono::seconds crl_validity{7 * 24 * 3600};
  // A report dated more than this ahead of the SOC's clock when it arrives is flagged: the
  // device's clock is wrong (or set wrong), which analysts see as a finding of its own.
  std::chrono::seconds clock_skew_tolerance{300};
  // Certificate renewals one device may ask for: a burst, then one per refill interval (an
  // agent renews once per certificate lifetime; a few more cover answers lost on the way).
  int renew_burst = 5;
  std::chrono::milliseconds renew_refill{24LL * 3600 * 1000 / 5};
  // Enrollment attempts per source address: a burst, then one per refill interval.
  int enroll_burst = 10;
  std::chrono::milliseconds enroll_refill{6000};
  // Failed operator authentications from one address are answered after base * 2^(n-1),
  // at most max; an address is forgotten after a failure-free `auth_forget_after`.
  std::chrono::milliseconds auth_delay_base{250};
  std::chrono::milliseconds auth_delay_max{16000};
  std::chrono::seconds auth_forget_after{15 * 60};
  // The SOC's name on the reports it generates (cg-soc serve --soc-name; default its host name).
  std::string soc_name = "CounterGuard SOC";
};

// Runs fn after a delay without holding the calling thread (ServerRuntime::After).
using Deferrer = std::function<void(std::chrono::milliseconds delay, std::function<void()> fn)>;

// Group names as tokens, certificates and filters carry them: segments of a-z 0-9 '-' '_'
// separated by single '/', 1 to 128 characters ("laocai/bac-ha").
bool IsValidGroupName(std::string_view group);

class IngestWriter;

// The handlers may run at the same time on several of the server's threads: Storage is
// thread-safe, the CA is only read, and the service's own state (rate limits, the CRL file) is
// behind locks.
class SocService {
 public:
  // `storage` and `ca` must outlive the service. `now` is the only clock the service reads.
  SocService(Storage& storage, const protocol::CertificateAuthority& ca, Clock now,
             SocConfig config);

  // Agent port: POST /v1/enroll and GET /v1/crl.pem (without a client certificate),
  // POST /v1/reports, POST /v1/reports/batch, POST /v1/renew and GET /v1/poll. Answers
  // before returning, except the long-poll (answered when there is news or after the
  // hold) and reports taken by the ingest writer (answered from its thread once
  // committed).
  void HandleAgent(protocol::HttpRequest request, Responder respond);
  // Operator port: bearer token, role check, and an audit row for every request, refused or
  // not. A failed authentication is answered after a delay growing with the address's recent
  // failures when a Deferrer is set (otherwise at once).
  void HandleOperator(protocol::HttpRequest request, Responder respond);

  // Creates an operator token with role "analyst" or "admin" and returns its secret, which is
  // shown once: only its SHA-256 is stored.
  Result<std::string> CreateOperatorToken(std::string_view name, std::string_view role,
                                          std::optional<SysTime> expires_at);

  // The same, returning the stored record with the secret, with the creation time `now`.
  Result<std::pair<std::string, OperatorToken>> CreateOperatorTokenRecord(
      std::string_view name, std::string_view role, std::optional<SysTime> expires_at, SysTime now);

  // Whether a verified client certificate still belongs to a live device: the device exists,
  // is not revoked, and the certificate is its current one or a renewed one it has not used
  // yet. Consulted by the agent listener at handshake time, so a revoked device's next
  // connection is refused.
  bool CertificateAllowed(const protocol::PeerCertificate& peer);
  // Policy distribution and tasks (GET /v1/poll, /api/v1/policies, /api/v1/inspections); those
  // routes answer 503 without one. `hub` must outlive the service.
  void SetPolicyHub(PolicyHub* hub) { hub_ = hub; }
  // With a writer, reports are group-committed by it and answered once committed; a full queue
  // is answered 503 with Retry-After. Without one (tools, tests), each is stored at once.
  // `writer` must outlive the service's use.
  void SetIngestWriter(IngestWriter* writer) { writer_ = writer; }
  // Called after a device is revoked (the server closes that device's open connections).
  void SetRevocationListener(std::function<void(const std::string& device_id)> listener) {
    on_revoke_ = std::move(listener);
  }
  void SetDeferrer(Deferrer defer) { defer_ = std::move(defer); }
  // Several nodes on one database (soc/cluster_bus.h): the service publishes the changes it
  // makes (policy pushed, tasks created, device revoked, certificates changed) on `bus`, and
  // ApplyClusterEvent acts on the other nodes' (service_cluster.cpp). `bus` must outlive the
  // service's use; without one (SQLite, tools, tests) nothing is published.
  void SetClusterBus(ClusterBus* bus) { bus_ = bus; }
  // Another node's change: reload the policies and wake long-polls, close a revoked device's
  // connections (the revocation listener), re-sign the CRL; kResync does all of them.
  void ApplyClusterEvent(const ClusterEvent& event);
  // The export sinks configured (names as their outbox cursors have them), for
  // GET /api/v1/export/status and the backlog metrics.
  void SetExportSinks(std::vector<std::string> sinks) { export_sinks_ = std::move(sinks); }
  // Records a stale event for each device that went silent since the last sweep (the
  // exporter's thread calls it periodically).
  void SweepStale();
  // Staff accounts: login, sessions, account management, token owners and the filtered audit
  // log. Without it the account routes answer 503 and only operator tokens authenticate.
  // `accounts` must outlive the service.
  void SetAccounts(AccountService* accounts) { accounts_ = accounts; }
  // The dashboard's static files, served at / on the operator port; without them GET / answers
  // 404 saying so (the API works). `files` must outlive the service.
  void SetDashboard(const DashboardFiles* files) { dashboard_ = files; }

  // The current CRL (PEM), built from Storage's revoked and superseded certificates.
  Result<std::string> CrlPem();
  // Rewrites config.crl_file (atomically) with CrlPem(); a no-op without a file.
  Status PublishCrl();

  // The operator routes as data, for tests that must cover every one of them.
  struct RouteInfo {
    std::string_view method;
    std::string_view pattern;
    bool admin_only;
    // The least role that may call it: "analyst", "inspector", "admin"; "" for a route open to
    // anyone (login, account setup) or to any logged-in account (logout, whoami).
    std::string_view min_role;
    // Open to anyone: the route carries its own credentials (login, account setup).
    bool open = false;
  };
  static std::vector<RouteInfo> OperatorRouteList();

 private:
  // Who may call a route: anyone (enrollment, login), a device with a verified certificate, any
  // authenticated operator (logout), or an operator with at least this role (analyst <
  // inspector < admin: an admin may do what an inspector may, who may do what an analyst may).
  // kMetrics: an analyst or above, or a scrape-only token (role "metrics", which reaches
  // nothing else).
  enum class Access { kPublic, kDevice, kAnyOperator, kMetrics, kAnalyst, kInspector, kAdmin };
  struct Call;
  using RouteHandler = protocol::HttpResponse (SocService::*)(Call&);
  struct Route {
    std::string_view method;
    std::string_view pattern;  // "/api/v1/devices/{id}": a {name} segment matches any segment
    Access access;
    RouteHandler handler;
    bool audited = false;  // agent routes whose every call goes to the audit log
  };

  // The one place where routes are added.
  static const std::vector<Route>& AgentRoutes();
  static const std::vector<Route>& OperatorRoutes();

  protocol::HttpResponse DispatchAgent(const protocol::HttpRequest& request, Responder& respond,
                                       bool& deferred);
  // A parsed report checked against the client certificate and the device record, or the
  // answer refusing it.
  std::variant<protocol::Report, protocol::HttpResponse> AdmitReport(const nlohmann::json& body,
                                                                     const Call& call);
  // Whether the report's policy (version, hash) is the set the SOC serves the device now, one
  // still accepted during a roll-out, or neither (Device::policy_state); an unverified one is
  // audited and logged as a security event. "" without policy distribution.
  std::string JudgeReportPolicy(const protocol::Report& report, Call& call);
  // The device of a verified client certificate, for the device routes: kPermissionDenied
  // (with the reason) when the device is unknown or revoked or the certificate is neither its
  // current nor its pending renewed one. The first use of a pending certificate makes it the
  // current one and supersedes the old (which the handshake refuses from then on).
  Result<Device> DeviceOfCertificate(const protocol::PeerCertificate& peer, SysTime now);
  // `authenticated`: the caller proved who they are (a valid bearer secret, or a successful
  // login or setup), which clears the address's failed-authentication delay.
  protocol::HttpResponse DispatchOperator(const protocol::HttpRequest& request, SysTime now,
                                          AuditEntry& audit, bool& authenticated);

  // Devices of `group` not heard from since this time count as stale: the signed policy's
  // reporting section for the group, else SocConfig::stale_after.
  SysTime StaleBefore(std::string_view group, SysTime now) const;

  protocol::HttpResponse Enroll(Call& call);
  protocol::HttpResponse Renew(Call& call);
  protocol::HttpResponse GetCrl(Call& call);
  protocol::HttpResponse SubmitReport(Call& call);
  protocol::HttpResponse SubmitReportBatch(Call& call);
  protocol::HttpResponse ListDevices(Call& call);
  protocol::HttpResponse GetDevice(Call& call);
  protocol::HttpResponse DeviceHistory(Call& call);
  protocol::HttpResponse RevokeDevice(Call& call);
  protocol::HttpResponse CreateEnrollToken(Call& call);
  protocol::HttpResponse ListAudit(Call& call);
  protocol::HttpResponse Poll(Call& call);
  protocol::HttpResponse PushPolicy(Call& call);
  protocol::HttpResponse ListPolicies(Call& call);
  protocol::HttpResponse PolicyStatus(Call& call);
  protocol::HttpResponse EffectivePolicy(Call& call);
  protocol::HttpResponse CreateInspection(Call& call);
  protocol::HttpResponse ListInspections(Call& call);
  protocol::HttpResponse GetInspection(Call& call);
  protocol::HttpResponse ListEnrollTokens(Call& call);
  protocol::HttpResponse RevokeEnrollToken(Call& call);
  protocol::HttpResponse ListOperatorTokens(Call& call);
  protocol::HttpResponse CreateOperatorTokenRoute(Call& call);
  protocol::HttpResponse RevokeOperatorToken(Call& call);
  protocol::HttpResponse AllowReenroll(Call& call);
  protocol::HttpResponse ListConflicts(Call& call);
  protocol::HttpResponse ResolveConflict(Call& call);
  protocol::HttpResponse ExportStatus(Call& call);
  protocol::HttpResponse MetricsRoute(Call& call);
  // GET /healthz and /readyz: answered before authentication and audit (probes carry no token
  // and come every few seconds); nullopt for any other request.
  std::optional<protocol::HttpResponse> ProbeAnswer(const protocol::HttpRequest& request);
  // Staff accounts (service_accounts.cpp).
  protocol::HttpResponse Login(Call& call);
  protocol::HttpResponse Logout(Call& call);
  protocol::HttpResponse SessionInfo(Call& call);
  protocol::HttpResponse SetupStart(Call& call);
  protocol::HttpResponse SetupFinish(Call& call);
  protocol::HttpResponse ListAccounts(Call& call);
  protocol::HttpResponse CreateAccount(Call& call);
  protocol::HttpResponse DisableAccount(Call& call);
  protocol::HttpResponse EnableAccount(Call& call);
  protocol::HttpResponse ResetAccount(Call& call);
  // Who an operator request is from: an operator token (with the effective role when an
  // account owns it) or a session's account, shaped as an OperatorToken for the handlers.
  struct Principal {
    OperatorToken token;
    std::string account_id;  // "" for a token no account owns
    std::string account_name;
    std::string session_id;  // "" for a token
    std::string display_name;
    std::string session_kind;  // "cli" | "browser" for a session
    std::string csrf_hash;     // a browser session's
  };
  // The principal of a bearer secret, or the 401/500 answer. Names the actor in `audit`.
  std::variant<Principal, protocol::HttpResponse> Authenticate(std::string_view secret, SysTime now,
                                                               AuditEntry& audit);
  // With accounts (service_accounts.cpp): a secret that is no operator token may be a session
  // of `kind` ("cli" for a bearer token, "browser" for the cookie); a token an account owns is
  // refused when the account is disabled and never acts above the account's role.
  // `refresh`: whether the request counts as use (see AccountService::Authenticate).
  std::variant<Principal, protocol::HttpResponse> SessionPrincipal(std::string_view secret,
                                                                   std::string_view kind,
                                                                   SysTime now, AuditEntry& audit,
                                                                   bool refresh = true);
  // The dashboard (service_browser.cpp): static files for GET/HEAD outside /api/ (nullopt for
  // other requests), and the checks of a request authenticated by the session cookie (CSRF
  // token on every change, no cross-site request): the 403, or nullopt.
  std::optional<protocol::HttpResponse> DashboardAnswer(const protocol::HttpRequest& request);
  std::optional<protocol::HttpResponse> CheckBrowserRequest(const protocol::HttpRequest& request,
                                                            const Principal& principal);
  std::optional<protocol::HttpResponse> ApplyTokenOwner(Principal& principal, AuditEntry& audit);
  // Status history and inspection reports (service_reports.cpp).
  protocol::HttpResponse InspectionReport(Call& call);
  protocol::HttpResponse FindInspectionReports(Call& call);
  protocol::HttpResponse DownloadInspectionReport(Call& call);
  // Fleet queries (service_query.cpp).
  protocol::HttpResponse FleetSummary(Call& call);
  protocol::HttpResponse GetStoredReport(Call& call);
  // Groups and their display names (service_groups.cpp).
  protocol::HttpResponse ListGroups(Call& call);
  protocol::HttpResponse SetGroupName(Call& call);
  // The staleness cutoff of most groups, and the groups whose policy gives another one.
  Result<std::pair<SysTime, std::vector<std::pair<std::string, SysTime>>>> StaleCutoffs(
      SysTime now);

  // CRL file after a change of revocation state; failures are logged (the database is the
  // primary record, and the next change rewrites the file). Also drops the cached CRL.
  void RepublishCrl();
  // RepublishCrl without telling the other nodes (they told us).
  void RefreshCrl();
  // Publishes a change on the cluster bus (a no-op without one).
  void Announce(ClusterEventKind kind, std::vector<std::string> device_ids);
  // CrlPem with crl_mu_ held: the cached CRL while nothing changed and it is younger than half
  // its validity, else a newly signed one.
  Result<std::string> CrlPemLocked();

  Storage& storage_;
  const protocol::CertificateAuthority& ca_;
  Clock now_;
  SocConfig config_;
  std::function<void(const std::string& device_id)> on_revoke_;
  PolicyHub* hub_ = nullptr;
  Deferrer defer_;
  RateLimiter enroll_limiter_;
  RateLimiter renew_limiter_;  // per device id
  AuthFailureThrottle auth_throttle_;
  std::mutex crl_mu_;  // one CRL file writer at a time; guards the cache below
  // The last CRL signed, so that the unauthenticated GET /v1/crl.pem costs no signature.
  struct CachedCrl {
    std::string pem;
    SysTime issued_at;
  };
  std::optional<CachedCrl> crl_cache_;
  IngestWriter* writer_ = nullptr;
  std::vector<std::string> export_sinks_;
  AccountService* accounts_ = nullptr;
  const DashboardFiles* dashboard_ = nullptr;
  ClusterBus* bus_ = nullptr;
};

}  // namespace cg::soc

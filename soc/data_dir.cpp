// Data dir initialisation and the server's wiring.
#include "soc/data_dir.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "platform/os/files.h"
#include "platform/os/private_files.h"
#include "platform/os/stop_source.h"
#include "policy/signing.h"
#include "protocol/https_client.h"
#include "protocol/pki.h"
#include "soc/account_service.h"
#include "soc/browser_security.h"
#include "soc/cluster_bus.h"
#include "soc/dashboard_files.h"
#include "soc/exporter.h"
#include "soc/https_server.h"
#include "soc/ingest_writer.h"
#include "soc/pg/pg.h"
#include "soc/pg/pg_account_store.h"
#include "soc/pg/pg_cluster_bus.h"
#include "soc/pg/pg_storage.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"

namespace cg::soc {
namespace {

constexpr std::chrono::seconds kCaValidity{10LL * 365 * 86400};
constexpr std::chrono::seconds kServerCertValidity{2LL * 365 * 86400};
constexpr std::chrono::milliseconds kCrlRefresh{24LL * 3600 * 1000};

struct Loaded {
  std::unique_ptr<Storage> storage;
  protocol::CertificateAuthority ca;
  std::unique_ptr<AccountStore> accounts;
  std::optional<SecretBox> secrets;
};

// Like ssh with ~/.ssh: the data dir and its secrets must be this user's alone, or the SOC does
// not start (the message says how to fix it).
Status CheckDataDirPermissions(const DataDirLayout& layout) {
  CG_RETURN_IF_ERROR(CheckPrivateDirectory(layout.dir));
  CG_RETURN_IF_ERROR(CheckPrivateFile(layout.CaKey(), "the CA key"));
  if (FileExists(layout.ServerKey())) {
    CG_RETURN_IF_ERROR(CheckPrivateFile(layout.ServerKey(), "the server key"));
  }
  if (FileExists(layout.AdminToken())) {
    CG_RETURN_IF_ERROR(CheckPrivateFile(layout.AdminToken(), "the admin token"));
  }
  if (FileExists(layout.SecretKey())) {
    CG_RETURN_IF_ERROR(CheckPrivateFile(layout.SecretKey(), "the TOTP secret key"));
  }
  return OkStatus();
}

// Where the data dir's database is: `flag` (a PostgreSQL URI from --database), else the URI
// `cg-soc init --database` recorded, else the SQLite file.
Result<std::string> DatabaseLocation(const DataDirLayout& layout, const std::string& flag) {
  std::string recorded;
  if (FileExists(layout.DatabaseUri())) {
    CG_RETURN_IF_ERROR(CheckPrivateFile(layout.DatabaseUri(), "the database URI"));
    CG_ASSIGN_OR_RETURN(recorded, ReadFileToString(layout.DatabaseUri(), 8192));
    while (!recorded.empty() && (recorded.back() == '\n' || recorded.back() == ' ')) {
      recorded.pop_back();
    }
    if (!pg::IsPostgresUri(recorded)) {
      return MakeError(ErrorCode::kParse, layout.DatabaseUri() + ": not a postgresql:// URI");
    }
  }
  if (flag.empty()) {
    return recorded.empty() ? layout.Database() : recorded;
  }
  if (!pg::IsPostgresUri(flag)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--database takes a PostgreSQL URI (postgresql://...); without it the SOC "
                     "uses its data dir's database");
  }
  if (!recorded.empty() ? recorded != flag : FileExists(layout.Database())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--database " + pg::RedactUri(flag) + " is not the database of " + layout.dir +
                         " (" + (recorded.empty() ? layout.Database() : pg::RedactUri(recorded)) +
                         "): one data dir, one database");
  }
  return flag;
}

Result<std::unique_ptr<Storage>> OpenStorageAt(const std::string& location, bool create) {
  if (pg::IsPostgresUri(location)) {
    return OpenPgStorage(location, create);
  }
  return OpenSqliteStorage(location, create);
}

Result<std::unique_ptr<AccountStore>> OpenAccountsAt(const std::string& location) {
  if (pg::IsPostgresUri(location)) {
    return OpenPgAccountStore(location);
  }
  return OpenSqliteAccountStore(location);
}

bool HoldsSoc(const DataDirLayout& layout) {
  return FileExists(layout.Database()) || FileExists(layout.DatabaseUri());
}

Result<Loaded> Load(const DataDirLayout& layout, const std::string& database_flag = "") {
  CG_RETURN_IF_ERROR(CheckDataDirPermissions(layout));
  CG_ASSIGN_OR_RETURN(const std::string database, DatabaseLocation(layout, database_flag));
  CG_ASSIGN_OR_RETURN(auto ca_pem, ReadFileToString(layout.CaCert(), 1u << 20));
  CG_ASSIGN_OR_RETURN(auto ca_key, ReadFileToString(layout.CaKey(), 1u << 20));
  CG_ASSIGN_OR_RETURN(auto ca, protocol::CertificateAuthority::Load(ca_pem, ca_key));
  CG_ASSIGN_OR_RETURN(auto storage, OpenStorageAt(database, /*create=*/false));
  CG_ASSIGN_OR_RETURN(auto accounts, OpenAccountsAt(database));
  // A data dir from before accounts gets its key now.
  CG_ASSIGN_OR_RETURN(auto secrets, SecretBox::FromKeyFile(layout.SecretKey(), /*create=*/true));
  return Loaded{std::move(storage), std::move(ca), std::move(accounts), std::move(secrets)};
}

SysTime Now() { return std::chrono::system_clock::now(); }

// DIR itself, 0700, but never its parents: a mistyped path must not quietly become a new tree
// (with whatever modes the umask gives its directories).
Status MakePrivateDirectory(const std::string& dir) {
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) {
    parent = ".";
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec)) {
    return MakeError(ErrorCode::kNotFound,
                     "the parent directory " + parent.string() + " of " + dir +
                         " does not exist; cg-soc init creates only the data dir itself (create "
                         "the parent first: mkdir -p " +
                         parent.string() + ")");
  }
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directory(path, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "create directory " + path + ": " + ec.message());
    }
  }
  return EnsureDirectory(path, 0700);  // exists now: only sets the mode
}

// A listen address: like a client's HOST:PORT, but port 0 (the kernel picks) is allowed.
Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text) {
  if (text.ends_with(":0")) {
    CG_ASSIGN_OR_RETURN(auto hp, protocol::ParseHostPort(text.substr(0, text.size() - 2) + ":1"));
    return std::pair<std::string, uint16_t>(hp.first, 0);
  }
  auto hp = protocol::ParseHostPort(text);
  if (!hp.ok()) {
    return hp.error().Wrap("listen address");
  }
  return hp;
}

// The keys in DIR/policy-keys (none when the directory does not exist).
Result<policy::TrustedKeys> LoadPolicyKeys(const DataDirLayout& layout) {
  std::vector<std::string> pems;
  std::error_code ec;
  if (!std::filesystem::exists(layout.PolicyKeys(), ec)) {
    return policy::TrustedKeys{};
  }
  for (const auto& entry : std::filesystem::directory_iterator(layout.PolicyKeys(), ec)) {
    if (entry.path().extension() != ".pub") {
      continue;
    }
    CG_ASSIGN_OR_RETURN(auto pem, ReadFileToString(entry.path().string(), 64u << 10));
    pems.push_back(std::move(pem));
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, layout.PolicyKeys() + ": " + ec.message());
  }
  auto keys = policy::ParseTrustedKeys(pems);
  if (!keys.ok()) {
    return keys.error().Wrap(layout.PolicyKeys());
  }
  return keys;
}

}  // namespace

Result<std::string> AddPolicyKey(const std::string& dir, const std::string& public_key_file) {
  const DataDirLayout layout{dir};
  if (!HoldsSoc(layout)) {
    return MakeError(ErrorCode::kNotFound, dir + " does not hold a CounterGuard SOC");
  }
  CG_ASSIGN_OR_RETURN(auto pem, ReadFileToString(public_key_file, 64u << 10));
  auto key_id = policy::KeyIdOfPublicPem(pem);
  if (!key_id.ok()) {
    return key_id.error().Wrap(public_key_file);
  }
  CG_RETURN_IF_ERROR(EnsureDirectory(layout.PolicyKeys(), 0755));
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.PolicyKeys() + "/" + *key_id + ".pub", pem, 0644));
  return key_id;
}

Result<std::string> InitDataDir(const std::string& dir, const std::vector<std::string>& hostnames,
                                const std::string& database) {
  const DataDirLayout layout{dir};
  if (HoldsSoc(layout) || FileExists(layout.CaKey())) {
    return MakeError(ErrorCode::kAlreadyExists,
                     dir + " already holds a CounterGuard SOC (refusing to overwrite its CA)");
  }
  if (!database.empty() && !pg::IsPostgresUri(database)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--database takes a PostgreSQL URI (postgresql://...); without it the SOC "
                     "keeps its database in the data dir (soc.db)");
  }
  // The PostgreSQL database is checked before anything is written: reachable, and not already
  // a SOC's (a second node shares the first one's data dir, it does not run init).
  std::unique_ptr<Storage> storage;
  if (!database.empty()) {
    if (OpenPgStorage(database, /*create=*/false).ok()) {
      return MakeError(ErrorCode::kAlreadyExists,
                       pg::RedactUri(database) +
                           " already holds a CounterGuard SOC database; another node serves it "
                           "with a copy of the first node's data dir (docs/operations.md, "
                           "PostgreSQL)");
    }
    CG_ASSIGN_OR_RETURN(storage, OpenPgStorage(database, /*create=*/true));
  }
  CG_RETURN_IF_ERROR(MakePrivateDirectory(dir));
  CG_ASSIGN_OR_RETURN(auto ca, protocol::CertificateAuthority::Create(
                                   "CounterGuard SOC CA " + hostnames.front(), kCaValidity, Now()));
  CG_ASSIGN_OR_RETURN(auto ca_key, ca.key_pem());
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.CaKey(), ca_key, 0600));
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.CaCert(), ca.cert_pem(), 0644));

  CG_ASSIGN_OR_RETURN(auto server_key, protocol::GenerateP256Key());
  CG_ASSIGN_OR_RETURN(auto server_cert, ca.IssueServerCertificate(*server_key, hostnames,
                                                                  kServerCertValidity, Now()));
  CG_ASSIGN_OR_RETURN(auto server_key_pem, protocol::PrivateKeyToPem(*server_key));
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.ServerKey(), server_key_pem, 0600));
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.ServerCert(), server_cert, 0644));

  if (storage == nullptr) {
    CG_ASSIGN_OR_RETURN(storage, OpenSqliteStorage(layout.Database(), /*create=*/true));
  } else {
    CG_RETURN_IF_ERROR(WriteFileAtomic(layout.DatabaseUri(), database + "\n", 0600));
  }
  if (auto key = SecretBox::FromKeyFile(layout.SecretKey(), /*create=*/true); !key.ok()) {
    return key.error();
  }
  SocService service(*storage, ca, Now, SocConfig{});
  CG_ASSIGN_OR_RETURN(auto token, service.CreateOperatorToken("admin", "admin", std::nullopt));
  CG_RETURN_IF_ERROR(WriteFileAtomic(layout.AdminToken(), token + "\n", 0600));
  return token;
}

Result<std::string> CreateOperatorToken(const std::string& dir, const std::string& name,
                                        const std::string& role,
                                        std::optional<SysTime> expires_at) {
  CG_ASSIGN_OR_RETURN(auto loaded, Load(DataDirLayout{dir}));
  SocService service(*loaded.storage, loaded.ca, Now, SocConfig{});
  return service.CreateOperatorToken(name, role, expires_at);
}

namespace {

// The SOC's configuration file: today its "export" section (docs/siem.md). Unknown keys are
// refused, so that a typo is an error at start rather than a silent default.
Result<std::optional<ExportConfig>> LoadExportConfig(const ServeOptions& options,
                                                     const DataDirLayout& layout) {
  std::string path = options.config_file;
  if (path.empty()) {
    if (!FileExists(layout.Config())) {
      return std::optional<ExportConfig>();
    }
    path = layout.Config();
  }
  CG_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 1 << 20));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return MakeError(ErrorCode::kParse, path + ": not a JSON object");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "export") {
      return MakeError(ErrorCode::kInvalidArgument, path + ": unknown key \"" + key + "\"");
    }
  }
  if (!j.contains("export")) {
    return std::optional<ExportConfig>();
  }
  auto config = ParseExportConfig(j["export"], options.data_dir);
  if (!config.ok()) {
    return config.error().Wrap(path);
  }
  return std::optional<ExportConfig>(std::move(config).value());
}

}  // namespace

Result<CreatedAccount> CreateAccountLocally(const std::string& dir, const std::string& name,
                                            const std::string& display_name,
                                            const std::string& role) {
  CG_ASSIGN_OR_RETURN(auto loaded, Load(DataDirLayout{dir}));
  CG_ASSIGN_OR_RETURN(auto service, AccountService::Create(*loaded.accounts, *loaded.secrets));
  CG_ASSIGN_OR_RETURN(auto created,
                      service->CreateAccount(name, display_name, role, "cg-soc (local)", Now()));
  return CreatedAccount{created.account.name, created.account.role, created.setup_code,
                        created.account.setup_expires_at.value_or(Now())};
}

Status Serve(const ServeOptions& options) {
  const DataDirLayout layout{options.data_dir};
  CG_ASSIGN_OR_RETURN(auto export_config, LoadExportConfig(options, layout));
  CG_ASSIGN_OR_RETURN(const std::string database, DatabaseLocation(layout, options.database));
  CG_ASSIGN_OR_RETURN(auto loaded, Load(layout, options.database));
  if (pg::IsPostgresUri(database)) {
    spdlog::info("database: PostgreSQL {}", pg::RedactUri(database));
  }
  CG_ASSIGN_OR_RETURN(auto agent_addr, ParseListenAddress(options.agent_listen));
  CG_ASSIGN_OR_RETURN(auto operator_addr, ParseListenAddress(options.operator_listen));

  // Every connection is a descriptor: the caps of both ports and a reserve must fit under the
  // limit, or a flood on the agent port would leave none for the operator port (accept fails
  // with EMFILE). The soft limit is raised to the hard one first (the unit sets LimitNOFILE).
  CG_ASSIGN_OR_RETURN(const size_t fd_limit, RaiseFileDescriptorLimit());
  size_t agent_max = options.max_connections;
  const size_t fixed = kOperatorMaxConnections + kReservedDescriptors;
  if (fd_limit < fixed + 16) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the open-file limit (" + std::to_string(fd_limit) +
                         ") is too low for the SOC; raise it (LimitNOFILE= in cg-soc.service)");
  }
  if (agent_max > fd_limit - fixed) {
    spdlog::warn(
        "the open-file limit is {}: the agent port takes at most {} connections instead of {} "
        "(raise LimitNOFILE= to allow more)",
        fd_limit, fd_limit - fixed, agent_max);
    agent_max = fd_limit - fixed;
  }
  const size_t agent_per_address = std::min(options.max_connections_per_address, agent_max);

  // Stop requests are taken by this thread (made before the I/O threads, which never see
  // SIGTERM/SIGINT on Linux).
  CG_ASSIGN_OR_RETURN(auto stop_source, os::StopSource::Create());

  CG_ASSIGN_OR_RETURN(auto policy_keys, LoadPolicyKeys(layout));
  PolicyHub hub(*loaded.storage, Now, options.poll_hold);
  CG_RETURN_IF_ERROR(hub.Load(std::move(policy_keys)));
  SocConfig config;
  config.device_cert_validity = options.cert_lifetime;
  config.crl_file = layout.Crl();
  config.enroll_burst = options.enroll_burst;
  config.enroll_refill = std::chrono::milliseconds(60000 / std::max(options.enroll_per_minute, 1));
  config.clock_skew_tolerance = options.clock_skew_tolerance;
  config.renew_burst = std::max(options.renewals_per_day, 1);
  config.renew_refill = std::chrono::milliseconds(24LL * 3600 * 1000 / config.renew_burst);
  config.soc_name = options.soc_name;
  if (config.soc_name.empty()) {
    // The name agents and cgctl reach it by: the first host name of its certificate.
    CG_ASSIGN_OR_RETURN(auto server_pem, ReadFileToString(layout.ServerCert(), 1u << 20));
    CG_ASSIGN_OR_RETURN(auto server_info, protocol::InspectCertificatePem(server_pem));
    config.soc_name = !server_info.dns_names.empty()      ? server_info.dns_names.front()
                      : !server_info.ip_addresses.empty() ? server_info.ip_addresses.front()
                                                          : server_info.subject_cn;
  }
  CG_RETURN_IF_ERROR(ValidateRetention(options.retention));
  SocService service(*loaded.storage, loaded.ca, Now, config);
  AccountConfig account_config;
  account_config.totp_roles = {options.totp_roles.begin(), options.totp_roles.end()};
  account_config.session_ttl = options.session_ttl;
  account_config.session_idle = options.session_idle;
  account_config.browser_session_idle = options.browser_session_idle;
  CG_ASSIGN_OR_RETURN(auto accounts, AccountService::Create(*loaded.accounts, *loaded.secrets,
                                                            std::move(account_config)));
  service.SetAccounts(accounts.get());
  std::unique_ptr<DashboardFiles> dashboard;
  const std::string dashboard_dir = options.dashboard_dir.empty()
                                        ? FindDashboardDir(options.program_path)
                                        : options.dashboard_dir;
  if (auto opened = DashboardFiles::Open(dashboard_dir); opened.ok()) {
    dashboard = std::move(opened).value();
    service.SetDashboard(dashboard.get());
    spdlog::info("dashboard served from {}", dashboard->dir());
  } else if (!options.dashboard_dir.empty()) {
    return opened.error().Wrap("--dashboard-dir");
  } else {
    spdlog::warn(
        "no dashboard directory found (--dashboard-dir): GET / answers 404, the API "
        "works");
  }
  // Written at start so that it exists (and is fresh) before the first revocation.
  CG_RETURN_IF_ERROR(service.PublishCrl());
  service.SetPolicyHub(&hub);
  IngestWriter::Options ingest;
  ingest.max_queue = options.ingest_queue;
  ingest.max_batch = options.ingest_batch;
  loaded.storage->SetEventOptions(EventOptions{options.clock_skew_tolerance});
  IngestWriter writer(*loaded.storage, ingest);
  service.SetIngestWriter(&writer);
  // The exporter runs without a sink too: the stale sweep records devices going silent (a
  // property of the fleet, not of the SIEM) and the outbox is trimmed instead of growing.
  const ExportConfig exporting = export_config.value_or(ExportConfig{});
  service.SetExportSinks(exporting.SinkNames());
  auto exporter = std::make_unique<Exporter>(*loaded.storage, exporting, Now,
                                             [&service] { service.SweepStale(); });
  ServerRuntime runtime(options.threads);
  service.SetDeferrer([&runtime](std::chrono::milliseconds delay, std::function<void()> fn) {
    runtime.After(delay, std::move(fn));
  });

  ListenerOptions agent;
  agent.address = agent_addr.first;
  agent.port = agent_addr.second;
  agent.cert_file = layout.ServerCert();
  agent.key_file = layout.ServerKey();
  agent.ca_file = layout.CaCert();
  agent.read_timeout = options.request_timeout;
  agent.max_connections = agent_max;
  agent.max_connections_per_address = agent_per_address;
  // A presented certificate must chain to our CA; only POST /v1/enroll may come without one
  // (the service answers 401 to every other route without a verified certificate).
  agent.verify_client_certs = true;
  agent.require_client_cert = false;
  // Revocation is checked against the database at every handshake, not a CRL file.
  agent.is_revoked = [&service](const protocol::PeerCertificate& peer) {
    return !service.CertificateAllowed(peer);
  };
  service.SetRevocationListener([&runtime](const std::string& device_id) {
    runtime.CloseConnections(
        [device_id](const protocol::PeerCertificate& p) { return p.subject_cn == device_id; });
  });
  CG_ASSIGN_OR_RETURN(auto agent_port,
                      runtime.AddListener(agent, [&service](protocol::HttpRequest r, Responder w) {
                        service.HandleAgent(std::move(r), std::move(w));
                      }));

  ListenerOptions op;
  op.decorate = AddSecurityHeaders;
  op.address = operator_addr.first;
  op.port = operator_addr.second;
  op.cert_file = layout.ServerCert();
  op.key_file = layout.ServerKey();
  op.read_timeout = options.request_timeout;
  op.max_connections = kOperatorMaxConnections;
  op.max_connections_per_address = kOperatorMaxConnectionsPerAddress;
  CG_ASSIGN_OR_RETURN(auto operator_port,
                      runtime.AddListener(op, [&service](protocol::HttpRequest r, Responder w) {
                        service.HandleOperator(std::move(r), std::move(w));
                      }));

  // The other nodes of the SOC on the same database (none on SQLite): their pushes, tasks,
  // revocations and certificate changes reach this node's agents (soc/cluster_bus.h).
  std::unique_ptr<ClusterBus> bus =
      pg::IsPostgresUri(database) ? pg::MakePgClusterBus(database) : MakeSingleNodeBus();
  service.SetClusterBus(bus.get());
  CG_RETURN_IF_ERROR(bus->Start([&service, &runtime, &loaded](const ClusterEvent& event) {
    service.ApplyClusterEvent(event);
    if (event.kind != ClusterEventKind::kResync) {
      return;
    }
    // Revocations this node may have missed: the connections of every revoked certificate.
    auto revoked = loaded.storage->ListRevokedCertificates(Now());
    if (!revoked.ok()) {
      spdlog::error("resync: listing revoked certificates: {}", revoked.error().ToString());
      return;
    }
    std::set<std::string, std::less<>> serials;
    for (const auto& r : *revoked) {
      serials.insert(r.serial_hex);
    }
    runtime.CloseConnections([serials = std::move(serials)](const protocol::PeerCertificate& p) {
      return serials.count(p.serial_hex) > 0;
    });
  }));

  runtime.Start();
  exporter->Start();
  if (!exporting.SinkNames().empty()) {
    spdlog::info("SIEM export to {}", [&] {
      std::string names;
      for (const auto& n : exporting.SinkNames()) {
        names += (names.empty() ? "" : ", ") + n;
      }
      return names;
    }());
  }
  // Deletes old reports, history and audit entries in small batches on a thread of its own.
  RetentionRunner retention(*loaded.storage, Now, options.retention);
  retention.SetIngestBusy([&writer] { return writer.Busy(); });
  retention.Start();
  // Each CRL says it is valid for 7 days and is re-signed halfway (or at once after a change):
  // look daily, so that consumers reading DATA_DIR/crl.pem never hold an outdated one.
  std::function<void()> refresh_crl = [&] {
    if (auto s = service.PublishCrl(); !s.ok()) {
      spdlog::error("rewriting the CRL failed: {}", s.error().ToString());
    }
    runtime.After(kCrlRefresh, refresh_crl);
  };
  runtime.After(kCrlRefresh, refresh_crl);
  spdlog::info(
      "agent listener on {}:{} (at most {} connections, {} per address), operator listener on "
      "{}:{} (at most {}, {} per address); open-file limit {}",
      agent.address, agent_port, agent_max, agent_per_address, op.address, operator_port,
      kOperatorMaxConnections, kOperatorMaxConnectionsPerAddress, fd_limit);
  if (!options.ready_file.empty()) {
    const nlohmann::json ready = {{"agent_port", agent_port}, {"operator_port", operator_port}};
    if (auto s = WriteFileAtomic(options.ready_file, ready.dump() + "\n", 0644); !s.ok()) {
      runtime.Stop();
      runtime.Wait();
      return s;
    }
  }
  spdlog::info("{} received, shutting down", stop_source->Wait());
  bus->Stop();
  retention.Stop();
  runtime.Stop();
  runtime.Wait();
  // Reports already queued are stored; their connections are gone, so the agents resend them
  // and get "duplicate" (committed) answers.
  writer.Stop();
  // After the writer: the events of the last reports are delivered on the next start.
  exporter->Stop();
  return OkStatus();
}

}  // namespace cg::soc

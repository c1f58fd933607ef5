// Fuzz target: the SOC's request handling without TLS: raw bytes -> HTTP parser -> route table,
// authentication and handlers -> serialised answer, on a throw-away SQLite database.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <variant>

#include "common/ids.h"
#include "common/timeutil.h"
#include "protocol/pki.h"
#include "soc/http_codec.h"
#include "soc/ingest_writer.h"
#include "soc/service.h"
#include "soc/sqlite_storage.h"
#include "tests/fuzz/targets.h"

namespace cg::fuzz {
namespace {

// Fixed identities the seed corpus uses: a device (certificate serial "01") and an admin token.
constexpr const char* kDeviceId = "6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
constexpr const char* kGroup = "laocai/bac-ha";
constexpr const char* kAdminSecret = "fuzz-admin-token";

struct World {
  std::string dir;
  std::unique_ptr<soc::Storage> storage;
  std::unique_ptr<protocol::CertificateAuthority> ca;
  std::unique_ptr<soc::IngestWriter> writer;
  std::unique_ptr<soc::SocService> service;
};

World& TheWorld() {
  static World* world = [] {
    auto* w = new World;
    // Refusals are logged by the service; at fuzzing speed that is all the time would go to.
    spdlog::set_level(spdlog::level::off);
    // tmpfs when there is one: the database is written on every stored report.
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(base) + "/cg-fuzz-http.XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl.data()) != nullptr);
    w->dir = tmpl;
    auto storage = soc::OpenSqliteStorage(w->dir + "/soc.db", /*create=*/true);
    FUZZ_CHECK(storage.ok());
    w->storage = std::move(storage).value();
    const SysTime now = FromUnixSeconds(1'780'000'000);
    auto ca = protocol::CertificateAuthority::Create("fuzz CA", std::chrono::hours(24 * 365), now);
    FUZZ_CHECK(ca.ok());
    w->ca = std::make_unique<protocol::CertificateAuthority>(std::move(ca).value());
    soc::Device device;
    device.device_id = kDeviceId;
    device.hostname = "pc-01";
    device.machine_id = "m1";
    device.group = kGroup;
    device.cert_serial = "01";
    device.cert_not_after = now + std::chrono::hours(24 * 30);
    device.enrolled_at = now;
    FUZZ_CHECK(w->storage->AddDevice(device).ok());
    soc::OperatorToken token;
    token.id = NewUuid();
    token.name = "fuzz";
    token.role = "admin";
    token.token_hash = Sha256Hex(kAdminSecret);
    token.created_at = now;
    FUZZ_CHECK(w->storage->CreateOperatorToken(token).ok());
    w->service = std::make_unique<soc::SocService>(
        *w->storage, *w->ca, [now] { return now; }, soc::SocConfig{});
    // Reports go through the group-commit writer, as in `cg-soc serve`.
    w->writer = std::make_unique<soc::IngestWriter>(*w->storage, soc::IngestWriter::Options{});
    w->service->SetIngestWriter(w->writer.get());
    // The database is left behind only if the process crashes; cleaned up at exit otherwise.
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(TheWorld().dir, ec);
    });
    return w;
  }();
  return *world;
}

}  // namespace

void FuzzHttp(std::string_view data) {
  if (data.empty()) {
    return;
  }
  World& world = TheWorld();
  const auto mode = static_cast<unsigned char>(data.front());
  data.remove_prefix(1);
  const bool operator_port = (mode & 1) != 0;
  const bool with_cert = (mode & 2) != 0;

  soc::HttpLimits limits;
  limits.max_body_bytes = 64 << 10;  // small, so that the fuzzer reaches the limit paths
  limits.max_header_bytes = 4 << 10;
  auto parsed = soc::ParseHttpRequest(data, limits);
  if (auto* rejected = std::get_if<soc::Rejected>(&parsed)) {
    FUZZ_CHECK(rejected->response.status == 400 || rejected->response.status == 413 ||
               rejected->response.status == 431);
    (void)soc::SerializeHttpResponse(std::move(rejected->response), 11, false, false);
    return;
  }
  auto* request = std::get_if<soc::ParsedRequest>(&parsed);
  if (request == nullptr) {
    return;  // incomplete: a session would wait for more bytes
  }
  FUZZ_CHECK(request->consumed <= data.size());
  protocol::HttpRequest& r = request->request;
  r.peer_address = "127.0.0.1:40000";
  if (with_cert) {
    r.peer_cert = protocol::PeerCertificate{kDeviceId, kGroup, "01"};
  }
  auto answered = std::make_shared<std::promise<protocol::HttpResponse>>();
  auto future = answered->get_future();
  soc::Responder respond = [answered](protocol::HttpResponse response) {
    answered->set_value(std::move(response));
  };
  if (operator_port) {
    world.service->HandleOperator(std::move(r), std::move(respond));
  } else {
    world.service->HandleAgent(std::move(r), std::move(respond));
  }
  FUZZ_CHECK(future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  protocol::HttpResponse response = future.get();
  FUZZ_CHECK(response.status >= 200 && response.status <= 599);
  const std::string wire = soc::SerializeHttpResponse(std::move(response), request->version,
                                                      request->keep_alive, request->head);
  FUZZ_CHECK(wire.starts_with("HTTP/1."));
}

}  // namespace cg::fuzz

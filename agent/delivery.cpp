// Glue between the service loop, the spool and the sender: the HTTPS transport, the process-wide
// sender (persistent connection), interruptible backoff sleeps, and legacy spool entries.
#include "agent/delivery.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "agent/soc_client.h"
#include "common/ids.h"
#include "platform/os/files.h"
#include "protocol/https_client.h"

namespace cg::agent {
namespace {

class HttpsTransport final : public Transport {
 public:
  HttpsTransport(std::unique_ptr<protocol::HttpsClient> client, const StateDir& state,
                 std::string stamp)
      : client_(std::move(client)), state_(state), stamp_(std::move(stamp)) {}
  Result<protocol::HttpResponse> Post(const std::string& target, const std::string& body) override {
    return client_->Request("POST", target, body, {{"Content-Type", "application/json"}});
  }
  void Close() override { client_->Close(); }
  bool Stale() const override { return DeviceCredentialStamp(state_) != stamp_; }

 private:
  std::unique_ptr<protocol::HttpsClient> client_;
  StateDir state_;
  std::string stamp_;
};

// Without a stop-aware sleep (one-shot commands; the service loop sets one that its stop
// request ends).
void PlainSleep(std::chrono::milliseconds wait) { std::this_thread::sleep_for(wait); }

Result<std::unique_ptr<Transport>> Connect(const StateDir& state, const std::string& server,
                                           std::chrono::seconds timeout) {
  std::string stamp = DeviceCredentialStamp(state);
  CG_ASSIGN_OR_RETURN(auto client, ConnectAsDevice(state, server, timeout));
  return std::unique_ptr<Transport>(
      std::make_unique<HttpsTransport>(std::move(client), state, std::move(stamp)));
}

// Spool entries written by agents before checksums: "<uuid>.json", oldest first by mtime.
Status AdoptLegacyEntries(const StateDir& state, Spool& spool, SysTime now) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> legacy;
  for (const auto& item : fs::directory_iterator(state.SpoolDir(), ec)) {
    const std::string name = item.path().filename().string();
    if (name.size() == 41 && name.ends_with(".json") && IsUuid(name.substr(0, 36))) {
      std::error_code time_ec;
      legacy.emplace_back(item.last_write_time(time_ec), item.path());
    }
  }
  std::sort(legacy.begin(), legacy.end());
  for (const auto& [time, path] : legacy) {
    auto text = ReadFileToString(path.string(), 4u << 20);
    auto parsed = text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    auto report = parsed.is_discarded()
                      ? Result<protocol::Report>(MakeError(ErrorCode::kParse, "not JSON"))
                      : protocol::ReportFromJson(parsed);
    if (!report.ok()) {
      spdlog::warn("old spool entry {} is unreadable ({}); moved to corrupt/", path.string(),
                   report.error().message);
      CG_RETURN_IF_ERROR(EnsureDirectory(spool.dir() + "/corrupt", 0700));
      fs::rename(path, spool.dir() + "/corrupt/" + path.filename().string(), ec);
      continue;
    }
    CG_RETURN_IF_ERROR(spool.Put(*report, now));
    fs::remove(path, ec);
  }
  return OkStatus();
}

std::mutex g_senders_mu;
// One sender per (state dir, server): its connection stays open between cycles.
std::map<std::string, std::pair<std::unique_ptr<Spool>, std::unique_ptr<Sender>>> g_senders;

DeliveryOptions& Defaults() {
  static DeliveryOptions options;
  return options;
}

}  // namespace

void SetDefaultDeliveryOptions(const DeliveryOptions& options) { Defaults() = options; }
const DeliveryOptions& DefaultDeliveryOptions() { return Defaults(); }

Status SpoolReport(const StateDir& state, protocol::Report& report, SysTime now,
                   const DeliveryOptions& options) {
  CG_RETURN_IF_ERROR(state.Prepare());
  Spool spool(state.SpoolDir(), options.spool_max_bytes);
  CG_RETURN_IF_ERROR(AdoptLegacyEntries(state, spool, now));
  if (auto s = spool.Put(report, now); !s.ok()) {
    return s.error().Wrap("spooling report " + report.report_id);
  }
  return OkStatus();
}

Result<int> SendSpool(const StateDir& state, const Enrollment& enrollment,
                      const DeliveryOptions& options) {
  std::lock_guard lock(g_senders_mu);
  auto& slot = g_senders[state.path() + "|" + enrollment.server];
  if (!slot.second) {
    slot.first = std::make_unique<Spool>(state.SpoolDir(), options.spool_max_bytes);
    const std::string server = enrollment.server;
    const auto timeout = options.timeout;
    slot.second = std::make_unique<Sender>(
        *slot.first, [state, server, timeout] { return Connect(state, server, timeout); },
        options.sender, options.sleep ? options.sleep : Sleeper(PlainSleep),
        std::random_device{}());
  }
  auto delivered = slot.second->Deliver();
  if (!delivered.ok()) {
    if (protocol::IsCertificateRevoked(delivered.error())) {
      // Kept apart from status.json, which the cycle rewrites: `cg-agent status` shows it.
      (void)state.RecordRevoked(delivered.error().ToString(),
                                FormatRfc3339(std::chrono::system_clock::now()));
    }
    return std::move(delivered).error();
  }
  const DeliveryResult& result = *delivered;
  if (result.committed > 0 || result.rejected > 0 || result.corrupt > 0) {
    spdlog::info("spool delivered: {} committed, {} rejected for good, {} corrupt moved aside",
                 result.committed, result.rejected, result.corrupt);
  }
  return result.committed;
}

Result<nlohmann::json> SpoolStatus(const StateDir& state, const DeliveryOptions& options) {
  Spool spool(state.SpoolDir(), options.spool_max_bytes);
  size_t entries = 0;
  uint64_t bytes = 0;
  if (FileExists(state.SpoolDir())) {
    CG_ASSIGN_OR_RETURN(auto usage, spool.Usage());
    entries = usage.first;
    bytes = usage.second;
    // Entries of older agent versions wait to be taken over; they are spooled reports too.
    std::error_code ec;
    for (const auto& item : std::filesystem::directory_iterator(state.SpoolDir(), ec)) {
      const std::string name = item.path().filename().string();
      if (name.size() == 41 && name.ends_with(".json") && IsUuid(name.substr(0, 36))) {
        ++entries;
      }
    }
  }
  CG_ASSIGN_OR_RETURN(auto c, spool.Counters());
  return nlohmann::json{{"spool_reports", entries},
                        {"spool_bytes", bytes},
                        {"spool_dropped_posture", c.dropped_posture},
                        {"spool_dropped_security", c.dropped_security},
                        {"spool_corrupt", c.corrupt},
                        {"spool_rejected", c.rejected}};
}

}  // namespace cg::agent

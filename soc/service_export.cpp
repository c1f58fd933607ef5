// SIEM export status, Prometheus metrics, health and readiness probes (operator port), and the
// staleness sweep that records stale devices for the export.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "protocol/api_paths.h"
#include "soc/ingest_writer.h"
#include "soc/metrics.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;
namespace api = protocol::api;

std::optional<HttpResponse> SocService::ProbeAnswer(const HttpRequest& request) {
  const std::string path = request.Path();
  if (path != api::kHealthz && path != api::kReadyz) {
    return std::nullopt;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse response = Fail(405, "method_not_allowed", "use GET here");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  if (path == api::kHealthz) {
    // Liveness: this thread answered. Nothing about the SOC is said to an unauthenticated
    // caller.
    response.body = "ok\n";
    return response;
  }
  // Readiness: the database answers and reports are being stored.
  std::string problems;
  auto probe = storage_.GetDevice("00000000-0000-0000-0000-000000000000");
  if (!probe.ok() && probe.error().code != ErrorCode::kNotFound) {
    spdlog::warn("readiness: database unreachable: {}", probe.error().ToString());
    problems += "database unreachable\n";
  }
  if (writer_ != nullptr && !writer_->Running()) {
    problems += "ingest writer stopped\n";
  }
  if (!problems.empty()) {
    response.status = 503;
    response.body = problems;
    return response;
  }
  response.body = "ready\n";
  return response;
}

HttpResponse SocService::ExportStatus(Call& call) {
  (void)call;
  auto states = storage_.ExportStatus(export_sinks_);
  if (!states.ok()) {
    return StorageFailure("reading the export status", states.error());
  }
  json sinks = json::array();
  for (const auto& s : *states) {
    sinks.push_back({{"sink", s.sink},
                     {"delivered_seq", s.delivered_seq},
                     {"delivered_at", OptionalTime(s.delivered_at)},
                     {"pending", s.pending},
                     {"oldest_pending", OptionalTime(s.oldest_pending)}});
  }
  return HttpResponse::Json(200, {{"enabled", !export_sinks_.empty()}, {"sinks", sinks}});
}

HttpResponse SocService::MetricsRoute(Call& call) {
  MetricsSnapshot snapshot;
  auto devices = storage_.ListDevices({});
  if (!devices.ok()) {
    return StorageFailure("counting devices for /metrics", devices.error());
  }
  for (const Device& d : *devices) {
    const auto status = EffectiveStatus(d, StaleBefore(d.group, call.now));
    ++snapshot.devices[{d.group, std::string(protocol::ToString(status))}];
  }
  if (writer_ != nullptr) {
    snapshot.ingest_queue_depth = static_cast<int64_t>(writer_->QueueDepth());
    snapshot.ingest_queue_capacity = static_cast<int64_t>(writer_->options().max_queue);
  }
  if (hub_ != nullptr) {
    snapshot.long_polls = static_cast<int64_t>(hub_->Waiting());
  }
  auto states = storage_.ExportStatus(export_sinks_);
  if (!states.ok()) {
    return StorageFailure("reading the export backlog for /metrics", states.error());
  }
  for (const auto& s : *states) {
    snapshot.export_backlog[s.sink] = s.pending;
    snapshot.export_oldest_seconds[s.sink] =
        s.oldest_pending
            ? std::max<int64_t>(
                  0, std::chrono::duration_cast<std::chrono::seconds>(call.now - *s.oldest_pending)
                         .count())
            : 0;
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = RenderMetrics(Metrics(), snapshot);
  return response;
}

void SocService::SweepStale() {
  const SysTime now = now_();
  auto devices = storage_.ListDevices({});
  if (!devices.ok()) {
    spdlog::warn("stale sweep: listing devices failed: {}", devices.error().ToString());
    return;
  }
  std::vector<StaleDevice> stale;
  for (const Device& d : *devices) {
    const SysTime since = d.last_seen.value_or(d.enrolled_at);
    if (d.revoked || since >= StaleBefore(d.group, now)) {
      continue;
    }
    stale.push_back(
        StaleDevice{d.device_id, since,
                    StaleEvent(d.device_id, d.hostname, d.group, d.last_seen,
                               protocol::ToString(EffectiveStatus(d, std::nullopt)), now)});
  }
  if (stale.empty()) {
    return;
  }
  auto recorded = storage_.RecordStaleDevices(stale, now);
  if (!recorded.ok()) {
    spdlog::warn("stale sweep: recording failed: {}", recorded.error().ToString());
  } else if (*recorded > 0) {
    spdlog::info("stale sweep: {} device(s) went silent", *recorded);
  }
}

}  // namespace cg::soc

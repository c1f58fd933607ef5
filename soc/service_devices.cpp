// Devices on the operator port: list, detail, revocation, re-enrollment and hostname conflicts
// (history: service_reports.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "protocol/json.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

// The devices list is in service_query.cpp with the other fleet queries.

HttpResponse SocService::GetDevice(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  auto device = storage_.GetDevice(id);
  if (!device.ok()) {
    if (device.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("looking up a device", device.error());
  }
  auto latest = storage_.LatestReport(id);
  if (!latest.ok()) {
    return StorageFailure("reading the latest report of " + id, latest.error());
  }
  json latest_json = nullptr;
  if (latest->has_value()) {
    latest_json = json::parse((*latest)->body, nullptr, /*allow_exceptions=*/false);
    if (latest_json.is_discarded()) {
      spdlog::error("stored report {} is not valid JSON", (*latest)->report_id);
      return Fail(500, "internal", "the stored report is damaged");
    }
  }
  return HttpResponse::Json(
      200, {{"device", DeviceJson(*device, StaleBefore(device->group, call.now), /*detail=*/true,
                                  config_.clock_skew_tolerance)},
            {"latest_report", std::move(latest_json)}});
}

HttpResponse SocService::RevokeDevice(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  if (auto s = storage_.RevokeDevice(id, call.now); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("revoking a device", s.error());
  }
  spdlog::warn("device {} revoked", id);
  if (on_revoke_) {
    on_revoke_(id);
  }
  Announce(ClusterEventKind::kDeviceRevoked, {id});  // the device's connections to other nodes
  RepublishCrl();
  return HttpResponse::Json(200, {{"device_id", id}, {"status", "revoked"}});
}

HttpResponse SocService::AllowReenroll(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such device");
  }
  if (auto s = storage_.AllowReenroll(id, call.now); !s.ok()) {
    if (s.error().code == ErrorCode::kNotFound) {
      return Fail(404, "not_found", "no such device");
    }
    return StorageFailure("allowing re-enrollment", s.error());
  }
  spdlog::info("device {} may enroll again (allowed by {})", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"device_id", id}, {"reenroll_allowed", true}});
}

HttpResponse SocService::ListConflicts(Call& call) {
  const auto all = NonEmptyQuery(call.request, "all");
  auto conflicts = storage_.ListEnrollmentConflicts(all && *all != "0" && *all != "false");
  if (!conflicts.ok()) {
    return StorageFailure("listing enrollment conflicts", conflicts.error());
  }
  json list = json::array();
  for (const auto& c : *conflicts) {
    list.push_back({{"id", c.id},
                    {"time", FormatRfc3339(c.time)},
                    {"device_id", c.device_id},
                    {"hostname", c.hostname},
                    {"machine_id", c.machine_id},
                    {"group", c.group},
                    {"source", c.source},
                    {"resolved_at", OptionalTime(c.resolved_at)},
                    {"resolved_by", c.resolved_by}});
  }
  return HttpResponse::Json(200, {{"conflicts", std::move(list)}});
}

HttpResponse SocService::ResolveConflict(Call& call) {
  const std::string& text = call.params.at(0);
  call.audit_target = "conflict " + Clip(text, 32);
  int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) {
    return Fail(404, "not_found", "no such conflict");
  }
  if (auto s = storage_.ResolveEnrollmentConflict(id, call.operator_token->name, call.now);
      !s.ok()) {
    switch (s.error().code) {
      case ErrorCode::kNotFound:
        return Fail(404, "not_found", "no such conflict");
      case ErrorCode::kConflict:
        return Fail(409, "conflict", s.error().message);
      default:
        return StorageFailure("resolving a conflict", s.error());
    }
  }
  spdlog::info("enrollment conflict {} resolved by {}", id, call.operator_token->name);
  return HttpResponse::Json(200, {{"id", id}, {"resolved_by", call.operator_token->name}});
}

}  // namespace cg::soc

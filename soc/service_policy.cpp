// Policy distribution and status (operator port), with the shared "no hub" answer.
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

HttpResponse NoHub() {
  return Fail(503, "unavailable", "policy distribution is not running on this SOC");
}

HttpResponse SocService::PushPolicy(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  const auto envelope = body->find("envelope");
  if (envelope == body->end() || !envelope->is_object()) {
    return InvalidRequest("'envelope' must be the signed policy envelope (cgctl policy sign)");
  }
  std::string scope;
  if (auto group = body->find("group"); group != body->end() && !group->is_null()) {
    auto value = StringField(*body, "group", kMaxGroupBytes + 1, false);
    if (!value.ok()) {
      return InvalidRequest(value.error().message);
    }
    scope = *value;
    if (scope.back() == '/') {
      scope.pop_back();
    }
    if (!IsValidGroupName(scope)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
  }
  auto outcome = hub_->Push(*envelope, scope, call.operator_token->name);
  if (auto* refused = std::get_if<PushRefusal>(&outcome)) {
    call.audit_target = "policy (refused)";
    spdlog::warn("policy push by {} refused: {}", call.operator_token->name, refused->message);
    return Fail(refused->status, refused->code, refused->message);
  }
  const auto& pushed = std::get<PushOutcome>(outcome);
  if (!pushed.already_stored) {
    Announce(ClusterEventKind::kPolicyPushed, {});  // the agents long-polling other nodes
  }
  call.audit_target = "policy version " + std::to_string(pushed.policy.version) +
                      (scope.empty() ? "" : " group " + scope);
  return HttpResponse::Json(pushed.already_stored ? 200 : 201,
                            {{"version", pushed.policy.version},
                             {"hash", pushed.policy.hash},
                             {"key_id", pushed.policy.key_id},
                             {"scope", pushed.policy.scope},
                             {"already_stored", pushed.already_stored},
                             {"agents_woken", pushed.woken}});
}

HttpResponse SocService::ListPolicies(Call&) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  json list = json::array();
  for (const auto& p : hub_->Policies()) {
    list.push_back({{"target", p.target},
                    {"version", p.version},
                    {"hash", p.hash},
                    {"key_id", p.key_id},
                    {"name", p.name},
                    {"scope", p.scope},
                    {"pushed_by", p.pushed_by},
                    {"pushed_at", FormatRfc3339(p.pushed_at)}});
  }
  return HttpResponse::Json(200, {{"policies", std::move(list)}});
}

HttpResponse SocService::PolicyStatus(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  DeviceFilter filter;
  if (auto group = NonEmptyQuery(call.request, "group")) {
    if (group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    filter.group_prefix = *group;
  }
  auto devices = storage_.ListDevices(filter);
  if (!devices.ok()) {
    return StorageFailure("listing devices", devices.error());
  }
  // Per (version, hash) the devices whose latest report confirms it; lagging: devices that do
  // not run the set their group is served; unverified: devices whose latest report names a
  // policy the SOC never served them (not counted under that version).
  std::map<std::pair<int64_t, std::string>, int64_t> confirmed;
  std::map<std::string, std::optional<ExpectedPolicy>> expected_of;  // by group
  json lagging = json::array();
  json unverified = json::array();
  for (const auto& d : *devices) {
    if (d.revoked) {
      continue;
    }
    const SysTime stale_before = StaleBefore(d.group, call.now);
    auto [slot, fresh] = expected_of.try_emplace(d.group);
    if (fresh) {
      slot->second = hub_->ExpectedFor(d.group, call.now);
    }
    const auto& expected = slot->second;
    const json expected_version = expected ? json(expected->version) : json(0);
    if (d.policy_state == kPolicyUnverified) {
      unverified.push_back({{"device_id", d.device_id},
                            {"hostname", d.hostname},
                            {"group", d.group},
                            {"policy_version", d.policy_version},
                            {"policy_hash", d.policy_hash},
                            {"expected_version", expected_version},
                            {"last_seen", OptionalTime(d.last_seen)}});
      continue;
    }
    ++confirmed[{d.policy_version, d.policy_hash}];
    if (expected && (d.policy_version != expected->version || d.policy_hash != expected->hash)) {
      lagging.push_back({{"device_id", d.device_id},
                         {"hostname", d.hostname},
                         {"group", d.group},
                         {"policy_version", d.policy_version},
                         {"expected_version", expected->version},
                         {"expected_hash", expected->hash},
                         {"status", protocol::ToString(EffectiveStatus(d, stale_before))},
                         {"last_seen", OptionalTime(d.last_seen)}});
    }
  }
  // The layers of every set some group is served, so a set's hash can be read.
  std::map<std::string, json> layers_of;
  for (const auto& [group, expected] : expected_of) {
    if (expected) {
      json layers = json::array();
      for (const auto& l : expected->layers) {
        layers.push_back({{"target", l.target}, {"version", l.version}, {"hash", l.hash}});
      }
      layers_of[expected->hash] = std::move(layers);
    }
  }
  json versions = json::array();
  for (auto it = confirmed.rbegin(); it != confirmed.rend(); ++it) {
    json v = {{"version", it->first.first}, {"hash", it->first.second}, {"devices", it->second}};
    if (auto l = layers_of.find(it->first.second); l != layers_of.end()) {
      v["layers"] = l->second;
    }
    versions.push_back(std::move(v));
  }
  return HttpResponse::Json(200, {{"versions", std::move(versions)},
                                  {"lagging", std::move(lagging)},
                                  {"unverified", std::move(unverified)}});
}

// The merged policy a device or a group runs, with the layer each value comes from.
HttpResponse SocService::EffectivePolicy(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto device_id = NonEmptyQuery(call.request, "device");
  auto group = NonEmptyQuery(call.request, "group");
  if (device_id.has_value() == group.has_value()) {
    return InvalidRequest("give either device=ID or group=G");
  }
  json answer = json::object();
  if (device_id) {
    call.audit_target = Clip(*device_id, 64);
    if (!IsUuid(*device_id)) {
      return Fail(404, "not_found", "no such device");
    }
    auto device = storage_.GetDevice(*device_id);
    if (!device.ok()) {
      if (device.error().code == ErrorCode::kNotFound) {
        return Fail(404, "not_found", "no such device");
      }
      return StorageFailure("reading a device", device.error());
    }
    group = device->group;
    answer["device"] = {{"device_id", device->device_id},
                        {"hostname", device->hostname},
                        {"policy_version", device->policy_version},
                        {"policy_hash", device->policy_hash},
                        {"policy_state", device->policy_state}};
  } else {
    if (group->back() == '/') {
      group->pop_back();
    }
    if (!IsValidGroupName(*group)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    call.audit_target = "group " + *group;
  }
  auto merged = hub_->EffectiveFor(*group, call.now);
  if (!merged.ok()) {
    return StorageFailure("merging policy layers", merged.error());
  }
  json layers = json::array();
  if (auto expected = hub_->ExpectedFor(*group, call.now)) {
    for (const auto& l : expected->layers) {
      layers.push_back({{"target", l.target},
                        {"version", l.version},
                        {"hash", l.hash},
                        {"name", l.name},
                        {"key_id", l.key_id}});
    }
  }
  // Every value of the merged document (defaults included) and where it comes from.
  json origin = json::object();
  const json& doc = merged->policy.document;
  auto from = [&](const std::string& path) {
    auto it = merged->origin.find(path);
    return it == merged->origin.end() ? std::string("built-in") : it->second;
  };
  for (auto check = doc["checks"].begin(); check != doc["checks"].end(); ++check) {
    for (auto v = check->begin(); v != check->end(); ++v) {
      const std::string path = "checks." + check.key() + "." + v.key();
      origin[path] = from(path);
    }
  }
  if (auto r = doc.find("reporting"); r != doc.end()) {
    for (auto v = r->begin(); v != r->end(); ++v) {
      origin["reporting." + v.key()] = from("reporting." + v.key());
    }
  }
  origin["name"] = from("name");
  answer["group"] = *group;
  answer["version"] = merged->policy.version;
  answer["hash"] = merged->hash;
  answer["layers"] = std::move(layers);
  answer["policy"] = doc;
  answer["origin"] = std::move(origin);
  return HttpResponse::Json(200, answer);
}

}  // namespace cg::soc

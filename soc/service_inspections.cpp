// Ad-hoc inspections (operator port).
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
#include "protocol/fleet_api.h"
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
namespace api = protocol::api;

namespace {

json TaskJson(const Task& task) {
  return {{"task_id", task.id},
          {"kind", task.kind},
          {"yara", task.yara},
          {"target", task.target},
          {"created_by", task.created_by},
          {"created_at", FormatRfc3339(task.created_at)},
          {"expires_at", FormatRfc3339(task.expires_at)}};
}

constexpr int64_t kDefaultTaskTtlSeconds = 24 * 3600;
constexpr int64_t kMaxTaskTtlSeconds = 30 * 24 * 3600;
constexpr int64_t kDefaultTaskListLimit = 20;
constexpr int64_t kMaxTaskListLimit = 1000;

}  // namespace

HttpResponse SocService::CreateInspection(Call& call) {
  if (hub_ == nullptr) {
    return NoHub();
  }
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  const bool by_device = body->contains("device_id") && !(*body)["device_id"].is_null();
  const bool by_group = body->contains("group") && !(*body)["group"].is_null();
  if (by_device == by_group) {
    return InvalidRequest("give either 'device_id' or 'group'");
  }
  bool yara = false;
  if (auto it = body->find("yara"); it != body->end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return InvalidRequest("'yara' must be a boolean");
    }
    yara = it->get<bool>();
  }
  auto ttl = IntField(*body, "ttl_seconds", kDefaultTaskTtlSeconds, 60, kMaxTaskTtlSeconds);
  if (!ttl.ok()) {
    return InvalidRequest(ttl.error().message);
  }
  Task task;
  task.id = NewUuid();
  task.yara = yara;
  task.created_by = call.operator_token->name;
  task.created_at = call.now;
  task.expires_at = call.now + std::chrono::seconds(*ttl);
  std::vector<std::string> device_ids;
  if (by_device) {
    auto id = StringField(*body, "device_id", 36, false);
    if (!id.ok()) {
      return InvalidRequest(id.error().message);
    }
    call.audit_target = *id;
    auto device = IsUuid(*id) ? storage_.GetDevice(*id)
                              : Result<Device>(MakeError(ErrorCode::kNotFound, "no such device"));
    if (!device.ok()) {
      return device.error().code == ErrorCode::kNotFound
                 ? Fail(404, "not_found", "no such device")
                 : StorageFailure("looking up a device", device.error());
    }
    if (device->revoked) {
      return Fail(409, "revoked", "device " + *id + " is revoked");
    }
    task.target = "device " + *id;
    device_ids.push_back(*id);
  } else {
    auto group = StringField(*body, "group", kMaxGroupBytes + 1, false);
    if (!group.ok()) {
      return InvalidRequest(group.error().message);
    }
    std::string g = *group;
    if (g.back() == '/') {
      g.pop_back();
    }
    if (!IsValidGroupName(g)) {
      return InvalidRequest("group must be segments of a-z 0-9 - _ separated by '/'");
    }
    call.audit_target = "group " + g;
    DeviceFilter filter;
    filter.group_prefix = g;
    auto devices = storage_.ListDevices(filter);
    if (!devices.ok()) {
      return StorageFailure("listing devices", devices.error());
    }
    for (const auto& d : *devices) {
      if (!d.revoked) {
        device_ids.push_back(d.device_id);
      }
    }
    if (device_ids.empty()) {
      return Fail(404, "not_found", "no enrolled device in group " + g);
    }
    task.target = "group " + g;
  }
  if (auto created = storage_.CreateTask(task, device_ids); !created.ok()) {
    return StorageFailure("creating a task", created.error());
  }
  call.audit_target = "inspection " + task.id + " " + task.target;
  spdlog::info("inspection {} of {} ({} devices{}) requested by {}", task.id, task.target,
               device_ids.size(), task.yara ? ", with a YARA scan" : "", task.created_by);
  hub_->WakeDevices(device_ids);
  Announce(ClusterEventKind::kTasksCreated, device_ids);
  json j = TaskJson(task);
  j["devices"] = device_ids.size();
  return HttpResponse::Json(201, j);
}

HttpResponse SocService::ListInspections(Call& call) {
  auto limit = LimitQuery(call.request, kDefaultTaskListLimit, kMaxTaskListLimit);
  if (!limit.ok()) {
    return InvalidRequest(limit.error().message);
  }
  auto tasks = storage_.ListTasks(*limit);
  if (!tasks.ok()) {
    return StorageFailure("listing tasks", tasks.error());
  }
  json list = json::array();
  for (const auto& task : *tasks) {
    auto detail = storage_.GetTask(task.id);
    if (!detail.ok()) {
      return StorageFailure("reading task " + task.id, detail.error());
    }
    json j = TaskJson(task);
    std::map<std::string, int64_t> counts = {{"pending", 0}, {"delivered", 0}, {"done", 0}};
    for (const auto& a : detail->second) {
      ++counts[a.state];
    }
    j["devices"] = detail->second.size();
    j["pending"] = counts["pending"];
    j["delivered"] = counts["delivered"];
    j["done"] = counts["done"];
    list.push_back(std::move(j));
  }
  return HttpResponse::Json(200, {{"inspections", std::move(list)}});
}

HttpResponse SocService::GetInspection(Call& call) {
  const std::string& id = call.params.at(0);
  call.audit_target = "inspection " + id;
  if (!IsUuid(id)) {
    return Fail(404, "not_found", "no such inspection");
  }
  auto detail = storage_.GetTask(id);
  if (!detail.ok()) {
    return detail.error().code == ErrorCode::kNotFound
               ? Fail(404, "not_found", "no such inspection")
               : StorageFailure("reading task " + id, detail.error());
  }
  json j = TaskJson(detail->first);
  json devices = json::array();
  for (const auto& a : detail->second) {
    devices.push_back(
        {{"device_id", a.device_id},
         {"hostname", a.hostname},
         {"state", a.state},
         {"delivered_at", OptionalTime(a.delivered_at)},
         {"done_at", OptionalTime(a.done_at)},
         {"report_id", a.report_id},
         // What the answering report found (issue 15), null until it arrives.
         {api::inspection_field::kResult,
          a.report_status ? json(protocol::ToString(*a.report_status)) : json(nullptr)},
         {api::inspection_field::kFailingChecks, a.failing_checks}});
  }
  j["devices"] = std::move(devices);
  return HttpResponse::Json(200, j);
}

}  // namespace cg::soc

// Groups and their display names on the operator port (issue 16): analysts read them, admins
// set and clear them; every change is in the audit log with the name it set.
#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/group_api.h"
#include "protocol/http.h"
#include "soc/display_name.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpResponse;
namespace field = protocol::group_api;

HttpResponse SocService::ListGroups(Call& /*call*/) {
  auto groups = storage_.ListDeviceGroups();
  if (!groups.ok()) {
    return StorageFailure("listing groups", groups.error());
  }
  auto names = storage_.ListGroupDisplayNames();
  if (!names.ok()) {
    return StorageFailure("listing group display names", names.error());
  }
  // Every group with a device or a name, sorted by slug.
  std::map<std::string, json> rows;
  for (const std::string& group : *groups) {
    rows[group] = {{field::kGroup, group},
                   {field::kDisplayName, nullptr},
                   {field::kSetBy, nullptr},
                   {field::kSetAt, nullptr},
                   {field::kHasDevices, true}};
  }
  for (const GroupDisplayName& name : *names) {
    json& row = rows[name.group];
    if (row.is_null()) {
      row = {{field::kGroup, name.group}, {field::kHasDevices, false}};
    }
    row[field::kDisplayName] = name.display_name;
    row[field::kSetBy] = name.set_by;
    row[field::kSetAt] = FormatRfc3339(name.set_at);
  }
  json list = json::array();
  for (auto& [group, row] : rows) {
    list.push_back(std::move(row));
  }
  return HttpResponse::Json(200, {{field::kGroups, std::move(list)}});
}

HttpResponse SocService::SetGroupName(Call& call) {
  auto body = ParseJsonBody(call.request.body);
  if (!body.ok()) {
    return InvalidRequest(body.error().message);
  }
  for (const auto& [key, value] : body->items()) {
    if (key != field::kGroup && key != field::kDisplayName) {
      return InvalidRequest("unknown field '" + Clip(key, 64) + "' (expected '" + field::kGroup +
                            "' and '" + field::kDisplayName + "')");
    }
  }
  auto group = StringField(*body, field::kGroup, kMaxGroupBytes, /*allow_empty=*/false);
  if (!group.ok()) {
    return InvalidRequest(group.error().message);
  }
  if (!IsValidGroupName(*group)) {
    return InvalidRequest(
        "'group' must be a group slug: segments of a-z 0-9 '-' '_' separated by '/' "
        "(laocai/bac-ha)");
  }
  call.audit_target = "group " + *group;
  const auto it = body->find(field::kDisplayName);
  if (it == body->end()) {
    return InvalidRequest(std::string("'") + field::kDisplayName +
                          "' is missing (a name, or null to clear it)");
  }
  if (!it->is_null() && !it->is_string()) {
    return InvalidRequest(std::string("'") + field::kDisplayName + "' must be a string or null");
  }
  const std::string& setter = call.operator_token->name;
  if (it->is_null() || it->get_ref<const std::string&>().empty()) {
    auto cleared = storage_.ClearGroupDisplayName(*group);
    if (!cleared.ok()) {
      return StorageFailure("clearing a group display name", cleared.error());
    }
    call.audit_target += *cleared ? " display name cleared" : " display name cleared (had none)";
    if (*cleared) {
      spdlog::info("group {}: display name cleared by {}", *group, setter);
    }
    return HttpResponse::Json(
        200,
        {{field::kGroup, *group}, {field::kDisplayName, nullptr}, {field::kCleared, *cleared}});
  }
  auto name = NormalizeDisplayName(it->get_ref<const std::string&>());
  if (!name.ok()) {
    return InvalidRequest(name.error().message);
  }
  const GroupDisplayName record{*group, *name, setter, call.now};
  if (auto s = storage_.SetGroupDisplayName(record); !s.ok()) {
    return StorageFailure("setting a group display name", s.error());
  }
  call.audit_target += " display name \"" + *name + "\"";
  spdlog::info("group {}: display name set to \"{}\" by {}", *group, *name, setter);
  return HttpResponse::Json(200, {{field::kGroup, record.group},
                                  {field::kDisplayName, record.display_name},
                                  {field::kSetBy, record.set_by},
                                  {field::kSetAt, FormatRfc3339(record.set_at)}});
}

}  // namespace cg::soc

// cgctl's group commands (groups.h).
#include "cgctl/groups.h"

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "cgctl/cgctl.h"
#include "cgctl/views.h"
#include "protocol/api_paths.h"
#include "protocol/group_api.h"

namespace cg::cgctl {

using nlohmann::json;
namespace api = cg::protocol::api;
namespace field = cg::protocol::group_api;

namespace {

Table GroupsTable(const json& answer) {
  Table t({"GROUP", "DISPLAY NAME", "DEVICES", "NAMED BY", "NAMED AT"});
  const auto it = answer.find(field::kGroups);
  if (it == answer.end() || !it->is_array()) {
    return t;
  }
  for (const auto& g : *it) {
    t.AddRow({Cell(g, field::kGroup), Cell(g, field::kDisplayName),
              g.value(field::kHasDevices, false) ? "yes" : "none yet", Cell(g, field::kSetBy),
              Cell(g, field::kSetAt)});
  }
  return t;
}

}  // namespace

void GroupCommands::Register(CLI::App& app, Globals& g) {
  g_ = &g;
  list_ = app.add_subcommand("groups", "Groups with their display names");
  auto* group = app.add_subcommand("group", "A group's display name (admin)");
  group->require_subcommand(1);
  name_ = group->add_subcommand(
      "name", "Set the display name shown next to a group's slug, e.g. \"Xã Bắc Hà\" (admin)");
  name_->add_option("group", group_, "the group's slug (laocai/bac-ha)")->required();
  auto* text = name_->add_option("display_name", display_name_, "the name, in Vietnamese");
  auto* clear = name_->add_flag("--clear", clear_, "remove the display name");
  text->excludes(clear);
}

bool GroupCommands::PrintsTable() const { return list_ != nullptr && *list_; }

std::optional<int> GroupCommands::RunIfChosen() {
  if (*list_) {
    return List();
  }
  if (*name_) {
    return SetName();
  }
  return std::nullopt;
}

int GroupCommands::List() {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  auto r = client->Call("GET", std::string(api::kGroups));
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  Emit(GroupsTable(*r), *r, g_->json ? Format::kJson : g_->csv ? Format::kCsv : Format::kText);
  return 0;
}

int GroupCommands::SetName() {
  if (!clear_ && display_name_.empty()) {
    return Fail("group name: give the display name, or --clear to remove it");
  }
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  const json body = {{field::kGroup, group_},
                     {field::kDisplayName, clear_ ? json(nullptr) : json(display_name_)}};
  auto r = client->Call("POST", std::string(api::kGroupNames), body);
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  if (g_->json) {
    std::cout << r->dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) << "\n";
  } else if (clear_) {
    std::printf("group %s: display name %s\n", E(group_).c_str(),
                r->value(field::kCleared, false) ? "removed" : "was not set");
  } else {
    std::printf("group %s: %s (%s)\n", E(group_).c_str(), S(*r, field::kDisplayName).c_str(),
                E(group_).c_str());
  }
  return 0;
}

}  // namespace cg::cgctl

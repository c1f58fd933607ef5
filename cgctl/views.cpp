// The list tables of cgctl's commands (see views.h).
#include "cgctl/views.h"

#include <cstdio>
#include <utility>

namespace cg::cgctl {

using nlohmann::json;

std::string Cell(const json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return "";
  }
  return it->is_string() ? it->get<std::string>()
                         : it->dump(-1, ' ', false, json::error_handler_t::replace);
}

void Emit(const Table& table, const json& answer, Format format) {
  std::string out;
  switch (format) {
    case Format::kJson:
      out = answer.dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) + "\n";
      break;
    case Format::kCsv:
      out = table.Csv();
      break;
    case Format::kText:
      out = table.Text();
      break;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

namespace {

// A table of `list`'s objects, one column per key, headed by `headers`.
Table ListTable(const json& list, std::vector<std::string> headers,
                const std::vector<const char*>& keys) {
  Table t(std::move(headers));
  if (!list.is_array()) {
    return t;
  }
  for (const auto& item : list) {
    std::vector<std::string> row;
    for (const char* key : keys) {
      row.push_back(Cell(item, key));
    }
    t.AddRow(std::move(row));
  }
  return t;
}

// object[key], or null when `object` is no object or has no such key (never throws).
json At(const json& object, const std::string& key) {
  if (!object.is_object()) {
    return nullptr;
  }
  auto it = object.find(key);
  return it == object.end() ? json(nullptr) : *it;
}

json Items(const json& answer, const char* key) {
  json items = At(answer, key);
  return items.is_array() ? items : json::array();
}

std::string OrEvery(const std::string& target, const char* empty) {
  return target.empty() ? empty : target;
}

}  // namespace

Table PolicyVersionsTable(const json& status) {
  return ListTable(Items(status, "versions"), {"VERSION", "HASH", "DEVICES"},
                   {"version", "hash", "devices"});
}

Table PolicyLaggingTable(const json& status) {
  return ListTable(Items(status, "lagging"),
                   {"DEVICE ID", "HOSTNAME", "GROUP", "HAS", "EXPECTED", "STATUS", "LAST SEEN"},
                   {"device_id", "hostname", "group", "policy_version", "expected_version",
                    "status", "last_seen"});
}

Table PolicyUnverifiedTable(const json& status) {
  return ListTable(
      Items(status, "unverified"),
      {"DEVICE ID", "HOSTNAME", "GROUP", "CLAIMS", "CLAIMED HASH", "EXPECTED", "LAST SEEN"},
      {"device_id", "hostname", "group", "policy_version", "policy_hash", "expected_version",
       "last_seen"});
}

Table PolicyStatusCsvTable(const json& status) {
  Table t({"kind", "version", "hash", "devices", "device_id", "hostname", "group", "policy_version",
           "expected_version", "status", "last_seen"});
  for (const auto& v : Items(status, "versions")) {
    t.AddRow({"version", Cell(v, "version"), Cell(v, "hash"), Cell(v, "devices")});
  }
  for (const char* kind : {"lagging", "unverified"}) {
    for (const auto& d : Items(status, kind)) {
      t.AddRow({kind, "", Cell(d, "policy_hash"), "", Cell(d, "device_id"), Cell(d, "hostname"),
                Cell(d, "group"), Cell(d, "policy_version"), Cell(d, "expected_version"),
                Cell(d, "status"), Cell(d, "last_seen")});
    }
  }
  return t;
}

Table PolicyListTable(const json& answer) {
  Table t({"TARGET", "VERSION", "NAME", "KEY", "SCOPE", "PUSHED BY", "PUSHED AT"});
  for (const auto& p : Items(answer, "policies")) {
    t.AddRow({OrEvery(Cell(p, "target"), "(every group)"), Cell(p, "version"), Cell(p, "name"),
              Cell(p, "key_id"), OrEvery(Cell(p, "scope"), "(signed target)"), Cell(p, "pushed_by"),
              Cell(p, "pushed_at")});
  }
  return t;
}

Table PolicySettingsTable(const json& effective) {
  Table t({"SETTING", "VALUE", "FROM"});
  if (!effective.is_object()) {
    return t;
  }
  const json policy = At(effective, "policy");
  const json origins = At(effective, "origin");
  if (!origins.is_object()) {
    return t;
  }
  for (const auto& [path, from] : origins.items()) {
    // path is "checks.<id>.<key>", "reporting.<key>" or "name".
    json value = nullptr;
    const auto first = path.find('.');
    const auto second = path.find('.', first == std::string::npos ? first : first + 1);
    if (path.starts_with("checks.") && second != std::string::npos) {
      value = At(At(At(policy, "checks"), path.substr(first + 1, second - first - 1)),
                 path.substr(second + 1));
    } else if (path.starts_with("reporting.")) {
      value = At(At(policy, "reporting"), path.substr(first + 1));
    } else {
      value = At(policy, path);
    }
    const std::string text = value.is_string()
                                 ? value.get<std::string>()
                                 : value.dump(-1, ' ', false, json::error_handler_t::replace);
    t.AddRow({path, text,
              OrEvery(from.is_string() ? from.get<std::string>() : from.dump(), "(every group)")});
  }
  return t;
}

Table InspectionsTable(const json& answer) {
  Table t({"INSPECTION", "TARGET", "YARA", "ASKED AT", "DEVICES", "DELIVERED", "DONE"});
  for (const auto& i : Items(answer, "inspections")) {
    t.AddRow({Cell(i, "task_id"), Cell(i, "target"), At(i, "yara") == true ? "yes" : "no",
              Cell(i, "created_at"), Cell(i, "devices"), Cell(i, "delivered"), Cell(i, "done")});
  }
  return t;
}

Table EnrollTokensTable(const json& answer) {
  Table t({"ID", "GROUP", "STATE", "USES", "EXPIRES", "CREATED BY"});
  for (const auto& k : Items(answer, "enroll_tokens")) {
    t.AddRow({Cell(k, "id"), Cell(k, "group"), Cell(k, "state"),
              Cell(k, "uses") + "/" + Cell(k, "uses_allowed"), Cell(k, "expires_at"),
              Cell(k, "created_by")});
  }
  return t;
}

Table OperatorTokensTable(const json& answer) {
  return ListTable(
      Items(answer, "operator_tokens"),
      {"ID", "NAME", "ACCOUNT", "ROLE", "STATE", "EXPIRES", "LAST USED", "CREATED"},
      {"id", "name", "account", "role", "state", "expires_at", "last_used_at", "created_at"});
}

Table ConflictsTable(const json& answer) {
  Table t({"ID", "TIME", "DEVICE ID", "HOSTNAME", "GROUP", "SOURCE", "RESOLVED"});
  for (const auto& c : Items(answer, "conflicts")) {
    std::string resolved = Cell(c, "resolved_at");
    if (!resolved.empty() && !Cell(c, "resolved_by").empty()) {
      resolved += " by " + Cell(c, "resolved_by");
    }
    t.AddRow({Cell(c, "id"), Cell(c, "time"), Cell(c, "device_id"), Cell(c, "hostname"),
              Cell(c, "group"), Cell(c, "source"), resolved});
  }
  return t;
}

Table ExportSinksTable(const json& answer) {
  return ListTable(Items(answer, "sinks"),
                   {"SINK", "BACKLOG", "OLDEST PENDING", "DELIVERED SEQ", "LAST DELIVERY"},
                   {"sink", "pending", "oldest_pending", "delivered_seq", "delivered_at"});
}

Table AccountsTable(const json& answer) {
  Table t({"NAME", "DISPLAY NAME", "ROLE", "STATE", "TOTP", "SESSIONS", "LAST LOGIN", "TOKENS"});
  for (const auto& a : Items(answer, "accounts")) {
    std::string tokens;
    for (const auto& k : Items(a, "tokens")) {
      tokens += (tokens.empty() ? "" : ", ") + Cell(k, "name") + " (" + Cell(k, "role") + ", " +
                Cell(k, "state") + ")";
    }
    t.AddRow({Cell(a, "name"), Cell(a, "display_name"), Cell(a, "role"), Cell(a, "state"),
              At(a, "totp") == true ? "yes" : "no", Cell(a, "sessions"), Cell(a, "last_login_at"),
              tokens});
  }
  return t;
}

Table AuditTable(const json& answer) {
  return ListTable(Items(answer, "entries"),
                   {"TIME", "ACTOR", "ROLE", "KIND", "ACTION", "RESULT", "SOURCE", "TARGET"},
                   {"time", "actor", "role", "kind", "action", "result", "source", "target"});
}

Table ReportRecordsTable(const json& answer) {
  Table t({"ID", "KIND", "GROUP", "FROM", "TO", "FORMAT", "LANG", "GENERATED BY", "GENERATED AT",
           "DIGEST"});
  for (const auto& r : Items(answer, "reports")) {
    const json p = At(r, "parameters");
    t.AddRow({Cell(r, "id"), Cell(r, "kind"), Cell(p, "group"), Cell(p, "from"), Cell(p, "to"),
              Cell(p, "format"), Cell(p, "lang"), Cell(r, "generated_by"), Cell(r, "generated_at"),
              Cell(r, "digest")});
  }
  return t;
}

Table FieldsTable(const json& object, const std::vector<std::string>& keys) {
  Table t(keys);
  std::vector<std::string> row;
  for (const auto& key : keys) {
    row.push_back(Cell(object, key.c_str()));
  }
  t.AddRow(std::move(row));
  return t;
}

}  // namespace cg::cgctl

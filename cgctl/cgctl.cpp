// cgctl: the operator CLI for SOC analysts and admins, over the operator API.
#include "cgctl/cgctl.h"

#include <CLI/CLI.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cgctl/accounts.h"
#include "cgctl/api.h"
#include "cgctl/groups.h"
#include "cgctl/history_report.h"
#include "cgctl/query.h"
#include "cgctl/views.h"
#include "common/cli.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "platform/os/private_files.h"
#include "policy/signing.h"
#include "protocol/api_paths.h"
#include "protocol/https_client.h"
#include "soc/escape.h"

namespace cg::cgctl {

using nlohmann::json;
namespace api = cg::protocol::api;

namespace {

// printf into `out`.
__attribute__((format(printf, 2, 3))) void Appendf(std::string& out, const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (n > 0) {
    const size_t at = out.size();
    out.resize(at + static_cast<size_t>(n) + 1);
    std::vsnprintf(out.data() + at, static_cast<size_t>(n) + 1, format, again);
    out.resize(at + static_cast<size_t>(n));
  }
  va_end(again);
}

}  // namespace

// Every text cgctl prints comes from here or from E(): what the SOC stores came from agents,
// so control characters are shown as escapes and can never drive the terminal.
std::string E(std::string_view text) { return cg::soc::EscapeControlCharacters(text); }

std::string S(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return "-";
  }
  return E(it->is_string() ? it->get<std::string>()
                           : it->dump(-1, ' ', false, json::error_handler_t::replace));
}

// The enrolled host name, and the one the latest report gave when it differs.
std::string Hostname(const json& d) {
  const std::string reported = S(d, "reported_hostname");
  const std::string enrolled = S(d, "hostname");
  if (reported == "-" || reported.empty() || reported == enrolled) {
    return enrolled;
  }
  return enrolled + " (reports " + reported + ")";
}

std::string FormatDevices(const json& devices) { return DevicesTable(devices).Text(); }

std::string FormatDevice(const json& j) {
  std::string out;
  const json& d = j.at("device");
  Appendf(out,
          "device:     %s\nhostname:   %s\ngroup:      %s\nstatus:     %s\n"
          "last seen:  %s\nenrolled:   %s\npolicy:     %s\n",
          S(d, "device_id").c_str(), S(d, "hostname").c_str(), S(d, "group").c_str(),
          (S(d, "status") + (d.value("stale", false) ? " (stale: not heard from in time)" : "") +
           (d.value("revoked", false) ? " (revoked)" : ""))
              .c_str(),
          S(d, "last_seen").c_str(), S(d, "enrolled_at").c_str(), S(d, "policy_version").c_str());
  if (Hostname(d) != S(d, "hostname")) {
    Appendf(out, "reported:   %s (the latest report's host name differs from the enrolled one)\n",
            S(d, "reported_hostname").c_str());
  }
  if (d.value("clock_skew", false)) {
    Appendf(out,
            "clock:      WRONG - the latest report was dated %s s ahead of the SOC's clock "
            "(reports are ordered by arrival)\n",
            S(d, "clock_skew_seconds").c_str());
  }
  if (d.contains("policy_state")) {
    Appendf(out, "policy set: %s (%s)\n", S(d, "policy_hash").c_str(),
            S(d, "policy_state").c_str());
  }
  Appendf(out, "cert:       %s until %s\n", S(d, "cert_serial").c_str(),
          S(d, "cert_not_after").c_str());
  if (d.contains("renewed_cert_serial")) {
    Appendf(out, "renewed:    %s until %s (not used by the device yet)\n",
            S(d, "renewed_cert_serial").c_str(), S(d, "renewed_cert_not_after").c_str());
  }
  if (d.value("reenroll_allowed", false)) {
    Appendf(out, "re-enroll:  allowed (its machine's next enrollment renews this device)\n");
  }
  const json& r = j.value("latest_report", json(nullptr));
  if (r.is_null()) {
    Appendf(out, "\nno report yet\n");
    return out;
  }
  Appendf(out, "report:     %s collected %s\nos:         %s %s\n\n", S(r, "report_id").c_str(),
          S(r, "collected_at").c_str(), S(r.value("os", json::object()), "name").c_str(),
          S(r.value("os", json::object()), "version").c_str());
  // Current results with their evidence: what the policy expects and what the agent observed.
  out += ChecksTable(r.value("checks", json::array())).Text();
  return out;
}

namespace {

// The option values of every command, bound by Run, and one function per command.
struct Commands {
  Globals g;
  DevicesOptions devices;
  std::string summary_group;
  std::string report_id;
  std::string device_id;
  std::string revoke_id;
  std::string reenroll_id;
  bool conflicts_all = false;
  std::string conflict_id;
  std::string token_group, token_ttl = "24h";
  int token_uses = 1;
  std::string token_revoke_id;
  std::string op_name, op_role, op_ttl, op_revoke_id, op_account;
  std::string keygen_prefix, sign_key, sign_file, passphrase_file;
  std::string push_file, push_group, status_group;
  std::string effective_device, effective_group;
  std::string inspect_device, inspect_group, inspect_task;
  bool inspect_yara = false;
  Api* api = nullptr;  // online commands

  // Prints a call's answer as JSON (--json) or with `human`; a failed call is reported.
  template <typename F>
  int out(const cg::Result<json>& r, F&& human) {
    if (!r.ok()) {
      return Fail(r.error().message);
    }
    if (g.json) {
      std::cout << r->dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) << "\n";
    } else {
      human(*r);
    }
    return 0;
  }

  // Prints a call's answer as JSON (--json), as the CSV of `table` (--csv) or with `human`.
  template <typename T, typename F>
  int show(const cg::Result<json>& r, T&& table, F&& human) {
    if (!r.ok()) {
      return Fail(r.error().message);
    }
    if (g.json) {
      Emit(Table({}), *r, format());  // the answer as it is: no table is built for JSON
    } else if (g.csv) {
      Emit(table(*r), *r, format());
    } else {
      human(*r);
    }
    return 0;
  }

  int PolicyKeygenOrSign(bool keygen_cmd, bool sign_cmd) {
    std::string passphrase;
    if (sign_cmd) {
      if (auto s = cg::CheckPrivateFile(sign_key, "the policy signing key"); !s.ok()) {
        return Fail(s.error().message);
      }
    }
    if (!passphrase_file.empty()) {
      if (auto s = cg::CheckPrivateFile(passphrase_file, "the passphrase file"); !s.ok()) {
        return Fail(s.error().message);
      }
      auto p = cg::ReadFileToString(passphrase_file, 4096);
      if (!p.ok()) {
        return Fail(p.error().message);
      }
      passphrase = *p;
      while (!passphrase.empty() && (passphrase.back() == '\n' || passphrase.back() == '\r')) {
        passphrase.pop_back();
      }
    }
    if (keygen_cmd) {
      auto pair = cg::policy::GenerateSigningKey(passphrase);
      if (!pair.ok()) {
        return Fail(pair.error().message);
      }
      if (cg::FileExists(keygen_prefix + ".key")) {
        return Fail(keygen_prefix + ".key exists; refusing to overwrite a signing key");
      }
      if (auto s = cg::WriteFileAtomic(keygen_prefix + ".key", pair->private_pem, 0600); !s.ok()) {
        return Fail(s.error().message);
      }
      if (auto s = cg::WriteFileAtomic(keygen_prefix + ".pub", pair->public_pem, 0644); !s.ok()) {
        return Fail(s.error().message);
      }
      if (g.json) {
        std::cout << json{{"key_id", pair->key_id},
                          {"private_key", keygen_prefix + ".key"},
                          {"public_key", keygen_prefix + ".pub"}}
                         .dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace)
                  << "\n";
      } else {
        std::cout << "key id " << pair->key_id << ": private key " << keygen_prefix
                  << ".key (0600, keep it offline), public key " << keygen_prefix << ".pub\n";
      }
      return 0;
    }
    auto key = cg::ReadFileToString(sign_key, 64u << 10);
    auto doc_text = cg::ReadFileToString(sign_file, 4u << 20);
    if (!key.ok() || !doc_text.ok()) {
      return Fail((key.ok() ? doc_text.error() : key.error()).message);
    }
    const json doc = json::parse(*doc_text, nullptr, false);
    if (doc.is_discarded()) {
      return Fail(sign_file + ": not valid JSON");
    }
    auto envelope = cg::policy::SignPolicy(doc, *key, passphrase);
    if (!envelope.ok()) {
      return Fail(envelope.error().message);
    }
    std::cout << envelope->dump(2) << "\n";
    return 0;
  }

  Format format() const { return g.json ? Format::kJson : g.csv ? Format::kCsv : Format::kText; }
  CallFn Getter() {
    return [this](const std::string& target) { return api->Call("GET", target); };
  }

  int DeviceRevoke() {
    return out(api->Call("POST", api::PathWithId(api::kDeviceRevoke, revoke_id)),
               [&](const json&) { std::printf("device %s revoked\n", E(revoke_id).c_str()); });
  }

  int DeviceAllowReenroll() {
    return out(api->Call("POST", api::PathWithId(api::kDeviceAllowReenroll, reenroll_id)),
               [&](const json&) {
                 std::printf(
                     "device %s: its machine may enroll again, with a token for the device's "
                     "group\n",
                     E(reenroll_id).c_str());
               });
  }

  int Device() {
    if (device_id.empty()) {
      return Fail("device: give a device id (or `device revoke ID`)");
    }
    // --csv: the latest report's checks with their evidence, as `report show` gives them.
    return show(
        api->Call("GET", api::PathWithId(api::kDevice, device_id)),
        [](const json& j) {
          // A device that has not reported has "latest_report": null: no rows.
          const json report = j.value("latest_report", json(nullptr));
          return ChecksTable(report.is_object() ? report.value("checks", json::array())
                                                : json::array());
        },
        [](const json& j) { std::fputs(FormatDevice(j).c_str(), stdout); });
  }

  int EnrollTokenCreate() {
    auto ttl = cg::ParseDuration(token_ttl);
    if (!ttl.ok()) {
      return Fail(ttl.error().message);
    }
    auto r =
        api->Call("POST", std::string(api::kEnrollTokens),
                  {{"group", token_group}, {"ttl_seconds", ttl->count()}, {"uses", token_uses}});
    if (!r.ok()) {
      return Fail(r.error().message);
    }
    const json shown = {{"token", r->value("token", "")},
                        {"id", r->value("id", "")},
                        {"group", r->value("group", "")},
                        {"expires_at", r->value("expires_at", "")},
                        {"uses", r->value("uses", 0)}};
    if (g.json || g.csv) {
      Emit(FieldsTable(shown, {"token", "id", "group", "expires_at", "uses"}), shown, format());
    } else {
      std::printf("enrollment token %s for group %s, %s use(s), expires %s:\n%s\n",
                  S(*r, "id").c_str(), S(*r, "group").c_str(), S(*r, "uses").c_str(),
                  S(*r, "expires_at").c_str(), S(*r, "token").c_str());
    }
    return 0;
  }

  int PolicyPush() {
    auto text = cg::ReadFileToString(push_file, 8u << 20);
    if (!text.ok()) {
      return Fail(text.error().message);
    }
    const json envelope = json::parse(*text, nullptr, false);
    if (envelope.is_discarded() || !envelope.is_object()) {
      return Fail(push_file + ": not a signed policy envelope (JSON object)");
    }
    json body = {{"envelope", envelope}};
    if (!push_group.empty()) {
      body["group"] = push_group;
    }
    return out(api->Call("POST", std::string(api::kPolicies), body), [](const json& j) {
      if (j.value("already_stored", false)) {
        std::printf("policy version %s is already stored (hash %s)\n", S(j, "version").c_str(),
                    S(j, "hash").c_str());
        return;
      }
      std::printf(
          "policy version %s stored (hash %s, key %s, scope %s); %s waiting agent(s) "
          "notified\n",
          S(j, "version").c_str(), S(j, "hash").c_str(), S(j, "key_id").c_str(),
          S(j, "scope") == "" ? "signed target" : S(j, "scope").c_str(),
          S(j, "agents_woken").c_str());
    });
  }

  int PolicyStatus() {
    std::string q = status_group.empty() ? "" : "?group=" + cg::protocol::UrlEncode(status_group);
    return show(api->Call("GET", std::string(api::kPolicyStatus) + q), PolicyStatusCsvTable,
                [](const json& j) {
                  std::fputs(PolicyVersionsTable(j).Text().c_str(), stdout);
                  const Table lagging = PolicyLaggingTable(j);
                  std::printf("\n%zu device(s) lagging\n", lagging.rows());
                  if (lagging.rows() > 0) {
                    std::fputs(lagging.Text().c_str(), stdout);
                  }
                  const Table unverified = PolicyUnverifiedTable(j);
                  std::printf(
                      "\n%zu device(s) unverified (their last report names a policy the SOC "
                      "never served them)\n",
                      unverified.rows());
                  if (unverified.rows() > 0) {
                    std::fputs(unverified.Text().c_str(), stdout);
                  }
                });
  }

  int PolicyEffective() {
    if (effective_device.empty() == effective_group.empty()) {
      return Fail("policy effective: give --device ID or --group G");
    }
    const std::string q = effective_device.empty()
                              ? "?group=" + cg::protocol::UrlEncode(effective_group)
                              : "?device=" + cg::protocol::UrlEncode(effective_device);
    return show(
        api->Call("GET", std::string(api::kPolicyEffective) + q), PolicySettingsTable,
        [](const json& j) {
          std::printf("group:    %s\nversion:  %s\nhash:     %s\n", S(j, "group").c_str(),
                      S(j, "version").c_str(), S(j, "hash").c_str());
          if (j.contains("device")) {
            std::printf(
                "device:   %s runs version %s hash %s (%s)\n", S(j["device"], "device_id").c_str(),
                S(j["device"], "policy_version").c_str(), S(j["device"], "policy_hash").c_str(),
                S(j["device"], "policy_state") == "" ? "not judged"
                                                     : S(j["device"], "policy_state").c_str());
          }
          std::printf("layers (broadest first):\n");
          for (const auto& l : j.value("layers", json::array())) {
            std::printf("  %-24s  version %-6s  %s  %s\n",
                        S(l, "target") == "" ? "(every group)" : S(l, "target").c_str(),
                        S(l, "version").c_str(), S(l, "hash").c_str(), S(l, "name").c_str());
          }
          std::fputs(PolicySettingsTable(j).Text().c_str(), stdout);
        });
  }

  int PolicyList() {
    return show(api->Call("GET", std::string(api::kPolicies)), PolicyListTable,
                [](const json& j) { std::fputs(PolicyListTable(j).Text().c_str(), stdout); });
  }

  int InspectStatus() {
    if (!inspect_task.empty()) {
      return show(
          api->Call("GET", api::PathWithId(api::kInspection, inspect_task)),
          [](const json& j) { return InspectionTable(j.value("devices", json::array())); },
          [](const json& j) {
            std::printf("inspection %s of %s%s, asked by %s at %s\n\n", S(j, "task_id").c_str(),
                        S(j, "target").c_str(), j.value("yara", false) ? " (with YARA)" : "",
                        S(j, "created_by").c_str(), S(j, "created_at").c_str());
            // Each device's result: the answering report's status and failing checks.
            std::fputs(InspectionTable(j.value("devices", json::array())).Text().c_str(), stdout);
          });
    }
    return show(api->Call("GET", std::string(api::kInspections)), InspectionsTable,
                [](const json& j) { std::fputs(InspectionsTable(j).Text().c_str(), stdout); });
  }

  int Inspect() {
    if (inspect_device.empty() == inspect_group.empty()) {
      return Fail("inspect: give --device ID or --group G (or `inspect status`)");
    }
    json body = {{"yara", inspect_yara}};
    if (!inspect_device.empty()) {
      body["device_id"] = inspect_device;
    } else {
      body["group"] = inspect_group;
    }
    return out(api->Call("POST", std::string(api::kInspections), body), [](const json& j) {
      std::printf(
          "inspection %s of %s sent to %s device(s); follow it with `cgctl inspect status "
          "%s`\n",
          S(j, "task_id").c_str(), S(j, "target").c_str(), S(j, "devices").c_str(),
          S(j, "task_id").c_str());
    });
  }

  int EnrollTokenList() {
    return show(api->Call("GET", std::string(api::kEnrollTokens)), EnrollTokensTable,
                [](const json& j) { std::fputs(EnrollTokensTable(j).Text().c_str(), stdout); });
  }

  int EnrollTokenRevoke() {
    return out(api->Call("POST", api::PathWithId(api::kEnrollTokenRevoke, token_revoke_id)),
               [&](const json&) {
                 std::printf("enrollment token %s revoked\n", E(token_revoke_id).c_str());
               });
  }

  int OperatorList() {
    return show(api->Call("GET", std::string(api::kOperatorTokens)), OperatorTokensTable,
                [](const json& j) { std::fputs(OperatorTokensTable(j).Text().c_str(), stdout); });
  }

  int OperatorCreate() {
    json body = {{"name", op_name}, {"role", op_role}};
    if (!op_account.empty()) {
      body["account"] = op_account;
    }
    if (!op_ttl.empty()) {
      auto ttl = cg::ParseDuration(op_ttl);
      if (!ttl.ok()) {
        return Fail(ttl.error().message);
      }
      body["ttl_seconds"] = ttl->count();
    }
    auto r = api->Call("POST", std::string(api::kOperatorTokens), body);
    if (!r.ok()) {
      return Fail(r.error().message);
    }
    const json shown = {{"token", r->value("token", "")},
                        {"id", r->value("id", "")},
                        {"name", r->value("name", "")},
                        {"role", r->value("role", "")},
                        {"expires_at", r->value("expires_at", json(nullptr))}};
    if (g.json || g.csv) {
      Emit(FieldsTable(shown, {"token", "id", "name", "role", "expires_at"}), shown, format());
    } else {
      std::printf("operator token %s for %s (%s, account %s), expires %s, shown once:\n%s\n",
                  S(*r, "id").c_str(), S(*r, "name").c_str(), S(*r, "role").c_str(),
                  S(*r, "account").c_str(), S(*r, "expires_at").c_str(), S(*r, "token").c_str());
    }
    return 0;
  }

  int OperatorRevoke() {
    return out(
        api->Call("POST", api::PathWithId(api::kOperatorTokenRevoke, op_revoke_id)),
        [&](const json&) { std::printf("operator token %s revoked\n", E(op_revoke_id).c_str()); });
  }

  int ConflictResolve() {
    return out(api->Call("POST", api::PathWithId(api::kConflictResolve, conflict_id)),
               [&](const json&) { std::printf("conflict %s resolved\n", E(conflict_id).c_str()); });
  }

  int Conflicts() {
    return show(api->Call("GET", std::string(api::kConflicts) + (conflicts_all ? "?all=1" : "")),
                ConflictsTable,
                [](const json& j) { std::fputs(ConflictsTable(j).Text().c_str(), stdout); });
  }

  int ExportStatus() {
    return show(api->Call("GET", std::string(api::kExportStatus)), ExportSinksTable,
                [](const json& j) { std::fputs(FormatExportStatus(j).c_str(), stdout); });
  }
};

}  // namespace

int Run(int argc, char** argv) {
  Commands c;
  // The options below bind to the command functions' fields.
  Globals& g = c.g;
  auto& device_id = c.device_id;
  auto& revoke_id = c.revoke_id;
  auto& reenroll_id = c.reenroll_id;
  auto& conflicts_all = c.conflicts_all;
  auto& conflict_id = c.conflict_id;
  auto& token_group = c.token_group;
  auto& token_ttl = c.token_ttl;
  auto& token_uses = c.token_uses;
  auto& token_revoke_id = c.token_revoke_id;
  auto& op_name = c.op_name;
  auto& op_role = c.op_role;
  auto& op_ttl = c.op_ttl;
  auto& op_account = c.op_account;
  auto& op_revoke_id = c.op_revoke_id;
  auto& keygen_prefix = c.keygen_prefix;
  auto& sign_key = c.sign_key;
  auto& sign_file = c.sign_file;
  auto& passphrase_file = c.passphrase_file;
  auto& push_file = c.push_file;
  auto& push_group = c.push_group;
  auto& status_group = c.status_group;
  auto& effective_device = c.effective_device;
  auto& effective_group = c.effective_group;
  auto& inspect_device = c.inspect_device;
  auto& inspect_group = c.inspect_group;
  auto& inspect_task = c.inspect_task;
  auto& inspect_yara = c.inspect_yara;
  CLI::App app{"cgctl: CounterGuard operator CLI"};
  app.require_subcommand(1);
  g.server = Env("CGCTL_SERVER", g.server);
  g.token_file = Env("CGCTL_TOKEN_FILE", "");
  g.ca_file = Env("CGCTL_CA", "");
  app.add_option("--server", g.server, "operator API URL (env CGCTL_SERVER)");
  app.add_option("--token-file", g.token_file,
                 "file holding an operator token (env CGCTL_TOKEN_FILE); without it, the "
                 "session of `cgctl login`");
  app.add_option("--ca", g.ca_file, "SOC CA certificate to pin (env CGCTL_CA)");
  auto* json_flag = app.add_flag("--json", g.json, "JSON output");
  app.add_flag("--csv", g.csv,
               "CSV output (RFC 4180) of every command that lists or shows data; refused by the "
               "commands that print none")
      ->excludes(json_flag);

  // devices, summary, report show: cgctl/query.cpp.
  const QueryCommands query = AddQueryCommands(app, c.devices, c.summary_group, c.report_id);

  auto* device = app.add_subcommand("device", "Show one device and its latest checks");
  device->add_option("id", device_id, "device id");
  auto* revoke = device->add_subcommand("revoke", "Revoke a device at once (admin)");
  revoke->add_option("id", revoke_id, "device id")->required();
  auto* allow_reenroll = device->add_subcommand(
      "allow-reenroll", "Let this device's machine enroll again as the same device (admin)");
  allow_reenroll->add_option("id", reenroll_id, "device id")->required();

  auto* conflicts =
      app.add_subcommand("conflicts", "Refused re-enrollments of already enrolled machines");
  conflicts->add_flag("--all", conflicts_all, "resolved ones too");
  auto* conflict_resolve = conflicts->add_subcommand(
      "resolve", "Close a conflict after looking into it (admin; it stays in --all)");
  conflict_resolve->add_option("id", conflict_id, "conflict id (from `cgctl conflicts`)")
      ->required();

  HistoryReportCommands history_report;
  history_report.Register(app);

  auto* enroll_token = app.add_subcommand("enroll-token", "Enrollment tokens");
  enroll_token->require_subcommand(1);
  auto* token_create = enroll_token->add_subcommand("create", "Create an enrollment token");
  token_create->add_option("--group", token_group, "group the device joins, e.g. laocai/bac-ha")
      ->required();
  token_create->add_option("--ttl", token_ttl, "lifetime (default 24h)");
  token_create->add_option("--uses", token_uses, "how many enrollments (default 1)")
      ->check(CLI::Range(1, 10000));
  auto* token_list = enroll_token->add_subcommand("list", "List enrollment tokens (admin)");
  auto* token_revoke = enroll_token->add_subcommand("revoke", "Revoke an enrollment token (admin)");
  token_revoke->add_option("id", token_revoke_id, "token id (from `enroll-token list`)")
      ->required();

  auto* operator_cmd =
      app.add_subcommand("operator", "Operator tokens for machines: Prometheus, SIEM (admin)");
  operator_cmd->require_subcommand(1);
  auto* op_list = operator_cmd->add_subcommand("list", "List operator tokens");
  auto* op_create = operator_cmd->add_subcommand("create", "Create an operator token");
  op_create->add_option("--name", op_name, "who the token is for")->required();
  op_create
      ->add_option("--role", op_role,
                   "analyst, admin or metrics (GET /metrics only: for Prometheus)")
      ->required()
      ->check(CLI::IsMember({"analyst", "admin", "metrics"}));
  op_create->add_option("--ttl", op_ttl, "lifetime, e.g. 30d (default and most: 90d)");
  op_create->add_option("--account", op_account,
                        "the staff account that owns it (default: yours when logged in); "
                        "disabling the account revokes it");
  auto* op_revoke = operator_cmd->add_subcommand("revoke", "Revoke an operator token");
  op_revoke->add_option("id", op_revoke_id, "token id (from `operator list`)")->required();

  auto* policy_cmd = app.add_subcommand("policy", "Signed policy");
  policy_cmd->require_subcommand(1);
  auto* keygen = policy_cmd->add_subcommand("keygen", "Make an Ed25519 policy signing key pair");
  keygen->add_option("--out", keygen_prefix, "writes PREFIX.key (0600) and PREFIX.pub")->required();
  keygen
      ->add_option("--passphrase-file", passphrase_file,
                   "encrypt the private key with the passphrase in this file")
      ->check(CLI::ExistingFile);
  auto* sign = policy_cmd->add_subcommand("sign", "Sign a policy; the envelope goes to stdout");
  sign->add_option("--key", sign_key, "private key (PEM)")->required()->check(CLI::ExistingFile);
  sign->add_option("--passphrase-file", passphrase_file, "passphrase of an encrypted key")
      ->check(CLI::ExistingFile);
  sign->add_option("policy", sign_file, "policy document (JSON)")
      ->required()
      ->check(CLI::ExistingFile);

  auto* push = policy_cmd->add_subcommand(
      "push", "Store a signed policy on the SOC and send it to the agents (admin)");
  push->add_option("envelope", push_file, "signed envelope (cgctl policy sign's output)")
      ->required()
      ->check(CLI::ExistingFile);
  push->add_option("--group", push_group,
                   "only this group and the groups below it (within the policy's signed target)");
  auto* policy_status =
      policy_cmd->add_subcommand("status", "Which policy versions devices confirm, who lags");
  policy_status->add_option("--group", status_group, "only this group and the groups below it");
  auto* policy_list = policy_cmd->add_subcommand("list", "Policies stored on the SOC");
  auto* policy_effective = policy_cmd->add_subcommand(
      "effective", "The merged policy of a device or group and the layer of each value");
  auto* effective_device_opt =
      policy_effective->add_option("--device", effective_device, "one device id");
  auto* effective_group_opt = policy_effective->add_option("--group", effective_group, "a group");
  effective_device_opt->excludes(effective_group_opt);

  auto* inspect = app.add_subcommand(
      "inspect", "Ask devices to run their checks now and report (unannounced inspection)");
  auto* inspect_device_opt = inspect->add_option("--device", inspect_device, "one device id");
  auto* inspect_group_opt =
      inspect->add_option("--group", inspect_group, "every device of a group and its subgroups");
  inspect_device_opt->excludes(inspect_group_opt);
  inspect->add_flag("--yara", inspect_yara, "also run a full YARA scan now");
  auto* inspect_status = inspect->add_subcommand("status", "Inspections and their completion");
  inspect_status->add_option("task", inspect_task, "one inspection's id: per-device states");

  AccountCommands accounts;
  accounts.Register(app, g);
  GroupCommands groups;
  groups.Register(app, g);

  auto* export_cmd = app.add_subcommand("export", "SIEM export");
  export_cmd->require_subcommand(1);
  auto* export_status =
      export_cmd->add_subcommand("status", "Events waiting for each export sink (backlog)");

  if (auto exit_code = cg::ParseCommandLine(app, argc, argv, "cgctl")) {
    return *exit_code;
  }

  // --csv is for data: a command that prints none refuses it rather than ignore it.
  if (g.csv) {
    const bool table = *query.devices || *query.summary || *query.report_show ||
                       (*device && !*revoke && !*allow_reenroll) || history_report.PrintsTable() ||
                       *policy_status || *policy_list || *policy_effective || *inspect_status ||
                       *token_list || *token_create || *op_list || *op_create ||
                       (*conflicts && !*conflict_resolve) || *export_status ||
                       accounts.PrintsTable() || groups.PrintsTable();
    if (!table) {
      return Fail(
          "--csv: this command prints no table (`report inspection` and `report download` take "
          "--format csv)");
    }
  }

  // Offline commands: the signing key never touches the SOC.
  if (*keygen || *sign) {
    return c.PolicyKeygenOrSign(static_cast<bool>(*keygen), static_cast<bool>(*sign));
  }

  // Login, setup and the account commands connect as they need to.
  if (auto exit_code = accounts.RunIfChosen()) {
    return *exit_code;
  }
  if (auto exit_code = groups.RunIfChosen()) {
    return *exit_code;
  }

  auto api = Api::Connect(g);
  if (!api.ok()) {
    return Fail(api.error().message);
  }

  c.api = &*api;
  if (*query.devices) {
    return RunDevices(c.devices, c.Getter(), c.format());
  }
  if (*query.summary) {
    return RunSummary(c.summary_group, c.Getter(), c.format());
  }
  if (*query.report_show) {
    return RunReportShow(c.report_id, c.Getter(), c.format());
  }
  if (*revoke) {
    return c.DeviceRevoke();
  }
  if (*allow_reenroll) {
    return c.DeviceAllowReenroll();
  }
  if (*device) {
    return c.Device();
  }
  if (auto code =
          history_report.Run([&](const std::string& method,
                                 const std::string& target) { return api->Raw(method, target); },
                             g.json, g.csv)) {
    return *code;
  }
  if (*token_create) {
    return c.EnrollTokenCreate();
  }
  if (*push) {
    return c.PolicyPush();
  }
  if (*policy_status) {
    return c.PolicyStatus();
  }
  if (*policy_effective) {
    return c.PolicyEffective();
  }
  if (*policy_list) {
    return c.PolicyList();
  }
  if (*inspect_status) {
    return c.InspectStatus();
  }
  if (*inspect) {
    return c.Inspect();
  }
  if (*token_list) {
    return c.EnrollTokenList();
  }
  if (*token_revoke) {
    return c.EnrollTokenRevoke();
  }
  if (*op_list) {
    return c.OperatorList();
  }
  if (*op_create) {
    return c.OperatorCreate();
  }
  if (*op_revoke) {
    return c.OperatorRevoke();
  }
  if (*conflict_resolve) {
    return c.ConflictResolve();
  }
  if (*conflicts) {
    return c.Conflicts();
  }
  if (*export_status) {
    return c.ExportStatus();
  }
  return 2;
}

}  // namespace cg::cgctl

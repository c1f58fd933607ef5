// cgctl's staff-account commands: secrets come from the terminal without echo, or from files
// for scripts ("-": standard input, one line per secret in the order asked).
#include "cgctl/accounts.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cgctl/cgctl.h"
#include "cgctl/views.h"
#include "common/timeutil.h"
#include "platform/os/files.h"
#include "platform/os/terminal.h"
#include "protocol/account_api.h"
#include "protocol/api_paths.h"
#include "protocol/http.h"
#include "soc/auth/otpauth.h"
#include "soc/file_security.h"

namespace cg::cgctl {

using nlohmann::json;
namespace api = cg::protocol::api;
namespace fields = cg::protocol::account_api;

namespace {

// One secret: from `file` ("-": the next line of standard input), else typed at the terminal
// without echo. `private_file`: a file others may read is refused (passwords, setup codes).
Result<std::string> Secret(const std::string& file, const std::string& prompt, bool private_file) {
  if (file == "-") {
    std::string line;
    if (!std::getline(std::cin, line)) {
      return MakeError(ErrorCode::kInvalidArgument, "standard input ended before " + prompt);
    }
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    return line;
  }
  if (!file.empty()) {
    if (private_file) {
      CG_RETURN_IF_ERROR(cg::soc::CheckPrivateFile(file, "the file of " + prompt));
    }
    CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(file, 4096));
    const size_t end = text.find_first_of("\r\n");
    return end == std::string::npos ? text : text.substr(0, end);
  }
  return os::ReadSecretFromTerminal(prompt[0] == '\0' ? "secret: " : prompt + ": ");
}

bool LooksLikeTotpCode(const std::string& text) {
  if (text.size() < 6 || text.size() > 8) {
    return false;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

}  // namespace

template <typename F>
int AccountCommands::Out(const Result<json>& r, F&& human) {
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  if (g_->json) {
    std::cout << r->dump(2, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace) << "\n";
  } else {
    human(*r);
  }
  return 0;
}

void AccountCommands::Register(CLI::App& app, Globals& g) {
  g_ = &g;
  login_ = app.add_subcommand("login", "Log in to the SOC with a staff account (password + code)");
  login_->add_option("account", account_, "login name (env CGCTL_ACCOUNT)");
  login_->add_option("--password-file", password_file_, "read the password from FILE (- stdin)");
  login_->add_option("--code-file", code_file_, "read the TOTP code from FILE (- stdin)");
  login_->add_option("--recovery-code-file", recovery_file_,
                     "log in with a recovery code from FILE (- stdin) instead of a TOTP code");
  logout_ = app.add_subcommand("logout", "End the saved login session");
  whoami_ = app.add_subcommand("whoami", "Who the SOC sees (account, role, session)");

  auto* account = app.add_subcommand("account", "Staff accounts");
  account->require_subcommand(1);
  create_ = account->add_subcommand("create",
                                    "Create an account; prints its one-time setup code "
                                    "(admin)");
  create_->add_option("name", account_, "login name: a-z 0-9 . _ - (nguyen.van.an)")->required();
  create_->add_option("--display-name", display_name_, "the person's name (\"Nguyễn Văn An\")")
      ->required();
  create_->add_option("--role", role_, "analyst (read), inspector (read, reports, audit) or admin")
      ->required()
      ->check(CLI::IsMember({"analyst", "inspector", "admin"}));
  list_ = account->add_subcommand("list", "Accounts, their state and their tokens (admin)");
  disable_ = account->add_subcommand(
      "disable", "Disable an account: its sessions end and its tokens are revoked at once (admin)");
  disable_->add_option("name", account_, "login name")->required();
  enable_ = account->add_subcommand("enable", "Enable a disabled account again (admin)");
  enable_->add_option("name", account_, "login name")->required();
  reset_ = account->add_subcommand(
      "reset", "New setup code for a forgotten password or a lost authenticator (admin)");
  reset_->add_option("name", account_, "login name")->required();
  reset_->add_flag("--password", reset_password_, "the password must be chosen again");
  reset_->add_flag("--totp", reset_totp_, "the authenticator must be enrolled again");
  setup_ =
      account->add_subcommand("setup",
                              "Set up your account with the setup code from your admin: password, "
                              "authenticator (QR code), recovery codes");
  setup_->add_option("name", account_, "your login name")->required();
  setup_->add_option("--setup-code-file", setup_code_file_,
                     "read the setup code from FILE (- stdin)");
  setup_->add_option("--password-file", password_file_, "read the password from FILE (- stdin)");
  setup_->add_option("--code-file", code_file_,
                     "read the authenticator's code from FILE (- stdin, after the QR code)");
  setup_->add_flag("--dark-on-light", dark_on_light_,
                   "draw the QR code for a terminal with dark text on a light background");

  audit_ = app.add_subcommand("audit", "Operator audit log (inspector, admin)");
  auto* changes = audit_->add_flag("--changes", audit_changes_, "only changes (not reads)");
  auto* reads = audit_->add_flag("--reads", audit_reads_, "only reads");
  changes->excludes(reads);
  audit_->add_option("--account", audit_account_, "only this account (or token name)");
  audit_->add_option("--action", audit_action_,
                     "only actions containing this text (\"revoke\", \"POST /api/v1/login\")");
  audit_->add_option("--since", audit_since_, "from this time (RFC 3339) or this long ago (24h)");
  audit_->add_option("--until", audit_until_, "before this time (RFC 3339) or this long ago");
  audit_->add_option("--limit", audit_limit_, "how many entries (default 100)")
      ->check(CLI::Range(1, 10000));
}

bool AccountCommands::PrintsTable() const { return *list_ || *audit_; }

std::optional<int> AccountCommands::RunIfChosen() {
  if (*login_) {
    return Login();
  }
  if (*logout_) {
    return Logout();
  }
  if (*whoami_) {
    return Whoami();
  }
  if (*setup_) {
    return Setup();
  }
  if (*create_) {
    return Create();
  }
  if (*list_) {
    return List();
  }
  if (*disable_) {
    return Disable(true);
  }
  if (*enable_) {
    return Disable(false);
  }
  if (*reset_) {
    return Reset();
  }
  if (*audit_) {
    return Audit();
  }
  return std::nullopt;
}

int AccountCommands::Login() {
  if (account_.empty()) {
    account_ = Env("CGCTL_ACCOUNT", "");
  }
  if (account_.empty()) {
    return Fail("login: give the account name (cgctl login NAME, or set CGCTL_ACCOUNT)");
  }
  auto client = Api::ConnectAnonymous(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  auto password = Secret(password_file_, "password for " + account_, true);
  if (!password.ok()) {
    return Fail(password.error().message);
  }
  json body = {{fields::kAccount, account_}, {fields::kPassword, *password}};
  if (!recovery_file_.empty()) {
    auto code = Secret(recovery_file_, "recovery code", false);
    if (!code.ok()) {
      return Fail(code.error().message);
    }
    body[fields::kRecoveryCode] = *code;
  } else {
    auto code = Secret(code_file_, "authenticator code (or a recovery code)", false);
    if (!code.ok()) {
      return Fail(code.error().message);
    }
    std::string typed;
    for (char c : *code) {
      if (c != ' ') {
        typed.push_back(c);
      }
    }
    body[LooksLikeTotpCode(typed) || typed.empty() ? fields::kCode : fields::kRecoveryCode] = typed;
  }
  auto r = client->Call("POST", std::string(api::kLogin), body);
  if (!r.ok()) {
    return Fail(r.error().message);
  }
  const json session = {{"server", g_->server},
                        {"account", r->value(fields::kAccount, "")},
                        {"role", r->value(fields::kRole, "")},
                        {"session_id", r->value("session_id", "")},
                        {"expires_at", r->value(fields::kExpiresAt, "")},
                        {"token", r->value(fields::kToken, "")}};
  if (auto s = SaveSession(session); !s.ok()) {
    return Fail("logged in, but the session could not be saved: " + s.error().message);
  }
  if (g_->json) {
    json shown = session;
    shown.erase("token");
    std::cout << shown.dump(2, ' ', true, json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::printf("logged in as %s (%s, %s) until %s; session saved in %s\n",
              S(*r, fields::kAccount).c_str(), S(*r, fields::kDisplayName).c_str(),
              S(*r, fields::kRole).c_str(), S(*r, fields::kExpiresAt).c_str(),
              E(SessionFile()).c_str());
  if (r->contains(fields::kRecoveryCodesLeft)) {
    std::printf(
        "a recovery code was used: %s left (ask an admin for `cgctl account reset %s "
        "--totp` to enrol a new authenticator)\n",
        S(*r, fields::kRecoveryCodesLeft).c_str(), E(account_).c_str());
  }
  return 0;
}

int AccountCommands::Logout() {
  auto session = LoadSession();
  if (!session.ok()) {
    return Fail(session.error().message);
  }
  if (!*session) {
    std::printf("not logged in\n");
    return 0;
  }
  Globals g = *g_;
  g.token_file.clear();
  g.server = (*session)->value("server", g.server);
  auto client = Api::Connect(g);
  std::string note;
  if (client.ok()) {
    auto r = client->Call("POST", std::string(api::kLogout));
    // Already ended (expired, idle, account disabled): the file goes all the same.
    if (!r.ok() && r.error().code != ErrorCode::kUnauthenticated) {
      note = " (the SOC did not confirm: " + r.error().message + ")";
    }
  } else {
    note = " (the SOC was not asked: " + client.error().message + ")";
  }
  if (auto s = RemoveSession(); !s.ok()) {
    return Fail(s.error().message);
  }
  std::printf("logged out%s\n", E(note).c_str());
  return note.empty() ? 0 : 2;
}

int AccountCommands::Whoami() {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  return Out(client->Call("GET", std::string(api::kSession)), [](const json& j) {
    std::printf("account: %s\nrole:    %s\nvia:     %s (%s)\nexpires: %s\n",
                S(j, fields::kAccount).c_str(), S(j, fields::kRole).c_str(), S(j, "via").c_str(),
                S(j, "token_name").c_str(), S(j, fields::kExpiresAt).c_str());
  });
}

int AccountCommands::Setup() {
  auto client = Api::ConnectAnonymous(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  auto setup_code = Secret(setup_code_file_, "setup code", true);
  if (!setup_code.ok()) {
    return Fail(setup_code.error().message);
  }
  auto offer = client->Call("POST", std::string(api::kAccountSetupStart),
                            {{fields::kAccount, account_}, {fields::kSetupCode, *setup_code}});
  if (!offer.ok()) {
    return Fail(offer.error().message);
  }
  std::printf("setting up %s (%s, %s)\n", S(*offer, fields::kAccount).c_str(),
              S(*offer, fields::kDisplayName).c_str(), S(*offer, fields::kRole).c_str());
  const bool new_password = offer->value(fields::kPasswordRequired, false);
  std::string password;
  if (new_password) {
    auto first = Secret(password_file_, "new password (12 characters or more)", true);
    if (!first.ok()) {
      return Fail(first.error().message);
    }
    if (password_file_.empty()) {
      auto again = Secret("", "the same password again", true);
      if (!again.ok()) {
        return Fail(again.error().message);
      }
      if (*again != *first) {
        return Fail("the two passwords differ: nothing was changed, run the setup again");
      }
    }
    password = *first;
  } else {
    auto current = Secret(password_file_, "your current password", true);
    if (!current.ok()) {
      return Fail(current.error().message);
    }
    password = *current;
  }
  std::string code;
  const auto& uri = offer->value(fields::kOtpauthUri, json(nullptr));
  if (uri.is_string()) {
    const std::string text = uri.get<std::string>();
    auto qr = cg::soc::auth::EncodeQr(text);
    std::printf("\nScan this QR code with your authenticator app (or enter the key by hand).\n");
    if (qr.ok()) {
      std::fputs(cg::soc::auth::RenderQrTerminal(*qr, !dark_on_light_).c_str(), stdout);
    }
    std::printf("key: %s\nuri: %s\n", S(*offer, fields::kTotpSecret).c_str(), E(text).c_str());
    std::fflush(stdout);
    auto typed = Secret(code_file_, "the code your app shows now", false);
    if (!typed.ok()) {
      return Fail(typed.error().message);
    }
    code = *typed;
  }
  auto done = client->Call("POST", std::string(api::kAccountSetupFinish),
                           {{fields::kAccount, account_},
                            {fields::kSetupCode, *setup_code},
                            {fields::kPassword, password},
                            {fields::kCode, code}});
  if (!done.ok()) {
    return Fail(done.error().message);
  }
  if (g_->json) {
    std::cout << done->dump(2, ' ', true, json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::printf("\naccount %s is set up%s. Log in with `cgctl login %s`.\n",
              S(*done, fields::kAccount).c_str(),
              done->value("totp", false) ? " with its authenticator" : "",
              S(*done, fields::kAccount).c_str());
  const auto& codes = done->value(fields::kRecoveryCodes, json::array());
  if (!codes.empty()) {
    std::printf(
        "\nRecovery codes: each logs in once in place of the authenticator's code. Keep them "
        "on paper, away from this PC; they are not shown again.\n");
    for (const auto& c : codes) {
      std::printf("  %s\n", E(c.is_string() ? c.get<std::string>() : "").c_str());
    }
  }
  return 0;
}

int AccountCommands::Create() {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  auto r = client->Call(
      "POST", std::string(api::kAccounts),
      {{fields::kName, account_}, {fields::kDisplayName, display_name_}, {fields::kRole, role_}});
  return Out(r, [](const json& j) {
    std::printf(
        "account %s (%s, %s) created. Give the person this one-time setup code (until %s); they "
        "run `cgctl account setup %s` to choose a password and enrol an authenticator:\n%s\n",
        S(j, fields::kName).c_str(), S(j, fields::kDisplayName).c_str(),
        S(j, fields::kRole).c_str(), S(j, fields::kSetupExpiresAt).c_str(),
        S(j, fields::kName).c_str(), S(j, fields::kSetupCode).c_str());
  });
}

int AccountCommands::List() {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  return Out(client->Call("GET", std::string(api::kAccounts)), [&](const json& j) {
    Emit(AccountsTable(j), j, g_->csv ? Format::kCsv : Format::kText);
  });
}

int AccountCommands::Disable(bool disable) {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  return Out(
      client->Call("POST",
                   api::PathWithId(disable ? api::kAccountDisable : api::kAccountEnable, account_)),
      [&](const json&) {
        if (disable) {
          std::printf("account %s disabled: its sessions ended and its tokens are revoked\n",
                      E(account_).c_str());
        } else {
          std::printf("account %s enabled (its revoked tokens stay revoked)\n",
                      E(account_).c_str());
        }
      });
}

int AccountCommands::Reset() {
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  const bool both = !reset_password_ && !reset_totp_;
  auto r = client->Call("POST", api::PathWithId(api::kAccountReset, account_),
                        {{fields::kResetPassword, both || reset_password_},
                         {fields::kResetTotp, both || reset_totp_}});
  return Out(r, [](const json& j) {
    std::printf(
        "account %s reset (%s%s); its sessions ended. One-time setup code until %s (they run "
        "`cgctl account setup %s`):\n%s\n",
        S(j, fields::kName).c_str(), j.value(fields::kResetPassword, false) ? "password " : "",
        j.value(fields::kResetTotp, false) ? "authenticator" : "",
        S(j, fields::kSetupExpiresAt).c_str(), S(j, fields::kName).c_str(),
        S(j, fields::kSetupCode).c_str());
  });
}

int AccountCommands::Audit() {
  std::string query = std::string(api::kAudit) + "?limit=" + std::to_string(audit_limit_);
  auto add = [&](const char* key, const std::string& value) {
    query += std::string("&") + key + "=" + protocol::UrlEncode(value);
  };
  if (audit_changes_ || audit_reads_) {
    add(fields::kQueryKind, audit_changes_ ? "changes" : "reads");
  }
  if (!audit_account_.empty()) {
    add(fields::kQueryAccount, audit_account_);
  }
  if (!audit_action_.empty()) {
    add(fields::kQueryAction, audit_action_);
  }
  for (auto [key, text] : {std::pair{fields::kQuerySince, &audit_since_},
                           std::pair{fields::kQueryUntil, &audit_until_}}) {
    if (text->empty()) {
      continue;
    }
    if (ParseRfc3339(*text).ok()) {
      add(key, *text);
      continue;
    }
    auto ago = ParseDuration(*text);
    if (!ago.ok()) {
      return Fail(std::string("--") + key + ": give an RFC 3339 time or a duration (24h)");
    }
    add(key, FormatRfc3339(std::chrono::system_clock::now() - *ago));
  }
  auto client = Api::Connect(*g_);
  if (!client.ok()) {
    return Fail(client.error().message);
  }
  return Out(client->Call("GET", query), [&](const json& j) {
    Emit(AuditTable(j), j, g_->csv ? Format::kCsv : Format::kText);
  });
}

}  // namespace cg::cgctl

// cgctl's staff-account commands (issue 16): login, logout, whoami, account
// create|list|disable|enable|reset|setup, and the filtered audit log.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cgctl/api.h"

namespace cg::cgctl {

class AccountCommands {
 public:
  // Adds the commands to `app`; their options bind to this object (which must outlive the
  // parse) and use `g`.
  void Register(CLI::App& app, Globals& g);
  // After the parse: runs the chosen command and returns its exit code, or nullopt when none of
  // these commands was chosen.
  std::optional<int> RunIfChosen();
  // Whether the chosen command prints a table (and so takes --csv): `account list`, `audit`.
  bool PrintsTable() const;

 private:
  int Login();
  int Logout();
  int Whoami();
  int Setup();
  int Create();
  int List();
  int Disable(bool disable);
  int Reset();
  int Audit();
  // Prints the answer as JSON (--json) or with `human`; a failed call is reported.
  template <typename F>
  int Out(const Result<nlohmann::json>& r, F&& human);

  Globals* g_ = nullptr;
  CLI::App* login_ = nullptr;
  CLI::App* logout_ = nullptr;
  CLI::App* whoami_ = nullptr;
  CLI::App* setup_ = nullptr;
  CLI::App* create_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* disable_ = nullptr;
  CLI::App* enable_ = nullptr;
  CLI::App* reset_ = nullptr;
  CLI::App* audit_ = nullptr;

  std::string account_;
  std::string display_name_;
  std::string role_;
  std::string password_file_;
  std::string code_file_;
  std::string recovery_file_;
  std::string setup_code_file_;
  bool dark_on_light_ = false;
  bool reset_password_ = false;
  bool reset_totp_ = false;
  bool audit_changes_ = false;
  bool audit_reads_ = false;
  std::string audit_account_;
  std::string audit_action_;
  std::string audit_since_;
  std::string audit_until_;
  int audit_limit_ = 100;
};

}  // namespace cg::cgctl

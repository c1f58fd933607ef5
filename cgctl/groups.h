// cgctl's group commands (issue 16): `cgctl groups` lists every group with its display name
// (any operator who may read), `cgctl group name SLUG "Xã Bắc Hà"` sets one and
// `cgctl group name SLUG --clear` removes it (admin).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cgctl/api.h"

namespace cg::cgctl {

class GroupCommands {
 public:
  // Adds the commands to `app`; their options bind to this object (which must outlive the
  // parse) and use `g`.
  void Register(CLI::App& app, Globals& g);
  // After the parse: runs the chosen command and returns its exit code, or nullopt when none of
  // these commands was chosen.
  std::optional<int> RunIfChosen();
  // Whether the chosen command prints a table (and so takes --csv): `groups`.
  bool PrintsTable() const;

 private:
  int List();
  int SetName();

  Globals* g_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* name_ = nullptr;
  std::string group_;
  std::string display_name_;
  bool clear_ = false;
};

}  // namespace cg::cgctl

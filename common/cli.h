// Command-line conventions shared by cg-agent, cg-soc and cgctl (CLI11, header-only; included
// only by the programs' main files): usage errors exit 2 with one line, help exits 0.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>

namespace cg {

// Parses; returns the exit code when the program should stop now (help shown, or a usage
// error printed as "PROGRAM: message (see --help)").
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv,
                                           const char* program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", program, e.what());
    return 2;
  }
  return std::nullopt;
}

struct LogOptions {
  std::string format = "plain";
  std::string level = "info";
};

// --log-format / --log-level, taken before the command.
inline void AddLogOptions(CLI::App& app, LogOptions& options) {
  app.add_option("--log-format", options.format, "plain (journald-friendly) or json")
      ->check(CLI::IsMember({"plain", "json"}));
  app.add_option("--log-level", options.level, "trace|debug|info|warn|error|off");
}

}  // namespace cg

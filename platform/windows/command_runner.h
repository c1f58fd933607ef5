// CommandRunner on Windows: CreateProcessW with an argv quoted the way the C runtime parses it
// back (no cmd.exe, so no shell metacharacters), a clean environment (SystemRoot, windir,
// SystemDrive, TEMP/TMP, PATH of the system directories), stdout/stderr through pipes read
// concurrently and bounded, the child in a job object so a timeout ends it and every process
// it started.
#pragma once

#include <string>
#include <vector>

#include "platform/platform.h"

namespace cg::platform::windows {

// One argument quoted for CommandLineToArgvW / the C runtime: quotes when it is empty or holds
// space, tab or '"'; backslashes doubled only before a '"' (the rules in Microsoft's "Parsing
// C++ command-line arguments").
std::wstring QuoteArgument(std::wstring_view arg);

class WindowsCommandRunner final : public CommandRunner {
 public:
  Result<CommandResult> Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                            size_t max_output = 1u << 20) override;
  // Looks in %SystemRoot%\System32, %SystemRoot% and System32\Wbem; ".exe" is appended to a
  // name without an extension.
  std::string Which(std::string_view name) const override;
};

}  // namespace cg::platform::windows

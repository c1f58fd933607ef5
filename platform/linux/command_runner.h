// Runs host programs with a fixed argv: posix_spawn (never a shell), a clean C-locale
// environment, stdin from /dev/null, bounded output and a deadline that kills the whole
// process group.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "platform/linux/rooted_fs.h"
#include "platform/platform.h"

namespace cg::platform::linux_ {

// The only PATH children see, and where bare program names are looked up.
inline constexpr std::string_view kSystemPath = "/usr/sbin:/usr/bin:/sbin:/bin";

class PosixCommandRunner final : public CommandRunner {
 public:
  // `fs` is the machine being checked; Which() looks there. Run() always starts host
  // programs: with a fixture root, a tool acts on the tree only through its own flag
  // (chage --root DIR), never by running binaries found in the tree.
  explicit PosixCommandRunner(RootedFileSystem fs) : fs_(std::move(fs)) {}

  // argv[0] is an absolute host path or a bare name searched in kSystemPath on the host.
  // Errors only when the program cannot be started; a non-zero exit is a result.
  Result<CommandResult> Run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                            size_t max_output = 1u << 20) override;
  // The machine path ("/usr/bin/chage") of an executable regular file named `name` in one of
  // the kSystemPath directories under the root; empty when there is none.
  std::string Which(std::string_view name) const override;

 private:
  RootedFileSystem fs_;
};

}  // namespace cg::platform::linux_

// The process table from <root>/proc: comm, cmdline and exe of every numeric entry.
#pragma once

#include "platform/linux/rooted_fs.h"
#include "platform/platform.h"

namespace cg::platform::linux_ {

class ProcProcessTable final : public ProcessTable {
 public:
  explicit ProcProcessTable(RootedFileSystem fs) : fs_(std::move(fs)) {}

  // Sorted by pid. A process that exits while we list (its files vanish) is skipped; exe is
  // empty when unreadable (another user's process without privileges, kernel threads).
  // An unreadable /proc itself is an error.
  Result<std::vector<ProcessInfo>> List() const override;

 private:
  RootedFileSystem fs_;
};

}  // namespace cg::platform::linux_

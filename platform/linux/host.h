// Host identity: hostname, machine id, os-release, kernel and architecture.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "platform/linux/rooted_fs.h"
#include "platform/platform.h"

namespace cg::platform::linux_ {

// os-release(5) KEY=value lines with shell quoting: "double" (backslash escapes \ " $ `),
// 'single' (literal), and backslash escapes outside quotes; comments and malformed lines
// (bad key, unterminated quote) are skipped. Later keys override earlier ones, as sourcing
// the file in a shell would.
std::map<std::string, std::string, std::less<>> ParseOsRelease(std::string_view text);

class LinuxHost final : public Host {
 public:
  explicit LinuxHost(RootedFileSystem fs) : fs_(std::move(fs)) {}

  // On root "/" the hostname and kernel come from the running system (gethostname, uname);
  // under a fixture root from /etc/hostname, /proc/sys/kernel/osrelease and
  // /proc/sys/kernel/arch in the tree. os_name/os_id/os_version come from /etc/os-release
  // (fallback /usr/lib/os-release): NAME (or PRETTY_NAME), ID, VERSION_ID, with the
  // os-release(5) defaults "Linux"/"linux" when a file exists but omits them. A missing
  // file leaves its fields empty; a file that exists but cannot be read is an error.
  Result<HostIdentity> Identity() const override;

 private:
  RootedFileSystem fs_;
};

}  // namespace cg::platform::linux_

// Reads the four account files and hands them to the pure parsers.
#include "platform/linux/accounts.h"

#include "platform/linux/account_files.h"

namespace cg::platform::linux_ {
namespace {

constexpr size_t kMaxAccountFile = 16u << 20;

// nullopt when the file does not exist; other read errors are returned.
Result<std::optional<std::string>> ReadOptional(const FileSystem& fs, std::string_view path) {
  auto r = fs.ReadFile(path, kMaxAccountFile);
  if (r.ok()) {
    return std::optional<std::string>(std::move(r).value());
  }
  if (r.error().code == ErrorCode::kNotFound) {
    return std::optional<std::string>();
  }
  return std::move(r).error();
}

}  // namespace

Result<AccountDatabase> LinuxAccounts::Read() const {
  CG_ASSIGN_OR_RETURN(const auto passwd_text, fs_->ReadFile("/etc/passwd", kMaxAccountFile));
  CG_ASSIGN_OR_RETURN(const auto shadow_text, fs_->ReadFile("/etc/shadow", kMaxAccountFile));
  CG_ASSIGN_OR_RETURN(const auto defs_text, ReadOptional(*fs_, "/etc/login.defs"));
  CG_ASSIGN_OR_RETURN(const auto shells_text, ReadOptional(*fs_, "/etc/shells"));
  std::optional<std::vector<std::string>> shells;
  if (shells_text) {
    shells = ParseShells(*shells_text);
  }
  return MergeAccountFiles(ParsePasswd(passwd_text), ParseShadow(shadow_text),
                           defs_text ? ParseLoginDefs(*defs_text) : LoginDefs{}, shells);
}

}  // namespace cg::platform::linux_

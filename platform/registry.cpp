// The typed conveniences of platform/registry.h, shared by every Registry implementation.
#include "platform/registry.h"

namespace cg::platform {

namespace {

std::string Describe(RegistryHive hive, std::string_view key, std::string_view name) {
  std::string out = hive == RegistryHive::kLocalMachine ? "HKLM\\" : "HKU\\";
  out += key;
  out += " [";
  out += name;
  out += "]";
  return out;
}

}  // namespace

Result<std::string> Registry::GetString(RegistryHive hive, std::string_view key,
                                        std::string_view name) const {
  CG_ASSIGN_OR_RETURN(RegistryValue value, GetValue(hive, key, name));
  if (value.type != RegistryValueType::kString && value.type != RegistryValueType::kExpandString) {
    return MakeError(ErrorCode::kInvalidArgument,
                     Describe(hive, key, name) + ": not a string value");
  }
  return std::move(value.text);
}

Result<uint64_t> Registry::GetNumber(RegistryHive hive, std::string_view key,
                                     std::string_view name) const {
  CG_ASSIGN_OR_RETURN(RegistryValue value, GetValue(hive, key, name));
  if (value.type != RegistryValueType::kDword && value.type != RegistryValueType::kQword) {
    return MakeError(ErrorCode::kInvalidArgument,
                     Describe(hive, key, name) + ": not a DWORD or QWORD value");
  }
  return value.number;
}

Result<std::unique_ptr<RegistryHiveFile>> Registry::LoadHiveFile(std::string_view path) const {
  return MakeError(ErrorCode::kUnavailable,
                   "loading the hive file " + std::string(path) + ": not supported here");
}

std::optional<uint32_t> Win32CodeOf(const Error& error) {
  constexpr std::string_view kPrefix = "(Win32 error ";
  const std::string_view message = error.message;
  const size_t at = message.rfind(kPrefix);
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  uint64_t code = 0;
  size_t i = at + kPrefix.size();
  const size_t first = i;
  for (; i < message.size() && message[i] >= '0' && message[i] <= '9' && i - first < 10; ++i) {
    code = code * 10 + static_cast<uint64_t>(message[i] - '0');
  }
  if (i == first || i >= message.size() || message[i] != ')' || code > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(code);
}

std::string_view WhyNotUserHive(std::string_view name) {
  if (name.ends_with("_Classes")) {
    return "a user's file associations (software classes), not settings";
  }
  if (name == ".DEFAULT" || name == "S-1-5-18") {
    return "the logon screen and SYSTEM's settings, not a person's";
  }
  if (name == "S-1-5-19" || name == "S-1-5-20") {
    return "a service account (LOCAL SERVICE, NETWORK SERVICE)";
  }
  for (std::string_view prefix : {std::string_view("S-1-5-21-"), std::string_view("S-1-12-1-")}) {
    if (name.starts_with(prefix) && name.size() > prefix.size()) {
      const std::string_view rest = name.substr(prefix.size());
      if (rest.find_first_not_of("0123456789-") == std::string_view::npos) {
        return "";
      }
    }
  }
  return "not the SID of a user account";
}

}  // namespace cg::platform

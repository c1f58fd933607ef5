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

}  // namespace cg::platform

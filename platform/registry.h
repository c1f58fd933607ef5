// The Windows registry as the checks see it: typed values under a hive, subkeys, and the
// writes enforcement makes. platform/windows implements it on the Win32 registry API (64-bit
// view); a fake can implement it in memory for the checks' judgement tests. Key paths and
// names are UTF-8 with '\' separators ("SOFTWARE\\Policies\\Microsoft\\Windows\\Control
// Panel\\Desktop"); conversion to UTF-16 happens inside the implementation.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::platform {

enum class RegistryHive {
  kLocalMachine,  // HKEY_LOCAL_MACHINE
  kUsers,         // HKEY_USERS: one subkey per loaded user hive (SIDs, ".DEFAULT")
};

enum class RegistryValueType {
  kString,        // REG_SZ
  kExpandString,  // REG_EXPAND_SZ, returned unexpanded
  kMultiString,   // REG_MULTI_SZ
  kDword,         // REG_DWORD
  kQword,         // REG_QWORD
  kBinary,        // REG_BINARY and every other type, as raw bytes
};

struct RegistryValue {
  RegistryValueType type = RegistryValueType::kString;
  std::string text;                  // kString, kExpandString
  std::vector<std::string> strings;  // kMultiString
  uint64_t number = 0;               // kDword, kQword
  std::string bytes;                 // kBinary

  static RegistryValue String(std::string s) {
    RegistryValue v;
    v.text = std::move(s);
    return v;
  }
  static RegistryValue Dword(uint32_t n) {
    RegistryValue v;
    v.type = RegistryValueType::kDword;
    v.number = n;
    return v;
  }
  static RegistryValue Qword(uint64_t n) {
    RegistryValue v;
    v.type = RegistryValueType::kQword;
    v.number = n;
    return v;
  }
  static RegistryValue MultiString(std::vector<std::string> list) {
    RegistryValue v;
    v.type = RegistryValueType::kMultiString;
    v.strings = std::move(list);
    return v;
  }
};

// A hive file loaded for reading only: the NTUSER.DAT of a profile whose user is not logged
// on. Keys are relative to the hive's root ("Control Panel\\Desktop"). The file is unloaded
// when this object is destroyed: hold it only while reading, since Windows cannot load the
// user's hive at their logon while it is loaded here.
class RegistryHiveFile {
 public:
  virtual ~RegistryHiveFile() = default;
  // As Registry::GetValue.
  virtual Result<RegistryValue> GetValue(std::string_view key, std::string_view name) const = 0;
  // How the file was loaded, for the facts ("RegLoadAppKeyW, KEY_READ, private to the agent").
  virtual std::string method() const = 0;
};

class Registry {
 public:
  virtual ~Registry() = default;

  // The value `name` ("" = the key's default value) of `key`. kNotFound when the key or the
  // value does not exist; kInvalidArgument for a name that is not valid UTF-8 or a stored
  // string that is not valid UTF-16.
  virtual Result<RegistryValue> GetValue(RegistryHive hive, std::string_view key,
                                         std::string_view name) const = 0;
  // The names of the subkeys of `key` ("" = the hive itself), sorted.
  virtual Result<std::vector<std::string>> ListSubkeys(RegistryHive hive,
                                                       std::string_view key) const = 0;
  // Creates `key` (and its parents) when missing and sets the value.
  virtual Status SetValue(RegistryHive hive, std::string_view key, std::string_view name,
                          const RegistryValue& value) = 0;
  // Removes the value; ok when it was already absent (undo of a value enforcement created).
  virtual Status DeleteValue(RegistryHive hive, std::string_view key, std::string_view name) = 0;
  // Loads the hive file at `path` (a machine path; %VARIABLES% in it are expanded, as
  // ProfileImagePath is REG_EXPAND_SZ) for reading. Errors carry the OS's code in the
  // message ("(Win32 error 32)": the file is in use); kUnavailable where hive files cannot be
  // loaded (this default).
  virtual Result<std::unique_ptr<RegistryHiveFile>> LoadHiveFile(std::string_view path) const;

  // REG_SZ or REG_EXPAND_SZ as text; kInvalidArgument for other types.
  Result<std::string> GetString(RegistryHive hive, std::string_view key,
                                std::string_view name) const;
  // REG_DWORD or REG_QWORD; kInvalidArgument for other types (a REG_SZ "300" is the
  // caller's to interpret: Control Panel\Desktop stores numbers as strings).
  Result<uint64_t> GetNumber(RegistryHive hive, std::string_view key, std::string_view name) const;
};

// Why a subkey of HKEY_USERS is not a person's hive ("" when it is one: S-1-5-21-<domain>-<rid>
// for local and domain accounts, S-1-12-1-... for Microsoft Entra ID accounts). Not people:
// ".DEFAULT" (the logon screen's settings), S-1-5-18 SYSTEM, -19 LOCAL SERVICE, -20 NETWORK
// SERVICE, and the "<SID>_Classes" hives (a user's file associations, next to the user's own).
std::string_view WhyNotUserHive(std::string_view name);
inline bool IsUserHiveName(std::string_view name) { return WhyNotUserHive(name).empty(); }

// The Win32 code of an error from the Windows implementations, which end their messages with
// "(Win32 error 32)"; nullopt when the message holds none.
std::optional<uint32_t> Win32CodeOf(const Error& error);

}  // namespace cg::platform

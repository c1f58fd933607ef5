// platform::Registry on the Win32 registry API. Every key is opened in the 64-bit view
// (KEY_WOW64_64KEY): the agent must read the machine's real policy keys even if it were ever
// built as a 32-bit program, where Windows would otherwise redirect SOFTWARE\ to WOW6432Node.
#pragma once

#include <windows.h>

#include <memory>
#include <type_traits>

#include "platform/registry.h"

namespace cg::platform::windows {

struct HkeyCloser {
  void operator()(HKEY key) const { RegCloseKey(key); }
};
using UniqueHkey = std::unique_ptr<std::remove_pointer_t<HKEY>, HkeyCloser>;

// The predefined root key of a hive.
HKEY HiveRoot(RegistryHive hive);

// Opens `key` ("" = the hive root itself, duplicated) with `access` | KEY_WOW64_64KEY.
Result<UniqueHkey> OpenKey(RegistryHive hive, std::string_view key, REGSAM access);

// The value `name` of `key` under `root` (a predefined key or a loaded hive's root), decoded
// as WindowsRegistry::GetValue does; `where` names it in errors.
Result<RegistryValue> ReadValue(HKEY root, std::string_view key, std::string_view name,
                                const std::string& where);

class WindowsRegistry final : public Registry {
 public:
  Result<RegistryValue> GetValue(RegistryHive hive, std::string_view key,
                                 std::string_view name) const override;
  Result<std::vector<std::string>> ListSubkeys(RegistryHive hive,
                                               std::string_view key) const override;
  Status SetValue(RegistryHive hive, std::string_view key, std::string_view name,
                  const RegistryValue& value) override;
  Status DeleteValue(RegistryHive hive, std::string_view key, std::string_view name) override;
  // hive_file.cpp: RegLoadAppKeyW (KEY_READ, private to this process, unloaded when the last
  // handle closes, also if the agent dies); under Wine, whose RegLoadAppKeyW is a stub,
  // RegLoadKeyW into a private HKEY_USERS subkey, unloaded by the returned object.
  Result<std::unique_ptr<RegistryHiveFile>> LoadHiveFile(std::string_view path) const override;

  // Removes `key` with all its subkeys and values; ok when absent. Not on the interface: no
  // check deletes keys; tests and undo of a key enforcement created use it.
  Status DeleteTree(RegistryHive hive, std::string_view key);
};

}  // namespace cg::platform::windows

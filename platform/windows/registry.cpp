// Registry reads and writes with UTF-16 conversion at the edge and one error path.
#include "platform/windows/registry.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {

namespace {

std::string Where(RegistryHive hive, std::string_view key) {
  std::string out = hive == RegistryHive::kLocalMachine ? "HKLM" : "HKU";
  if (!key.empty()) {
    out += '\\';
    out += key;
  }
  return out;
}

std::string Where(RegistryHive hive, std::string_view key, std::string_view name) {
  return Where(hive, key) + " [" + std::string(name) + "]";
}

// A REG_SZ need not end in NUL, and may carry several (a value written with a wrong length):
// the string ends at the first NUL, as RegGetValue reads it.
Result<std::string> StringFromData(std::wstring_view data) {
  const size_t nul = data.find(L'\0');
  if (nul != std::wstring_view::npos) {
    data = data.substr(0, nul);
  }
  return WideToUtf8(data);
}

// REG_MULTI_SZ: strings each ending in NUL, the list ending in an empty string. Tolerates a
// missing final terminator; an empty string inside the list ends it (as Windows does).
Result<std::vector<std::string>> MultiStringFromData(std::wstring_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    const size_t nul = data.find(L'\0');
    const std::wstring_view item = data.substr(0, nul);
    if (item.empty()) {
      break;
    }
    CG_ASSIGN_OR_RETURN(std::string utf8, WideToUtf8(item));
    out.push_back(std::move(utf8));
    if (nul == std::wstring_view::npos) {
      break;
    }
    data.remove_prefix(nul + 1);
  }
  return out;
}

}  // namespace

HKEY HiveRoot(RegistryHive hive) {
  switch (hive) {
    case RegistryHive::kLocalMachine:
      return HKEY_LOCAL_MACHINE;
    case RegistryHive::kUsers:
      return HKEY_USERS;
  }
  return HKEY_LOCAL_MACHINE;
}

Result<UniqueHkey> OpenKey(RegistryHive hive, std::string_view key, REGSAM access) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(key));
  HKEY out = nullptr;
  const LSTATUS rc = RegOpenKeyExW(HiveRoot(hive), wide.c_str(), 0, access | KEY_WOW64_64KEY, &out);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("opening " + Where(hive, key), static_cast<uint32_t>(rc));
  }
  return UniqueHkey(out);
}

Result<RegistryValue> WindowsRegistry::GetValue(RegistryHive hive, std::string_view key,
                                                std::string_view name) const {
  return ReadValue(HiveRoot(hive), key, name, Where(hive, key, name));
}

Result<RegistryValue> ReadValue(HKEY root, std::string_view key, std::string_view name,
                                const std::string& where) {
  CG_ASSIGN_OR_RETURN(std::wstring wide_key, Utf8ToWide(key));
  HKEY raw = nullptr;
  const LSTATUS open_rc =
      RegOpenKeyExW(root, wide_key.c_str(), 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &raw);
  if (open_rc != ERROR_SUCCESS) {
    return Win32Error("opening " + where, static_cast<uint32_t>(open_rc));
  }
  const UniqueHkey handle(raw);
  CG_ASSIGN_OR_RETURN(std::wstring wide_name, Utf8ToWide(name));
  // The value can grow between the size query and the read (another writer): retry on
  // ERROR_MORE_DATA with the size Windows reports.
  std::vector<BYTE> data(256);
  DWORD type = REG_NONE;
  for (int attempt = 0;; ++attempt) {
    DWORD size = static_cast<DWORD>(data.size());
    const LSTATUS rc =
        RegQueryValueExW(handle.get(), wide_name.c_str(), nullptr, &type, data.data(), &size);
    if (rc == ERROR_SUCCESS) {
      data.resize(size);
      break;
    }
    if (rc == ERROR_MORE_DATA && attempt < 4) {
      data.resize(size);
      continue;
    }
    return Win32Error("reading " + where, static_cast<uint32_t>(rc));
  }

  RegistryValue value;
  const std::wstring_view text(reinterpret_cast<const wchar_t*>(data.data()),
                               data.size() / sizeof(wchar_t));
  switch (type) {
    case REG_SZ:
    case REG_EXPAND_SZ: {
      value.type = type == REG_SZ ? RegistryValueType::kString : RegistryValueType::kExpandString;
      Result<std::string> utf8 = StringFromData(text);
      if (!utf8.ok()) {
        return utf8.error().Wrap(where);
      }
      value.text = std::move(*utf8);
      break;
    }
    case REG_MULTI_SZ: {
      value.type = RegistryValueType::kMultiString;
      Result<std::vector<std::string>> list = MultiStringFromData(text);
      if (!list.ok()) {
        return list.error().Wrap(where);
      }
      value.strings = std::move(*list);
      break;
    }
    case REG_DWORD:
    case REG_QWORD: {
      const size_t want = type == REG_DWORD ? sizeof(uint32_t) : sizeof(uint64_t);
      if (data.size() != want) {
        return MakeError(ErrorCode::kParse, where + ": " + std::to_string(data.size()) +
                                                " bytes for a " +
                                                (type == REG_DWORD ? "DWORD" : "QWORD"));
      }
      value.type = type == REG_DWORD ? RegistryValueType::kDword : RegistryValueType::kQword;
      if (type == REG_DWORD) {
        uint32_t n = 0;
        std::memcpy(&n, data.data(), sizeof n);
        value.number = n;
      } else {
        std::memcpy(&value.number, data.data(), sizeof value.number);
      }
      break;
    }
    default:
      value.type = RegistryValueType::kBinary;
      value.bytes.assign(reinterpret_cast<const char*>(data.data()), data.size());
      break;
  }
  return value;
}

Result<std::vector<std::string>> WindowsRegistry::ListSubkeys(RegistryHive hive,
                                                              std::string_view key) const {
  CG_ASSIGN_OR_RETURN(UniqueHkey handle, OpenKey(hive, key, KEY_ENUMERATE_SUB_KEYS));
  std::vector<std::string> names;
  // Key names are at most 255 characters.
  std::wstring buffer(256, L'\0');
  for (DWORD index = 0;; ++index) {
    DWORD length = static_cast<DWORD>(buffer.size());
    const LSTATUS rc = RegEnumKeyExW(handle.get(), index, buffer.data(), &length, nullptr, nullptr,
                                     nullptr, nullptr);
    if (rc == ERROR_NO_MORE_ITEMS) {
      break;
    }
    if (rc != ERROR_SUCCESS) {
      return Win32Error("listing " + Where(hive, key), static_cast<uint32_t>(rc));
    }
    Result<std::string> utf8 = WideToUtf8(std::wstring_view(buffer.data(), length));
    if (!utf8.ok()) {
      return utf8.error().Wrap("listing " + Where(hive, key));
    }
    names.push_back(std::move(*utf8));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status WindowsRegistry::SetValue(RegistryHive hive, std::string_view key, std::string_view name,
                                 const RegistryValue& value) {
  CG_ASSIGN_OR_RETURN(std::wstring wide_key, Utf8ToWide(key));
  CG_ASSIGN_OR_RETURN(std::wstring wide_name, Utf8ToWide(name));
  HKEY raw = nullptr;
  LSTATUS rc =
      RegCreateKeyExW(HiveRoot(hive), wide_key.c_str(), 0, nullptr, REG_OPTION_NON_VOLATILE,
                      KEY_SET_VALUE | KEY_WOW64_64KEY, nullptr, &raw, nullptr);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("creating " + Where(hive, key), static_cast<uint32_t>(rc));
  }
  const UniqueHkey handle(raw);

  DWORD type = REG_BINARY;
  std::wstring wide_data;  // string types, with their terminators
  std::string bytes;       // what RegSetValueExW receives
  switch (value.type) {
    case RegistryValueType::kString:
    case RegistryValueType::kExpandString: {
      type = value.type == RegistryValueType::kString ? REG_SZ : REG_EXPAND_SZ;
      if (value.text.find('\0') != std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument, Where(hive, key, name) + ": NUL in a string");
      }
      CG_ASSIGN_OR_RETURN(wide_data, Utf8ToWide(value.text));
      wide_data.push_back(L'\0');
      break;
    }
    case RegistryValueType::kMultiString: {
      type = REG_MULTI_SZ;
      for (const std::string& item : value.strings) {
        if (item.empty() || item.find('\0') != std::string::npos) {
          // An empty item would end the list early for every reader.
          return MakeError(ErrorCode::kInvalidArgument,
                           Where(hive, key, name) + ": empty string or NUL in a multi-string");
        }
        CG_ASSIGN_OR_RETURN(std::wstring wide_item, Utf8ToWide(item));
        wide_data += wide_item;
        wide_data.push_back(L'\0');
      }
      wide_data.push_back(L'\0');
      break;
    }
    case RegistryValueType::kDword: {
      if (value.number > UINT32_MAX) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            Where(hive, key, name) + ": " + std::to_string(value.number) + " does not fit a DWORD");
      }
      type = REG_DWORD;
      const uint32_t n = static_cast<uint32_t>(value.number);
      bytes.assign(reinterpret_cast<const char*>(&n), sizeof n);
      break;
    }
    case RegistryValueType::kQword:
      type = REG_QWORD;
      bytes.assign(reinterpret_cast<const char*>(&value.number), sizeof value.number);
      break;
    case RegistryValueType::kBinary:
      bytes = value.bytes;
      break;
  }
  if (!wide_data.empty()) {
    bytes.assign(reinterpret_cast<const char*>(wide_data.data()),
                 wide_data.size() * sizeof(wchar_t));
  }
  if (bytes.size() > UINT32_MAX) {
    return MakeError(ErrorCode::kTooLarge, Where(hive, key, name));
  }
  rc =
      RegSetValueExW(handle.get(), wide_name.c_str(), 0, type,
                     reinterpret_cast<const BYTE*>(bytes.data()), static_cast<DWORD>(bytes.size()));
  if (rc != ERROR_SUCCESS) {
    return Win32Error("writing " + Where(hive, key, name), static_cast<uint32_t>(rc));
  }
  return OkStatus();
}

Status WindowsRegistry::DeleteValue(RegistryHive hive, std::string_view key,
                                    std::string_view name) {
  Result<UniqueHkey> handle = OpenKey(hive, key, KEY_SET_VALUE);
  if (!handle.ok()) {
    return handle.error().code == ErrorCode::kNotFound ? OkStatus() : Status(handle.error());
  }
  CG_ASSIGN_OR_RETURN(std::wstring wide_name, Utf8ToWide(name));
  const LSTATUS rc = RegDeleteValueW(handle->get(), wide_name.c_str());
  if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
    return Win32Error("deleting " + Where(hive, key, name), static_cast<uint32_t>(rc));
  }
  return OkStatus();
}

Status WindowsRegistry::DeleteTree(RegistryHive hive, std::string_view key) {
  if (key.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "refusing to delete a whole hive");
  }
  const size_t slash = key.rfind('\\');
  const std::string_view parent = slash == std::string_view::npos ? "" : key.substr(0, slash);
  const std::string_view leaf = slash == std::string_view::npos ? key : key.substr(slash + 1);
  Result<UniqueHkey> handle =
      OpenKey(hive, parent, DELETE | KEY_ENUMERATE_SUB_KEYS | KEY_QUERY_VALUE | KEY_SET_VALUE);
  if (!handle.ok()) {
    return handle.error().code == ErrorCode::kNotFound ? OkStatus() : Status(handle.error());
  }
  CG_ASSIGN_OR_RETURN(std::wstring wide_leaf, Utf8ToWide(leaf));
  const LSTATUS rc = RegDeleteTreeW(handle->get(), wide_leaf.c_str());
  if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND) {
    return Win32Error("deleting " + Where(hive, key), static_cast<uint32_t>(rc));
  }
  return OkStatus();
}

}  // namespace cg::platform::windows

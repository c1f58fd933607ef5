// The Windows implementation of platform/os/files.h (the programs' own state: keys, spool,
// config); platform/linux/os/files.cpp is the POSIX one.
//
// Durability: write a temporary file in the same directory, FlushFileBuffers, then
// MoveFileExW(MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH), which returns only once
// the rename is on disk (NTFS has no directory fsync). Permissions: a `mode` without group
// or other bits (0600 keys, 0700 state dir) becomes a protected DACL that grants SYSTEM and
// Administrators only; other modes inherit the parent's ACL.
#include "platform/os/files.h"

// clang-format off
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
// clang-format on

#include <filesystem>
#include <memory>

#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg {
namespace {

using platform::windows::LastWin32Error;
using platform::windows::Utf8ToWide;
using platform::windows::Win32Error;

struct HandleCloser {
  void operator()(HANDLE h) const {
    if (h != INVALID_HANDLE_VALUE) {
      CloseHandle(h);
    }
  }
};
using UniqueHandle = std::unique_ptr<void, HandleCloser>;

struct LocalFreer {
  void operator()(void* p) const { LocalFree(p); }
};

constexpr wchar_t kPrivateSddl[] = L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

bool IsPrivate(unsigned mode) { return (mode & 077) == 0; }

// A security descriptor for SYSTEM + Administrators only, or null (inherit) for shared modes.
Result<std::unique_ptr<void, LocalFreer>> DescriptorFor(unsigned mode) {
  if (!IsPrivate(mode)) {
    return std::unique_ptr<void, LocalFreer>();
  }
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(kPrivateSddl, SDDL_REVISION_1, &sd,
                                                            nullptr)) {
    return LastWin32Error("building the private ACL");
  }
  return std::unique_ptr<void, LocalFreer>(sd);
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  // FILE_SHARE_DELETE: a concurrent atomic replace of this file must not fail.
  UniqueHandle file(CreateFileW(wide.c_str(), GENERIC_READ,
                                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (file.get() == INVALID_HANDLE_VALUE) {
    return LastWin32Error("open " + path);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    DWORD n = 0;
    if (!ReadFile(file.get(), buf, sizeof buf, &n, nullptr)) {
      return LastWin32Error("read " + path);
    }
    if (n == 0) {
      break;
    }
    if (out.size() + n > max_bytes) {
      return MakeError(ErrorCode::kTooLarge,
                       path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
  }
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, unsigned mode) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  const std::wstring temp = wide + L".tmp" + std::to_wstring(GetCurrentProcessId()) + L"-" +
                            std::to_wstring(GetCurrentThreadId());
  CG_ASSIGN_OR_RETURN(auto descriptor, DescriptorFor(mode));
  SECURITY_ATTRIBUTES sa{sizeof sa, descriptor.get(), FALSE};
  UniqueHandle file(CreateFileW(temp.c_str(), GENERIC_WRITE, 0, descriptor ? &sa : nullptr,
                                CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (file.get() == INVALID_HANDLE_VALUE) {
    return LastWin32Error("create temporary file for " + path);
  }
  auto fail = [&](std::string_view what) {
    const Error e = LastWin32Error(std::string(what) + " " + path);
    file.reset();
    DeleteFileW(temp.c_str());
    return e;
  };
  size_t off = 0;
  while (off < data.size()) {
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(data.size() - off, 1u << 30));
    DWORD n = 0;
    if (!WriteFile(file.get(), data.data() + off, chunk, &n, nullptr)) {
      return fail("write");
    }
    off += n;
  }
  if (!FlushFileBuffers(file.get())) {
    return fail("flush");
  }
  file.reset();
  if (!MoveFileExW(temp.c_str(), wide.c_str(),
                   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const Error e = LastWin32Error("rename into " + path);
    DeleteFileW(temp.c_str());
    return e;
  }
  return OkStatus();
}

Status AppendFileDurable(const std::string& path, std::string_view data, unsigned mode) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  CG_ASSIGN_OR_RETURN(auto descriptor, DescriptorFor(mode));
  SECURITY_ATTRIBUTES sa{sizeof sa, descriptor.get(), FALSE};
  UniqueHandle file(CreateFileW(wide.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ,
                                descriptor ? &sa : nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                                nullptr));
  if (file.get() == INVALID_HANDLE_VALUE) {
    return LastWin32Error("open " + path + " for appending");
  }
  size_t off = 0;
  while (off < data.size()) {
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(data.size() - off, 1u << 30));
    DWORD n = 0;
    if (!WriteFile(file.get(), data.data() + off, chunk, &n, nullptr)) {
      return LastWin32Error("append to " + path);
    }
    off += n;
  }
  if (!FlushFileBuffers(file.get())) {
    return LastWin32Error("flush " + path);
  }
  return OkStatus();
}

Status EnsureDirectory(const std::string& path, unsigned mode) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(wide), ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "create directory " + path + ": " + ec.message());
  }
  if (!IsPrivate(mode)) {
    return OkStatus();
  }
  // Replace whatever the directory inherited with the protected SYSTEM + Administrators ACL.
  CG_ASSIGN_OR_RETURN(auto descriptor, DescriptorFor(mode));
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  if (!GetSecurityDescriptorDacl(descriptor.get(), &present, &dacl, &defaulted)) {
    return LastWin32Error("reading the private ACL");
  }
  const DWORD rc = SetNamedSecurityInfoW(
      wide.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
      nullptr, nullptr, dacl, nullptr);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("set ACL of " + path, rc);
  }
  return OkStatus();
}

Result<std::string> ReadStandardInput(size_t max_bytes) {
  HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
  if (in == INVALID_HANDLE_VALUE || in == nullptr) {
    return MakeError(ErrorCode::kUnavailable, "no standard input");
  }
  // Typed at a console there is no end of file short of Ctrl+Z: one line is the answer.
  const bool console = GetFileType(in) == FILE_TYPE_CHAR;
  std::string out;
  char buf[4096];
  for (;;) {
    DWORD n = 0;
    if (!ReadFile(in, buf, sizeof buf, &n, nullptr)) {
      const DWORD rc = GetLastError();
      if (rc == ERROR_BROKEN_PIPE || rc == ERROR_HANDLE_EOF) {
        break;  // the writer closed its end of the pipe
      }
      return Win32Error("read standard input", rc);
    }
    if (n == 0) {
      break;
    }
    if (out.size() + n > max_bytes) {
      return MakeError(ErrorCode::kTooLarge,
                       "standard input: larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, n);
    if (console && out.find('\n') != std::string::npos) {
      break;
    }
  }
  return out;
}

Result<std::optional<std::string>> ReadableByOthers(const std::string& path) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, Utf8ToWide(path));
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD rc = GetNamedSecurityInfoW(wide.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                                         nullptr, nullptr, &dacl, nullptr, &sd);
  if (rc != ERROR_SUCCESS) {
    return Win32Error("reading the ACL of " + path, rc);
  }
  std::unique_ptr<void, LocalFreer> owned(sd);
  if (dacl == nullptr) {
    return std::optional<std::string>("no ACL: everyone has full access");
  }
  struct Broad {
    WELL_KNOWN_SID_TYPE type;
    const char* name;
  };
  constexpr Broad kBroad[] = {{WinWorldSid, "Everyone"},
                              {WinBuiltinUsersSid, "Users"},
                              {WinAuthenticatedUserSid, "Authenticated Users"},
                              {WinInteractiveSid, "Interactive"}};
  constexpr ACCESS_MASK kRead = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
  // Deny entries are not weighed: a broad allow is reported even behind a deny (a warning too
  // many rather than one too few).
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!GetAce(dacl, i, &ace)) {
      return LastWin32Error("reading the ACL of " + path);
    }
    const auto* header = static_cast<const ACE_HEADER*>(ace);
    if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || (header->AceFlags & INHERIT_ONLY_ACE) != 0) {
      continue;
    }
    auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
    if ((allowed->Mask & kRead) == 0) {
      continue;
    }
    for (const Broad& broad : kBroad) {
      BYTE sid[SECURITY_MAX_SID_SIZE];
      DWORD size = sizeof sid;
      if (CreateWellKnownSid(broad.type, nullptr, sid, &size) &&
          EqualSid(&allowed->SidStart, sid)) {
        return std::optional<std::string>(std::string(broad.name) + " may read it (its ACL)");
      }
    }
  }
  return std::optional<std::string>();
}

bool FileExists(const std::string& path) {
  Result<std::wstring> wide = Utf8ToWide(path);
  return wide.ok() && GetFileAttributesW(wide->c_str()) != INVALID_FILE_ATTRIBUTES;
}

}  // namespace cg

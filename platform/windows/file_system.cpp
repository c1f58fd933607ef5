#include "platform/windows/file_system.h"

#include <windows.h>

#include <algorithm>
#include <memory>

#include "platform/os/files.h"
#include "platform/windows/handle.h"
#include "platform/windows/long_path.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

bool IsLive(std::string_view root) { return root.empty() || root == "/"; }

// Opens a file for reading, sharing everything; a final symlink is followed (as POSIX open()
// does), a directory is refused.
Result<UniqueHandle> OpenForRead(const std::string& host, std::string_view what) {
  CG_ASSIGN_OR_RETURN(std::wstring wide, ToLongPath(host));
  UniqueHandle file(CreateFileW(wide.c_str(), GENERIC_READ, kShareAll, nullptr, OPEN_EXISTING,
                                FILE_ATTRIBUTE_NORMAL | FILE_FLAG_SEQUENTIAL_SCAN, nullptr));
  if (!Valid(file)) {
    return LastWin32Error(what);
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(file.get(), &info)) {
    return LastWin32Error(what);
  }
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + ": is a directory");
  }
  return file;
}

Result<uint64_t> SizeOf(HANDLE file, std::string_view what) {
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(file, &size)) {
    return LastWin32Error(what);
  }
  return static_cast<uint64_t>(size.QuadPart);
}

// Reads up to `length` bytes at `offset` (fewer at end of file).
Result<std::string> ReadAt(HANDLE file, uint64_t offset, size_t length, std::string_view what) {
  std::string out;
  out.resize(length);
  size_t got = 0;
  while (got < length) {
    OVERLAPPED at{};
    const uint64_t pos = offset + got;
    at.Offset = static_cast<DWORD>(pos & 0xffffffffu);
    at.OffsetHigh = static_cast<DWORD>(pos >> 32);
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(length - got, 1u << 20));
    DWORD n = 0;
    if (!::ReadFile(file, out.data() + got, chunk, &n, &at)) {
      if (GetLastError() == ERROR_HANDLE_EOF) {
        break;
      }
      return LastWin32Error(what);
    }
    if (n == 0) {
      break;
    }
    got += n;
  }
  out.resize(got);
  return out;
}

}  // namespace

Result<std::unique_ptr<WindowsFileSystem>> WindowsFileSystem::Create(const std::string& root) {
  if (IsLive(root)) {
    return std::unique_ptr<WindowsFileSystem>(new WindowsFileSystem("/"));
  }
  CG_ASSIGN_OR_RETURN(std::wstring wide, ToLongPath(root));
  const DWORD attrs = GetFileAttributesW(wide.c_str());
  if (attrs == INVALID_FILE_ATTRIBUTES) {
    return LastWin32Error("root " + root);
  }
  if ((attrs & FILE_ATTRIBUTE_DIRECTORY) == 0) {
    return MakeError(ErrorCode::kInvalidArgument, "root " + root + ": not a directory");
  }
  CG_ASSIGN_OR_RETURN(std::string full, WideToUtf8(StripLongPrefix(wide)));
  while (full.size() > 3 && (full.back() == '\\' || full.back() == '/')) {
    full.pop_back();
  }
  return std::unique_ptr<WindowsFileSystem>(new WindowsFileSystem(std::move(full)));
}

namespace {

// The refusal of a path that is not a Windows path on the live machine.
Status CheckLivePath(std::string_view root, std::string_view path) {
  if (IsLive(root) && !IsWindowsAbsolutePath(path)) {
    return MakeError(ErrorCode::kUnavailable,
                     std::string(path) + ": not a Windows path (a Linux file; this is Windows)");
  }
  return OkStatus();
}

}  // namespace

std::string WindowsFileSystem::HostPath(std::string_view path) const {
  std::string p(path);
  std::replace(p.begin(), p.end(), '/', '\\');
  if (IsLive(root_)) {
    return p;
  }
  // "C:\x" -> "<root>\C\x"; "\x" -> "<root>\x".
  std::string rel;
  if (p.size() >= 2 && p[1] == ':') {
    rel = std::string(1, p[0]) + "\\" + p.substr(2);
  } else {
    rel = p;
  }
  while (!rel.empty() && rel.front() == '\\') {
    rel.erase(0, 1);
  }
  std::string out = root_;
  if (out.back() != '\\' && out.back() != '/') {
    out.push_back('\\');
  }
  std::string joined = out + rel;
  // Keep the result below the root: ".." may not climb out of a fixture tree.
  Result<std::wstring> full = ToLongPath(joined);
  Result<std::wstring> base = ToLongPath(root_);
  if (full.ok() && base.ok() && !full->starts_with(*base)) {
    return out;
  }
  return joined;
}

Result<std::string> WindowsFileSystem::ReadFile(std::string_view path, size_t max_bytes) const {
  const std::string what = "read " + std::string(path);
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  CG_ASSIGN_OR_RETURN(UniqueHandle file, OpenForRead(HostPath(path), what));
  CG_ASSIGN_OR_RETURN(uint64_t size, SizeOf(file.get(), what));
  if (size > max_bytes) {
    return MakeError(ErrorCode::kTooLarge,
                     what + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  // One byte more than the size: a file that grew since is noticed against max_bytes.
  CG_ASSIGN_OR_RETURN(std::string data, ReadAt(file.get(), 0, static_cast<size_t>(size) + 1, what));
  if (data.size() > max_bytes) {
    return MakeError(ErrorCode::kTooLarge,
                     what + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  return data;
}

Result<std::string> WindowsFileSystem::ReadFileRange(std::string_view path, uint64_t offset,
                                                     size_t length) const {
  const std::string what = "read " + std::string(path);
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  CG_ASSIGN_OR_RETURN(UniqueHandle file, OpenForRead(HostPath(path), what));
  return ReadAt(file.get(), offset, length, what);
}

Result<std::vector<DirEntry>> WindowsFileSystem::ListDir(std::string_view path) const {
  const std::string what = "list " + std::string(path);
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  CG_ASSIGN_OR_RETURN(std::wstring dir, ToLongPath(HostPath(path)));
  if (!dir.ends_with(L"\\")) {
    dir.push_back(L'\\');
  }
  WIN32_FIND_DATAW found{};
  HANDLE h = FindFirstFileExW((dir + L"*").c_str(), FindExInfoBasic, &found, FindExSearchNameMatch,
                              nullptr, FIND_FIRST_EX_LARGE_FETCH);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND) {
      return std::vector<DirEntry>{};  // an empty directory (not even "." on some roots)
    }
    return Win32Error(what, err);
  }
  std::unique_ptr<void, decltype(&FindClose)> closer(h, &FindClose);
  std::vector<DirEntry> out;
  do {
    const std::wstring_view name(found.cFileName);
    if (name == L"." || name == L"..") {
      continue;
    }
    auto utf8 = WideToUtf8(name);
    if (!utf8.ok()) {
      continue;  // an unpaired surrogate in a name: not representable, not listed
    }
    DirEntry e;
    e.name = std::move(utf8).value();
    if ((found.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
      e.type = FileType::kSymlink;
    } else if ((found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      e.type = FileType::kDirectory;
    } else {
      e.type = FileType::kRegular;
    }
    out.push_back(std::move(e));
  } while (FindNextFileW(h, &found));
  const DWORD err = GetLastError();
  if (err != ERROR_NO_MORE_FILES) {
    return Win32Error(what, err);
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<FileInfo> WindowsFileSystem::Stat(std::string_view path) const {
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  CG_ASSIGN_OR_RETURN(std::wstring wide, ToLongPath(HostPath(path)));
  WIN32_FILE_ATTRIBUTE_DATA data{};
  if (!GetFileAttributesExW(wide.c_str(), GetFileExInfoStandard, &data)) {
    return LastWin32Error("stat " + std::string(path));
  }
  FileInfo info;
  if ((data.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    info.type = FileType::kSymlink;
    info.mode = 0777;
  } else if ((data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
    info.type = FileType::kDirectory;
    info.mode = 0755;
  } else {
    info.type = FileType::kRegular;
    info.mode = (data.dwFileAttributes & FILE_ATTRIBUTE_READONLY) != 0 ? 0444 : 0644;
    info.size = (static_cast<uint64_t>(data.nFileSizeHigh) << 32) | data.nFileSizeLow;
  }
  info.mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(FiletimeToUnixNanos(FiletimeValue(data.ftLastWriteTime)))));
  return info;
}

Status WindowsFileSystem::WriteFileAtomic(std::string_view path, std::string_view data,
                                          uint32_t mode) {
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  std::string host = HostPath(path);
  const size_t sep = host.find_last_of("\\/");
  if (sep != std::string::npos && sep > 0 && host[sep - 1] != ':') {
    CG_RETURN_IF_ERROR(EnsureDirectory(host.substr(0, sep), 0755));
  }
  return cg::WriteFileAtomic(host, data, mode);
}

Status WindowsFileSystem::RemoveFile(std::string_view path) {
  CG_RETURN_IF_ERROR(CheckLivePath(root_, path));
  CG_ASSIGN_OR_RETURN(std::wstring wide, ToLongPath(HostPath(path)));
  if (!DeleteFileW(wide.c_str())) {
    return LastWin32Error("remove " + std::string(path));
  }
  return OkStatus();
}

}  // namespace cg::platform::windows

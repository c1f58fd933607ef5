#include "platform/windows/command_runner.h"

#include <windows.h>

#include <memory>
#include <thread>
#include <vector>

#include "platform/windows/handle.h"
#include "platform/windows/utf16.h"
#include "platform/windows/win32_error.h"

namespace cg::platform::windows {
namespace {

std::wstring SystemRoot() {
  wchar_t buf[MAX_PATH];
  const UINT n = GetSystemWindowsDirectoryW(buf, MAX_PATH);
  return n > 0 && n < MAX_PATH ? std::wstring(buf, n) : std::wstring(L"C:\\Windows");
}

std::vector<std::wstring> SystemDirs() {
  const std::wstring root = SystemRoot();
  return {root + L"\\System32", root, root + L"\\System32\\Wbem"};
}

// The environment block: sorted NAME=value strings, each NUL-terminated, then a NUL.
std::wstring CleanEnvironment() {
  const std::wstring root = SystemRoot();
  std::wstring path;
  for (const auto& d : SystemDirs()) {
    path += (path.empty() ? L"" : L";") + d;
  }
  wchar_t temp[MAX_PATH + 1];
  const DWORD tn = GetTempPathW(MAX_PATH + 1, temp);
  std::wstring tmp = tn > 0 && tn <= MAX_PATH ? std::wstring(temp, tn) : root + L"\\Temp";
  if (tmp.size() > 3 && tmp.back() == L'\\') {
    tmp.pop_back();
  }
  std::wstring block;
  for (const std::wstring& var :
       {L"PATH=" + path, L"SystemDrive=" + root.substr(0, 2), L"SystemRoot=" + root, L"TEMP=" + tmp,
        L"TMP=" + tmp, L"windir=" + root}) {
    block += var;
    block.push_back(L'\0');
  }
  block.push_back(L'\0');
  return block;
}

// Reads a pipe to its end, keeping at most `max` bytes (the rest is drained so the child never
// blocks on a full pipe).
void Drain(HANDLE pipe, std::string* sink, size_t max) {
  char buf[16384];
  for (;;) {
    DWORD n = 0;
    if (!::ReadFile(pipe, buf, sizeof buf, &n, nullptr) || n == 0) {
      return;
    }
    if (sink->size() < max) {
      sink->append(buf, std::min<size_t>(n, max - sink->size()));
    }
  }
}

}  // namespace

std::wstring QuoteArgument(std::wstring_view arg) {
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring_view::npos) {
    return std::wstring(arg);
  }
  std::wstring out = L"\"";
  size_t backslashes = 0;
  for (const wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    if (c == L'"') {
      out.append(backslashes * 2 + 1, L'\\');
    } else {
      out.append(backslashes, L'\\');
    }
    backslashes = 0;
    out.push_back(c);
  }
  out.append(backslashes * 2, L'\\');
  out.push_back(L'"');
  return out;
}

std::string WindowsCommandRunner::Which(std::string_view name) const {
  auto wide = Utf8ToWide(name);
  if (!wide.ok() || wide->empty() || wide->find_first_of(L"\\/:") != std::wstring::npos) {
    return "";
  }
  std::wstring file = *wide;
  if (file.find(L'.') == std::wstring::npos) {
    file += L".exe";
  }
  for (const auto& dir : SystemDirs()) {
    const std::wstring candidate = dir + L"\\" + file;
    const DWORD attrs = GetFileAttributesW(candidate.c_str());
    if (attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) == 0) {
      auto utf8 = WideToUtf8(candidate);
      return utf8.ok() ? std::move(utf8).value() : "";
    }
  }
  return "";
}

Result<CommandResult> WindowsCommandRunner::Run(const std::vector<std::string>& argv,
                                                std::chrono::milliseconds timeout,
                                                size_t max_output) {
  if (argv.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "run: empty command");
  }
  std::wstring program;
  std::wstring cmdline;
  for (size_t i = 0; i < argv.size(); ++i) {
    CG_ASSIGN_OR_RETURN(std::wstring arg, Utf8ToWide(argv[i]));
    if (i == 0) {
      program = arg;
    } else {
      cmdline.push_back(L' ');
    }
    cmdline += QuoteArgument(arg);
  }
  if (program.find_first_of(L"\\/") == std::wstring::npos) {
    const std::string found = Which(argv[0]);
    if (found.empty()) {
      return MakeError(ErrorCode::kNotFound,
                       "run " + argv[0] + ": not found in the system directories");
    }
    CG_ASSIGN_OR_RETURN(program, Utf8ToWide(found));
  }

  SECURITY_ATTRIBUTES inherit{sizeof inherit, nullptr, TRUE};
  HANDLE out_r = nullptr;
  HANDLE out_w = nullptr;
  HANDLE err_r = nullptr;
  HANDLE err_w = nullptr;
  if (!CreatePipe(&out_r, &out_w, &inherit, 0)) {
    return LastWin32Error("CreatePipe");
  }
  UniqueHandle out_read(out_r), out_write(out_w);
  if (!CreatePipe(&err_r, &err_w, &inherit, 0)) {
    return LastWin32Error("CreatePipe");
  }
  UniqueHandle err_read(err_r), err_write(err_w);
  // Only the write ends go to the child.
  SetHandleInformation(out_r, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(err_r, HANDLE_FLAG_INHERIT, 0);
  UniqueHandle null_in(CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                   &inherit, OPEN_EXISTING, 0, nullptr));
  if (!Valid(null_in)) {
    return LastWin32Error("open NUL");
  }

  UniqueHandle job(CreateJobObjectW(nullptr, nullptr));
  if (!Valid(job)) {
    return LastWin32Error("CreateJobObjectW");
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits, sizeof limits);

  // Exactly these three handles are inherited (PROC_THREAD_ATTRIBUTE_HANDLE_LIST): with plain
  // inheritance a command started at the same time on another thread would inherit this
  // one's pipe ends too, and this one's output would not end until that command did.
  HANDLE inherited[] = {null_in.get(), out_w, err_w};
  SIZE_T attr_size = 0;
  InitializeProcThreadAttributeList(nullptr, 1, 0, &attr_size);
  std::vector<char> attr_storage(attr_size);
  auto* attrs = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attr_storage.data());
  if (!InitializeProcThreadAttributeList(attrs, 1, 0, &attr_size)) {
    return LastWin32Error("InitializeProcThreadAttributeList");
  }
  std::unique_ptr<_PROC_THREAD_ATTRIBUTE_LIST, decltype(&DeleteProcThreadAttributeList)> attr_list(
      attrs, &DeleteProcThreadAttributeList);
  if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherited,
                                 sizeof inherited, nullptr, nullptr)) {
    return LastWin32Error("UpdateProcThreadAttribute");
  }
  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = null_in.get();
  si.StartupInfo.hStdOutput = out_w;
  si.StartupInfo.hStdError = err_w;
  si.lpAttributeList = attrs;
  std::wstring env = CleanEnvironment();
  std::wstring line = QuoteArgument(program) + cmdline;
  PROCESS_INFORMATION pi{};
  if (!CreateProcessW(program.c_str(), line.data(), nullptr, nullptr, TRUE,
                      CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW | CREATE_SUSPENDED |
                          EXTENDED_STARTUPINFO_PRESENT,
                      env.data(), nullptr, &si.StartupInfo, &pi)) {
    return LastWin32Error("run " + argv[0]);
  }
  UniqueHandle process(pi.hProcess);
  UniqueHandle thread(pi.hThread);
  // In the job before it runs, so nothing it starts escapes a timeout.
  AssignProcessToJobObject(job.get(), pi.hProcess);
  ResumeThread(pi.hThread);
  out_write.reset();
  err_write.reset();
  null_in.reset();

  CommandResult result;
  std::thread err_reader(Drain, err_r, &result.err, max_output);
  std::thread out_reader(Drain, out_r, &result.out, max_output);
  const DWORD wait = WaitForSingleObject(
      pi.hProcess, static_cast<DWORD>(std::min<int64_t>(timeout.count(), INFINITE - 1)));
  if (wait != WAIT_OBJECT_0) {
    result.timed_out = wait == WAIT_TIMEOUT;
    TerminateJobObject(job.get(), 1);
    WaitForSingleObject(pi.hProcess, INFINITE);
  }
  // The pipes end only when every process holding a write end is gone: whatever the command
  // left running (its children) is ended with the job, or the readers would wait for it.
  TerminateJobObject(job.get(), 1);
  out_reader.join();
  err_reader.join();
  DWORD code = 0;
  if (!result.timed_out && GetExitCodeProcess(pi.hProcess, &code)) {
    result.exit_code = static_cast<int>(code);
  }
  return result;
}

}  // namespace cg::platform::windows

// The Windows half of the YARA differential test (yara_differential_test.sh drives it under
// Wine): `make BASE` writes the rules and the corpus, `compare BASE AGENT_EXE` runs
// `cg-agent.exe scan` over it and compares the (rule, path) matches with what the Linux `yara`
// CLI printed for the same files (BASE/yara.out, made by the script between the two steps).
// BASE is a Unix directory; Wine's Z: drive is the Unix root, so the Windows path of /x/y is
// Z:\x\y.
//
// The corpus is yara_corpus.h's (the Linux test's rules and planted files) plus what Windows
// adds: names with Vietnamese letters, a path of more than 260 characters (MAX_PATH), and two
// files held open by this process while cg-agent.exe scans: one the way an editor holds a
// document (write access, sharing read), which the scan must read like yara does, and one
// without any sharing, which no other program can open: the scan must report it as an error
// with ERROR_SHARING_VIOLATION (32) and report nothing else differently.
//
// `make-huge BASE` / `compare-huge BASE AGENT_EXE` (yara_differential_test.sh BASE huge, its
// own CTest test) are the file past 2^31: yara_corpus.h's 2.2 GiB sparse file (WriteHuge),
// scanned by cg-agent.exe (mapped whole, then hashed through ReadAt since it matches) and by
// `yara`, with yara_corpus.h's HugeRules (the rules about sizes and offsets); the match must
// carry the file's size and SHA-256.
#include <windows.h>
// CommandLineToArgvW; after windows.h.
#include <shellapi.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../integration/yara_corpus.h"
#include "platform/scan_io.h"
#include "platform/windows/utf16.h"

namespace {

namespace corpus = cg::test::yara_corpus;
using cg::platform::windows::Utf8ToWide;
using cg::platform::windows::WideToUtf8;
using Hits = std::set<std::pair<std::string, std::string>>;

// A directory name of 52 characters; eight of them make a path far beyond MAX_PATH.
const std::string kLongDir = "Hồ sơ một cửa xã Bắc Hà năm 2026 – lưu trữ dài hạn số";
const std::string kShared = "đang mở/báo cáo đang soạn.docx";
const std::string kExclusive = "đang mở/sổ cái độc quyền.xlsx";

int failures = 0;

void Fail(const std::string& what) {
  ++failures;
  std::printf("FAIL: %s\n", what.c_str());
}

std::string LongRel() {
  std::string rel = "dài";
  for (int i = 1; i <= 7; ++i) {
    rel += "/" + kLongDir + " " + std::to_string(i);
  }
  return rel + "/tệp ở đường dẫn dài.txt";
}

// The Windows files beside the planted ones, '/'-separated relative paths and contents.
std::vector<std::pair<std::string, std::string>> WindowsFiles() {
  const std::string& m = corpus::kMarker;
  return {
      {"Tài liệu/Báo cáo tháng 12 – UBND xã Bắc Hà.docx", corpus::Filler(300, 21) + m},
      {"Tài liệu/Nguyễn Văn Ánh/ghi chú.txt", corpus::Filler(40, 22) + "cg-alpha-0042"},
      {"Tài liệu/Ảnh chụp màn hình.png", corpus::Filler(64, 23)},
      {"Tài liệu/trống rỗng", ""},
      {LongRel(), m + corpus::Filler(100, 24)},
      {kShared, corpus::Filler(50, 25) + m},
      {kExclusive, m + corpus::Filler(50, 26)},
  };
}

std::wstring WinPath(const std::string& unix_path) {
  std::string p = "Z:" + unix_path;
  std::replace(p.begin(), p.end(), '/', '\\');
  return *Utf8ToWide(p);
}

std::string WinPathUtf8(const std::string& unix_path) { return *WideToUtf8(WinPath(unix_path)); }

// \\?\ form: no MAX_PATH limit for CreateDirectoryW/CreateFileW.
std::wstring Long(const std::wstring& path) { return L"\\\\?\\" + path; }

bool WriteLong(const std::wstring& path, const std::string& data) {
  for (size_t i = path.find(L'\\', 3); i != std::wstring::npos; i = path.find(L'\\', i + 1)) {
    CreateDirectoryW(Long(path.substr(0, i)).c_str(), nullptr);
  }
  const HANDLE h = CreateFileW(Long(path).c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    return false;
  }
  DWORD written = 0;
  const bool ok = data.empty() ||
                  (WriteFile(h, data.data(), static_cast<DWORD>(data.size()), &written, nullptr) &&
                   written == data.size());
  CloseHandle(h);
  return ok;
}

int Make(const std::string& base) {
  const std::wstring root = WinPath(base + "/corpus");
  if (!corpus::WriteFile(std::filesystem::path(WinPath(base + "/rules.yar")), corpus::kRules)) {
    Fail("writing rules.yar");
  }
  for (const auto& rel : corpus::WritePlanted(std::filesystem::path(root))) {
    Fail("writing " + rel);
  }
  for (const auto& [rel, data] : WindowsFiles()) {
    if (!WriteLong(WinPath(base + "/corpus/" + rel), data)) {
      Fail("writing " + rel + " (Win32 error " + std::to_string(GetLastError()) + ")");
    }
  }
  const size_t long_chars = WinPath(base + "/corpus/" + LongRel()).size();
  std::printf("corpus written; the long path has %zu UTF-16 characters\n", long_chars);
  if (long_chars <= MAX_PATH) {
    Fail("the long path is not longer than MAX_PATH");
  }
  return failures == 0 ? 0 : 1;
}

int MakeHuge(const std::string& base) {
  if (!corpus::WriteFile(std::filesystem::path(WinPath(base + "/rules.yar")),
                         corpus::HugeRules())) {
    Fail("writing rules.yar");
  }
  if (!corpus::WriteHuge(std::filesystem::path(WinPath(base + "/corpus")))) {
    Fail("writing planted/huge_sparse.bin");
  }
  return failures == 0 ? 0 : 1;
}

std::string ReadAll(const std::string& unix_path) {
  std::ifstream f(std::filesystem::path(WinPath(unix_path)), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// `yara` prints "RULE PATH\n" per match with the path's raw bytes; a record ends where the
// next "\nRULE ROOT/" begins (as in the Linux test). Paths become the Windows paths the scan
// reports, escaped the same way.
Hits ParseYara(const std::string& out, const std::string& unix_root,
               const std::vector<std::string>& rules = corpus::RuleNames()) {
  auto starts_record = [&](size_t pos) {
    return std::any_of(rules.begin(), rules.end(), [&](const std::string& r) {
      const std::string head = r + " " + unix_root + "/";
      return out.compare(pos, head.size(), head) == 0;
    });
  };
  std::vector<size_t> starts;
  if (!out.empty() && starts_record(0)) {
    starts.push_back(0);
  }
  for (size_t i = out.find('\n'); i != std::string::npos; i = out.find('\n', i + 1)) {
    if (i + 1 < out.size() && starts_record(i + 1)) {
      starts.push_back(i + 1);
    }
  }
  Hits hits;
  for (size_t k = 0; k < starts.size(); ++k) {
    const size_t end = k + 1 < starts.size() ? starts[k + 1] - 1 : out.size() - 1;
    const std::string record = out.substr(starts[k], end - starts[k]);
    const size_t space = record.find(' ');
    hits.emplace(record.substr(0, space),
                 cg::platform::EscapePath(WinPathUtf8(record.substr(space + 1))));
  }
  return hits;
}

struct Run {
  DWORD exit_code = 0;
  std::string out;
};

// Runs the command line with stdout captured (stderr inherited).
bool RunProcess(std::wstring command_line, Run& run) {
  SECURITY_ATTRIBUTES sa{sizeof sa, nullptr, TRUE};
  HANDLE read = nullptr;
  HANDLE write = nullptr;
  if (!CreatePipe(&read, &write, &sa, 0)) {
    return false;
  }
  SetHandleInformation(read, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdOutput = write;
  si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  PROCESS_INFORMATION pi{};
  const bool started = CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, TRUE, 0,
                                      nullptr, nullptr, &si, &pi);
  CloseHandle(write);
  if (!started) {
    CloseHandle(read);
    return false;
  }
  char buf[65536];
  DWORD n = 0;
  while (ReadFile(read, buf, sizeof buf, &n, nullptr) && n > 0) {
    run.out.append(buf, n);
  }
  CloseHandle(read);
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &run.exit_code);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  return true;
}

std::wstring Quote(const std::wstring& arg) { return L"\"" + arg + L"\""; }

int Compare(const std::string& base, const std::string& agent) {
  const std::string unix_root = base + "/corpus";
  const std::string root = WinPathUtf8(unix_root);
  auto escaped = [&](const std::string& rel) {
    return cg::platform::EscapePath(WinPathUtf8(unix_root + "/" + rel));
  };
  const Hits expected = ParseYara(ReadAll(base + "/yara.out"), unix_root);

  // Held the way a word processor holds an open document, and exclusively.
  const HANDLE shared =
      CreateFileW(WinPath(unix_root + "/" + kShared).c_str(), GENERIC_READ | GENERIC_WRITE,
                  FILE_SHARE_READ, nullptr, OPEN_EXISTING, 0, nullptr);
  const HANDLE exclusive =
      CreateFileW(WinPath(unix_root + "/" + kExclusive).c_str(), GENERIC_READ | GENERIC_WRITE, 0,
                  nullptr, OPEN_EXISTING, 0, nullptr);
  if (shared == INVALID_HANDLE_VALUE || exclusive == INVALID_HANDLE_VALUE) {
    Fail("holding the open files (Win32 error " + std::to_string(GetLastError()) + ")");
    return 1;
  }
  Run run;
  const std::wstring command = Quote(*Utf8ToWide(agent)) + L" scan --rules " +
                               Quote(WinPath(base + "/rules.yar")) + L" --path " +
                               Quote(WinPath(unix_root)) + L" --threads 2 --json";
  const bool ran = RunProcess(command, run);
  CloseHandle(shared);
  CloseHandle(exclusive);
  if (!ran) {
    Fail("starting " + agent + " (Win32 error " + std::to_string(GetLastError()) + ")");
    return 1;
  }
  if (run.exit_code != 1) {
    Fail("cg-agent.exe scan exited " + std::to_string(run.exit_code) + ", not 1 (matches found)");
  }
  const auto doc = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    Fail("cg-agent.exe scan printed no JSON: " + run.out.substr(0, 2000));
    return 1;
  }
  Hits got;
  for (const auto& m : doc["matches"]) {
    got.emplace(m["rule"].get<std::string>(), m["path"].get<std::string>());
  }

  // The corpus exercises what it claims to: yara saw each kind of planted hit, the Windows
  // names and the long path included.
  auto corpus_hits = corpus::PlantedHits();
  corpus_hits.insert(corpus_hits.end(),
                     {{"marker_anywhere", "Tài liệu/Báo cáo tháng 12 – UBND xã Bắc Hà.docx"},
                      {"regex_id", "Tài liệu/Nguyễn Văn Ánh/ghi chú.txt"},
                      {"empty_file", "Tài liệu/trống rỗng"},
                      {"marker_at_start", LongRel()},
                      {"marker_at_end", kShared},
                      {"marker_at_start", kExclusive}});
  for (const auto& [rule, rel] : corpus_hits) {
    if (!expected.contains({rule, escaped(rel)})) {
      Fail("corpus check: yara should report " + rule + " in " + rel);
    }
  }
  // The file nobody else may open is yara's alone (Linux ignores Windows share modes): the
  // scan must name it among its errors with the sharing violation, and only it.
  const std::string exclusive_path = escaped(kExclusive);
  Hits comparable;
  for (const auto& hit : expected) {
    if (hit.second != exclusive_path) {
      comparable.insert(hit);
    }
  }
  const auto& errors = doc["errors"];
  if (errors.size() != 1 || errors[0]["path"] != exclusive_path ||
      errors[0]["message"].get<std::string>().find("Win32 error 32") == std::string::npos) {
    Fail("errors: want exactly " + exclusive_path + " with Win32 error 32, got " + errors.dump());
  }
  if (!got.contains({"marker_at_end", escaped(kShared)})) {
    Fail("the document held open with FILE_SHARE_READ was not scanned");
  }

  std::vector<std::pair<std::string, std::string>> only_yara;
  std::vector<std::pair<std::string, std::string>> only_ours;
  std::set_difference(comparable.begin(), comparable.end(), got.begin(), got.end(),
                      std::back_inserter(only_yara));
  std::set_difference(got.begin(), got.end(), comparable.begin(), comparable.end(),
                      std::back_inserter(only_ours));
  for (const auto& [r, p] : only_yara) {
    Fail("only yara: " + r + " " + p);
  }
  for (const auto& [r, p] : only_ours) {
    Fail("only cg-agent.exe scan: " + r + " " + p);
  }
  if (expected.size() < 40) {
    Fail("yara reported only " + std::to_string(expected.size()) + " matches");
  }
  std::printf("yara: %zu matches; cg-agent.exe scan: %zu matches, %zu error(s); root %s\n",
              expected.size(), got.size(), errors.size(), root.c_str());
  return failures == 0 ? 0 : 1;
}

// The file past 2^31: every (rule, path) `yara` printed and nothing else, no error, and the
// match's size and hash (read back through ReadAt past 2^31) in the report.
int CompareHuge(const std::string& base, const std::string& agent) {
  const std::string unix_root = base + "/corpus";
  const std::string path =
      cg::platform::EscapePath(WinPathUtf8(unix_root + "/planted/huge_sparse.bin"));
  const Hits expected = ParseYara(ReadAll(base + "/yara.out"), unix_root, corpus::HugeRuleNames());
  for (const auto& rule : corpus::HugeHits()) {
    if (!expected.contains({rule, path})) {
      Fail("corpus check: yara should report " + rule + " in the huge file");
    }
  }
  Run run;
  const std::wstring command = Quote(*Utf8ToWide(agent)) + L" scan --rules " +
                               Quote(WinPath(base + "/rules.yar")) + L" --path " +
                               Quote(WinPath(unix_root)) + L" --threads 1 --json";
  if (!RunProcess(command, run)) {
    Fail("starting " + agent + " (Win32 error " + std::to_string(GetLastError()) + ")");
    return 1;
  }
  if (run.exit_code != 1) {
    Fail("cg-agent.exe scan exited " + std::to_string(run.exit_code) + ", not 1 (matches found)");
  }
  const auto doc = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    Fail("cg-agent.exe scan printed no JSON: " + run.out.substr(0, 2000));
    return 1;
  }
  if (!doc["errors"].empty()) {
    Fail("errors: " + doc["errors"].dump());
  }
  Hits got;
  for (const auto& m : doc["matches"]) {
    got.emplace(m["rule"].get<std::string>(), m["path"].get<std::string>());
    if (m["size"] != corpus::kHugeSize || m["sha256"] != corpus::kHugeSha256) {
      Fail("match without the file's size or SHA-256: " + m.dump());
    }
  }
  for (const auto& hit : expected) {
    if (!got.contains(hit)) {
      Fail("only yara: " + hit.first + " " + hit.second);
    }
  }
  for (const auto& hit : got) {
    if (!expected.contains(hit)) {
      Fail("only cg-agent.exe scan: " + hit.first + " " + hit.second);
    }
  }
  std::printf("huge file: yara %zu matches, cg-agent.exe scan %zu\n", expected.size(), got.size());
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main() {
  // The arguments as UTF-16 (the C runtime's argv is in the ANSI code page).
  int argc = 0;
  wchar_t** argv = CommandLineToArgvW(GetCommandLineW(), &argc);
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    args.push_back(WideToUtf8(argv[i]).value_or(""));
  }
  LocalFree(argv);
  if (args.size() == 2 && args[0] == "make") {
    return Make(args[1]);
  }
  if (args.size() == 3 && args[0] == "compare") {
    return Compare(args[1], args[2]);
  }
  if (args.size() == 2 && args[0] == "make-huge") {
    return MakeHuge(args[1]);
  }
  if (args.size() == 3 && args[0] == "compare-huge") {
    return CompareHuge(args[1], args[2]);
  }
  std::fprintf(stderr,
               "usage: cg_win_yara_differential make|make-huge BASE | compare|compare-huge BASE "
               "AGENT_EXE\n");
  return 2;
}

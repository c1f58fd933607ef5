// Differential test: on a generated corpus (matches planted at file start and end, across the
// engine's 1 MiB mapping threshold and the former 16 MiB one, past 2 GiB in a sparse file,
// in empty files and files with odd names, beside symlinks, FIFOs and hard links) the set of
// (rule, path) that `cg-agent scan --json` reports equals what `yara -r -N` prints for the
// same rules. The scanner binary is CG_YARA_SCAN_BIN (environment, else the compiled-in one);
// it must take `scan --rules FILE --path DIR --threads N --json`. Set CG_YARA_DIFF_HUGE=0 to
// leave out the 2.2 GiB sparse file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "platform/scan_io.h"

#ifndef CG_YARA_SCAN_BIN
#error "CG_YARA_SCAN_BIN must name the scanner binary (cg-agent or yara_scan_driver)"
#endif

namespace {

namespace stdfs = std::filesystem;
using Hits = std::set<std::pair<std::string, std::string>>;

constexpr uint64_t kMiB = 1u << 20;
const std::string kMarker = "CG-DIFF-MARKER-31337";

// Rules of every kind the engine must treat as `yara` does: text (plain, nocase, wide, xor,
// base64), hex with jumps and alternatives, regular expressions, offsets, counts, filesize,
// integer reads, private and global-free composition, and a rule for empty files.
constexpr const char* kRules = R"YARA(
rule marker_anywhere { strings: $m = "CG-DIFF-MARKER-31337" condition: $m }
rule marker_at_start { strings: $m = "CG-DIFF-MARKER-31337" condition: $m at 0 }
rule marker_at_end { strings: $m = "CG-DIFF-MARKER-31337" condition: $m at filesize - 20 }
rule marker_twice { strings: $m = "CG-DIFF-MARKER-31337" condition: #m >= 2 }
rule marker_after_1mib { strings: $m = "CG-DIFF-MARKER-31337" condition: $m in (1048576..filesize) }
rule big_file { condition: filesize > 16777216 }
rule exactly_16mib { condition: filesize == 16777216 }
rule empty_file { condition: filesize == 0 }
rule elf_small { condition: uint32(0) == 0x464c457f and filesize < 2MB }
rule mz_pe_jump { strings: $h = { 4D 5A [2-40] 50 45 00 00 } condition: $h at 0 }
rule hex_alternatives { strings: $h = { 43 47 2D ( 41 4C 50 48 41 | 42 45 54 41 ) 2D } condition: $h }
rule regex_id { strings: $r = /cg-(alpha|beta)-[0-9]{4}/ condition: $r }
rule nocase_word { strings: $s = "counterguard-evil" nocase condition: $s }
rule wide_word { strings: $w = "WideMarker" wide condition: $w }
rule xor_word { strings: $x = "xor-secret-payload" xor(1-255) condition: $x }
rule base64_word { strings: $b = "base64 hidden payload" base64 condition: $b }
private rule has_marker { strings: $m = "CG-DIFF-MARKER-31337" condition: $m }
rule composite { strings: $r = /cg-(alpha|beta)-[0-9]{4}/ condition: has_marker and $r }
rule shebang_script { strings: $s = "#!/bin/sh" condition: $s at 0 and filesize < 4096 }
)YARA";

struct Output {
  int exit_code = -1;
  std::string out;
};

// Runs argv with stdout captured; stderr goes to `err_file` when given, else to the test log.
Output RunCommand(const std::vector<std::string>& argv, const std::string& err_file = "") {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    return {};
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    if (!err_file.empty()) {
      const int fd = ::open(err_file.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  Output o;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    o.out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

void Write(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary);
  f << data;
  ASSERT_TRUE(f.good()) << path;
}

void Sparse(const std::string& path, uint64_t size,
            const std::vector<std::pair<uint64_t, std::string>>& plants) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  for (const auto& [offset, text] : plants) {
    ASSERT_EQ(::pwrite(fd, text.data(), text.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(text.size()));
  }
  ::close(fd);
}

std::string Filler(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(seed)) % 26);
  }
  return s;
}

std::string Wide(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

// `yara` prints "RULE PATH\n" per match with the path's raw bytes: a path may hold a newline,
// so a record ends only where the next "\nRULE ROOT/" begins.
Hits ParseYaraOutput(const std::string& out, const std::vector<std::string>& rules,
                     const std::string& root) {
  std::vector<size_t> starts;
  auto starts_record = [&](size_t pos) {
    for (const auto& r : rules) {
      const std::string head = r + " " + root + "/";
      if (out.compare(pos, head.size(), head) == 0) {
        return true;
      }
    }
    return false;
  };
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
    hits.emplace(record.substr(0, space), cg::platform::EscapePath(record.substr(space + 1)));
  }
  return hits;
}

std::vector<std::string> RuleNames() {
  std::vector<std::string> names;
  const std::string text = kRules;
  for (size_t i = text.find("rule "); i != std::string::npos; i = text.find("rule ", i + 5)) {
    if (i > 0 && text[i - 1] != '\n' && text.compare(i - 8, 8, "private ") != 0) {
      continue;
    }
    const size_t end = text.find(' ', i + 5);
    names.push_back(text.substr(i + 5, end - i - 5));
  }
  return names;
}

class YaraDifferentialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (stdfs::temp_directory_path() / "cg-yara-diff.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = stdfs::canonical(tmpl).string();
    root_ = base_ + "/corpus";
    rules_ = base_ + "/rules.yar";
    stdfs::create_directories(root_);
    Write(rules_, kRules);
  }
  void TearDown() override {
    std::error_code ec;
    stdfs::remove_all(base_, ec);
  }

  std::string P(const std::string& rel) const { return root_ + "/" + rel; }

  void BuildCorpus() {
    const std::string& m = kMarker;
    stdfs::create_directories(P("planted/deep/a/b/c/d/e/f/g/h"));
    Write(P("planted/start.bin"), m + Filler(5000, 1));
    Write(P("planted/end.bin"), Filler(5000, 2) + m);
    Write(P("planted/twice.txt"), m + Filler(100, 3) + m);
    Write(P("planted/deep/a/b/c/d/e/f/g/h/leaf"), "x" + m + "x");
    // Across the first MiB (the read chunk; this 3 MiB file is mapped): the marker spans bytes
    // 1 MiB - 7 .. 1 MiB + 13.
    std::string across = Filler(3 * kMiB, 4);
    across.replace(kMiB - 7, m.size(), m);
    across.replace(2 * kMiB - 19, m.size(), m);
    Write(P("planted/across_chunks.bin"), across);
    // The mapping threshold (1 MiB): the largest read file and the smallest mapped one; then
    // the former threshold (16 MiB), now two mapped files.
    Write(P("planted/exactly_1mib.bin"), Filler(kMiB - m.size(), 13) + m);
    Write(P("planted/1mib_plus_1.bin"), m + Filler(kMiB + 1 - m.size(), 14));
    Sparse(P("planted/exactly_16mib.bin"), 16 * kMiB, {{16 * kMiB - m.size(), m}});
    Sparse(P("planted/16mib_plus_1.bin"), 16 * kMiB + 1, {{16 * kMiB + 1 - m.size(), m}});
    Sparse(P("planted/40mib_middle.bin"), 40 * kMiB, {{20 * kMiB - 3, m}, {0, "MZ"}});
    const char* huge = std::getenv("CG_YARA_DIFF_HUGE");
    if (huge == nullptr || std::string(huge) != "0") {
      // Past 2^31: offsets and sizes that do not fit 32 bits.
      const uint64_t size = (uint64_t{1} << 31) + 64 * kMiB;
      Sparse(P("planted/huge_sparse.bin"), size,
             {{(uint64_t{1} << 31) - 5, m}, {size - m.size(), m}});
    }
    Write(P("planted/empty"), "");
    Write(P("planted/also empty"), "");
    Write(P("planted/mz.exe"),
          std::string("MZ") + Filler(30, 5) + std::string("PE\0\0", 4) + Filler(200, 6));
    Write(P("planted/ids.log"), Filler(100, 7) + "cg-beta-2026" + Filler(100, 8));
    Write(P("planted/hex_alt.bin"), Filler(10, 9) + "CG-ALPHA-" + Filler(10, 10));
    Write(P("planted/composite.txt"), m + " cg-alpha-0001");
    Write(P("planted/nocase.txt"), "... CounterGuard-EVIL ...");
    Write(P("planted/wide.bin"), Filler(9, 11) + Wide("WideMarker") + Filler(9, 12));
    std::string x = "xor-secret-payload";
    for (char& c : x) {
      c = static_cast<char>(c ^ 0x5a);
    }
    Write(P("planted/xored.bin"), Filler(33, 13) + x + Filler(33, 14));
    // base64("base64 hidden payload") at offset 0 of the encoding.
    Write(P("planted/b64.txt"), "data: YmFzZTY0IGhpZGRlbiBwYXlsb2Fk\n");
    Write(P("planted/script.sh"), "#!/bin/sh\necho " + m + "\n");
    // Odd names, every one holding the marker.
    for (const std::string name :
         {"caf\xe9.txt", "with space.txt", "new\nline.txt", "tab\tname", "back\\slash", "-rf",
          "\xe6\x97\xa5\xe6\x9c\xac.exe", "\x01\x02ctl", ".hidden"}) {
      stdfs::create_directories(P("odd"));
      Write(P("odd/" + name), Filler(64, 15) + m);
    }
    stdfs::create_directories(P("odd/dir with\nnewline"));
    Write(P("odd/dir with\nnewline/inside"), m);
    // Neither scanner follows symlinks (-N) or reads FIFOs; both report hard links twice.
    stdfs::create_directories(P("links"));
    stdfs::create_symlink(P("planted/start.bin"), P("links/to_start"));
    stdfs::create_symlink("../planted", P("links/to_dir"));
    stdfs::create_symlink("..", P("links/loop"));
    ASSERT_EQ(::mkfifo(P("links/fifo").c_str(), 0600), 0);
    ASSERT_EQ(::link(P("planted/end.bin").c_str(), P("links/hardlink_end").c_str()), 0);
    // Real files of this machine: ELF binaries, scripts, text; whatever the rules say of them,
    // both scanners must say the same.
    stdfs::create_directories(P("machine"));
    size_t copied = 0;
    std::vector<stdfs::path> candidates;
    for (const char* dir : {"/usr/bin", "/usr/share/doc/yara"}) {
      std::error_code ec;
      for (const auto& e : stdfs::directory_iterator(dir, ec)) {
        if (e.is_regular_file(ec) && !e.is_symlink(ec) && e.file_size(ec) < 2 * kMiB) {
          candidates.push_back(e.path());
        }
      }
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& c : candidates) {
      if (copied >= 150) {
        break;
      }
      std::error_code ec;
      stdfs::copy_file(c, P("machine/" + std::to_string(copied) + "_" + c.filename().string()), ec);
      copied += ec ? 0 : 1;
    }
  }

  std::string base_;
  std::string root_;
  std::string rules_;
};

TEST_F(YaraDifferentialTest, SameMatchesAsYaraCli) {
  if (RunCommand({"yara", "--version"}).exit_code != 0) {
    FAIL() << "the `yara` command is required (Debian package yara, same version as libyara)";
  }
  BuildCorpus();
  const char* env_bin = std::getenv("CG_YARA_SCAN_BIN");
  const std::string scanner = env_bin != nullptr ? env_bin : CG_YARA_SCAN_BIN;

  const Output yara = RunCommand({"yara", "-r", "-N", "-p", "2", rules_, root_});
  ASSERT_EQ(yara.exit_code, 0);
  const Hits expected = ParseYaraOutput(yara.out, RuleNames(), root_);

  const Output ours =
      RunCommand({scanner, "scan", "--rules", rules_, "--path", root_, "--threads", "2", "--json"});
  ASSERT_EQ(ours.exit_code, 1) << "1: matches found; output:\n" << ours.out.substr(0, 2000);
  const auto doc = nlohmann::json::parse(ours.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(doc.is_object()) << ours.out.substr(0, 2000);
  Hits got;
  for (const auto& m : doc["matches"]) {
    got.emplace(m["rule"].get<std::string>(), m["path"].get<std::string>());
  }

  // The corpus exercises what it claims to: planted hits of each kind are in yara's output.
  for (const auto& [rule, rel] : std::vector<std::pair<std::string, std::string>>{
           {"marker_at_start", "planted/start.bin"},
           {"marker_at_end", "planted/end.bin"},
           {"marker_after_1mib", "planted/across_chunks.bin"},
           {"exactly_16mib", "planted/exactly_16mib.bin"},
           {"marker_at_end", "planted/16mib_plus_1.bin"},
           {"empty_file", "planted/also empty"},
           {"marker_anywhere", "odd/new\nline.txt"},
           {"marker_anywhere", "odd/caf\xe9.txt"},
           {"marker_at_end", "links/hardlink_end"},
           {"composite", "planted/composite.txt"},
           {"xor_word", "planted/xored.bin"},
       }) {
    EXPECT_TRUE(expected.contains({rule, cg::platform::EscapePath(P(rel))}))
        << "corpus check: yara should report " << rule << " in " << rel;
  }

  std::vector<std::pair<std::string, std::string>> only_yara;
  std::vector<std::pair<std::string, std::string>> only_ours;
  std::set_difference(expected.begin(), expected.end(), got.begin(), got.end(),
                      std::back_inserter(only_yara));
  std::set_difference(got.begin(), got.end(), expected.begin(), expected.end(),
                      std::back_inserter(only_ours));
  for (const auto& [r, p] : only_yara) {
    ADD_FAILURE() << "only yara: " << r << " " << p;
  }
  for (const auto& [r, p] : only_ours) {
    ADD_FAILURE() << "only cg-agent scan: " << r << " " << p;
  }
  EXPECT_GT(expected.size(), 40u);
  EXPECT_EQ(doc["errors"].size(), 0u) << doc["errors"].dump();
  // Skipped: the FIFO only (symlinks are counted, not listed).
  ASSERT_EQ(doc["files_skipped"].size(), 1u) << doc["files_skipped"].dump();
  EXPECT_EQ(doc["files_skipped"][0]["path"], P("links/fifo"));
}

TEST_F(YaraDifferentialTest, ExitCodesOfTheScanCommand) {
  const char* env_bin = std::getenv("CG_YARA_SCAN_BIN");
  const std::string scanner = env_bin != nullptr ? env_bin : CG_YARA_SCAN_BIN;
  Write(P("clean.txt"), "nothing to see");
  // Nothing matched: 0.
  const std::string no_match = base_ + "/none.yar";
  Write(no_match, "rule never { strings: $a = \"NOT-IN-THIS-CORPUS-7\" condition: $a }\n");
  EXPECT_EQ(RunCommand({scanner, "scan", "--rules", no_match, "--path", root_}).exit_code, 0);
  // Rules that do not compile: 2, and the message names the file and the line.
  const std::string bad = base_ + "/bad.yar";
  Write(bad, "rule ok { condition: true }\nrule broken { condition: and }\n");
  const std::string err = base_ + "/stderr.txt";
  const Output o = RunCommand({scanner, "scan", "--rules", bad, "--path", root_, "--json"}, err);
  EXPECT_EQ(o.exit_code, 2);
  std::ifstream in(err);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(bad + ":2:"), std::string::npos) << text;
  EXPECT_NE(text.find("syntax error"), std::string::npos) << text;
  // A path that does not exist: an error, so 2 when nothing matched.
  EXPECT_EQ(RunCommand({scanner, "scan", "--rules", no_match, "--path", root_ + "/missing"}, err)
                .exit_code,
            2);
}

}  // namespace

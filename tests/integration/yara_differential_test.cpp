// Differential test: on a generated corpus (matches planted at file start and end, across the
// engine's 1 MiB mapping threshold and the former 16 MiB one, in empty files and files with
// odd names, beside symlinks, FIFOs and hard links) the set of (rule, path) that
// `cg-agent scan --json` reports equals what `yara -r -N` prints for the same rules; and, in
// its own test (CTest runs the two side by side), the same for a 2.2 GiB sparse file past 2^31
// with the rules about sizes and offsets, the match carrying the file's size and SHA-256. The
// scanner binary is CG_YARA_SCAN_BIN (environment, else the compiled-in one); it must take
// `scan --rules FILE --path DIR --threads N --json`. Set CG_YARA_DIFF_HUGE=0 to skip the
// 2.2 GiB file. The rules and the planted files are yara_corpus.h's, shared with the Windows
// test under Wine (tests/windows/yara_differential.cpp).
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
#include "yara_corpus.h"

#ifndef CG_YARA_SCAN_BIN
#error "CG_YARA_SCAN_BIN must name the scanner binary (cg-agent or yara_scan_driver)"
#endif

namespace {

namespace stdfs = std::filesystem;
using Hits = std::set<std::pair<std::string, std::string>>;

namespace corpus = cg::test::yara_corpus;
using cg::test::yara_corpus::Filler;
using cg::test::yara_corpus::kMarker;
using cg::test::yara_corpus::kMiB;
using cg::test::yara_corpus::kRules;
using cg::test::yara_corpus::RuleNames;

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
    EXPECT_EQ(cg::test::yara_corpus::WritePlanted(root_), std::vector<std::string>{});
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
  auto corpus_hits = cg::test::yara_corpus::PlantedHits();
  corpus_hits.insert(corpus_hits.end(), {{"marker_anywhere", "odd/new\nline.txt"},
                                         {"marker_anywhere", "odd/caf\xe9.txt"},
                                         {"marker_at_end", "links/hardlink_end"}});
  for (const auto& [rule, rel] : corpus_hits) {
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

// The file past 2^31 (2 GiB + 64 MiB, sparse), scanned mapped whole and, since it matches,
// hashed through ReadAt: every (rule, path) yara prints and nothing else, no error, the match's
// size and SHA-256 right.
TEST_F(YaraDifferentialTest, HugeFileSameMatchesAsYaraCli) {
  const char* skip = std::getenv("CG_YARA_DIFF_HUGE");
  if (skip != nullptr && std::string(skip) == "0") {
    GTEST_SKIP() << "CG_YARA_DIFF_HUGE=0";
  }
  if (RunCommand({"yara", "--version"}).exit_code != 0) {
    FAIL() << "the `yara` command is required (Debian package yara, same version as libyara)";
  }
  Write(rules_, corpus::HugeRules());
  ASSERT_TRUE(corpus::WriteHuge(root_));
  const char* env_bin = std::getenv("CG_YARA_SCAN_BIN");
  const std::string scanner = env_bin != nullptr ? env_bin : CG_YARA_SCAN_BIN;
  const std::string huge = P("planted/huge_sparse.bin");

  const Output yara = RunCommand({"yara", "-r", "-N", rules_, root_});
  ASSERT_EQ(yara.exit_code, 0);
  const Hits expected = ParseYaraOutput(yara.out, corpus::HugeRuleNames(), root_);
  for (const auto& rule : corpus::HugeHits()) {
    EXPECT_TRUE(expected.contains({rule, huge})) << "corpus check: yara should report " << rule;
  }

  const Output ours =
      RunCommand({scanner, "scan", "--rules", rules_, "--path", root_, "--threads", "1", "--json"});
  ASSERT_EQ(ours.exit_code, 1) << "1: matches found; output:\n" << ours.out.substr(0, 2000);
  const auto doc = nlohmann::json::parse(ours.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(doc.is_object()) << ours.out.substr(0, 2000);
  EXPECT_EQ(doc["errors"].size(), 0u) << doc["errors"].dump();
  Hits got;
  for (const auto& m : doc["matches"]) {
    got.emplace(m["rule"].get<std::string>(), m["path"].get<std::string>());
    EXPECT_EQ(m["size"], corpus::kHugeSize) << m.dump();
    EXPECT_EQ(m["sha256"], corpus::kHugeSha256) << m.dump();
  }
  EXPECT_EQ(got, expected);
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

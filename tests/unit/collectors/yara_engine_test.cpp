// The YARA engine on real temporary trees: bad rules give file:line errors and leave the rules
// in force, the compiled-rules cache hits and misses by hash, matches are found wherever they
// sit (file start and end, across the read chunk, in mapped large files, empty files), odd
// names come back raw and escape cleanly, loops/FIFOs/unreadable files do not stop a scan.
#include "collectors/yara_engine.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "common/ids.h"
#include "platform/os/files.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::collectors {
namespace {

namespace stdfs = std::filesystem;

constexpr const char* kMarkerRule = R"(
rule marker : planted {
  meta:
    severity = "critical"
    family = "test"
    version = 3
    confirmed = true
  strings:
    $m = "CG-MARKER-0123456789"
  condition:
    $m
}
rule empty_file { condition: filesize == 0 }
)";

std::vector<RuleSource> Sources(std::string text, std::string name = "test.yar",
                                std::string ns = "default") {
  return {RuleSource{std::move(ns), std::move(name), std::move(text)}};
}

std::shared_ptr<const YaraRules> MustCompile(const std::string& text) {
  auto r = CompileRules(Sources(text), CompileOptions{});
  EXPECT_TRUE(r.ok()) << r.error().ToString();
  return r.ok() ? *r : nullptr;
}

// (rule, path) pairs of a summary.
std::set<std::pair<std::string, std::string>> Hits(const ScanSummary& s) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& m : s.matches) {
    out.emplace(m.rule, m.path);
  }
  return out;
}

const ScanMatch* FindMatch(const ScanSummary& s, const std::string& rule, const std::string& path) {
  for (const auto& m : s.matches) {
    if (m.rule == rule && m.path == path) {
      return &m;
    }
  }
  return nullptr;
}

void MakeSparse(const std::string& path, uint64_t size,
                const std::vector<std::pair<uint64_t, std::string>>& plants) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  for (const auto& [offset, text] : plants) {
    ASSERT_EQ(::pwrite(fd, text.data(), text.size(), static_cast<off_t>(offset)),
              static_cast<ssize_t>(text.size()));
  }
  ::close(fd);
}

int RunAsNobody(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      ::_exit(100);
    }
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

// ---- compiling -------------------------------------------------------------------------

TEST(YaraCompileTest, SyntaxErrorNamesFileAndLine) {
  CompileReport report;
  auto r = CompileRules(Sources("rule ok { condition: true }\n"
                                "rule bad { strings: $a = \"x\" condition: $a and }\n",
                                "policy.yar"),
                        CompileOptions{}, &report);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_NE(r.error().message.find("policy.yar:2:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("syntax error"), std::string::npos) << r.error().message;
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_EQ(report.errors[0].file, "policy.yar");
  EXPECT_EQ(report.errors[0].line, 2);
  EXPECT_EQ(report.errors[0].rule, "bad");
}

TEST(YaraCompileTest, BadRulesAreClearErrors) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"import \"nosuchmod\"\nrule r { condition: true }", "unknown module \"nosuchmod\""},
      {"rule huge { strings: $a = /a{1,70000}b/ condition: $a }", "repeat interval too large"},
      {"include \"/etc/passwd\"\nrule r { condition: true }", "includes are disabled"},
      {"rule dup { condition: true }\nrule dup { condition: true }", "duplicated identifier"},
  };
  for (const auto& c : cases) {
    CompileReport report;
    auto r = CompileRules(Sources(c.text, "rules[0]"), CompileOptions{}, &report);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("rules[0]:"), std::string::npos) << r.error().message;
    EXPECT_FALSE(report.errors.empty());
  }
}

// Rule texts reach libyara as C strings: one with a NUL in it is refused, not compiled in part.
TEST(YaraCompileTest, RulesWithANulByteAreRefused) {
  CompileReport report;
  const std::string text =
      std::string("rule a { condition: true }\n") + '\0' + "rule b { condition: true }\n";
  auto r = CompileRules(Sources(text, "policy.yar"), CompileOptions{}, &report);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("policy.yar:2:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("NUL byte"), std::string::npos) << r.error().message;
}

// Rule files on disk may include others, read next to the including file (not the working
// directory), as `yara` does.
TEST(YaraCompileTest, IncludesOfRuleFilesAreReadNextToThem) {
  testing::TempTree tree("cg-yara-include");
  tree.Put("rules/common.yar", "rule included { condition: true }\n");
  CompileOptions options;
  options.allow_includes = true;
  CompileReport report;
  auto r = CompileRules(Sources("include \"common.yar\"\nrule main { condition: included }\n",
                                tree.Host("rules/main.yar")),
                        options, &report);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)->rule_count(), 2u);
  auto missing = CompileRules(
      Sources("include \"nope.yar\"\nrule main { condition: true }\n", tree.Host("rules/main.yar")),
      options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("main.yar:1:"), std::string::npos)
      << missing.error().message;
}

TEST(YaraCompileTest, SlowRulesCompileWithSeparateWarnings) {
  CompileReport report;
  auto r =
      CompileRules(Sources("rule slow1 { strings: $a = { 00 ?? 00 } condition: $a }\n"
                           "rule slow2 { strings: $b = /.*x/ condition: $b }\n"
                           "rule fine { strings: $c = \"long enough string\" condition: $c }\n"),
                   CompileOptions{}, &report);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ((*r)->rule_count(), 3u);
  EXPECT_TRUE(report.errors.empty());
  ASSERT_GE(report.slow_warnings.size(), 2u);
  std::set<std::string> slow_rules;
  for (const auto& w : report.slow_warnings) {
    slow_rules.insert(w.rule);
    EXPECT_GT(w.line, 0);
  }
  EXPECT_EQ(slow_rules, (std::set<std::string>{"slow1", "slow2"}));
  EXPECT_GE(report.warnings.size(), report.slow_warnings.size());
}

TEST(YaraCompileTest, RuleSetKeepsTheRulesInForceWhenAnUpdateFails) {
  testing::TempTree tree{"cg-yara"};
  tree.Put("sample", "xx CG-MARKER-0123456789 xx");
  RuleSet set;
  ASSERT_TRUE(set.Update(Sources(kMarkerRule), CompileOptions{}).ok());
  const std::string good = set.current()->hash();
  for (const char* bad :
       {"rule x { condition: }", "import \"nosuchmod\" rule y { condition: true }",
        "rule z { strings: $a = /a{1,70000}/ condition: $a }"}) {
    CompileReport report;
    const Status st = set.Update(Sources(bad, "new.yar"), CompileOptions{}, &report);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_NE(st.error().message.find("new.yar:1:"), std::string::npos) << st.error().message;
    ASSERT_NE(set.current(), nullptr);
    EXPECT_EQ(set.current()->hash(), good);
  }
  ScanOptions o;
  o.walk.roots = {tree.root()};
  auto s = ScanFiles(*set.current(), o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Hits(*s).count({"marker", tree.Host("sample")}), 1u);
}

TEST(YaraCompileTest, HashCoversNamespacesAndTextNotNames) {
  const auto a = RulesHash(Sources("rule a { condition: true }", "one.yar", "ns1"));
  EXPECT_EQ(a, RulesHash(Sources("rule a { condition: true }", "other-name.yar", "ns1")));
  EXPECT_NE(a, RulesHash(Sources("rule a { condition: true }", "one.yar", "ns2")));
  EXPECT_NE(a, RulesHash(Sources("rule a { condition: false }", "one.yar", "ns1")));
  EXPECT_EQ(a.size(), 64u);
}

TEST(YaraCompileTest, CompiledRulesCacheHitsAndMissesByHash) {
  testing::TempTree tree{"cg-yara-cache"};
  const std::string dir = tree.Host("compiled");
  const CompileOptions opts{dir, false};
  const auto sources = Sources(kMarkerRule + std::string("\nrule slow { strings: $a = { 00 ?? 00 } "
                                                         "condition: $a }\n"));
  CompileReport first;
  auto r1 = CompileRules(sources, opts, &first);
  ASSERT_TRUE(r1.ok()) << r1.error().ToString();
  EXPECT_FALSE(first.from_cache);
  const std::string hash = (*r1)->hash();
  EXPECT_TRUE(FileExists(dir + "/" + hash + ".yarc"));

  CompileReport second;
  auto r2 = CompileRules(sources, opts, &second);
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(second.from_cache);
  EXPECT_EQ((*r2)->hash(), hash);
  EXPECT_EQ((*r2)->rule_count(), 3u);
  // The slow-rule warnings survive the cache: they are reported with the policy every time.
  EXPECT_EQ(second.slow_warnings.size(), first.slow_warnings.size());

  // Other sources: a miss, compiled and stored beside the first.
  CompileReport third;
  auto r3 = CompileRules(Sources("rule other { condition: true }"), opts, &third);
  ASSERT_TRUE(r3.ok());
  EXPECT_FALSE(third.from_cache);
  EXPECT_NE((*r3)->hash(), hash);

  // A damaged compiled file is not trusted: compiled again, and the rules still work.
  {
    std::fstream f(dir + "/" + hash + ".yarc", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.write("garbage!", 8);
  }
  CompileReport fourth;
  auto r4 = CompileRules(sources, opts, &fourth);
  ASSERT_TRUE(r4.ok()) << r4.error().ToString();
  EXPECT_FALSE(fourth.from_cache);
  tree.Put("data/sample", "CG-MARKER-0123456789");
  ScanOptions o;
  o.walk.roots = {tree.Host("data")};
  auto s = ScanFiles(**r4, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->matches_total, 1u);

  // And it was rewritten whole: the next compile hits again.
  CompileReport fifth;
  ASSERT_TRUE(CompileRules(sources, opts, &fifth).ok());
  EXPECT_TRUE(fifth.from_cache);
  auto loaded = LoadCachedRules(dir, hash);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ((*loaded)->hash(), hash);
  EXPECT_FALSE(LoadCachedRules(dir, std::string(64, '0')).ok());
}

// ---- scanning --------------------------------------------------------------------------

class YaraScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rules_ = MustCompile(kMarkerRule);
    ASSERT_NE(rules_, nullptr);
  }
  std::string H(const std::string& rel) const { return tree_.Host(rel); }
  ScanOptions Options() const {
    ScanOptions o;
    o.walk.roots = {tree_.root()};
    o.walk.machine_root = tree_.root();
    o.threads = 2;
    return o;
  }
  ScanSummary Scan(const ScanOptions& o) const {
    auto s = ScanFiles(*rules_, o);
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? *s : ScanSummary{};
  }

  static constexpr std::string_view kMarker = "CG-MARKER-0123456789";
  testing::TempTree tree_{"cg-yara-scan"};
  std::shared_ptr<const YaraRules> rules_;
};

TEST_F(YaraScanTest, MatchesAtStartEndAcrossChunksAndInMappedFiles) {
  const std::string m(kMarker);
  std::string filler(10000, '.');
  tree_.Put("start", m + filler);
  tree_.Put("end", filler + m);
  // The read chunk is 4096 bytes below: this marker spans bytes 4090..4109.
  std::string across = filler;
  across.replace(4090, m.size(), m);
  tree_.Put("across", across);
  tree_.Put("clean", filler);
  tree_.Put("empty", "");
  // Above the (lowered) large-file threshold: mapped, not read; plants at both ends, at a
  // page boundary and at the threshold itself.
  MakeSparse(H("mapped"), 8u << 20, {{(8u << 20) - m.size(), m}});
  MakeSparse(H("mapped_mid"), 3u << 20, {{(1u << 20) - 7, m}});
  MakeSparse(H("mapped_start"), (64u << 10) + 1, {{0, m}});

  ScanOptions o = Options();
  o.read_chunk = 4096;
  o.large_file_threshold = 64u << 10;
  const ScanSummary s = Scan(o);
  EXPECT_EQ(s.errors_total, 0u) << (s.errors.empty() ? "" : s.errors[0].message);
  const std::set<std::pair<std::string, std::string>> expected = {
      {"marker", H("start")},     {"marker", H("end")},        {"marker", H("across")},
      {"marker", H("mapped")},    {"marker", H("mapped_mid")}, {"marker", H("mapped_start")},
      {"empty_file", H("empty")},
  };
  EXPECT_EQ(Hits(s), expected);
  EXPECT_EQ(s.files_scanned, 8u);

  const ScanMatch* end = FindMatch(s, "marker", H("end"));
  ASSERT_NE(end, nullptr);
  ASSERT_EQ(end->strings.size(), 1u);
  EXPECT_EQ(end->strings[0].identifier, "$m");
  EXPECT_EQ(end->strings[0].offset, filler.size());
  EXPECT_EQ(end->strings[0].data_hex, HexEncode(m));
  EXPECT_EQ(end->sha256, Sha256Hex(filler + m));
  EXPECT_EQ(end->size, filler.size() + m.size());
  EXPECT_EQ(end->ns, "default");
  EXPECT_EQ(end->tags, std::vector<std::string>{"planted"});
  EXPECT_EQ(end->meta["severity"], "critical");
  EXPECT_EQ(end->meta["version"], 3);
  EXPECT_EQ(end->meta["confirmed"], true);

  const ScanMatch* across_match = FindMatch(s, "marker", H("across"));
  ASSERT_NE(across_match, nullptr);
  EXPECT_EQ(across_match->strings[0].offset, 4090u);

  const ScanMatch* mapped = FindMatch(s, "marker", H("mapped"));
  ASSERT_NE(mapped, nullptr);
  EXPECT_EQ(mapped->size, 8u << 20);
  EXPECT_EQ(mapped->strings[0].offset, (8u << 20) - m.size());
  auto content = ReadFileToString(H("mapped"), 16u << 20);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(mapped->sha256, Sha256Hex(*content));
  EXPECT_EQ(FindMatch(s, "marker", H("mapped_mid"))->strings[0].offset, (1u << 20) - 7);
}

TEST_F(YaraScanTest, FilesizeAndOffsetsBehaveAsInYaraAtTheDefaultThreshold) {
  // Over the default 1 MiB threshold (mapped), with the default read chunk.
  auto rules = MustCompile(
      "rule at_end { strings: $m = \"CG-MARKER-0123456789\" condition: $m at filesize - 20 }\n"
      "rule big { condition: filesize == 20971520 and uint8(filesize - 1) == 0x39 }\n");
  ASSERT_NE(rules, nullptr);
  MakeSparse(H("big"), 20u << 20, {{(20u << 20) - 20, std::string(kMarker)}});
  ScanOptions o = Options();
  auto s = ScanFiles(*rules, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Hits(*s), (std::set<std::pair<std::string, std::string>>{{"at_end", H("big")},
                                                                     {"big", H("big")}}));
}

TEST_F(YaraScanTest, OddNamesAreReportedAndEscaped) {
  const std::string m(kMarker);
  const std::vector<std::string> names = {"caf\xe9",   "with space",  "new\nline",
                                          "tab\there", "back\\slash", "\xe6\x97\xa5\xe6\x9c\xac"};
  for (const auto& n : names) {
    tree_.Put("odd/" + n, m);
  }
  const ScanSummary s = Scan(Options());
  ASSERT_EQ(s.matches.size(), names.size());
  for (const auto& n : names) {
    EXPECT_NE(FindMatch(s, "marker", H("odd/" + n)), nullptr) << platform::EscapePath(n);
  }
  const auto j = ToJson(s);
  std::set<std::string> shown;
  for (const auto& match : j["matches"]) {
    shown.insert(match["path"].get<std::string>());
  }
  EXPECT_TRUE(shown.contains(tree_.root() + "/odd/caf\\xe9"));
  EXPECT_TRUE(shown.contains(tree_.root() + "/odd/new\\x0aline"));
  EXPECT_TRUE(shown.contains(tree_.root() + "/odd/back\\\\slash"));
  EXPECT_TRUE(shown.contains(tree_.root() + "/odd/\xe6\x97\xa5\xe6\x9c\xac"));
  // The document is valid UTF-8 whatever the names were (dump() would throw otherwise).
  EXPECT_NO_THROW((void)j.dump());
}

TEST_F(YaraScanTest, SymlinkLoopFifoAndSymlinksDoNotStopTheScan) {
  tree_.Put("dir/sample", std::string(kMarker));
  tree_.Link("dir/loop", "..");
  tree_.Link("dir/alias", "sample");
  ASSERT_EQ(::mkfifo(H("dir/pipe").c_str(), 0600), 0);
  ScanOptions o = Options();
  o.walk.follow_symlinks = true;
  ScanSummary followed = Scan(o);
  EXPECT_FALSE(followed.cancelled);
  EXPECT_EQ(followed.matches_total, 2u);  // the file and, followed, its alias
  ASSERT_EQ(followed.files_skipped.size(), 2u);
  std::set<std::string> reasons;
  for (const auto& k : followed.files_skipped) {
    reasons.insert(k.reason);
  }
  EXPECT_TRUE(reasons.contains("special file (fifo)"));
  EXPECT_TRUE(reasons.contains("already visited (symlink loop or second path to a directory)"));

  o.walk.follow_symlinks = false;
  ScanSummary plain = Scan(o);
  EXPECT_EQ(plain.matches_total, 1u);
  EXPECT_EQ(plain.skipped_counts["symlink not followed"], 2u);
  EXPECT_EQ(plain.files_skipped_total, 1u);  // symlinks are counted, not listed
}

TEST_F(YaraScanTest, UnreadableFileIsReportedAndTheScanGoesOn) {
  tree_.Put("readable", std::string(kMarker));
  tree_.Put("secret", std::string(kMarker));
  ASSERT_EQ(::chmod(tree_.root().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(H("readable").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(H("secret").c_str(), 0600), 0);
  const ScanOptions o = Options();
  auto check = [&]() -> int {
    auto s = ScanFiles(*rules_, o);
    if (!s.ok()) {
      return 1;
    }
    const bool reported = s->errors.size() == 1 && s->errors[0].path == H("secret") &&
                          s->errors[0].message.find("Permission denied") != std::string::npos;
    const bool went_on =
        Hits(*s) == std::set<std::pair<std::string, std::string>>{{"marker", H("readable")}};
    return reported && went_on ? 0 : 2;
  };
  if (::geteuid() == 0) {
    // Root reads any file: the scan runs as nobody in a child process, where root's 0600 file
    // is unreadable.
    EXPECT_EQ(RunAsNobody(check), 0);
  } else {
    ASSERT_EQ(::chmod(H("secret").c_str(), 0), 0);
    EXPECT_EQ(check(), 0);
  }
}

TEST_F(YaraScanTest, ResultsAreBounded) {
  auto rules = MustCompile("rule many { strings: $a = \"AB\" condition: #a > 3 }\n");
  ASSERT_NE(rules, nullptr);
  std::string data;
  for (int i = 0; i < 200; ++i) {
    data += "AB" + std::string(64, '-');
  }
  tree_.Put("many", data);
  ScanOptions o = Options();
  o.max_strings_per_match = 5;
  o.max_string_bytes = 1;
  auto s = ScanFiles(*rules, o);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->matches.size(), 1u);
  const ScanMatch& m = s->matches[0];
  EXPECT_EQ(m.strings.size(), 5u);
  EXPECT_TRUE(m.strings_truncated);
  EXPECT_EQ(m.strings[1].offset, 66u);
  EXPECT_EQ(m.strings[1].length, 2u);
  EXPECT_EQ(m.strings[1].data_hex, "41");
}

TEST_F(YaraScanTest, MetaTextBecomesValidUtf8KeepingBackslashes) {
  // In YARA source "\\" is one backslash and "\xe9" the byte 0xe9 (Latin-1, not UTF-8).
  auto rules = MustCompile(
      "rule m { meta: path = \"C:\\\\Windows\\\\x\" name = \"caf\\xe9\" "
      "utf8 = \"Vi\xe1\xbb\x87t\" condition: true }\n");
  ASSERT_NE(rules, nullptr);
  tree_.Put("any", "x");
  auto s = ScanFiles(*rules, Options());
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->matches.size(), 1u);
  const auto& meta = s->matches[0].meta;
  EXPECT_EQ(meta["path"], "C:\\Windows\\x");
  EXPECT_EQ(meta["name"], "caf\\xe9");
  EXPECT_EQ(meta["utf8"], "Vi\xe1\xbb\x87t");
  EXPECT_NO_THROW((void)ToJson(*s).dump());
}

TEST_F(YaraScanTest, PrivateRulesAreNotReportedAsYaraDoesNot) {
  auto rules = MustCompile(
      "private rule has_marker { strings: $m = \"CG-MARKER-0123456789\" condition: $m }\n"
      "rule uses_private { condition: has_marker and filesize < 100 }\n");
  ASSERT_NE(rules, nullptr);
  tree_.Put("x", std::string(kMarker));
  auto s = ScanFiles(*rules, Options());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Hits(*s), (std::set<std::pair<std::string, std::string>>{{"uses_private", H("x")}}));
}

TEST_F(YaraScanTest, ThreadCountDoesNotChangeResults) {
  for (int i = 0; i < 200; ++i) {
    tree_.Put("d" + std::to_string(i % 7) + "/f" + std::to_string(i),
              i % 3 == 0 ? std::string(kMarker) : std::string(i, 'z'));
  }
  ScanOptions one = Options();
  one.threads = 1;
  ScanOptions four = Options();
  four.threads = 4;
  four.queue_capacity = 3;
  const ScanSummary a = Scan(one);
  const ScanSummary b = Scan(four);
  EXPECT_EQ(a.files_scanned, 200u);
  EXPECT_EQ(b.files_scanned, 200u);
  EXPECT_EQ(a.bytes_scanned, b.bytes_scanned);
  EXPECT_EQ(Hits(a), Hits(b));
  EXPECT_EQ(a.matches_total, 67u);
}

TEST_F(YaraScanTest, PerFileTimeoutIsReported) {
  // ~10^9 loop iterations: far beyond one second on any machine.
  auto rules = MustCompile(
      "rule slow_condition { condition: for all i in (0..1000000) : "
      "(for all j in (0..1000) : (i + j >= 0)) }\n");
  ASSERT_NE(rules, nullptr);
  tree_.Put("victim", "x");
  ScanOptions o = Options();
  o.file_timeout = std::chrono::seconds(1);
  auto s = ScanFiles(*rules, o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->timed_out, 1u);
  ASSERT_EQ(s->errors.size(), 1u);
  EXPECT_EQ(s->errors[0].path, H("victim"));
  EXPECT_NE(s->errors[0].message.find("timed out"), std::string::npos);
  EXPECT_TRUE(s->matches.empty());
}

TEST_F(YaraScanTest, PausesWhileOnBattery) {
  tree_.Put("a", std::string(kMarker));
  int probes = 0;
  ScanOptions o = Options();
  o.threads = 1;
  o.pause_on_battery = true;
  o.battery_poll = std::chrono::milliseconds(1);
  o.on_battery = [&probes] { return ++probes <= 3; };  // on battery for three readings
  const ScanSummary s = Scan(o);
  EXPECT_GE(probes, 4);
  EXPECT_GT(s.paused.count(), 0);
  EXPECT_EQ(s.matches_total, 1u);

  int unused_probes = 0;
  o.pause_on_battery = false;
  o.on_battery = [&unused_probes] { return ++unused_probes > 0; };
  const ScanSummary t = Scan(o);
  EXPECT_EQ(unused_probes, 0);
  EXPECT_EQ(t.matches_total, 1u);
}

TEST_F(YaraScanTest, CancelledScanSaysSo) {
  tree_.Put("a", std::string(kMarker));
  std::atomic<bool> cancel{true};
  ScanOptions o = Options();
  o.cancel = &cancel;
  const ScanSummary s = Scan(o);
  EXPECT_TRUE(s.cancelled);
  EXPECT_EQ(s.files_scanned, 0u);
}

TEST_F(YaraScanTest, BudgetedLowPriorityScanFindsTheSame) {
  // The budget's effect on CPU use is measured by tests/bench/yara_bench.sh; here: same result.
  for (int i = 0; i < 20; ++i) {
    tree_.Put("f" + std::to_string(i), i == 7 ? std::string(kMarker) : std::string(1000, 'q'));
  }
  ScanOptions o = Options();
  o.cpu_budget_percent = 50;
  o.low_priority = true;
  const ScanSummary s = Scan(o);
  EXPECT_EQ(Hits(s), (std::set<std::pair<std::string, std::string>>{{"marker", H("f7")}}));
  EXPECT_EQ(s.errors_total, 0u);
}

TEST(YaraScanOptionsTest, RefusesBadOptions) {
  auto rules = MustCompile("rule r { condition: true }");
  ASSERT_NE(rules, nullptr);
  EXPECT_FALSE(ScanFiles(*rules, ScanOptions{}).ok());
  ScanOptions o;
  o.walk.roots = {"/nonexistent"};
  o.cpu_budget_percent = 101;
  EXPECT_FALSE(ScanFiles(*rules, o).ok());
}

TEST(YaraRuleFileTest, ReadsNamespacePrefixLikeYara) {
  testing::TempTree tree{"cg-yara-files"};
  tree.Put("r.yar", "rule r { condition: true }");
  auto plain = ReadRuleFile(tree.Host("r.yar"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->ns, "default");
  EXPECT_EQ(plain->name, tree.Host("r.yar"));
  auto with_ns = ReadRuleFile("malware:" + tree.Host("r.yar"));
  ASSERT_TRUE(with_ns.ok()) << with_ns.error().ToString();
  EXPECT_EQ(with_ns->ns, "malware");
  auto missing = ReadRuleFile(tree.Host("none.yar"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("none.yar"), std::string::npos);
}

}  // namespace
}  // namespace cg::collectors

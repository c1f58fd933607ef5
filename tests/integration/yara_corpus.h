// The rules and the OS-neutral part of the sample corpus of the YARA differential tests: the
// Linux one (tests/integration/yara_differential_test.cpp, `cg-agent scan` against `yara` on
// the same files) and the Windows one (tests/windows/yara_differential.cpp, `cg-agent.exe scan`
// under Wine against the Linux `yara` on the same files). Each adds what only its OS has (FIFOs
// and symlinks; share modes, paths beyond MAX_PATH). Plain std::filesystem: builds for both.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace cg::test::yara_corpus {

inline constexpr uint64_t kMiB = 1u << 20;
inline const std::string kMarker = "CG-DIFF-MARKER-31337";

// Rules of every kind the engine must treat as `yara` does: text (plain, nocase, wide, xor,
// base64), hex with jumps and alternatives, regular expressions, offsets, counts, filesize,
// integer reads, private and global-free composition, and a rule for empty files.
inline constexpr const char* kRules = R"YARA(
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

inline std::string Filler(size_t n, char seed) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; ++i) {
    s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(seed)) % 26);
  }
  return s;
}

inline std::string Wide(const std::string& s) {
  std::string out;
  for (char c : s) {
    out.push_back(c);
    out.push_back('\0');
  }
  return out;
}

// The names of the public rules, in order.
inline std::vector<std::string> RuleNames() {
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

// `rel` is '/'-separated and UTF-8; std::filesystem turns it into the OS's path.
inline std::filesystem::path Under(const std::filesystem::path& root, const std::string& rel) {
  return root / std::filesystem::path(std::u8string(rel.begin(), rel.end()));
}

// Writes the file; false when it could not be written.
inline bool WriteFile(const std::filesystem::path& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  return f.good();
}

// A file of `size` bytes, zeros except `plants` (sparse where the file system can).
inline bool WriteSparse(const std::filesystem::path& path, uint64_t size,
                        const std::vector<std::pair<uint64_t, std::string>>& plants) {
  if (!WriteFile(path, "")) {
    return false;
  }
  std::error_code ec;
  std::filesystem::resize_file(path, size, ec);
  if (ec) {
    return false;
  }
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  for (const auto& [offset, text] : plants) {
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  return f.good();
}

// The planted files, under `root`/planted: matches at file start and end, across the engine's
// 1 MiB mapping threshold and the former 16 MiB one, empty files, and one file per rule kind.
// Returns the files it could not write (none expected). The file past 2 GiB is WriteHuge's.
inline std::vector<std::string> WritePlanted(const std::filesystem::path& root) {
  std::vector<std::string> failed;
  const std::string& m = kMarker;
  auto put = [&](const std::string& rel, const std::string& data) {
    if (!WriteFile(Under(root, rel), data)) failed.push_back(rel);
  };
  auto sparse = [&](const std::string& rel, uint64_t size,
                    const std::vector<std::pair<uint64_t, std::string>>& plants) {
    if (!WriteSparse(Under(root, rel), size, plants)) failed.push_back(rel);
  };
  std::filesystem::create_directories(Under(root, "planted/deep/a/b/c/d/e/f/g/h"));
  put("planted/start.bin", m + Filler(5000, 1));
  put("planted/end.bin", Filler(5000, 2) + m);
  put("planted/twice.txt", m + Filler(100, 3) + m);
  put("planted/deep/a/b/c/d/e/f/g/h/leaf", "x" + m + "x");
  // Across the first MiB (the read chunk; this 3 MiB file is mapped): the marker spans bytes
  // 1 MiB - 7 .. 1 MiB + 13.
  std::string across = Filler(3 * kMiB, 4);
  across.replace(kMiB - 7, m.size(), m);
  across.replace(2 * kMiB - 19, m.size(), m);
  put("planted/across_chunks.bin", across);
  // The mapping threshold (1 MiB): the largest read file and the smallest mapped one; then
  // the former threshold (16 MiB), now two mapped files.
  put("planted/exactly_1mib.bin", Filler(kMiB - m.size(), 13) + m);
  put("planted/1mib_plus_1.bin", m + Filler(kMiB + 1 - m.size(), 14));
  sparse("planted/exactly_16mib.bin", 16 * kMiB, {{16 * kMiB - m.size(), m}});
  sparse("planted/16mib_plus_1.bin", 16 * kMiB + 1, {{16 * kMiB + 1 - m.size(), m}});
  sparse("planted/40mib_middle.bin", 40 * kMiB, {{20 * kMiB - 3, m}, {0, "MZ"}});
  put("planted/empty", "");
  put("planted/also empty", "");
  put("planted/mz.exe",
      std::string("MZ") + Filler(30, 5) + std::string("PE\0\0", 4) + Filler(200, 6));
  put("planted/ids.log", Filler(100, 7) + "cg-beta-2026" + Filler(100, 8));
  put("planted/hex_alt.bin", Filler(10, 9) + "CG-ALPHA-" + Filler(10, 10));
  put("planted/composite.txt", m + " cg-alpha-0001");
  put("planted/nocase.txt", "... CounterGuard-EVIL ...");
  put("planted/wide.bin", Filler(9, 11) + Wide("WideMarker") + Filler(9, 12));
  std::string x = "xor-secret-payload";
  for (char& c : x) {
    c = static_cast<char>(c ^ 0x5a);
  }
  put("planted/xored.bin", Filler(33, 13) + x + Filler(33, 14));
  // base64("base64 hidden payload") at offset 0 of the encoding.
  put("planted/b64.txt", "data: YmFzZTY0IGhpZGRlbiBwYXlsb2Fk\n");
  put("planted/script.sh", "#!/bin/sh\necho " + m + "\n");
  return failed;
}

// The file past 2^31, alone in its own test on each OS: `root`/planted/huge_sparse.bin, 2 GiB +
// 64 MiB of zeros (sparse where the file system can) with the marker straddling 2^31
// (bytes 2147483643..2147483662) and at the end. Offsets and sizes that do not fit 32 bits.
inline constexpr uint64_t kHugeSize = (uint64_t{1} << 31) + 64 * kMiB;
inline constexpr uint64_t kHugeMarkerOffset = (uint64_t{1} << 31) - 5;
// The SHA-256 of that content (`sha256sum` of the file WriteHuge writes; the bytes are fixed).
inline constexpr const char* kHugeSha256 =
    "00e90f8fe683a1b28714c8c1d562d302eaf4c80636bf372cc9859ddd7320a404";

inline bool WriteHuge(const std::filesystem::path& root) {
  std::filesystem::create_directories(Under(root, "planted"));
  return WriteSparse(Under(root, "planted/huge_sparse.bin"), kHugeSize,
                     {{kHugeMarkerOffset, kMarker}, {kHugeSize - kMarker.size(), kMarker}});
}

// The huge file's rules: kRules' rules about sizes and offsets, and offsets past 2^31 named
// outright. The string-heavy rules (xor(1-255), base64, wide, nocase, regex, hex alternatives)
// stay with the small corpus: on 2 GiB of zeros they only double both scans' time (measured),
// and what they test does not depend on the file's size.
inline std::string HugeRules() {
  const std::vector<std::string> keep = {
      "marker_anywhere", "marker_at_start", "marker_at_end", "marker_twice", "marker_after_1mib",
      "big_file",        "exactly_16mib",   "empty_file",    "elf_small",    "shebang_script"};
  std::string rules;
  const std::string all = kRules;
  for (size_t start = 0; start < all.size();) {
    const size_t end = std::min(all.find('\n', start), all.size());
    const std::string line = all.substr(start, end - start);
    for (const auto& name : keep) {
      if (line.rfind("rule " + name + " ", 0) == 0) {
        rules += line + "\n";
      }
    }
    start = end + 1;
  }
  rules += R"YARA(
rule marker_across_2gib { strings: $m = "CG-DIFF-MARKER-31337" condition: $m at 2147483643 }
rule marker_offsets { strings: $m = "CG-DIFF-MARKER-31337" condition: #m == 2 and @m[1] == 2147483643 and @m[2] == filesize - 20 and !m[2] == 20 }
rule size_past_2gib { condition: filesize > 2147483648 and filesize < 4294967296 }
rule reads_past_2gib { condition: uint8(2147483643) == 0x43 and uint32be(filesize - 4) == 0x31333337 and uint16(2147483642) == 0x4300 }
rule not_truncated { condition: filesize == 2214592512 }
)YARA";
  return rules;
}

// The public rule names of HugeRules(), in order.
inline std::vector<std::string> HugeRuleNames() {
  std::vector<std::string> names;
  const std::string rules = HugeRules();
  for (size_t k = rules.find("rule "); k != std::string::npos; k = rules.find("\nrule ", k)) {
    k += rules[k] == '\n' ? 6 : 5;
    names.push_back(rules.substr(k, rules.find(' ', k) - k));
  }
  return names;
}

// Rules `yara` must report in the huge file: the corpus check of the huge tests.
inline std::vector<std::string> HugeHits() {
  return {"marker_across_2gib", "marker_offsets",    "marker_at_end",
          "marker_twice",       "marker_after_1mib", "big_file",
          "size_past_2gib",     "reads_past_2gib",   "not_truncated"};
}

// Hits `yara` must report in the planted files (rule, path under root): the corpus check that
// the files exercise what they claim to.
inline std::vector<std::pair<std::string, std::string>> PlantedHits() {
  return {
      {"marker_at_start", "planted/start.bin"},
      {"marker_at_end", "planted/end.bin"},
      {"marker_after_1mib", "planted/across_chunks.bin"},
      {"exactly_16mib", "planted/exactly_16mib.bin"},
      {"marker_at_end", "planted/16mib_plus_1.bin"},
      {"empty_file", "planted/also empty"},
      {"composite", "planted/composite.txt"},
      {"xor_word", "planted/xored.bin"},
  };
}

}  // namespace cg::test::yara_corpus

// Makes the "few large binaries" corpus of tests/bench/yara_bench.sh: a few large files (by
// default 16, 32, 48, 64 and 96 MiB) among several hundred small ones, with deterministic
// content (the same bytes on every machine for the same --seed), shaped like what a counter PC
// holds: binaries made of code-like, string-table, zero-filled and compressed-looking pages,
// and small text and binary files. Two small files and the 96 MiB one carry strings that the
// bench rules find, so both scanners must agree on a non-empty match set, and the large match
// goes through the path that hashes a matched mapped file.
//
//   yara_corpus_gen --dir DIR [--small 607] [--large-mib 16,32,48,64,96] [--seed N]
#include <CLI/CLI.hpp>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

// splitmix64: small, fast, and the same sequence everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

constexpr size_t kPage = 4096;

// Bytes that dominate x86-64 code (REX prefixes, mov/lea/call/jmp/push, ModRM values, small
// immediates), so code pages have the skewed distribution that feeds YARA's atoms as real code.
constexpr std::array<uint8_t, 32> kCodeBytes = {
    0x48, 0x89, 0x8b, 0x00, 0xe8, 0xff, 0x45, 0x0f, 0x85, 0x84, 0x4c, 0x24, 0x44, 0xc7, 0x83, 0x74,
    0x75, 0x31, 0xc0, 0x5d, 0x41, 0x5c, 0x08, 0x10, 0x01, 0xeb, 0xe9, 0x8d, 0x39, 0xc3, 0x90, 0x20};

constexpr std::array<std::string_view, 24> kWords = {
    "init",    "config",  "buffer", "handler", "error",   "socket", "thread",   "string",
    "vector",  "alloc",   "read",   "write",   "update",  "render", "context",  "module",
    "service", "counter", "record", "citizen", "payment", "print",  "document", "session"};

void FillCode(Rng& rng, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = rng.Next();
    for (size_t j = 0; j < 8 && i + j < n; ++j, r >>= 8) {
      // 3 in 4 bytes from the code alphabet, the rest anything (addresses, immediates).
      p[i + j] = (r & 0xc0) != 0 ? kCodeBytes[r & 31] : static_cast<uint8_t>(r >> 8);
    }
  }
}

void FillStrings(Rng& rng, uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    std::string s = "_ZN2cg";
    const int parts = 1 + static_cast<int>(rng.Below(4));
    for (int k = 0; k < parts; ++k) {
      s += kWords[rng.Below(kWords.size())];
      s += k + 1 < parts ? "_" : "";
    }
    s += '\0';
    for (char c : s) {
      if (i == n) {
        break;
      }
      p[i++] = static_cast<uint8_t>(c);
    }
  }
}

void FillRandom(Rng& rng, uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t r = rng.Next();
    for (size_t j = 0; j < 8 && i + j < n; ++j, r >>= 8) {
      p[i + j] = static_cast<uint8_t>(r);
    }
  }
}

// A binary: an ELF-looking header, then pages of code (40 %), string tables (15 %), zeros
// (20 %) and compressed-looking data (25 %), in runs of 1-16 pages.
std::vector<uint8_t> MakeBinary(Rng& rng, size_t size) {
  std::vector<uint8_t> b(size, 0);
  size_t off = 0;
  while (off < size) {
    const size_t run = std::min(size - off, kPage * (1 + rng.Below(16)));
    const uint64_t kind = rng.Below(100);
    if (kind < 40) {
      FillCode(rng, b.data() + off, run);
    } else if (kind < 55) {
      FillStrings(rng, b.data() + off, run);
    } else if (kind < 80) {
      // zeros: already there
    } else {
      FillRandom(rng, b.data() + off, run);
    }
    off += run;
  }
  const std::string_view elf(
      "\x7f"
      "ELF\x02\x01\x01",
      7);
  std::copy(elf.begin(), elf.begin() + static_cast<long>(std::min(size, elf.size())), b.begin());
  return b;
}

// A text file: lines of words, numbers and paths, as logs, configuration and scripts are.
std::vector<uint8_t> MakeText(Rng& rng, size_t size) {
  std::string t;
  t.reserve(size + 128);
  while (t.size() < size) {
    const int words = 3 + static_cast<int>(rng.Below(10));
    for (int k = 0; k < words; ++k) {
      t += kWords[rng.Below(kWords.size())];
      t += rng.Below(5) == 0 ? "=" + std::to_string(rng.Below(100000)) : "";
      t += k + 1 < words ? " " : "\n";
    }
  }
  t.resize(size);
  return {t.begin(), t.end()};
}

void Put(std::vector<uint8_t>& b, size_t at, std::string_view s) {
  if (b.size() >= s.size()) {
    at = std::min(at, b.size() - s.size());
    std::copy(s.begin(), s.end(), b.begin() + static_cast<long>(at));
  }
}

bool Write(const std::filesystem::path& path, const std::vector<uint8_t>& b) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"deterministic YARA benchmark corpus: a few large binaries among small files"};
  std::string dir;
  int small = 607;
  std::vector<int> large_mib = {16, 32, 48, 64, 96};
  uint64_t seed = 20261203;
  app.add_option("--dir", dir, "directory to fill (created)")->required();
  app.add_option("--small", small, "number of small files (1 KiB to 4 MiB)");
  app.add_option("--large-mib", large_mib, "sizes of the large binaries in MiB")->delimiter(',');
  app.add_option("--seed", seed, "generator seed");
  CLI11_PARSE(app, argc, argv);

  namespace fs = std::filesystem;
  Rng rng(seed);
  uint64_t total = 0;
  for (int i = 0; i < small; ++i) {
    // Sizes log-uniform between 1 KiB and 4 MiB; 20 files a directory.
    const double exp2 = 10.0 + static_cast<double>(rng.Below(12000)) / 1000.0;
    const auto size = static_cast<size_t>(std::exp2(exp2));
    const bool text = rng.Below(2) == 0;
    auto b = text ? MakeText(rng, size) : MakeBinary(rng, size);
    if (i == small / 3) {
      Put(b, b.size() / 2, "junk CG-BENCH-PLANTED-SAMPLE junk");
    }
    if (i == 2 * small / 3) {
      Put(b, b.size() / 3, "stratum+tcp://pool.example.org:3333 --donate-level 1 xmrig");
    }
    const fs::path d = fs::path(dir) / ("d" + std::to_string(i / 20));
    fs::create_directories(d);
    if (!Write(d / ((text ? "f" : "b") + std::to_string(i) + (text ? ".txt" : ".so")), b)) {
      std::cerr << "cannot write in " << d << "\n";
      return 2;
    }
    total += b.size();
  }
  const fs::path big = fs::path(dir) / "large";
  fs::create_directories(big);
  for (size_t i = 0; i < large_mib.size(); ++i) {
    auto b = MakeBinary(rng, static_cast<size_t>(large_mib[i]) << 20);
    if (large_mib[i] > 50 && i + 1 == large_mib.size()) {
      Put(b, b.size() - 100, "CG-BENCH-LARGE-TAIL");
    }
    if (!Write(big / ("lib" + std::to_string(i) + ".so"), b)) {
      std::cerr << "cannot write in " << big << "\n";
      return 2;
    }
    total += b.size();
  }
  std::cout << total << "\n";
  return 0;
}

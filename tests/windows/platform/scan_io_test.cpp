// platform/windows/scan_io.cpp: the walker's filters and stamps (which must equal the reader's:
// they are the scan cache's key), reading and mapping, share modes, priority, CPU time.
#include "platform/scan_io.h"

#include <gtest/gtest.h>
#include <windows.h>
// FSCTL_SET_SPARSE; after windows.h.
#include <winioctl.h>

#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "platform/windows/file_system.h"
#include "platform/windows/handle.h"
#include "platform/windows/long_path.h"
#include "tests/windows/platform/temp_dir.h"

namespace cg::platform {
namespace {

using windows::testing::FromUtf8;
using windows::testing::TempDirTest;

class Collect : public WalkVisitor {
 public:
  bool OnFile(std::string path, const FileStamp& stamp) override {
    files[path] = stamp;
    return true;
  }
  void OnSkip(const std::string& path, SkipReason reason, std::string_view) override {
    skipped[path] = reason;
  }
  void OnError(const std::string& path, const Error& error) override {
    errors[path] = error.ToString();
  }
  std::map<std::string, FileStamp> files;
  std::map<std::string, SkipReason> skipped;
  std::map<std::string, std::string> errors;
};

class WindowsScanIoTest : public TempDirTest {
 protected:
  void Write(const std::string& rel, const std::string& data) {
    const auto p = dir_ / FromUtf8(rel);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << data;
  }
};

TEST_F(WindowsScanIoTest, WalksFiltersAndStampsLikeTheReader) {
  Write("a.exe", "MZ payload");
  Write("Tài liệu/hồ sơ.docx", "document");
  Write("Tài liệu/đĩa.iso", "image");
  Write("node_modules/x.js", "js");
  Write("big.bin", std::string(5000, 'x'));
  WalkOptions o;
  o.roots = {Dir()};
  o.skip_extensions = {".ISO"};
  o.exclude = {"**/node_modules/**"};
  o.max_file_size = 4096;
  Collect c;
  ASSERT_TRUE(WalkFiles(o, c).ok());
  EXPECT_TRUE(c.errors.empty()) << c.errors.begin()->second;
  const std::string a = Dir() + "\\a.exe";
  const std::string doc = Dir() + "\\Tài liệu\\hồ sơ.docx";
  ASSERT_EQ(c.files.size(), 2u);
  ASSERT_TRUE(c.files.count(a));
  ASSERT_TRUE(c.files.count(doc));
  EXPECT_EQ(c.skipped[Dir() + "\\Tài liệu\\đĩa.iso"], SkipReason::kExtension);
  EXPECT_EQ(c.skipped[Dir() + "\\node_modules"], SkipReason::kExcluded);
  EXPECT_EQ(c.skipped[Dir() + "\\big.bin"], SkipReason::kTooLarge);

  // The walker's stamp (from the directory listing) is the reader's (from the open handle):
  // the incremental cache would never hit otherwise.
  for (const auto& [path, stamp] : c.files) {
    auto f = ScanFile::Open(path);
    ASSERT_TRUE(f.ok()) << path << ": " << f.error().ToString();
    EXPECT_EQ(f->stamp(), stamp) << path;
    EXPECT_NE(stamp.ino, 0u);
  }
  auto f = ScanFile::Open(doc);
  ASSERT_TRUE(f.ok());
  ScanBuffer buffer;
  auto read = f->ReadAll(buffer, 3);
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_FALSE(read->changed);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), read->bytes), "document");
  auto mapped = f->Map();
  ASSERT_TRUE(mapped.ok()) << mapped.error().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(mapped->data()), mapped->size()), "document");
  uint8_t part[4];
  auto at = f->ReadAt(4, part, sizeof part);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(part), *at), "ment");
}

TEST_F(WindowsScanIoTest, AChangeMovesTheStamp) {
  Write("f.txt", "one");
  auto before = ScanFile::Open(Path("f.txt"));
  ASSERT_TRUE(before.ok());
  Sleep(20);
  Write("f.txt", "two, longer");
  auto after = before->Restat();
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, before->stamp());
}

TEST_F(WindowsScanIoTest, AnOpenScanFileNeverBlocksTheClerk) {
  Write("báo cáo.xlsx", "cells");
  auto f = ScanFile::Open(Path("báo cáo.xlsx"));
  ASSERT_TRUE(f.ok());
  auto wide = windows::ToLongPath(Path("báo cáo.xlsx"));
  ASSERT_TRUE(wide.ok());
  // Saving: open for writing, then replace by rename, while the scan holds the file.
  windows::UniqueHandle writer(CreateFileW(wide->c_str(), GENERIC_WRITE, 0x7, nullptr,
                                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  EXPECT_TRUE(windows::Valid(writer)) << GetLastError();
  writer.reset();
  auto moved = windows::ToLongPath(Path("báo cáo (1).xlsx"));
  ASSERT_TRUE(moved.ok());
  EXPECT_TRUE(MoveFileExW(wide->c_str(), moved->c_str(), MOVEFILE_REPLACE_EXISTING))
      << GetLastError();
}

TEST_F(WindowsScanIoTest, WalkerErrorsAndMissingRoots) {
  WalkOptions o;
  EXPECT_FALSE(WalkFiles(o, *std::make_unique<Collect>()).ok());
  o.roots = {Path("does-not-exist")};
  Collect c;
  ASSERT_TRUE(WalkFiles(o, c).ok());
  EXPECT_EQ(c.errors.size(), 1u);
  Write("only.txt", "x");
  o.roots = {Path("only.txt")};
  Collect single;
  ASSERT_TRUE(WalkFiles(o, single).ok());
  EXPECT_EQ(single.files.size(), 1u);
}

// A file past 2^31 and 2^32 bytes (sparse: nothing but the three markers is written) through
// every read path the yara check and the file checks take: the walker's size (from the
// directory listing) equal to the open handle's, ReadAt and the FileSystem's ranged read with
// offsets whose high 32 bits are set (OVERLAPPED.OffsetHigh), and the whole-file mapping read
// at those offsets. Markers straddle 2^31 (a signed 32-bit offset overflows) and 2^32 (an
// unsigned one wraps), and the last one ends the file. Only the pages holding the markers are
// touched, so this takes milliseconds; what libyara makes of offsets that large is shown by
// yara_huge_file_test.cpp and the differential test.
TEST_F(WindowsScanIoTest, FilesPastTwoAndFourGiBReadAndMapAtTheirRealOffsets) {
  constexpr uint64_t k2G = uint64_t{1} << 31;
  constexpr uint64_t k4G = uint64_t{1} << 32;
  constexpr uint64_t kSize = k4G + (64u << 10);
  const std::string marker = "CG-BIG-FILE-MARKER-1";  // 20 bytes
  const std::vector<std::pair<uint64_t, std::string>> plants = {
      {k2G - 5, marker}, {k4G - 5, marker}, {kSize - marker.size(), marker}};
  std::filesystem::create_directories(dir_ / L"C" / L"lớn");
  const std::string rel = "C\\lớn\\ổ đĩa ảo.vhdx";
  {
    auto wide = windows::ToLongPath(Path(rel));
    ASSERT_TRUE(wide.ok());
    windows::UniqueHandle f(CreateFileW(wide->c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                                        CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    ASSERT_TRUE(windows::Valid(f)) << GetLastError();
    // Sparse on NTFS (else Windows writes 4 GiB of zeros); Wine's files are sparse anyway.
    DWORD returned = 0;
    DeviceIoControl(f.get(), FSCTL_SET_SPARSE, nullptr, 0, nullptr, 0, &returned, nullptr);
    LARGE_INTEGER end;
    end.QuadPart = static_cast<LONGLONG>(kSize);
    ASSERT_TRUE(SetFilePointerEx(f.get(), end, nullptr, FILE_BEGIN)) << GetLastError();
    ASSERT_TRUE(SetEndOfFile(f.get())) << GetLastError();
    for (const auto& [offset, text] : plants) {
      OVERLAPPED at{};
      at.Offset = static_cast<DWORD>(offset & 0xffffffffu);
      at.OffsetHigh = static_cast<DWORD>(offset >> 32);
      DWORD written = 0;
      ASSERT_TRUE(WriteFile(f.get(), text.data(), static_cast<DWORD>(text.size()), &written, &at))
          << GetLastError();
      ASSERT_EQ(written, text.size());
    }
  }
  const std::string path = Path(rel);

  WalkOptions o;
  o.roots = {Dir()};
  Collect c;
  ASSERT_TRUE(WalkFiles(o, c).ok());
  ASSERT_EQ(c.files.count(path), 1u) << "not listed: " << path;
  EXPECT_EQ(c.files[path].size, kSize);
  auto f = ScanFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ(f->stamp(), c.files[path]);

  for (const auto& [offset, text] : plants) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::string got(2 * text.size(), '?');
    auto n = f->ReadAt(offset, reinterpret_cast<uint8_t*>(got.data()), got.size());
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    // The last marker ends the file: the read stops there.
    const size_t want = offset + got.size() > kSize ? kSize - offset : got.size();
    ASSERT_EQ(*n, want);
    EXPECT_EQ(got.substr(0, text.size()), text);
  }
  // Just before each marker: zeros (a read that wrapped at 2^32 would find the first marker).
  uint8_t before[8];
  auto zeros = f->ReadAt(k4G - 13, before, sizeof before);
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(before), *zeros), std::string(8, '\0'));

  auto mapped = f->Map();
  ASSERT_TRUE(mapped.ok()) << mapped.error().ToString();
  ASSERT_EQ(mapped->size(), kSize);
  for (const auto& [offset, text] : plants) {
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(mapped->data()) + offset, text.size()),
              text)
        << "mapping at " << offset;
  }
  EXPECT_EQ(mapped->data()[k4G - 6], 0);

  // The file checks' ranged read (platform::FileSystem, e.g. the antivirus check's) and stat.
  auto fs = windows::WindowsFileSystem::Create(Dir());
  ASSERT_TRUE(fs.ok()) << fs.error().ToString();
  const std::string machine_path = "C:\\lớn\\ổ đĩa ảo.vhdx";
  auto info = (*fs)->Stat(machine_path);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, kSize);
  auto range = (*fs)->ReadFileRange(machine_path, k4G - 5, marker.size());
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  EXPECT_EQ(*range, marker);
  auto straddle = (*fs)->ReadFileRange(machine_path, k2G - 5, marker.size());
  ASSERT_TRUE(straddle.ok()) << straddle.error().ToString();
  EXPECT_EQ(*straddle, marker);
  auto tail = (*fs)->ReadFileRange(machine_path, kSize - marker.size(), 4096);
  ASSERT_TRUE(tail.ok()) << tail.error().ToString();
  EXPECT_EQ(*tail, marker);
}

TEST(WindowsScanThread, LowPriorityAndCpuTime) {
  const auto start = ThreadCpuTime();
  volatile uint64_t x = 0;
  for (int i = 0; i < 50000000; ++i) {
    x = x + static_cast<uint64_t>(i);
  }
  EXPECT_GE(ThreadCpuTime(), start);
  auto st = LowerThreadPriority();
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  // Wine refuses background mode (error 87): the CPU priority is lowered to idle instead.
  const bool wine = GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != nullptr;
  if (wine) {
    EXPECT_EQ(GetThreadPriority(GetCurrentThread()), THREAD_PRIORITY_IDLE);
  }
}

TEST(WindowsScanPower, ReadsThePowerState) {
  auto power = ReadPowerState();
  ASSERT_TRUE(power.ok()) << power.error().ToString();
  EXPECT_FALSE(power->detail.empty());
}

}  // namespace
}  // namespace cg::platform

// platform/windows/scan_io.cpp: the walker's filters and stamps (which must equal the reader's:
// they are the scan cache's key), reading and mapping, share modes, priority, CPU time.
#include "platform/scan_io.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <fstream>
#include <map>

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

TEST(WindowsScanThread, LowPriorityAndCpuTime) {
  const auto start = ThreadCpuTime();
  volatile uint64_t x = 0;
  for (int i = 0; i < 50000000; ++i) {
    x = x + static_cast<uint64_t>(i);
  }
  EXPECT_GE(ThreadCpuTime(), start);
  auto st = LowerThreadPriority();
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_LE(GetThreadPriority(GetCurrentThread()), THREAD_PRIORITY_NORMAL);
}

TEST(WindowsScanPower, ReadsThePowerState) {
  auto power = ReadPowerState();
  ASSERT_TRUE(power.ok()) << power.error().ToString();
  EXPECT_FALSE(power->detail.empty());
}

}  // namespace
}  // namespace cg::platform

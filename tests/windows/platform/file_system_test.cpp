// platform/windows/file_system.cpp on the real Win32 file APIs: rooted and live paths,
// Vietnamese names, ranged reads, listing, stat, durable replace, long paths, and share modes
// that never block (nor are blocked by) a program holding the file open.
#include "platform/windows/file_system.h"

#include <gtest/gtest.h>
#include <windows.h>

#include <fstream>

#include "platform/windows/handle.h"
#include "platform/windows/long_path.h"
#include "tests/windows/platform/temp_dir.h"

namespace cg::platform::windows {
namespace {

using testing::FromUtf8;
using testing::TempDirTest;

class WindowsFileSystemTest : public TempDirTest {
 protected:
  void Write(const std::string& path, const std::string& data) {
    std::ofstream(FromUtf8(path), std::ios::binary) << data;
  }
};

TEST_F(WindowsFileSystemTest, RootedPathsMapTheDriveLetterBelowTheRoot) {
  auto fs = WindowsFileSystem::Create(Dir());
  ASSERT_TRUE(fs.ok()) << fs.error().ToString();
  // A fixture holds C:\... as <root>\C\...
  ASSERT_TRUE((*fs)->WriteFileAtomic("C:\\Tài liệu\\Bộ phận Một cửa.txt", "xin chào", 0644).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / L"C" / L"T\u00e0i li\u1ec7u" /
                                      L"B\u1ed9 ph\u1eadn M\u1ed9t c\u1eeda.txt"));
  auto text = (*fs)->ReadFile("C:/Tài liệu/Bộ phận Một cửa.txt");
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(*text, "xin chào");
  // ".." does not leave the root.
  EXPECT_EQ((*fs)->HostPath("C:\\..\\..\\..\\x").rfind(Dir(), 0), 0u);
}

TEST_F(WindowsFileSystemTest, ReadsRangesListsAndStats) {
  auto fs = WindowsFileSystem::Create(Dir());
  ASSERT_TRUE(fs.ok());
  std::filesystem::create_directories(dir_ / L"C" / L"d" / L"sub");
  Write(Path("C/d/b.bin"), "0123456789");
  Write(Path("C/d/a.txt"), "a");

  auto range = (*fs)->ReadFileRange("C:\\d\\b.bin", 3, 4);
  ASSERT_TRUE(range.ok()) << range.error().ToString();
  EXPECT_EQ(*range, "3456");
  auto tail = (*fs)->ReadFileRange("C:\\d\\b.bin", 8, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "89");

  auto small = (*fs)->ReadFile("C:\\d\\b.bin", 5);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code, ErrorCode::kTooLarge);

  auto entries = (*fs)->ListDir("C:\\d");
  ASSERT_TRUE(entries.ok()) << entries.error().ToString();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "a.txt");
  EXPECT_EQ((*entries)[1].name, "b.bin");
  EXPECT_EQ((*entries)[2].name, "sub");
  EXPECT_EQ((*entries)[2].type, FileType::kDirectory);

  auto info = (*fs)->Stat("C:\\d\\b.bin");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->type, FileType::kRegular);
  EXPECT_EQ(info->size, 10u);
  EXPECT_GT(info->mtime.time_since_epoch().count(), 0);

  auto missing = (*fs)->ReadFile("C:\\d\\none.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE((*fs)->Exists("C:\\d\\none.txt"));

  ASSERT_TRUE((*fs)->RemoveFile("C:\\d\\a.txt").ok());
  EXPECT_FALSE((*fs)->Exists("C:\\d\\a.txt"));
}

TEST_F(WindowsFileSystemTest, LiveMachineRefusesLinuxPaths) {
  auto fs = WindowsFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  // Under Wine "\etc\os-release" would be Z:\etc\os-release, the Linux host's own file: a
  // Linux check must find nothing to judge here, and say why.
  auto text = (*fs)->ReadFile("/etc/os-release");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(text.error().message.find("not a Windows path"), std::string::npos);
  EXPECT_FALSE((*fs)->Exists("/etc/shadow"));
  // Windows paths are used as they are.
  Write(Path("live.txt"), "live");
  auto live = (*fs)->ReadFile(Path("live.txt"));
  ASSERT_TRUE(live.ok()) << live.error().ToString();
  EXPECT_EQ(*live, "live");
}

TEST_F(WindowsFileSystemTest, PathsLongerThanMaxPath) {
  auto fs = WindowsFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  std::string deep = Dir();
  while (deep.size() < 400) {
    deep += "\\Thư mục rất dài của bộ phận một cửa";
  }
  const std::string file = deep + "\\hồ sơ.txt";
  ASSERT_TRUE((*fs)->WriteFileAtomic(file, "sâu", 0644).ok());
  auto text = (*fs)->ReadFile(file);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(*text, "sâu");
  auto info = (*fs)->Stat(file);
  ASSERT_TRUE(info.ok()) << info.error().ToString();
  EXPECT_EQ(info->size, 4u);
}

TEST_F(WindowsFileSystemTest, ReadingNeverBlocksAProgramHoldingTheFile) {
  auto fs = WindowsFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  const std::string path = Path("hồ sơ đang mở.docx");
  Write(path, "document");
  auto wide = ToLongPath(path);
  ASSERT_TRUE(wide.ok());
  // A word processor: open for writing, sharing read and write (not delete).
  UniqueHandle held(CreateFileW(wide->c_str(), GENERIC_READ | GENERIC_WRITE,
                                FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING,
                                FILE_ATTRIBUTE_NORMAL, nullptr));
  ASSERT_TRUE(Valid(held));
  auto text = (*fs)->ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(*text, "document");
}

}  // namespace
}  // namespace cg::platform::windows

// The OS-neutral filter both scan walkers use (platform/scan_walker.h): machine paths under a
// machine root, the order of exclude, include and extension decisions, directories an exclude
// glob prunes, and Windows host paths with '\' separators.
#include "platform/scan_walker.h"

#include <gtest/gtest.h>

namespace cg::platform {
namespace {

WalkOptions Options(std::string machine_root = "/") {
  WalkOptions o;
  o.roots = {"/"};
  o.machine_root = std::move(machine_root);
  return o;
}

TEST(WalkFilterTest, MachinePathDropsTheMachineRootOnlyAtAComponentBoundary) {
  const WalkFilter none(Options("/"));
  EXPECT_EQ(none.machine_root(), "");
  EXPECT_EQ(none.MachinePath("/home/a"), "/home/a");

  const WalkFilter pc(Options("/mnt/pc//"));
  EXPECT_EQ(pc.machine_root(), "/mnt/pc");
  EXPECT_EQ(pc.MachinePath("/mnt/pc/home/a"), "/home/a");
  EXPECT_EQ(pc.MachinePath("/mnt/pc"), "/");
  // Another scan root that only starts with the same letters is not below the machine root.
  EXPECT_EQ(pc.MachinePath("/mnt/pc2/home/a"), "/mnt/pc2/home/a");
  EXPECT_EQ(pc.MachinePath("/srv/x"), "/srv/x");

  EXPECT_EQ(WalkFilter(Options("")).machine_root(), "");
}

TEST(WalkFilterTest, FilesAreJudgedExcludeThenIncludeThenExtension) {
  WalkOptions o = Options("/mnt/pc");
  o.include = {"*.exe", "*.iso", "/home/**"};
  o.exclude = {"/home/*/.cache/**", "*.tmp.exe"};
  o.skip_extensions = {".ISO", "vmdk", ".", ""};
  const WalkFilter f(o);
  EXPECT_EQ(f.SkipFile("/mnt/pc/srv/a.exe", "a.exe"), std::nullopt);
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/notes.txt", "notes.txt"), std::nullopt);
  EXPECT_EQ(f.SkipFile("/mnt/pc/srv/notes.txt", "notes.txt"), SkipReason::kNotIncluded);
  // Excluded wins over included; a glob without '/' sees the last component.
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/.cache/x/a.exe", "a.exe"), SkipReason::kExcluded);
  EXPECT_EQ(f.SkipFile("/mnt/pc/srv/b.tmp.exe", "b.tmp.exe"), SkipReason::kExcluded);
  // Included but with a skipped extension, compared without case, listed with or without dot.
  EXPECT_EQ(f.SkipFile("/mnt/pc/srv/disk.iso", "disk.iso"), SkipReason::kExtension);
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/vm.VMDK", "vm.VMDK"), SkipReason::kExtension);
  // A leading dot is a hidden file's name, not an extension; "." and "" list nothing.
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/.vmdk", ".vmdk"), std::nullopt);
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/readme", "readme"), std::nullopt);
  EXPECT_EQ(f.SkipFile("/mnt/pc/home/bob/trailing.", "trailing."), std::nullopt);
}

TEST(WalkFilterTest, NoFiltersSkipNothing) {
  const WalkFilter f(Options());
  EXPECT_EQ(f.SkipFile("/x/y.iso", "y.iso"), std::nullopt);
  EXPECT_FALSE(f.ExcludedDir("/x"));
}

TEST(WalkFilterTest, ExcludedDirectoriesIncludeThePatternOfADoubleStarGlob) {
  WalkOptions o = Options("/mnt/pc");
  o.exclude = {"/var/cache", "**/node_modules/**", "/home/*/.cache/**"};
  const WalkFilter f(o);
  EXPECT_TRUE(f.ExcludedDir("/mnt/pc/var/cache"));
  EXPECT_TRUE(f.ExcludedDir("/mnt/pc/src/app/node_modules"));
  EXPECT_TRUE(f.ExcludedDir("/mnt/pc/src/app/node_modules/left-pad"));
  EXPECT_TRUE(f.ExcludedDir("/mnt/pc/home/bob/.cache"));
  EXPECT_FALSE(f.ExcludedDir("/mnt/pc/home/bob"));
  EXPECT_FALSE(f.ExcludedDir("/mnt/pc/var"));
  EXPECT_FALSE(f.ExcludedDir("/mnt/pc/var/cache2"));
}

TEST(WalkFilterTest, BackslashHostsAreMatchedWithSlashes) {
  WalkOptions o = Options();
  o.exclude = {"C:/Users/*/AppData/**", "*.log"};
  o.include = {"C:/Users/**"};
  const WalkFilter f(o, '\\');
  EXPECT_TRUE(f.ExcludedDir("C:\\Users\\bob\\AppData"));
  EXPECT_FALSE(f.ExcludedDir("C:\\Users\\bob\\Documents"));
  EXPECT_EQ(f.SkipFile("C:\\Users\\bob\\Documents\\a.docx", "a.docx"), std::nullopt);
  EXPECT_EQ(f.SkipFile("C:\\Users\\bob\\x.log", "x.log"), SkipReason::kExcluded);
  EXPECT_EQ(f.SkipFile("D:\\data\\a.docx", "a.docx"), SkipReason::kNotIncluded);

  // A machine root given with backslashes (an offline disk mounted at E:\) is dropped too.
  WalkOptions mounted = Options("E:\\");
  mounted.exclude = {"/Windows/**"};
  const WalkFilter m(mounted, '\\');
  EXPECT_EQ(m.machine_root(), "E:");
  EXPECT_TRUE(m.ExcludedDir("E:\\Windows"));
  EXPECT_EQ(m.SkipFile("E:\\Windows\\notepad.exe", "notepad.exe"), SkipReason::kExcluded);
  EXPECT_EQ(m.SkipFile("E:\\Users\\a.exe", "a.exe"), std::nullopt);
}

}  // namespace
}  // namespace cg::platform

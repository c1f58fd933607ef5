// The rooted file system over a temporary tree: symlinks (relative, absolute, "..") resolve
// inside the root, loops are detected, reads are bounded, writes are atomic with their mode.
#include "platform/linux/rooted_fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "platform/os/files.h"
#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

namespace stdfs = std::filesystem;

class RootedFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tree_.root();
    Put("etc/passwd", "tree passwd\n");
    Put("etc/hostname", "fixture-host\n");
    Put("run/clamav/clamd.pid", "42\n");
    auto fs = RootedFileSystem::Create(root_);
    ASSERT_TRUE(fs.ok()) << fs.error().ToString();
    fs_ = std::move(fs).value();
  }

  void Put(const std::string& rel, const std::string& content) { tree_.Put(rel, content); }
  void Link(const std::string& rel, const std::string& target) { tree_.Link(rel, target); }

  testing::TempTree tree_{"cg-rootfs"};
  std::string root_;
  std::unique_ptr<RootedFileSystem> fs_;
};

TEST_F(RootedFsTest, ReadsMachinePathsUnderTheRoot) {
  auto r = fs_->ReadFile("/etc/passwd");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(*r, "tree passwd\n");
  EXPECT_EQ(fs_->root(), root_);
  EXPECT_EQ(fs_->HostPath("/etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(fs_->HostPath("/"), root_);
  EXPECT_EQ(fs_->HostPath("/../../etc/./shadow"), root_ + "/etc/shadow");
}

// A range of a file larger than any whole-file bound: the head of a signature database.
TEST_F(RootedFsTest, ReadsARangeOfAFileWhateverItsSize) {
  std::string big(3u << 20, 'x');
  big.replace(0, 8, "ClamAV-V");
  big.replace(big.size() - 4, 4, "tail");
  Put("var/lib/clamav/daily.cvd", big);
  Link("var/lib/clamav/daily.link", "/var/lib/clamav/daily.cvd");
  EXPECT_EQ(fs_->ReadFile("/var/lib/clamav/daily.cvd", 1u << 20).error().code,
            ErrorCode::kTooLarge);
  EXPECT_EQ(fs_->ReadFileRange("/var/lib/clamav/daily.cvd", 0, 8).value_or(""), "ClamAV-V");
  EXPECT_EQ(fs_->ReadFileRange("/var/lib/clamav/daily.link", 0, 8).value_or(""), "ClamAV-V");
  EXPECT_EQ(fs_->ReadFileRange("/var/lib/clamav/daily.cvd", big.size() - 4, 100).value_or(""),
            "tail");
  EXPECT_EQ(fs_->ReadFileRange("/var/lib/clamav/daily.cvd", big.size() + 10, 8).value_or("?"), "");
  EXPECT_FALSE(fs_->ReadFileRange("/var/lib/clamav", 0, 8).ok());  // a directory
  EXPECT_EQ(fs_->ReadFileRange("/var/lib/clamav/nope.cvd", 0, 8).error().code,
            ErrorCode::kNotFound);
}

TEST_F(RootedFsTest, RelativeSymlinkInsideRoot) {
  Link("etc/alias", "passwd");
  Link("etc/sub/up", "../passwd");
  EXPECT_EQ(fs_->ReadFile("/etc/alias").value_or(""), "tree passwd\n");
  EXPECT_EQ(fs_->ReadFile("/etc/sub/up").value_or(""), "tree passwd\n");
}

TEST_F(RootedFsTest, AbsoluteSymlinkIsReRooted) {
  // On the host /etc/hostname holds the host's name; in the tree it must be the tree's file.
  Link("etc/name", "/etc/hostname");
  Link("var/run", "/run");
  EXPECT_EQ(fs_->ReadFile("/etc/name").value_or(""), "fixture-host\n");
  EXPECT_EQ(fs_->ReadFile("/var/run/clamav/clamd.pid").value_or(""), "42\n");
  auto host = fs_->ResolveHostPath("/var/run/clamav/clamd.pid");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, root_ + "/run/clamav/clamd.pid");
}

TEST_F(RootedFsTest, DotDotEscapeStaysInsideRoot) {
  Link("etc/escape", "../../../../../../../../etc/passwd");
  Link("etc/escape_dir", "../../../../..");
  EXPECT_EQ(fs_->ReadFile("/etc/escape").value_or(""), "tree passwd\n");
  EXPECT_EQ(fs_->ReadFile("/../../../etc/passwd").value_or(""), "tree passwd\n");
  EXPECT_EQ(fs_->ReadFile("/etc/escape_dir/etc/passwd").value_or(""), "tree passwd\n");
  auto host = fs_->ResolveHostPath("/etc/escape_dir");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(*host, root_);
}

TEST_F(RootedFsTest, SymlinkLoopIsDetected) {
  Link("etc/a", "b");
  Link("etc/b", "/etc/a");
  Link("etc/self", "self");
  for (const char* path : {"/etc/a", "/etc/self", "/etc/a/x"}) {
    auto r = fs_->ReadFile(path);
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_NE(r.error().message.find("symbolic links"), std::string::npos) << r.error().message;
  }
  // lstat semantics: the link itself can be inspected.
  auto st = fs_->Stat("/etc/a");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, FileType::kSymlink);
  EXPECT_EQ(fs_->ReadLink("/etc/a").value_or(""), "b");
}

TEST_F(RootedFsTest, ReadIsBounded) {
  Put("big", std::string(1000, 'x'));
  auto over = fs_->ReadFile("/big", 999);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kTooLarge);
  EXPECT_EQ(fs_->ReadFile("/big", 1000).value_or("").size(), 1000u);
}

TEST_F(RootedFsTest, MissingFilesAndNonFilesAreClearErrors) {
  auto missing = fs_->ReadFile("/etc/shadow");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("/etc/shadow"), std::string::npos);
  EXPECT_FALSE(fs_->Exists("/etc/shadow"));
  EXPECT_FALSE(fs_->ReadFile("/etc").ok());
  EXPECT_FALSE(fs_->ReadFile("/etc/passwd/x").ok());  // ENOTDIR
  // A FIFO planted in a tree must not block the reader.
  ASSERT_EQ(mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  auto fifo = fs_->ReadFile("/fifo");
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(RootedFsTest, ListDirIsSortedWithTypes) {
  Put("d/zeta", "");
  Put("d/alpha", "");
  tree_.Dir("d/mid");
  Link("d/beta", "alpha");
  auto list = fs_->ListDir("/d");
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].type, FileType::kRegular);
  EXPECT_EQ((*list)[1].name, "beta");
  EXPECT_EQ((*list)[1].type, FileType::kSymlink);
  EXPECT_EQ((*list)[2].name, "mid");
  EXPECT_EQ((*list)[2].type, FileType::kDirectory);
  EXPECT_EQ((*list)[3].name, "zeta");
}

TEST_F(RootedFsTest, AtomicWriteAppliesModeRegardlessOfUmaskAndCreatesParents) {
  const mode_t old = umask(077);
  const Status s = fs_->WriteFileAtomic("/etc/counterguard/agent.json", "{}", 0644);
  umask(old);
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  const std::string host = root_ + "/etc/counterguard/agent.json";
  EXPECT_EQ(*ReadFileToString(host), "{}");
  struct stat st {};
  ASSERT_EQ(stat(host.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  ASSERT_TRUE(fs_->WriteFileAtomic("/etc/counterguard/agent.json", "{\"v\":2}", 0600).ok());
  ASSERT_EQ(stat(host.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(fs_->ReadFile("/etc/counterguard/agent.json").value_or(""), "{\"v\":2}");
  size_t entries = 0;
  for (const auto& e : stdfs::directory_iterator(root_ + "/etc/counterguard")) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);  // no temporary file left behind
}

TEST_F(RootedFsTest, WriteThroughAbsoluteSymlinkStaysInsideRoot) {
  Link("etc/login.defs", "/usr/share/login.defs");
  ASSERT_TRUE(fs_->WriteFileAtomic("/etc/login.defs", "PASS_MAX_DAYS 90\n", 0644).ok());
  EXPECT_EQ(*ReadFileToString(root_ + "/usr/share/login.defs"), "PASS_MAX_DAYS 90\n");
  auto st = fs_->Stat("/etc/login.defs");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->type, FileType::kSymlink);  // the link is kept, its target replaced
}

TEST_F(RootedFsTest, RemoveFile) {
  ASSERT_TRUE(fs_->RemoveFile("/etc/hostname").ok());
  EXPECT_FALSE(fs_->Exists("/etc/hostname"));
  auto again = fs_->RemoveFile("/etc/hostname");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_F(RootedFsTest, CreateRefusesMissingRootAndFiles) {
  auto missing = RootedFileSystem::Create(root_ + "/no/such/dir");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto file = RootedFileSystem::Create(root_ + "/etc/passwd");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
}

TEST(RootedFsLive, RootSlashReadsTheHost) {
  auto fs = RootedFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  EXPECT_EQ((*fs)->root(), "/");
  EXPECT_EQ((*fs)->HostPath("/etc/passwd"), "/etc/passwd");
  auto ours = (*fs)->ReadFile("/etc/passwd");
  auto direct = ReadFileToString("/etc/passwd");
  ASSERT_TRUE(ours.ok() && direct.ok());
  EXPECT_EQ(*ours, *direct);
}

}  // namespace
}  // namespace cg::platform::linux_

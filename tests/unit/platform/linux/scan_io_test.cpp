// The scanning walker over real temporary trees: what it reports, what it skips and why
// (globs, extensions, sizes, special files, symlinks, /proc-like paths, pseudo file systems,
// other file systems, loops), odd names kept raw; the single-open reader; thread priority and
// CPU time; the power supply state from sysfs-shaped fixtures.
#include "platform/scan_io.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform {
namespace {

namespace stdfs = std::filesystem;

struct Seen {
  std::string path;
  SkipReason reason;
  std::string detail;
};

class Collector final : public WalkVisitor {
 public:
  bool OnFile(std::string path, const FileStamp& stamp) override {
    files.emplace_back(std::move(path));
    stamps.push_back(stamp);
    return true;
  }
  void OnSkip(const std::string& path, SkipReason reason, std::string_view detail) override {
    skips.push_back({path, reason, std::string(detail)});
  }
  void OnError(const std::string& path, const Error& error) override {
    errors.emplace_back(path, error.message);
  }

  bool HasFile(const std::string& path) const {
    return std::find(files.begin(), files.end(), path) != files.end();
  }
  const Seen* Skip(const std::string& path) const {
    for (const auto& s : skips) {
      if (s.path == path) {
        return &s;
      }
    }
    return nullptr;
  }

  std::vector<std::string> files;
  std::vector<FileStamp> stamps;
  std::vector<Seen> skips;
  std::vector<std::pair<std::string, std::string>> errors;
};

Collector Walk(const WalkOptions& options) {
  Collector c;
  auto st = WalkFiles(options, c);
  EXPECT_TRUE(st.ok()) << st.error().ToString();
  return c;
}

// Runs `body` in a child process as the unprivileged user nobody (65534) and returns its exit
// status: root reads any file, so "unreadable" can only be shown without root's rights.
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

// ---- globs and escaping ------------------------------------------------------------------

TEST(GlobMatchTest, Table) {
  struct Case {
    const char* pattern;
    const char* path;
    bool match;
  };
  const Case cases[] = {
      {"*.iso", "/home/a/disk.iso", true},
      {"*.iso", "/home/a/disk.iso.part", false},
      {"*.ISO", "/home/a/disk.iso", false},  // case-sensitive, as the file system is
      {"disk?.img", "/x/disk1.img", true},
      {"disk?.img", "/x/disk12.img", false},
      {"[a-c]*.log", "/var/b.log", true},
      {"[!a-c]*.log", "/var/b.log", false},
      {"/home/*/.cache", "/home/alice/.cache", true},
      {"/home/*/.cache", "/home/alice/x/.cache", false},  // * stays in one component
      {"/home/**/.cache", "/home/alice/x/.cache", true},
      {"/home/**/.cache", "/home/.cache", true},  // ** may be no component at all
      {"/home/**", "/home/alice/a/b", true},
      {"/home/**", "/srv/alice", false},
      {"**/node_modules/**", "/srv/app/node_modules/x/y.js", true},
      {"/tmp/a\\*b", "/tmp/a*b", true},
      {"/tmp/a\\*b", "/tmp/axb", false},
      {"/opt/*/bin/*", "/opt/tool/bin/run", true},
      {"*", "/anything", true},
      {"a*b*c*d", "/aXbYcZd", true},
      {"a*b*c*d", "/aXbYcZ", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(GlobMatch(c.pattern, c.path), c.match) << c.pattern << " vs " << c.path;
  }
}

TEST(EscapePathTest, Table) {
  struct Case {
    std::string raw;
    std::string shown;
  };
  const Case cases[] = {
      {"/home/a/b.txt", "/home/a/b.txt"},
      {"/tmp/with space", "/tmp/with space"},
      {"/tmp/caf\xc3\xa9", "/tmp/caf\xc3\xa9"},  // valid UTF-8 kept
      {"/tmp/caf\xe9", "/tmp/caf\\xe9"},         // Latin-1 byte escaped
      {"/tmp/a\nb", "/tmp/a\\x0ab"},
      {"/tmp/back\\slash", "/tmp/back\\\\slash"},     // unambiguous: "\x41" is not "A"
      {"/tmp/\xc0\xaf", "/tmp/\\xc0\\xaf"},           // overlong '/' rejected
      {"/tmp/\xed\xa0\x80", "/tmp/\\xed\\xa0\\x80"},  // surrogate rejected
      {std::string("/tmp/nul\0x", 10), "/tmp/nul\\x00x"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(EscapePath(c.raw), c.shown);
  }
}

// ---- walker ------------------------------------------------------------------------------

class WalkerTest : public ::testing::Test {
 protected:
  std::string H(const std::string& rel) const { return tree_.Host(rel); }
  WalkOptions Options() const {
    WalkOptions o;
    o.roots = {tree_.root()};
    o.machine_root = tree_.root();
    return o;
  }
  testing::TempTree tree_{"cg-walk"};
};

TEST_F(WalkerTest, ReportsRegularFilesWithStamps) {
  tree_.Put("a/one.txt", "1");
  tree_.Put("a/b/two.bin", "22");
  tree_.Put("empty", "");
  Collector c = Walk(Options());
  EXPECT_EQ(c.files.size(), 3u);
  EXPECT_TRUE(c.HasFile(H("a/one.txt")));
  EXPECT_TRUE(c.HasFile(H("a/b/two.bin")));
  EXPECT_TRUE(c.HasFile(H("empty")));
  struct stat st {};
  ASSERT_EQ(::stat(H("a/b/two.bin").c_str(), &st), 0);
  const auto it = std::find(c.files.begin(), c.files.end(), H("a/b/two.bin"));
  const FileStamp& s = c.stamps[static_cast<size_t>(it - c.files.begin())];
  EXPECT_EQ(s.size, 2u);
  EXPECT_EQ(s.ino, st.st_ino);
  EXPECT_EQ(s.dev, st.st_dev);
  EXPECT_EQ(s.mtime_ns, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
  EXPECT_TRUE(c.errors.empty());
}

TEST_F(WalkerTest, SymlinksAreNotFollowedByDefault) {
  tree_.Put("real/file", "x");
  tree_.Link("dirlink", "real");
  tree_.Link("filelink", "real/file");
  tree_.Link("dangling", "nowhere");
  Collector c = Walk(Options());
  EXPECT_EQ(c.files, std::vector<std::string>{H("real/file")});
  for (const char* l : {"dirlink", "filelink", "dangling"}) {
    const Seen* s = c.Skip(H(l));
    ASSERT_NE(s, nullptr) << l;
    EXPECT_EQ(s->reason, SkipReason::kSymlink);
  }
}

TEST_F(WalkerTest, FollowsSymlinksWhenAskedAndSurvivesLoops) {
  tree_.Put("real/file", "x");
  tree_.Link("dirlink", "real");
  tree_.Link("real/loop", "..");  // real/loop -> tree root: a cycle
  tree_.Link("real/self", ".");
  WalkOptions o = Options();
  o.follow_symlinks = true;
  Collector c = Walk(o);
  // "real" is entered once, through whichever of real/ and dirlink/ comes first; every other
  // way back into a walked directory (dirlink or real, loop, self) is a revisit.
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_TRUE(c.files[0] == H("real/file") || c.files[0] == H("dirlink/file")) << c.files[0];
  size_t visited = 0;
  for (const auto& s : c.skips) {
    visited += s.reason == SkipReason::kAlreadyVisited ? 1 : 0;
  }
  EXPECT_EQ(visited, 3u);
  EXPECT_TRUE(c.errors.empty());
}

TEST_F(WalkerTest, IncludeExcludeExtensionAndSize) {
  tree_.Put("docs/a.txt", "a");
  tree_.Put("docs/b.exe", "b");
  tree_.Put("docs/c.ISO", "c");
  tree_.Put("cache/x.exe", "x");
  tree_.Put("deep/node_modules/m/y.exe", "y");
  tree_.Put("big.exe", std::string(100, 'B'));
  WalkOptions o = Options();
  o.include = {"*.exe", "*.txt", "*.ISO"};
  o.exclude = {"/cache", "**/node_modules/**"};
  o.skip_extensions = {".iso"};
  o.max_file_size = 50;
  Collector c = Walk(o);
  std::sort(c.files.begin(), c.files.end());
  EXPECT_EQ(c.files, (std::vector<std::string>{H("docs/a.txt"), H("docs/b.exe")}));
  ASSERT_NE(c.Skip(H("cache")), nullptr);
  EXPECT_EQ(c.Skip(H("cache"))->reason, SkipReason::kExcluded);
  // "dir/**" excludes the directory itself: nothing below it is even listed.
  ASSERT_NE(c.Skip(H("deep/node_modules")), nullptr);
  EXPECT_EQ(c.Skip(H("deep/node_modules"))->reason, SkipReason::kExcluded);
  EXPECT_EQ(c.Skip(H("deep/node_modules/m/y.exe")), nullptr);
  ASSERT_NE(c.Skip(H("docs/c.ISO")), nullptr);
  EXPECT_EQ(c.Skip(H("docs/c.ISO"))->reason, SkipReason::kExtension);
  ASSERT_NE(c.Skip(H("big.exe")), nullptr);
  EXPECT_EQ(c.Skip(H("big.exe"))->reason, SkipReason::kTooLarge);

  // Include globs never stop the walk from entering directories.
  WalkOptions only_txt = Options();
  only_txt.include = {"*.txt"};
  Collector t = Walk(only_txt);
  EXPECT_EQ(t.files, std::vector<std::string>{H("docs/a.txt")});
  ASSERT_NE(t.Skip(H("docs/b.exe")), nullptr);
  EXPECT_EQ(t.Skip(H("docs/b.exe"))->reason, SkipReason::kNotIncluded);
}

TEST_F(WalkerTest, GlobsAreMachinePathsUnderTheMachineRoot) {
  tree_.Put("home/alice/.cache/x", "x");
  tree_.Put("home/alice/doc", "d");
  WalkOptions o = Options();
  o.roots = {H("home")};
  o.exclude = {"/home/*/.cache"};
  Collector c = Walk(o);
  EXPECT_EQ(c.files, std::vector<std::string>{H("home/alice/doc")});
}

TEST_F(WalkerTest, SpecialFilesAreSkippedWithTheirKind) {
  tree_.Put("plain", "p");
  ASSERT_EQ(::mkfifo(H("fifo").c_str(), 0600), 0);
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock = H("sock");
  ASSERT_LT(sock.size(), sizeof(addr.sun_path));
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  Collector c = Walk(Options());
  ::close(s);
  EXPECT_EQ(c.files, std::vector<std::string>{H("plain")});
  ASSERT_NE(c.Skip(H("fifo")), nullptr);
  EXPECT_EQ(c.Skip(H("fifo"))->reason, SkipReason::kSpecialFile);
  EXPECT_EQ(c.Skip(H("fifo"))->detail, "fifo");
  ASSERT_NE(c.Skip(H("sock")), nullptr);
  EXPECT_EQ(c.Skip(H("sock"))->detail, "socket");
}

TEST_F(WalkerTest, ProcSysDevUnderTheMachineRootAreNeverEntered) {
  tree_.Put("proc/1/environ", "secret");
  tree_.Put("sys/kernel/x", "x");
  tree_.Put("dev/sda", "disk");
  tree_.Put("procfile", "kept: only the directory names are special");
  Collector c = Walk(Options());
  EXPECT_EQ(c.files, std::vector<std::string>{H("procfile")});
  for (const char* d : {"proc", "sys", "dev"}) {
    ASSERT_NE(c.Skip(H(d)), nullptr) << d;
    EXPECT_EQ(c.Skip(H(d))->reason, SkipReason::kPseudoFilesystem);
  }
  // Asked for directly, they are still refused.
  WalkOptions o = Options();
  o.roots = {H("proc/1")};
  Collector direct = Walk(o);
  EXPECT_TRUE(direct.files.empty());
  ASSERT_NE(direct.Skip(H("proc/1")), nullptr);
  EXPECT_EQ(direct.Skip(H("proc/1"))->reason, SkipReason::kPseudoFilesystem);
}

bool DevIsDevtmpfs() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(" /dev ") != std::string::npos &&
        line.find(" - devtmpfs ") != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST_F(WalkerTest, PseudoFileSystemsAreRecognisedByTypeNotOnlyByPath) {
  // Reached through followed symlinks, the paths say nothing: the file system type does.
  tree_.Link("p", "/proc");
  tree_.Link("s", "/sys");
  tree_.Link("d", "/dev");
  WalkOptions o = Options();
  o.follow_symlinks = true;
  o.one_filesystem = false;
  Collector c = Walk(o);
  EXPECT_TRUE(c.files.empty());
  ASSERT_NE(c.Skip(H("p")), nullptr);
  EXPECT_EQ(c.Skip(H("p"))->reason, SkipReason::kPseudoFilesystem);
  EXPECT_EQ(c.Skip(H("p"))->detail, "proc");
  ASSERT_NE(c.Skip(H("s")), nullptr);
  EXPECT_EQ(c.Skip(H("s"))->detail, "sysfs");
  if (DevIsDevtmpfs()) {
    ASSERT_NE(c.Skip(H("d")), nullptr);
    EXPECT_EQ(c.Skip(H("d"))->detail, "devtmpfs");
  }
}

TEST_F(WalkerTest, OneFilesystemStopsAtOtherDevices) {
  struct stat tmp_st {};
  struct stat shm_st {};
  ASSERT_EQ(::stat(tree_.root().c_str(), &tmp_st), 0);
  if (::stat("/dev/shm", &shm_st) != 0 || shm_st.st_dev == tmp_st.st_dev) {
    GTEST_SKIP() << "needs /dev/shm on another file system than " << tree_.root();
  }
  // TempTree uses the temp directory; the other tree goes on /dev/shm explicitly.
  std::string shm_dir = "/dev/shm/cg-walk.XXXXXX";
  ASSERT_NE(::mkdtemp(shm_dir.data()), nullptr);
  { std::ofstream(shm_dir + "/far.txt") << "far"; }
  tree_.Put("near.txt", "near");
  tree_.Link("elsewhere", shm_dir);
  WalkOptions o = Options();
  o.follow_symlinks = true;
  o.one_filesystem = true;
  Collector same = Walk(o);
  o.one_filesystem = false;
  Collector all = Walk(o);
  stdfs::remove_all(shm_dir);

  EXPECT_EQ(same.files, std::vector<std::string>{H("near.txt")});
  ASSERT_NE(same.Skip(H("elsewhere")), nullptr);
  EXPECT_EQ(same.Skip(H("elsewhere"))->reason, SkipReason::kOtherFilesystem);
  EXPECT_TRUE(all.HasFile(H("elsewhere/far.txt")));
}

TEST_F(WalkerTest, OddNamesAreReportedRawNeverDropped) {
  const std::string latin1 = "caf\xe9.txt";
  const std::string newline = "two\nlines";
  const std::string spaced = "with space";
  tree_.Put(latin1, "1");
  tree_.Put(newline, "2");
  tree_.Put(spaced + "/inner", "3");
  Collector c = Walk(Options());
  EXPECT_EQ(c.files.size(), 3u);
  EXPECT_TRUE(c.HasFile(H(latin1)));
  EXPECT_TRUE(c.HasFile(H(newline)));
  EXPECT_TRUE(c.HasFile(H(spaced + "/inner")));
  EXPECT_EQ(EscapePath(H(latin1)), tree_.root() + "/caf\\xe9.txt");
}

TEST_F(WalkerTest, UnreadableDirectoryIsAnErrorAndTheWalkGoesOn) {
  tree_.Put("open/a", "a");
  tree_.Put("locked/secret", "s");
  ASSERT_EQ(::chmod(tree_.root().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(H("open").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(H("open/a").c_str(), 0644), 0);
  ASSERT_EQ(::chmod(H("locked").c_str(), 0700), 0);
  const WalkOptions o = Options();
  auto check = [&]() -> int {
    Collector c;
    if (!WalkFiles(o, c).ok()) {
      return 1;
    }
    const bool reported = c.errors.size() == 1 && c.errors[0].first == H("locked") &&
                          c.errors[0].second.find("Permission denied") != std::string::npos;
    const bool went_on = c.files == std::vector<std::string>{H("open/a")};
    return reported && went_on ? 0 : 2;
  };
  if (::geteuid() == 0) {
    // Root reads everything: the directory is root's 0700, the walk runs as nobody.
    EXPECT_EQ(RunAsNobody(check), 0);
  } else {
    ASSERT_EQ(::chmod(H("locked").c_str(), 0), 0);
    EXPECT_EQ(check(), 0);
    ::chmod(H("locked").c_str(), 0700);
  }
}

TEST_F(WalkerTest, RootThatIsAFileOrMissing) {
  tree_.Put("single", "s");
  WalkOptions o = Options();
  o.roots = {H("single"), H("missing")};
  Collector c = Walk(o);
  EXPECT_EQ(c.files, std::vector<std::string>{H("single")});
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].first, H("missing"));
}

TEST_F(WalkerTest, VisitorCanStopTheWalk) {
  for (int i = 0; i < 600; ++i) {
    tree_.Put("many/f" + std::to_string(i), "x");
  }
  class Stopper final : public WalkVisitor {
   public:
    bool OnFile(std::string, const FileStamp&) override { return ++files < 10; }
    void OnSkip(const std::string&, SkipReason, std::string_view) override {}
    void OnError(const std::string&, const Error&) override {}
    int files = 0;
  } stopper;
  ASSERT_TRUE(WalkFiles(Options(), stopper).ok());
  EXPECT_EQ(stopper.files, 10);
}

TEST(WalkFilesTest, RefusesNoRoots) {
  Collector c;
  EXPECT_FALSE(WalkFiles(WalkOptions{}, c).ok());
}

TEST_F(WalkerTest, RefusesAnEmptyRootAndADepthBelowOneBeforeWalking) {
  tree_.Put("a", "x");
  Collector c;
  WalkOptions empty_root = Options();
  empty_root.roots.push_back("");
  auto status = WalkFiles(empty_root, c);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.error().message, "empty scan path");

  WalkOptions no_depth = Options();
  no_depth.max_depth = 0;
  status = WalkFiles(no_depth, c);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "max_depth must be at least 1");
  // Refused before anything was walked.
  EXPECT_TRUE(c.files.empty());
}

// ---- reader ------------------------------------------------------------------------------

TEST(ScanFileTest, ReadsInChunksIntoAReusedBuffer) {
  testing::TempTree t{"cg-read"};
  std::string content;
  for (int i = 0; i < 10000; ++i) {
    content.push_back(static_cast<char>('a' + i % 26));
  }
  t.Put("f", content);
  auto f = ScanFile::Open(t.Host("f"));
  ASSERT_TRUE(f.ok()) << f.error().ToString();
  EXPECT_EQ(f->stamp().size, content.size());
  ScanBuffer buffer;
  auto r = f->ReadAll(buffer, 333);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bytes, content.size());
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), r->bytes), content);
  uint8_t* first = buffer.data();
  // A smaller file reuses the same storage.
  t.Put("g", "small");
  auto g = ScanFile::Open(t.Host("g"));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->ReadAll(buffer, 4).ok());
  EXPECT_EQ(buffer.data(), first);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), 5), "small");
}

TEST(ScanFileTest, NoticesGrowthAndShrinkBetweenOpenAndRead) {
  testing::TempTree t{"cg-read"};
  t.Put("grows", "12345");
  t.Put("shrinks", "1234567890");
  auto grows = ScanFile::Open(t.Host("grows"));
  auto shrinks = ScanFile::Open(t.Host("shrinks"));
  ASSERT_TRUE(grows.ok() && shrinks.ok());
  std::ofstream(t.Host("grows"), std::ios::app) << "more";
  ASSERT_EQ(::truncate(t.Host("shrinks").c_str(), 3), 0);
  ScanBuffer buffer;
  auto g = grows->ReadAll(buffer, 1 << 20);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->bytes, 5u);
  EXPECT_TRUE(g->changed);
  auto s = shrinks->ReadAll(buffer, 1 << 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->bytes, 3u);
  EXPECT_TRUE(s->changed);
  auto restat = shrinks->Restat();
  ASSERT_TRUE(restat.ok());
  EXPECT_FALSE(*restat == shrinks->stamp());
}

TEST(ScanFileTest, MapsSparseFiles) {
  testing::TempTree t{"cg-read"};
  const std::string path = t.Host("sparse");
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  const off_t size = 8 << 20;
  ASSERT_EQ(::ftruncate(fd, size), 0);
  ASSERT_EQ(::pwrite(fd, "END", 3, size - 3), 3);
  ::close(fd);
  auto f = ScanFile::Open(path);
  ASSERT_TRUE(f.ok());
  auto m = f->Map();
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  ASSERT_EQ(m->size(), static_cast<size_t>(size));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()) + size - 3, 3), "END");
  EXPECT_EQ(m->data()[0], 0);
  uint8_t tail[8] = {};
  auto got = f->ReadAt(static_cast<uint64_t>(size) - 3, tail, sizeof(tail));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 3u);
}

TEST(ScanFileTest, RefusesWhatIsNotARegularFile) {
  testing::TempTree t{"cg-read"};
  t.Put("real", "r");
  t.Link("link", "real");
  ASSERT_EQ(::mkfifo(t.Host("fifo").c_str(), 0600), 0);
  // A FIFO that replaced a file must not block the worker (O_NONBLOCK).
  auto fifo = ScanFile::Open(t.Host("fifo"));
  ASSERT_FALSE(fifo.ok());
  EXPECT_EQ(fifo.error().code, ErrorCode::kInvalidArgument);
  auto link = ScanFile::Open(t.Host("link"));
  ASSERT_FALSE(link.ok());
  EXPECT_EQ(link.error().code, ErrorCode::kInvalidArgument);
  auto gone = ScanFile::Open(t.Host("gone"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

// ---- gentleness --------------------------------------------------------------------------

TEST(PriorityTest, LowersOnlyTheCallingThread) {
  const int before = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  int nice_in_thread = 0;
  long ioprio_in_thread = 0;
  Status st;
  std::thread([&] {
    st = LowerThreadPriority();
    nice_in_thread = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
    ioprio_in_thread = ::syscall(SYS_ioprio_get, 1, 0);
  }).join();
  ASSERT_TRUE(st.ok()) << st.error().ToString();
  EXPECT_EQ(nice_in_thread, 19);
  EXPECT_EQ(ioprio_in_thread >> 13, 3) << "idle I/O class";
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), before);
}

TEST(ThreadCpuTimeTest, GrowsWithWork) {
  const auto start = ThreadCpuTime();
  volatile uint64_t sink = 0;
  auto now = start;
  for (int round = 0; round < 1000 && now <= start; ++round) {
    for (int i = 0; i < 1000000; ++i) {
      sink = sink + static_cast<uint64_t>(i);
    }
    now = ThreadCpuTime();
  }
  EXPECT_GT(now, start);
}

TEST(PowerStateTest, FixtureTable) {
  const std::map<std::string, bool> cases = {
      {"laptop_on_ac", false},
      {"laptop_on_battery", true},
      {"battery_without_ac_entry", true},
      {"desktop_with_mouse_battery", false},
      {"ac_offline_battery_full", true},
      {"usb_c_online", false},
  };
  for (const auto& [name, on_battery] : cases) {
    auto s = ReadPowerState(std::string(CG_FIXTURES) + "/yara/power_supply/" + name);
    ASSERT_TRUE(s.ok()) << name << ": " << s.error().ToString();
    EXPECT_EQ(s->on_battery, on_battery) << name << ": " << s->detail;
  }
  auto none = ReadPowerState(std::string(CG_FIXTURES) + "/yara/power_supply/no_such_dir");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->on_battery);
}

}  // namespace
}  // namespace cg::platform

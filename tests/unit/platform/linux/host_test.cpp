// Host identity: os-release quoting rules, a fixture tree, the /usr/lib fallback, and the
// live machine.
#include "platform/linux/host.h"

#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests/unit/platform/linux/temp_tree.h"

namespace cg::platform::linux_ {
namespace {

struct OsReleaseCase {
  const char* name;
  const char* text;
  const char* key;
  const char* value;  // nullptr: the key must be absent
};

TEST(ParseOsRelease, Table) {
  const std::vector<OsReleaseCase> cases = {
      {"double quotes", "NAME=\"Debian GNU/Linux\"\n", "NAME", "Debian GNU/Linux"},
      {"single quotes", "NAME='Ubuntu 24.04 LTS'\n", "NAME", "Ubuntu 24.04 LTS"},
      {"unquoted", "ID=debian\n", "ID", "debian"},
      {"escapes in double quotes", "PRETTY_NAME=\"A \\\"quoted\\\" \\$x \\\\ \\n\"\n",
       "PRETTY_NAME", "A \"quoted\" $x \\ \\n"},
      {"backslash outside quotes", "NAME=Red\\ Hat\n", "NAME", "Red Hat"},
      {"single quotes are literal", "NAME='a\\b'\n", "NAME", "a\\b"},
      {"concatenated words", "NAME=\"Linux \"'Mint'\n", "NAME", "Linux Mint"},
      {"empty value", "VARIANT=\n", "VARIANT", ""},
      {"comment skipped", "# NAME=Wrong\nNAME=Right\n", "NAME", "Right"},
      {"later line wins", "ID=a\nID=b\n", "ID", "b"},
      {"trailing comment ignored", "ID=debian # the id\n", "ID", "debian"},
      {"CRLF", "ID=debian\r\n", "ID", "debian"},
      {"unterminated quote dropped", "NAME=\"broken\nID=x\n", "NAME", nullptr},
      {"bad key dropped", "1NAME=x\n", "1NAME", nullptr},
      {"no equals", "NAME\n", "NAME", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto kv = ParseOsRelease(c.text);
    const auto it = kv.find(c.key);
    if (c.value == nullptr) {
      EXPECT_EQ(it, kv.end());
    } else {
      ASSERT_NE(it, kv.end());
      EXPECT_EQ(it->second, c.value);
    }
  }
}

TEST(LinuxHost, FixtureTree) {
  auto fs = RootedFileSystem::Create(CG_FIXTURES "/platform/host");
  ASSERT_TRUE(fs.ok());
  auto id = LinuxHost(**fs).Identity();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->hostname, "counter-07.bac-ha.laocai");
  EXPECT_EQ(id->machine_id, "5c9d0e8f7a6b4c3d2e1f0a9b8c7d6e5f");
  EXPECT_EQ(id->os_name, "Debian GNU/Linux");
  EXPECT_EQ(id->os_id, "debian");
  EXPECT_EQ(id->os_version, "12");
  EXPECT_EQ(id->kernel, "6.1.0-18-amd64");
  EXPECT_EQ(id->arch, "x86_64");
}

TEST(LinuxHost, UsrLibFallbackAndDefaults) {
  testing::TempTree tree;
  tree.Put("usr/lib/os-release", "PRETTY_NAME=\"Some Linux\"\nVERSION_ID=3\n");
  tree.Link("etc/os-release", "../usr/lib/os-release-missing");  // dangling: fall back
  auto fs = RootedFileSystem::Create(tree.root());
  ASSERT_TRUE(fs.ok());
  auto id = LinuxHost(**fs).Identity();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  EXPECT_EQ(id->os_name, "Some Linux");  // PRETTY_NAME when NAME is absent
  EXPECT_EQ(id->os_id, "linux");         // the os-release(5) default
  EXPECT_EQ(id->os_version, "3");
  EXPECT_EQ(id->hostname, "");  // absent files leave fields empty
  EXPECT_EQ(id->machine_id, "");
  EXPECT_EQ(id->kernel, "");
  EXPECT_EQ(id->arch, "");
}

TEST(LinuxHost, NoOsReleaseLeavesOsFieldsEmpty) {
  testing::TempTree tree;
  tree.Dir("etc");
  auto fs = RootedFileSystem::Create(tree.root());
  ASSERT_TRUE(fs.ok());
  auto id = LinuxHost(**fs).Identity();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->os_name, "");
  EXPECT_EQ(id->os_id, "");
}

TEST(LinuxHost, LiveMachine) {
  auto fs = RootedFileSystem::Create("/");
  ASSERT_TRUE(fs.ok());
  auto id = LinuxHost(**fs).Identity();
  ASSERT_TRUE(id.ok()) << id.error().ToString();
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
  utsname uts{};
  ASSERT_EQ(uname(&uts), 0);
  EXPECT_EQ(id->hostname, name);
  EXPECT_EQ(id->kernel, uts.release);
  EXPECT_EQ(id->arch, uts.machine);
  EXPECT_FALSE(id->os_id.empty());
}

}  // namespace
}  // namespace cg::platform::linux_

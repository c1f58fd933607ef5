// The checks through the real cg-agent binary: on this machine (every check decided or a
// clear error), and enforcement with the real chage in a throw-away root, including undo.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/integration/harness.h"

namespace cg::testing {
namespace {

using nlohmann::json;

TEST(ChecksOnThisMachine, EveryCheckDecidesOrSaysWhyNot) {
  TempDir state;
  auto r = RunCmd({AgentBin(), "check", "--json", "--state-dir", state.path()});
  ASSERT_GE(r.exit_code, 0) << "crashed or hung: " << r.err;
  ASSERT_LE(r.exit_code, 2) << r.err;
  const json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  const json& checks = doc.at("checks");
  ASSERT_GE(checks.size(), 5u);
  bool any_fail = false;
  bool any_error = false;
  for (const auto& c : checks) {
    const std::string status = c.value("status", "");
    EXPECT_TRUE(status == "pass" || status == "fail" || status == "error" ||
                status == "not_applicable")
        << c.dump();
    EXPECT_FALSE(c.value("summary", "").empty()) << c.dump();
    EXPECT_TRUE(c.at("facts").is_object()) << c.dump();
    any_fail = any_fail || status == "fail";
    any_error = any_error || status == "error";
  }
  // The exit code follows the documented contract.
  EXPECT_EQ(r.exit_code, any_fail ? 1 : any_error ? 2 : 0);
}

// A copy of a password_age fixture whose accounts have no usable maximum, with last-change
// days relative to today so that only the maximum is wrong.
class EnforceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "chage --root needs root (CI runs as root)";
    }
    if (!std::filesystem::exists("/usr/bin/chage")) {
      GTEST_SKIP() << "chage missing (Debian package passwd)";
    }
    root_ = tmp_.path() + "/root";
    std::filesystem::copy(std::string(CG_FIXTURES) + "/password_age/no_maximum", root_,
                          std::filesystem::copy_options::recursive);
    const auto today = std::chrono::duration_cast<std::chrono::days>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    const std::string recent = std::to_string(today - 10);
    const std::string shadow = "root:!:" + recent + ":0:99999:7:::\n" +
                               "daemon:*:19000:0:99999:7:::\n" +
                               "alice:$6$fixture$not.a.real.hash:" + recent + ":0::7:::\n" +
                               "bob:$6$fixture$not.a.real.hash:" + recent + ":0:99999:7:::\n" +
                               "carol:$6$fixture$not.a.real.hash:" + recent + ":0:60:7:::\n";
    std::filesystem::remove(root_ + "/etc/shadow");
    std::FILE* f = std::fopen((root_ + "/etc/shadow").c_str(), "w");
    std::fputs(shadow.c_str(), f);
    std::fclose(f);
    original_shadow_ = ReadFile(root_ + "/etc/shadow");
    state_ = tmp_.path() + "/state";
  }

  json Check(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {AgentBin(), "check", "--json",      "--only", "password_age",
                                     "--root",   root_,   "--state-dir", state_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = RunCmd(argv);
    EXPECT_GE(r.exit_code, 0) << r.err;
    const json doc = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << r.out << r.err;
    return doc.is_discarded() ? json() : doc.at("checks").at(0);
  }

  static std::string MaxOf(const std::string& shadow, const std::string& user) {
    const auto at = shadow.find(user + ":");
    std::string line = shadow.substr(at, shadow.find('\n', at) - at);
    for (int i = 0; i < 4; ++i) {
      line = line.substr(line.find(':') + 1);
    }
    return line.substr(0, line.find(':'));
  }

  TempDir tmp_;
  std::string root_;
  std::string state_;
  std::string original_shadow_;
};

TEST_F(EnforceTest, DryRunPlansAndChangesNothing) {
  const json r = Check({"--dry-run"});
  EXPECT_EQ(r.value("status", ""), "fail");
  ASSERT_TRUE(r.contains("remediation")) << r.dump();
  EXPECT_TRUE(r["remediation"].value("dry_run", false));
  EXPECT_EQ(r["remediation"]["changes"].size(), 2u) << r.dump();  // alice and bob
  EXPECT_EQ(ReadFile(root_ + "/etc/shadow"), original_shadow_);
  EXPECT_FALSE(std::filesystem::exists(state_ + "/enforcement"));
}

TEST_F(EnforceTest, RealChageFixesItIsIdempotentAndUndoes) {
  const json first = Check({"--enforce"});
  ASSERT_TRUE(first.contains("remediation")) << first.dump();
  EXPECT_EQ(first["remediation"].value("result", ""), "applied") << first.dump();
  EXPECT_EQ(first.value("status", ""), "pass") << first.dump();  // re-evaluated after the fix
  const std::string fixed = ReadFile(root_ + "/etc/shadow");
  EXPECT_EQ(MaxOf(fixed, "alice"), "90");
  EXPECT_EQ(MaxOf(fixed, "bob"), "90");
  EXPECT_EQ(MaxOf(fixed, "carol"), "60");    // already within policy: untouched
  EXPECT_EQ(MaxOf(fixed, "root"), "99999");  // never touched without include_root

  const json second = Check({"--enforce"});
  EXPECT_EQ(second.value("status", ""), "pass");
  EXPECT_FALSE(second.contains("remediation")) << "a compliant machine changes nothing";

  auto undo = RunCmd({AgentBin(), "enforce", "--undo", "--state-dir", state_});
  ASSERT_EQ(undo.exit_code, 0) << undo.err;
  const std::string restored = ReadFile(root_ + "/etc/shadow");
  EXPECT_EQ(MaxOf(restored, "alice"), "");
  EXPECT_EQ(MaxOf(restored, "bob"), "99999");
  auto again = RunCmd({AgentBin(), "enforce", "--undo", "--state-dir", state_});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("nothing to undo"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace cg::testing

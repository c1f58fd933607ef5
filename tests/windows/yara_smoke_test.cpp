// The libyara that scripts/build-mingw-deps.sh cross-builds: a rule compiles and matches a
// buffer on Windows, and the hash module (libyara's only user of the mingw OpenSSL) agrees
// with a digest computed independently.
#include <gtest/gtest.h>
#include <yara.h>

#include <memory>
#include <string>
#include <vector>

namespace {

struct RulesDeleter {
  void operator()(YR_RULES* r) const { yr_rules_destroy(r); }
};
struct CompilerDeleter {
  void operator()(YR_COMPILER* c) const { yr_compiler_destroy(c); }
};

class YaraSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(yr_initialize(), ERROR_SUCCESS); }
  void TearDown() override { yr_finalize(); }

  // The names of the rules in `source` that match `data`; compile errors fail the test.
  std::vector<std::string> Match(const char* source, const std::string& data) {
    YR_COMPILER* raw_compiler = nullptr;
    EXPECT_EQ(yr_compiler_create(&raw_compiler), ERROR_SUCCESS);
    std::unique_ptr<YR_COMPILER, CompilerDeleter> compiler(raw_compiler);
    EXPECT_EQ(yr_compiler_add_string(compiler.get(), source, nullptr), 0) << source;
    YR_RULES* raw_rules = nullptr;
    EXPECT_EQ(yr_compiler_get_rules(compiler.get(), &raw_rules), ERROR_SUCCESS);
    std::unique_ptr<YR_RULES, RulesDeleter> rules(raw_rules);
    std::vector<std::string> matched;
    auto callback = [](YR_SCAN_CONTEXT*, int message, void* message_data, void* user) {
      if (message == CALLBACK_MSG_RULE_MATCHING) {
        static_cast<std::vector<std::string>*>(user)->push_back(
            static_cast<YR_RULE*>(message_data)->identifier);
      }
      return CALLBACK_CONTINUE;
    };
    EXPECT_EQ(yr_rules_scan_mem(rules.get(), reinterpret_cast<const uint8_t*>(data.data()),
                                data.size(), 0, callback, &matched, 0),
              ERROR_SUCCESS);
    return matched;
  }
};

TEST_F(YaraSmokeTest, StringRuleMatchesOnlyItsSample) {
  const char* rule =
      R"(rule eicar_fragment { strings: $a = "EICAR-STANDARD-ANTIVIRUS" condition: $a })";
  EXPECT_EQ(Match(rule, "xx EICAR-STANDARD-ANTIVIRUS-TEST-FILE yy"),
            std::vector<std::string>{"eicar_fragment"});
  EXPECT_TRUE(Match(rule, "a clean document").empty());
}

TEST_F(YaraSmokeTest, HashModuleUsesTheMingwOpenSsl) {
  // sha256("abc") from FIPS 180-2, appendix B.1.
  const char* rule = R"(import "hash"
    rule abc_sha256 { condition: hash.sha256(0, filesize) ==
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" })";
  EXPECT_EQ(Match(rule, "abc"), std::vector<std::string>{"abc_sha256"});
  EXPECT_TRUE(Match(rule, "abd").empty());
}

}  // namespace

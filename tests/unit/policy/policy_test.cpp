// The policy document: defaults, validation with JSON paths, canonical form and hash.
#include "policy/policy.h"

#include <gtest/gtest.h>

namespace cg::policy {
namespace {

using nlohmann::json;

TEST(Policy, DefaultsAreTheDirectiveBaseline) {
  const Policy p = DefaultPolicy();
  EXPECT_EQ(p.version, 0);
  EXPECT_EQ(p.Check("password_age").Int("max_days"), 90);
  EXPECT_FALSE(p.Check("password_age").enforce);
  EXPECT_TRUE(p.Check("password_age").enabled);
  for (const auto& id : KnownCheckIds()) {
    EXPECT_NO_FATAL_FAILURE(p.Check(id)) << id;
  }
}

TEST(Policy, SectionsMergeOverDefaults) {
  auto p = ParsePolicy(json::parse(R"({"version": 7, "name": "laocai",
      "checks": {"password_age": {"max_days": 60, "enforce": true, "severity": "critical"}}})"));
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->version, 7);
  EXPECT_EQ(p->Check("password_age").Int("max_days"), 60);
  EXPECT_EQ(p->Check("password_age").Int("expiry_warning_days"), 14);
  EXPECT_TRUE(p->Check("password_age").enforce);
  EXPECT_EQ(p->Check("password_age").severity, protocol::Severity::kCritical);
  EXPECT_EQ(p->document["checks"]["password_age"]["max_days"], 60);
}

TEST(Policy, InvalidDocumentsNameThePath) {
  struct Case {
    const char* doc;
    const char* path;
  };
  const std::vector<Case> cases = {
      {R"([])", "object"},
      {R"({"version": "3"})", "version"},
      {R"({"version": -1})", "version"},
      {R"({"bogus": 1})", "bogus"},
      {R"({"checks": {"nosuch": {}}})", "checks.nosuch"},
      {R"({"checks": {"password_age": 5}})", "checks.password_age"},
      {R"({"checks": {"password_age": {"max_days": "90"}}})", "checks.password_age.max_days"},
      {R"({"checks": {"password_age": {"max_days": 0}}})", "checks.password_age.max_days"},
      {R"({"checks": {"password_age": {"max_days": 99999}}})", "checks.password_age.max_days"},
      {R"({"checks": {"password_age": {"enforce": "yes"}}})", "checks.password_age.enforce"},
      {R"({"checks": {"password_age": {"severity": "extreme"}}})", "checks.password_age.severity"},
      {R"({"checks": {"password_age": {"max_dayz": 90}}})", "checks.password_age.max_dayz"},
      {R"({"reporting": 900})", "reporting"},
      {R"({"reporting": {"interval_seconds": 5}})", "reporting.interval_seconds"},
      {R"({"reporting": {"interval_seconds": "900"}})", "reporting.interval_seconds"},
      {R"({"reporting": {"stale_after_intervals": 0}})", "reporting.stale_after_intervals"},
      {R"({"reporting": {"every": 900}})", "reporting.every"},
      {R"({"reporting": {"spool_max_bytes": 1000}})", "reporting.spool_max_bytes"},
  };
  for (const auto& c : cases) {
    auto p = ParsePolicy(json::parse(c.doc));
    ASSERT_FALSE(p.ok()) << c.doc;
    EXPECT_NE(p.error().message.find(c.path), std::string::npos)
        << c.doc << " -> " << p.error().message;
  }
}

TEST(Policy, ReportingIsOptionalAndParsed) {
  auto none = ParsePolicy(json::object());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->reporting.interval_seconds);
  EXPECT_FALSE(none->reporting.stale_after_intervals);
  auto p = ParsePolicy(json{
      {"reporting",
       {{"interval_seconds", 600}, {"stale_after_intervals", 6}, {"spool_max_bytes", 10 << 20}}}});
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->reporting.interval_seconds, 600);
  EXPECT_EQ(p->reporting.stale_after_intervals, 6);
  EXPECT_EQ(p->reporting.spool_max_bytes, 10 << 20);
}

TEST(Policy, CanonicalJsonIsOrderIndependentAndCompact) {
  const json a = json::parse(R"({"b": 1, "a": {"y": [1, 2], "x": "é"}})");
  const json b = json::parse(R"({ "a" : { "x" : "é", "y" : [1,2] }, "b" : 1 })");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(CanonicalJson(a), "{\"a\":{\"x\":\"é\",\"y\":[1,2]},\"b\":1}");
}

TEST(Policy, HashChangesWithContentOnly) {
  auto p1 =
      ParsePolicy(json::parse(R"({"version": 1, "checks": {"password_age": {"max_days": 60}}})"));
  auto p2 =
      ParsePolicy(json::parse(R"({"checks": {"password_age": {"max_days": 60}}, "version": 1})"));
  auto p3 =
      ParsePolicy(json::parse(R"({"version": 1, "checks": {"password_age": {"max_days": 61}}})"));
  ASSERT_TRUE(p1.ok() && p2.ok() && p3.ok());
  EXPECT_EQ(PolicyHash(*p1), PolicyHash(*p2));
  EXPECT_NE(PolicyHash(*p1), PolicyHash(*p3));
  EXPECT_EQ(PolicyHash(*p1).size(), 64u);
}

}  // namespace
}  // namespace cg::policy

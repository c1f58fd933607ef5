// Policy layers (policy/layers.cpp): the target a layer is for, how narrow it is for a group,
// the merge order, the merged values and where each comes from, and the hash of a set.
#include "policy/layers.h"

#include <gtest/gtest.h>

#include "common/ids.h"

namespace cg::policy {
namespace {

using nlohmann::json;

Layer MakeLayer(json doc) {
  Layer l;
  l.target = LayerTarget(doc);
  l.version = doc.value("version", int64_t{0});
  l.hash = Sha256Hex(CanonicalJson(doc));
  l.document = std::move(doc);
  return l;
}

json Doc(int64_t version, std::vector<std::string> groups, json checks) {
  json doc = {{"version", version}, {"name", "v" + std::to_string(version)}, {"checks", checks}};
  if (!groups.empty()) {
    doc["target"] = {{"groups", groups}};
  }
  return doc;
}

TEST(PolicyLayers, TheTargetIsTheSortedGroupsWithoutTrailingSlashes) {
  struct Case {
    json doc;
    std::string target;
  };
  const std::vector<Case> cases = {
      {json::object(), ""},
      {Doc(1, {"laocai/"}, json::object()), "laocai"},
      {Doc(1, {"laocai"}, json::object()), "laocai"},
      {Doc(1, {"sonla/moc-chau", "laocai/"}, json::object()), "laocai,sonla/moc-chau"},
      {Doc(1, {"laocai/", "laocai"}, json::object()), "laocai"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(LayerTarget(c.doc), c.target) << c.doc.dump();
  }
}

TEST(PolicyLayers, DepthCountsTheSegmentsOfTheLongestMatchingTarget) {
  EXPECT_EQ(LayerDepth(json::object(), "laocai/sa-pa"), 0);
  EXPECT_EQ(LayerDepth(Doc(1, {"laocai/"}, {}), "laocai/sa-pa"), 1);
  EXPECT_EQ(LayerDepth(Doc(1, {"laocai/sa-pa"}, {}), "laocai/sa-pa"), 2);
  EXPECT_EQ(LayerDepth(Doc(1, {"laocai/", "laocai/sa-pa"}, {}), "laocai/sa-pa/x"), 2);
  EXPECT_EQ(LayerDepth(Doc(1, {"laocai/sa-pa"}, {}), "laocai/bac-ha"), -1);
  EXPECT_EQ(LayerDepth(Doc(1, {"laocai"}, {}), "laocai2"), -1);
}

TEST(PolicyLayers, TheNarrowerLayerWinsKeyByKeyWhateverTheOrderGiven) {
  const Layer province = MakeLayer(Doc(7, {}, {{"screen_lock", {{"max_idle_seconds", 600}}}}));
  const Layer baseline =
      MakeLayer(Doc(3, {"laocai/"},
                    {{"password_age", {{"max_days", 60}, {"include_root", true}}},
                     {"antivirus", {{"max_signature_age_hours", 48}}}}));
  const Layer override_layer =
      MakeLayer(Doc(1, {"laocai/sa-pa"}, {{"password_age", {{"max_days", 30}}}}));
  std::vector<Layer> layers = {override_layer, province, baseline};
  OrderLayers(layers, "laocai/sa-pa");
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].target, "");
  EXPECT_EQ(layers[1].target, "laocai");
  EXPECT_EQ(layers[2].target, "laocai/sa-pa");

  auto merged = MergeLayers(layers);
  ASSERT_TRUE(merged.ok()) << merged.error().ToString();
  const Policy& p = merged->policy;
  EXPECT_EQ(p.Check("password_age").Int("max_days"), 30);     // the override
  EXPECT_TRUE(p.Check("password_age").Bool("include_root"));  // the baseline, kept
  EXPECT_EQ(p.Check("antivirus").Int("max_signature_age_hours"), 48);
  EXPECT_EQ(p.Check("screen_lock").Int("max_idle_seconds"), 600);      // the province
  EXPECT_EQ(p.Check("screen_lock").Int("max_lock_delay_seconds"), 5);  // built-in
  EXPECT_EQ(p.version, 1);                                             // the narrowest layer's
  EXPECT_EQ(merged->origin.at("checks.password_age.max_days"), "laocai/sa-pa");
  EXPECT_EQ(merged->origin.at("checks.password_age.include_root"), "laocai");
  EXPECT_EQ(merged->origin.at("checks.screen_lock.max_idle_seconds"), "");
  EXPECT_FALSE(merged->origin.contains("checks.screen_lock.max_lock_delay_seconds"));

  // The same layers for a device of another district: the override does not apply there, and
  // the caller only passes the layers that target the group; the order is by depth.
  std::vector<Layer> bac_ha = {baseline, province};
  OrderLayers(bac_ha, "laocai/bac-ha");
  auto other = MergeLayers(bac_ha);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->policy.Check("password_age").Int("max_days"), 60);
}

TEST(PolicyLayers, TheSetHashIsTheLayersHashForOneAndCoversEveryLayerForSeveral) {
  const Layer a = MakeLayer(Doc(3, {"laocai/"}, {{"password_age", {{"max_days", 60}}}}));
  const Layer b = MakeLayer(Doc(1, {"laocai/sa-pa"}, {{"password_age", {{"max_days", 30}}}}));
  const Layer b2 = MakeLayer(Doc(2, {"laocai/sa-pa"}, {{"password_age", {{"max_days", 30}}}}));
  EXPECT_EQ(LayerSetHash({}), "");
  EXPECT_EQ(LayerSetHash({a}), a.hash);
  const std::string ab = LayerSetHash({a, b});
  EXPECT_EQ(ab.size(), 64u);
  EXPECT_NE(ab, a.hash);
  EXPECT_NE(ab, LayerSetHash({a, b2}));
  EXPECT_NE(ab, LayerSetHash({b, a}));
  EXPECT_EQ(LayerSetVersion({a, b}), 1);
  // Without layers the merge is the built-in policy, confirmed by its own hash.
  auto none = MergeLayers({});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->hash, PolicyHash(DefaultPolicy()));
  EXPECT_EQ(none->policy.version, 0);
}

}  // namespace
}  // namespace cg::policy

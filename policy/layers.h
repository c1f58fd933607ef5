// Policy layers: a device runs the merge of the signed policies whose targets lie on its
// group's path (a province baseline `laocai/`, a district override `laocai/sa-pa`), the
// narrower layer winning key by key. Each layer is a signed policy of its own, verified on its
// own; this file only orders, identifies and merges verified layers. No OS code.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "policy/policy.h"

namespace cg::policy {

// The target a layer is for, from its signed document: the target groups without a trailing
// '/', sorted and joined by ','; "" for a policy without a target (every group). Versions count
// per target: a newer version of a target replaces the older one, layers of other targets stay.
std::string LayerTarget(const nlohmann::json& document);

// How narrow a layer is for `group`: the number of segments of the longest target group that
// matches it (0 for a policy without a target); -1 when the layer does not apply to the group.
int LayerDepth(const nlohmann::json& document, std::string_view group);

struct Layer {
  std::string target;  // LayerTarget(document)
  int64_t version = 0;
  std::string hash;         // SHA-256 of the canonical signed document
  nlohmann::json document;  // the signed policy document, as signed
};

// Broadest first: by LayerDepth for `group`, then by target (so that two layers equally narrow
// for a group merge in one defined order on the agent and on the SOC).
void OrderLayers(std::vector<Layer>& layers, std::string_view group);

// What confirms a set of layers (ordered by OrderLayers): "" for none, the layer's own hash for
// one (so a single policy is confirmed by its hash, as before layers), otherwise the SHA-256 of
// the canonical JSON of [{"hash","target","version"}, ...] in merge order.
std::string LayerSetHash(const std::vector<Layer>& ordered);

// The version a set reports: the narrowest layer's (0 for none).
int64_t LayerSetVersion(const std::vector<Layer>& ordered);

struct MergedPolicy {
  Policy policy;     // the merge, defaults filled in; policy.version is LayerSetVersion
  std::string hash;  // LayerSetHash, or PolicyHash(DefaultPolicy()) without layers
  // For every value a layer set: its path ("checks.antivirus.max_signature_age_hours",
  // "reporting.interval_seconds", "name") -> the target of the layer it comes from. Paths not
  // listed keep the built-in default.
  std::map<std::string, std::string> origin;
};

// Merges ordered layers (broadest first): `checks.<id>.<key>`, `reporting.<key>`, `name` and
// `description` of a narrower layer replace the broader one's; a layer's own envelope fields
// (target, validity window, trusted keys) are not merged. Each layer must be a valid policy.
Result<MergedPolicy> MergeLayers(const std::vector<Layer>& ordered);

}  // namespace cg::policy

// Ordering, identification and merging of policy layers: see layers.h.
#include "policy/layers.h"

#include <algorithm>

#include "common/ids.h"

namespace cg::policy {
namespace {

using nlohmann::json;

std::string_view WithoutTrailingSlash(std::string_view g) {
  while (!g.empty() && g.back() == '/') {
    g.remove_suffix(1);
  }
  return g;
}

int Segments(std::string_view g) {
  g = WithoutTrailingSlash(g);
  return g.empty() ? 0 : static_cast<int>(std::count(g.begin(), g.end(), '/')) + 1;
}

// The target groups of a document (empty without a target).
std::vector<std::string> TargetGroups(const json& document) {
  std::vector<std::string> groups;
  auto target = document.find("target");
  if (target == document.end() || !target->is_object()) {
    return groups;
  }
  for (const auto& g : target->value("groups", json::array())) {
    if (g.is_string()) {
      groups.emplace_back(WithoutTrailingSlash(g.get_ref<const std::string&>()));
    }
  }
  return groups;
}

// The same rule as TargetMatches for one prefix.
bool PrefixMatches(std::string_view prefix, std::string_view group) {
  return group == prefix ||
         (group.starts_with(prefix) && (prefix.ends_with("/") || group[prefix.size()] == '/'));
}

}  // namespace

std::string LayerTarget(const json& document) {
  std::vector<std::string> groups = TargetGroups(document);
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  std::string key;
  for (const auto& g : groups) {
    key += (key.empty() ? "" : ",") + g;
  }
  return key;
}

int LayerDepth(const json& document, std::string_view group) {
  auto target = document.find("target");
  if (target == document.end()) {
    return 0;
  }
  int depth = -1;
  for (const auto& g : target->value("groups", json::array())) {
    if (g.is_string() && PrefixMatches(g.get_ref<const std::string&>(), group)) {
      depth = std::max(depth, Segments(g.get_ref<const std::string&>()));
    }
  }
  return depth;
}

void OrderLayers(std::vector<Layer>& layers, std::string_view group) {
  std::stable_sort(layers.begin(), layers.end(), [&](const Layer& a, const Layer& b) {
    const int da = LayerDepth(a.document, group);
    const int db = LayerDepth(b.document, group);
    return da != db ? da < db : a.target < b.target;
  });
}

std::string LayerSetHash(const std::vector<Layer>& ordered) {
  if (ordered.empty()) {
    return "";
  }
  if (ordered.size() == 1) {
    return ordered.front().hash;
  }
  json set = json::array();
  for (const auto& l : ordered) {
    set.push_back({{"hash", l.hash}, {"target", l.target}, {"version", l.version}});
  }
  return Sha256Hex(CanonicalJson(set));
}

int64_t LayerSetVersion(const std::vector<Layer>& ordered) {
  return ordered.empty() ? 0 : ordered.back().version;
}

Result<MergedPolicy> MergeLayers(const std::vector<Layer>& ordered) {
  MergedPolicy out;
  json merged = json::object();
  for (const auto& layer : ordered) {
    const json& doc = layer.document;
    for (const char* key : {"name", "description"}) {
      if (auto it = doc.find(key); it != doc.end()) {
        merged[key] = *it;
        out.origin[key] = layer.target;
      }
    }
    if (auto checks = doc.find("checks"); checks != doc.end() && checks->is_object()) {
      for (auto check = checks->begin(); check != checks->end(); ++check) {
        if (!check->is_object()) {
          continue;  // ParsePolicy below refuses it
        }
        for (auto v = check->begin(); v != check->end(); ++v) {
          merged["checks"][check.key()][v.key()] = *v;
          out.origin["checks." + check.key() + "." + v.key()] = layer.target;
        }
      }
    }
    if (auto reporting = doc.find("reporting"); reporting != doc.end() && reporting->is_object()) {
      for (auto v = reporting->begin(); v != reporting->end(); ++v) {
        merged["reporting"][v.key()] = *v;
        out.origin["reporting." + v.key()] = layer.target;
      }
    }
  }
  merged["version"] = LayerSetVersion(ordered);
  auto parsed = ParsePolicy(merged);
  if (!parsed.ok()) {
    return parsed.error().Wrap("merging policy layers");
  }
  out.policy = std::move(parsed).value();
  out.hash = ordered.empty() ? PolicyHash(out.policy) : LayerSetHash(ordered);
  return out;
}

}  // namespace cg::policy

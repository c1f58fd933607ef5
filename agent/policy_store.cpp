// Policy persistence and acceptance on the agent: see policy_store.h.
#include "agent/policy_store.h"

#include <spdlog/spdlog.h>

#include "platform/os/files.h"

namespace cg::agent {
namespace {

using nlohmann::json;

protocol::Event MakeEvent(std::string type, SysTime now, json details) {
  return {std::move(type), FormatRfc3339(now), std::move(details)};
}

Result<json> LoadJsonFile(const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 8u << 20));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    return MakeError(ErrorCode::kParse, path + ": not valid JSON");
  }
  return j;
}

// The signed document of an envelope, or null when it has none (VerifyEnvelope says why).
const json& DocumentOf(const json& envelope) {
  static const json kNull;
  if (envelope.is_object()) {
    if (auto it = envelope.find("policy"); it != envelope.end() && it->is_object()) {
      return *it;
    }
  }
  return kNull;
}

std::string TargetOf(const json& envelope) {
  const json& doc = DocumentOf(envelope);
  return doc.is_object() ? policy::LayerTarget(doc) : std::string();
}

std::optional<SysTime> ExpiresAt(const json& document) {
  if (auto it = document.find("expires_at"); it != document.end() && it->is_string()) {
    if (auto t = ParseRfc3339(it->get<std::string>()); t.ok()) {
      return *t;
    }
  }
  return std::nullopt;
}

// The cached envelopes: {"layers": [envelope, ...]}, or one envelope (before layers).
Result<std::vector<json>> CachedEnvelopes(const json& cached) {
  if (cached.is_object() && cached.contains("format")) {
    return std::vector<json>{cached};
  }
  if (!cached.is_object() || !cached.contains("layers") || !cached["layers"].is_array()) {
    return MakeError(ErrorCode::kParse, "not a policy cache ({\"layers\": [...]})");
  }
  return cached["layers"].get<std::vector<json>>();
}

}  // namespace

Status PolicyStore::InstallTrustedKeys(const std::vector<std::string>& public_pems) const {
  CG_ASSIGN_OR_RETURN(auto keys, policy::ParseTrustedKeys(public_pems));
  (void)keys;  // validated: every key parses as Ed25519
  return WriteFileAtomic(TrustedKeysPath(), json{{"keys", public_pems}}.dump(2) + "\n", 0600);
}

Status PolicyStore::SaveFloors() const {
  json layers = json::object();
  for (const auto& [target, f] : floors_) {
    json entry = {{"version", f.version}, {"hash", f.hash}};
    if (f.expired) {
      entry["expired"] = true;
    }
    layers[target] = std::move(entry);
  }
  return WriteFileAtomic(FloorPath(), json{{"layers", std::move(layers)}}.dump() + "\n", 0600);
}

Status PolicyStore::SaveLayers() const {
  json envelopes = json::array();
  for (const auto& [target, in_force] : layers_) {
    envelopes.push_back(in_force.envelope);
  }
  return WriteFileAtomic(PolicyPath(), json{{"layers", std::move(envelopes)}}.dump() + "\n", 0600);
}

void PolicyStore::Recompute() {
  std::vector<policy::Layer> ordered = layers();
  auto merged = policy::MergeLayers(ordered);
  if (!merged.ok()) {
    // Every layer was a valid policy on its own, so their merge is one too.
    spdlog::critical("merging the policy layers failed ({}); running the built-in policy",
                     merged.error().ToString());
    current_ = policy::DefaultPolicy();
    hash_ = policy::PolicyHash(current_);
    return;
  }
  current_ = std::move(merged->policy);
  hash_ = merged->hash;
}

std::vector<policy::Layer> PolicyStore::layers() const {
  std::vector<policy::Layer> out;
  for (const auto& [target, in_force] : layers_) {
    out.push_back(in_force.layer);
  }
  policy::OrderLayers(out, group_);
  return out;
}

int64_t PolicyStore::floor(const std::string& target) const {
  auto it = floors_.find(target);
  return it == floors_.end() ? 0 : it->second.version;
}

std::variant<policy::VerifiedPolicy, policy::RefusedPolicy> PolicyStore::Judge(
    const json& envelope, SysTime now, bool check_time) const {
  const std::string target = TargetOf(envelope);
  const Floor floor = floors_.contains(target) ? floors_.at(target) : Floor{};
  auto in_force = layers_.find(target);
  // Without its layer in force (a lost or corrupt cache, an expired layer), the very policy of
  // the floor (same version and hash) may come back; anything else must be newer.
  const bool restoring =
      in_force == layers_.end() || in_force->second.layer.version < floor.version;
  const int64_t current =
      restoring ? floor.version - 1 : std::max(floor.version, in_force->second.layer.version);
  const policy::AcceptanceContext ctx{&trusted_, current, group_, now, check_time};
  auto verdict = policy::VerifyEnvelope(envelope, ctx);
  if (auto* ok = std::get_if<policy::VerifiedPolicy>(&verdict);
      ok != nullptr && ok->policy.version == floor.version && !floor.hash.empty() &&
      ok->hash != floor.hash) {
    return policy::RefusedPolicy{
        policy::Refusal::kNotNewer,
        "version " + std::to_string(floor.version) + " was accepted before with other content"};
  }
  return verdict;
}

Status PolicyStore::Load(SysTime now) {
  current_ = policy::DefaultPolicy();
  hash_ = policy::PolicyHash(current_);
  trusted_.clear();
  layers_.clear();
  floors_.clear();
  floor_damaged_ = false;

  // The floor first: without it a rollback cannot be told apart, so nothing signed is loaded.
  std::optional<Floor> legacy_floor;  // a floor file from before layers: {version, hash}
  if (FileExists(FloorPath())) {
    auto f = LoadJsonFile(FloorPath());
    Status bad = f.ok() ? OkStatus() : Status(f.error());
    if (f.ok() && f->is_object() && f->contains("layers") && (*f)["layers"].is_object()) {
      for (const auto& [target, entry] : (*f)["layers"].items()) {
        if (!entry.is_object() || !entry.contains("version") ||
            !entry["version"].is_number_integer()) {
          bad = MakeError(ErrorCode::kParse, "entry '" + target + "' has no integer version");
          break;
        }
        floors_[target] = {entry["version"].get<int64_t>(), entry.value("hash", ""),
                           entry.value("expired", false)};
      }
    } else if (f.ok() && f->is_object() && f->contains("version") &&
               (*f)["version"].is_number_integer()) {
      legacy_floor = Floor{(*f)["version"].get<int64_t>(), f->value("hash", "")};
    } else if (bad.ok()) {
      bad = MakeError(ErrorCode::kParse, "not a policy floor");
    }
    if (!bad.ok()) {
      floors_.clear();
      floor_damaged_ = true;
      return MakeError(ErrorCode::kParse,
                       FloorPath() + ": unreadable (" + bad.error().message +
                           "); refusing to guess the anti-rollback floor: running the built-in "
                           "policy and accepting no signed policy until the file is restored");
    }
  }
  const auto any_floor = [&] {
    int64_t highest = legacy_floor ? legacy_floor->version : 0;
    for (const auto& [target, f] : floors_) {
      highest = std::max(highest, f.version);
    }
    return highest;
  };

  if (FileExists(TrustedKeysPath())) {
    auto k = LoadJsonFile(TrustedKeysPath());
    std::string problem;
    if (!k.ok()) {
      problem = k.error().message;
    } else {
      std::vector<std::string> pems;
      if (k->is_object()) {
        for (const auto& pem : k->value("keys", json::array())) {
          if (pem.is_string()) {
            pems.push_back(pem.get<std::string>());
          }
        }
      }
      auto parsed = policy::ParseTrustedKeys(pems);
      if (parsed.ok()) {
        trusted_ = std::move(parsed).value();
      } else {
        problem = parsed.error().message;
      }
    }
    if (!problem.empty()) {
      // The keys cannot be rebuilt from the SOC (they are what the SOC is checked against):
      // no signed policy is accepted until they are installed again (re-enrollment).
      events_.push_back(SetAsideDamaged(TrustedKeysPath(), problem, now));
    }
  }
  if (trusted_.empty()) {
    if (any_floor() > 0) {
      events_.push_back(
          MakeEvent("policy_cache_corrupt", now,
                    {{"reason", "trusted keys missing"}, {"floor_version", any_floor()}}));
    }
    return OkStatus();  // no signed policy can be accepted: the built-in policy stays in force
  }
  if (!FileExists(PolicyPath())) {
    if (any_floor() > 0) {
      events_.push_back(
          MakeEvent("policy_cache_corrupt", now,
                    {{"reason", "cached policy missing"}, {"floor_version", any_floor()}}));
      spdlog::error("cached policy (floor version {}) is missing; running the built-in policy",
                    any_floor());
    }
    return OkStatus();
  }
  std::vector<std::string> problems;
  auto cached = LoadJsonFile(PolicyPath());
  std::vector<json> envelopes;
  if (!cached.ok()) {
    problems.push_back(cached.error().message);
  } else if (auto list = CachedEnvelopes(*cached); !list.ok()) {
    problems.push_back(list.error().message);
  } else {
    envelopes = std::move(list).value();
  }
  if (legacy_floor) {
    // Before layers the floor was the single cached policy's: it becomes its target's floor.
    floors_[envelopes.size() == 1 ? TargetOf(envelopes[0]) : ""] = *legacy_floor;
  }
  bool floors_changed = false;
  for (const auto& envelope : envelopes) {
    const std::string target = TargetOf(envelope);
    // Judged as it was on arrival, except the validity window (expiry is enforced below).
    auto verdict = Judge(envelope, now, /*check_time=*/false);
    if (auto* refused = std::get_if<policy::RefusedPolicy>(&verdict)) {
      problems.push_back("layer '" + target +
                         "': " + std::string(policy::RefusalCode(refused->reason)) + ": " +
                         refused->message);
      continue;
    }
    auto& ok = std::get<policy::VerifiedPolicy>(verdict);
    if (layers_.contains(target)) {
      problems.push_back("layer '" + target + "' is cached twice");
      continue;
    }
    Floor& floor = floors_[target];
    if (ok.policy.version > floor.version) {
      // A crash between saving the envelope and the floor: the envelope was verified and
      // accepted, so the floor catches up.
      floor = {ok.policy.version, ok.hash, false};
      floors_changed = true;
    }
    layers_[target] = {{target, ok.policy.version, ok.hash, DocumentOf(envelope)}, envelope};
  }
  for (const auto& [target, f] : floors_) {
    if (f.version > 0 && !f.expired && !layers_.contains(target) && problems.empty()) {
      // A layer that left the cache without expiring: replaced by an older cache.
      problems.push_back("layer '" + target + "' version " + std::to_string(f.version) +
                         " is missing from the cache");
    }
  }
  if (floors_changed) {
    CG_RETURN_IF_ERROR(SaveFloors());
  }
  for (const auto& problem : problems) {
    spdlog::error(
        "cached policy rejected at start ({}); running without it until the SOC sends a "
        "good one",
        problem);
    events_.push_back(MakeEvent("policy_cache_corrupt", now,
                                {{"reason", problem}, {"floor_version", any_floor()}}));
  }
  for (auto& event : DropExpired(now)) {
    events_.push_back(std::move(event));
  }
  Recompute();
  return OkStatus();
}

std::vector<protocol::Event> PolicyStore::DropExpired(SysTime now) {
  std::vector<protocol::Event> events;
  for (auto it = layers_.begin(); it != layers_.end();) {
    const auto expires = ExpiresAt(it->second.layer.document);
    if (!expires || now < *expires) {
      ++it;
      continue;
    }
    spdlog::warn(
        "policy layer '{}' version {} expired at {}: it no longer applies (the other layers or "
        "the built-in policy do)",
        it->first, it->second.layer.version, FormatRfc3339(*expires));
    events.push_back(MakeEvent("policy_expired", now,
                               {{"target", it->first},
                                {"version", it->second.layer.version},
                                {"hash", it->second.layer.hash},
                                {"expired_at", FormatRfc3339(*expires)}}));
    floors_[it->first].expired = true;
    it = layers_.erase(it);
  }
  if (!events.empty()) {
    // The floor stays: the expired version (or an older one) is not accepted again, only a
    // newer one; the cache forgets the layer, so a restart does not run it.
    if (auto s = SaveLayers(); !s.ok()) {
      spdlog::error("saving the policy cache after an expiry: {}", s.error().ToString());
    }
    if (auto s = SaveFloors(); !s.ok()) {
      spdlog::error("saving the policy floor after an expiry: {}", s.error().ToString());
    }
    Recompute();
    for (auto& e : events) {
      e.details["in_force"] = current_.version;
      e.details["in_force_hash"] = hash_;
    }
  }
  return events;
}

std::vector<protocol::Event> PolicyStore::OfferLayers(const std::vector<json>& envelopes,
                                                      SysTime now) {
  std::vector<protocol::Event> events;
  auto refuse = [&](const json& envelope, std::string reason, std::string message) {
    const json& doc = DocumentOf(envelope);
    spdlog::warn("policy layer refused ({}): {}", reason, message);
    events.push_back(MakeEvent(
        "policy_refused", now,
        {{"reason", std::move(reason)},
         {"message", std::move(message)},
         {"target", TargetOf(envelope)},
         {"version", doc.is_object() ? doc.value("version", json(nullptr)) : json(nullptr)},
         {"in_force", current_.version}}));
  };
  for (const auto& envelope : envelopes) {
    const std::string target = TargetOf(envelope);
    if (auto it = layers_.find(target); it != layers_.end() && it->second.envelope == envelope) {
      continue;  // the layer in force, sent again with the rest of the set
    }
    if (floor_damaged_) {
      refuse(envelope, "state_fault",
             "the policy floor file is damaged: no signed policy is accepted until it is "
             "restored");
      continue;
    }
    if (trusted_.empty()) {
      refuse(envelope, "unknown_key", "no trusted policy key installed (enroll with --policy-key)");
      continue;
    }
    auto verdict = Judge(envelope, now, /*check_time=*/true);
    if (auto* refused = std::get_if<policy::RefusedPolicy>(&verdict)) {
      refuse(envelope, std::string(policy::RefusalCode(refused->reason)), refused->message);
      continue;
    }
    auto& ok = std::get<policy::VerifiedPolicy>(verdict);
    // Order matters for power loss: the envelopes first, then the floor. A crash in between
    // leaves a newer verified envelope over an older floor, which Load accepts and catches the
    // floor up; the reverse order could leave a floor that refuses the envelope in force.
    auto previous = layers_.find(target) == layers_.end() ? std::nullopt
                                                          : std::optional<InForce>(layers_[target]);
    layers_[target] = {{target, ok.policy.version, ok.hash, DocumentOf(envelope)}, envelope};
    if (auto s = SaveLayers(); !s.ok()) {
      if (previous) {
        layers_[target] = *previous;
      } else {
        layers_.erase(target);
      }
      refuse(envelope, "storage", s.error().message);
      continue;
    }
    floors_[target] = {ok.policy.version, ok.hash, false};
    if (auto s = SaveFloors(); !s.ok()) {
      spdlog::error("saving the policy floor: {}", s.error().ToString());
    }
    if (ok.next_trusted_keys) {
      std::vector<std::string> pems;
      for (const auto& [id, pem] : *ok.next_trusted_keys) {
        pems.push_back(pem);
      }
      if (auto s = InstallTrustedKeys(pems); !s.ok()) {
        spdlog::error("policy {} rotates the trusted keys but they could not be saved: {}",
                      ok.policy.version, s.error().message);
      } else {
        trusted_ = *ok.next_trusted_keys;
      }
    }
    spdlog::info("policy layer '{}' version {} applied (key {})", target, ok.policy.version,
                 ok.key_id);
    events.push_back(MakeEvent("policy_applied", now,
                               {{"target", target},
                                {"version", ok.policy.version},
                                {"hash", ok.hash},
                                {"key_id", ok.key_id}}));
  }
  Recompute();
  for (auto& e : events) {
    if (e.type == "policy_applied") {
      e.details["set_version"] = current_.version;
      e.details["set_hash"] = hash_;
    }
  }
  return events;
}

protocol::Event PolicyStore::Offer(const json& envelope, SysTime now) {
  auto events = OfferLayers({envelope}, now);
  if (events.empty()) {
    return MakeEvent("policy_refused", now,
                     {{"reason", "not_newer"},
                      {"message", "this policy is already in force"},
                      {"target", TargetOf(envelope)},
                      {"in_force", current_.version}});
  }
  return std::move(events.front());
}

std::vector<protocol::Event> PolicyStore::TakeEvents() {
  std::vector<protocol::Event> out;
  out.swap(events_);
  return out;
}

}  // namespace cg::agent

// Policy persistence and acceptance on the agent.
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

}  // namespace

Status PolicyStore::InstallTrustedKeys(const std::vector<std::string>& public_pems) const {
  CG_ASSIGN_OR_RETURN(auto keys, policy::ParseTrustedKeys(public_pems));
  (void)keys;  // validated: every key parses as Ed25519
  return WriteFileAtomic(TrustedKeysPath(), json{{"keys", public_pems}}.dump(2) + "\n", 0600);
}

Status PolicyStore::SaveFloor(int64_t version, const std::string& hash) const {
  return WriteFileAtomic(FloorPath(), json{{"version", version}, {"hash", hash}}.dump() + "\n",
                         0600);
}

Status PolicyStore::Load(SysTime now) {
  current_ = policy::DefaultPolicy();
  hash_ = policy::PolicyHash(current_);
  trusted_.clear();
  floor_ = 0;
  floor_hash_.clear();
  std::string& floor_hash = floor_hash_;
  if (FileExists(FloorPath())) {
    CG_ASSIGN_OR_RETURN(auto f, LoadJsonFile(FloorPath()));
    if (!f.is_object() || !f.contains("version") || !f["version"].is_number_integer()) {
      return MakeError(ErrorCode::kParse, FloorPath() +
                                              ": corrupt (refusing to guess the "
                                              "version floor)");
    }
    floor_ = f["version"].get<int64_t>();
    floor_hash = f.value("hash", "");
  }
  if (!FileExists(TrustedKeysPath())) {
    if (floor_ > 0) {
      events_.push_back(MakeEvent("policy_cache_corrupt", now,
                                  {{"reason", "trusted keys missing"}, {"floor_version", floor_}}));
    }
    return OkStatus();  // no signed policy can be accepted: the default stays in force
  }
  CG_ASSIGN_OR_RETURN(auto k, LoadJsonFile(TrustedKeysPath()));
  std::vector<std::string> pems;
  for (const auto& pem : k.value("keys", json::array())) {
    if (pem.is_string()) {
      pems.push_back(pem.get<std::string>());
    }
  }
  CG_ASSIGN_OR_RETURN(trusted_, policy::ParseTrustedKeys(pems));
  if (!FileExists(PolicyPath())) {
    if (floor_ > 0) {
      events_.push_back(
          MakeEvent("policy_cache_corrupt", now,
                    {{"reason", "cached policy missing"}, {"floor_version", floor_}}));
      spdlog::error("cached policy version {} is missing; running the built-in default", floor_);
    }
    return OkStatus();
  }
  auto cached = LoadJsonFile(PolicyPath());
  std::string problem;
  if (!cached.ok()) {
    problem = cached.error().message;
  } else {
    const policy::AcceptanceContext ctx{&trusted_, floor_ - 1, group_, now, false};
    auto verdict = policy::VerifyEnvelope(*cached, ctx);
    if (auto* refused = std::get_if<policy::RefusedPolicy>(&verdict)) {
      problem = std::string(policy::RefusalCode(refused->reason)) + ": " + refused->message;
    } else {
      auto& ok = std::get<policy::VerifiedPolicy>(verdict);
      // Older than the floor: a rollback (an old signed policy put in place of the cache).
      // Newer than the floor: a crash between saving the envelope and the floor; the envelope
      // was verified and accepted, so the floor catches up.
      if (ok.policy.version < floor_ ||
          (ok.policy.version == floor_ && !floor_hash.empty() && ok.hash != floor_hash)) {
        problem = "cached policy is not the one last accepted (version " +
                  std::to_string(ok.policy.version) + ", floor " + std::to_string(floor_) + ")";
      } else {
        if (ok.policy.version > floor_) {
          CG_RETURN_IF_ERROR(SaveFloor(ok.policy.version, ok.hash));
          floor_ = ok.policy.version;
          floor_hash_ = ok.hash;
        }
        current_ = std::move(ok.policy);
        hash_ = ok.hash;
        return OkStatus();
      }
    }
  }
  spdlog::error(
      "cached policy rejected at start ({}); running the built-in default until a "
      "newer signed policy arrives",
      problem);
  events_.push_back(
      MakeEvent("policy_cache_corrupt", now, {{"reason", problem}, {"floor_version", floor_}}));
  return OkStatus();
}

protocol::Event PolicyStore::Offer(const json& envelope, SysTime now) {
  if (trusted_.empty()) {
    return MakeEvent("policy_refused", now,
                     {{"reason", "unknown_key"},
                      {"message", "no trusted policy key installed (enroll with --policy-key)"}});
  }
  // After a lost or corrupt cache the agent runs the built-in policy below its floor: the very
  // policy of the floor (same version and hash) may come back; anything else must be newer.
  const bool restoring = current_.version < floor_;
  const policy::AcceptanceContext ctx{
      &trusted_, restoring ? floor_ - 1 : std::max(floor_, current_.version), group_, now, true};
  auto verdict = policy::VerifyEnvelope(envelope, ctx);
  if (auto* ok = std::get_if<policy::VerifiedPolicy>(&verdict);
      ok != nullptr && restoring && ok->policy.version == floor_ && !floor_hash_.empty() &&
      ok->hash != floor_hash_) {
    verdict = policy::RefusedPolicy{
        policy::Refusal::kNotNewer,
        "version " + std::to_string(floor_) + " was accepted before with other content"};
  }
  if (auto* refused = std::get_if<policy::RefusedPolicy>(&verdict)) {
    spdlog::warn("policy refused ({}): {}", policy::RefusalCode(refused->reason), refused->message);
    return MakeEvent("policy_refused", now,
                     {{"reason", policy::RefusalCode(refused->reason)},
                      {"message", refused->message},
                      {"version", envelope.is_object() && envelope.contains("policy") &&
                                          envelope["policy"].is_object()
                                      ? envelope["policy"].value("version", json(nullptr))
                                      : json(nullptr)},
                      {"in_force", current_.version}});
  }
  auto& ok = std::get<policy::VerifiedPolicy>(verdict);
  // Order matters for power loss: the envelope first, then the floor. A crash in between
  // leaves a newer verified envelope over an older floor, which Load accepts and catches the
  // floor up; the reverse order could leave a floor that refuses the envelope in force.
  if (auto s = WriteFileAtomic(PolicyPath(), envelope.dump() + "\n", 0600); !s.ok()) {
    return MakeEvent("policy_refused", now,
                     {{"reason", "storage"}, {"message", s.error().message}});
  }
  if (auto s = SaveFloor(ok.policy.version, ok.hash); !s.ok()) {
    return MakeEvent("policy_refused", now,
                     {{"reason", "storage"}, {"message", s.error().message}});
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
  floor_ = ok.policy.version;
  floor_hash_ = ok.hash;
  current_ = std::move(ok.policy);
  hash_ = ok.hash;
  spdlog::info("policy version {} applied (key {})", current_.version, ok.key_id);
  return MakeEvent("policy_applied", now,
                   {{"version", current_.version}, {"hash", hash_}, {"key_id", ok.key_id}});
}

std::vector<protocol::Event> PolicyStore::TakeEvents() {
  std::vector<protocol::Event> out;
  out.swap(events_);
  return out;
}

}  // namespace cg::agent

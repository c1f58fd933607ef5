// The agent's policy in force: trusted keys, the last good signed policy (re-verified at
// start), and an anti-rollback floor that survives a corrupt or deleted cache.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/state.h"
#include "common/result.h"
#include "common/timeutil.h"
#include "policy/policy.h"
#include "policy/signing.h"
#include "protocol/report.h"

namespace cg::agent {

class PolicyStore {
 public:
  PolicyStore(const StateDir& state, std::string group) : state_(state), group_(std::move(group)) {}

  std::string TrustedKeysPath() const { return state_.path() + "/trusted_keys.json"; }
  std::string PolicyPath() const { return state_.path() + "/policy.json"; }
  std::string FloorPath() const { return state_.path() + "/policy_floor.json"; }

  // Writes the initial trusted set (enrollment).
  Status InstallTrustedKeys(const std::vector<std::string>& public_pems) const;

  // Loads the trusted keys and the cached policy, verifying it again. A corrupt, tampered or
  // missing cache leaves the built-in default in force (the floor still refuses rollbacks)
  // and yields an event saying what was wrong.
  Status Load(SysTime now);

  // Judges a signed envelope from the SOC. Accepted: saved (atomically) and in force. Refused:
  // the policy in force stays, and the refusal is returned as an event for the next report.
  // Either way an event describes what happened.
  protocol::Event Offer(const nlohmann::json& envelope, SysTime now);

  const policy::Policy& current() const { return current_; }
  const std::string& hash() const { return hash_; }
  int64_t version() const { return current_.version; }
  int64_t floor() const { return floor_; }
  bool has_trusted_keys() const { return !trusted_.empty(); }
  // Events produced by Load (corrupt cache and the like), handed over once.
  std::vector<protocol::Event> TakeEvents();

 private:
  Status SaveFloor(int64_t version, const std::string& hash) const;

  const StateDir& state_;
  std::string group_;
  policy::TrustedKeys trusted_;
  policy::Policy current_ = policy::DefaultPolicy();
  std::string hash_ = policy::PolicyHash(current_);
  int64_t floor_ = 0;
  std::string floor_hash_;  // of the policy that set the floor ("" for old floor files)
  std::vector<protocol::Event> events_;
};

}  // namespace cg::agent

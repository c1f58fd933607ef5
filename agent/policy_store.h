// The agent's policy in force: trusted keys, the signed policy layers it runs (each verified
// on its own, again at start, and dropped when it expires), and an anti-rollback floor per
// layer target that survives a corrupt or deleted cache.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/state.h"
#include "common/result.h"
#include "common/timeutil.h"
#include "policy/layers.h"
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

  // Loads the trusted keys and the cached layers, verifying each again (an expired one is
  // dropped and reported). A corrupt, tampered or missing cache leaves the built-in policy (or
  // the layers that still verify) in force, and the floor still refuses rollbacks; a damaged
  // trusted-keys file is set aside (no signed policy is accepted until keys are installed
  // again). Each problem yields an event. The only error is an unreadable floor: then nothing
  // signed is loaded or accepted (a rollback could not be told apart), the built-in policy
  // applies, and Load can be called again later.
  Status Load(SysTime now);

  // Judges a signed envelope from the SOC (a single policy: one layer). Accepted: saved
  // (atomically) and in force. Refused: the layers in force stay, and the refusal is returned
  // as an event for the next report. Either way an event describes what happened.
  protocol::Event Offer(const nlohmann::json& envelope, SysTime now);
  // Judges the layers of a policy set from the SOC, each on its own: a refused layer leaves
  // the layer of its target in force (if any) and does not stop the others. One event per
  // layer that changed something or was refused.
  std::vector<protocol::Event> OfferLayers(const std::vector<nlohmann::json>& envelopes,
                                           SysTime now);
  // Drops the layers whose expires_at has passed (one policy_expired event each); the others,
  // or the built-in policy, apply. Returns the events (empty: nothing expired).
  std::vector<protocol::Event> DropExpired(SysTime now);

  // The merged policy in force and what confirms it (policy::LayerSetHash; the built-in
  // policy's hash without layers).
  const policy::Policy& current() const { return current_; }
  const std::string& hash() const { return hash_; }
  int64_t version() const { return current_.version; }
  // The layers in force, broadest first (target, version, hash).
  std::vector<policy::Layer> layers() const;
  // The floor of a target (0 when none).
  int64_t floor(const std::string& target = "") const;
  bool has_trusted_keys() const { return !trusted_.empty(); }
  // Set while the floor file cannot be read (Load's error).
  bool floor_damaged() const { return floor_damaged_; }
  // Events produced by Load (corrupt cache and the like), handed over once.
  std::vector<protocol::Event> TakeEvents();

 private:
  struct Floor {
    int64_t version = 0;
    std::string hash;      // of the policy that set the floor ("" for old floor files)
    bool expired = false;  // its layer expired and was dropped (not missing from the cache)
  };
  struct InForce {
    policy::Layer layer;
    nlohmann::json envelope;
  };

  // Verifies one envelope for `target`'s slot; on success returns the verified policy.
  std::variant<policy::VerifiedPolicy, policy::RefusedPolicy> Judge(const nlohmann::json& envelope,
                                                                    SysTime now,
                                                                    bool check_time) const;
  Status SaveLayers() const;
  Status SaveFloors() const;
  // current_ and hash_ from layers_.
  void Recompute();

  const StateDir& state_;
  std::string group_;
  policy::TrustedKeys trusted_;
  std::map<std::string, InForce> layers_;  // by target
  std::map<std::string, Floor> floors_;    // by target
  bool floor_damaged_ = false;
  policy::Policy current_ = policy::DefaultPolicy();
  std::string hash_ = policy::PolicyHash(current_);
  std::vector<protocol::Event> events_;
};

}  // namespace cg::agent

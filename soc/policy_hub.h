// Signed policy distribution and ad-hoc tasks on the SOC: verifies and stores what admins push,
// picks the newest policy for each device's group, and holds the agents' long-poll requests
// open until there is something for them or the hold time has passed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "policy/layers.h"
#include "policy/signing.h"
#include "protocol/http.h"
#include "soc/https_server.h"
#include "soc/storage.h"

namespace cg::soc {

// What an agent says it runs when it asks for news.
struct PollRequest {
  std::string device_id;
  std::string group;
  int64_t policy_version = 0;
  // The hash of the policy set the agent runs (agents with layers send it; "" from older
  // agents, which are then compared by version).
  std::string policy_hash;
  // The hash of a policy the agent refused: not offered again (the agent reports the refusal
  // itself; offering it again at once would make the long-poll spin).
  std::string refused_hash;
};

// Why a push was refused, as the operator API answers it.
struct PushRefusal {
  int status;  // HTTP status
  std::string code;
  std::string message;
};

// What a device of a group should run: the newest layer of every target on the group's path
// that has not expired, broadest first, and the set's version and hash (policy/layers.h).
struct ExpectedPolicy {
  int64_t version = 0;
  std::string hash;
  std::vector<StoredPolicy> layers;  // broadest first
};

struct PushOutcome {
  StoredPolicy policy;
  bool already_stored = false;  // the same signed policy was pushed before
  size_t woken = 0;             // long-polls answered at once
};

class PolicyHub {
 public:
  using Clock = std::function<SysTime()>;

  // `hold`: how long a long-poll waits for news before answering "no change".
  PolicyHub(Storage& storage, Clock now, std::chrono::milliseconds hold);
  ~PolicyHub();  // answers every waiting request with 503 and stops the timer thread
  PolicyHub(const PolicyHub&) = delete;
  PolicyHub& operator=(const PolicyHub&) = delete;

  // The keys the SOC verifies pushed policies with (DATA_DIR/policy-keys/*.pub), then the
  // stored policies in version order, following key rotations they carry. Call once, before
  // serving.
  Status Load(policy::TrustedKeys initial_keys);
  // Reads the stored policies again (from the keys given to Load): another node of the SOC
  // stored one (soc/cluster_bus.h).
  Status Reload();

  // Verifies an envelope with the same rules as the agents (signature from a trusted key, a
  // valid policy, validity window; the group test is per device), checks that its version is
  // newer than every stored one of its target (policy::LayerTarget), stores it and wakes the
  // long-polls of the devices it is for.
  // `scope` (may be empty) limits it to a group and the groups below it; the policy's signed
  // target must include that group.
  std::variant<PushOutcome, PushRefusal> Push(const nlohmann::json& envelope,
                                              const std::string& scope,
                                              const std::string& pushed_by);

  // Answers at once with the expected policy set of the device's group when the agent runs
  // another one (and it is not the set the agent refused), and/or the device's open tasks;
  // otherwise keeps `respond` until one of those appears or the hold time ends
  // ({"status": "no_change"}). A set handed out is recorded as served to the device.
  void Poll(PollRequest request, Responder respond);

  // Wakes the long-polls of these devices (a task was created for them).
  void WakeDevices(const std::vector<std::string>& device_ids);
  // Wakes every long-poll (another node stored a policy or tasks for devices not named).
  void WakeAll();

  // The policy set a device of `group` should run at time `at`, or nullopt when no stored
  // policy applies (the agents' built-in policy then).
  std::optional<ExpectedPolicy> ExpectedFor(std::string_view group, SysTime at) const;
  // The merged policy of ExpectedFor (the built-in one without layers), with the layer each
  // value comes from.
  Result<policy::MergedPolicy> EffectiveFor(std::string_view group, SysTime at) const;
  // How long a device of `group` may stay silent before it counts as stale, from the
  // `reporting` section of the newest policy for the group (stale_after_intervals times
  // interval_seconds, 900 s when unset); nullopt when that policy does not say.
  std::optional<std::chrono::seconds> StaleAfterFor(std::string_view group) const;
  // Every stored policy, newest first.
  std::vector<StoredPolicy> Policies() const;
  size_t Waiting() const;

 private:
  struct Waiter {
    PollRequest request;
    Responder respond;
    std::chrono::steady_clock::time_point deadline;
  };

  // Indexes into policies_ of the layers for `group` at `at`, broadest first.
  std::vector<size_t> LayerIndexesLocked(std::string_view group, SysTime at) const;
  std::optional<ExpectedPolicy> ExpectedForLocked(std::string_view group, SysTime at) const;
  // The answer for `request` now, or nullopt when there is nothing new. Holds mu_.
  // What a device is served, recorded after a batch of wake-ups (see Wake).
  struct Served {
    std::string device_id;
    int64_t version = 0;
    std::string hash;
  };
  // With `served`, the policy set handed out is added there instead of being recorded now.
  Result<std::optional<protocol::HttpResponse>> NewsLocked(const PollRequest& request,
                                                           std::vector<Served>* served = nullptr);
  // Answers or parks; `respond` is consumed either way.
  void Evaluate(PollRequest request, Responder respond,
                std::chrono::steady_clock::time_point deadline);
  void Wake(const std::function<bool(const PollRequest&)>& match);
  void TimerLoop();

  Storage& storage_;
  Clock now_;
  std::chrono::milliseconds hold_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  policy::TrustedKeys trusted_;
  policy::TrustedKeys initial_keys_;             // as given to Load, for Reload
  std::vector<StoredPolicy> policies_;           // newest push first
  std::vector<nlohmann::json> documents_;        // policies_[i]'s policy document (target matching)
  std::vector<std::optional<SysTime>> expires_;  // policies_[i]'s expires_at
  std::vector<policy::Reporting> reporting_;     // policies_[i]'s reporting section
  std::multimap<std::chrono::steady_clock::time_point, uint64_t> deadlines_;
  std::map<uint64_t, Waiter> waiters_;
  uint64_t next_waiter_ = 0;
  std::thread timer_;
};

// Whether `group` is `scope` or below it ("laocai" covers "laocai/bac-ha", not "laocai2");
// an empty scope covers every group.
bool GroupInScope(std::string_view group, std::string_view scope);

}  // namespace cg::soc

// Policy distribution and the long-poll: see policy_hub.h.
#include "soc/policy_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <utility>
#include <variant>

#include "policy/policy.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpResponse;
using SteadyClock = std::chrono::steady_clock;

namespace {

// A layer's expiry (validated when it was pushed).
std::optional<SysTime> ExpiresAt(const json& document) {
  if (auto it = document.find("expires_at"); it != document.end() && it->is_string()) {
    if (auto t = ParseRfc3339(it->get<std::string>()); t.ok()) {
      return *t;
    }
  }
  return std::nullopt;
}

}  // namespace

bool GroupInScope(std::string_view group, std::string_view scope) {
  while (!scope.empty() && scope.back() == '/') {
    scope.remove_suffix(1);
  }
  if (scope.empty()) {
    return true;
  }
  return group == scope || (group.size() > scope.size() && group.substr(0, scope.size()) == scope &&
                            group[scope.size()] == '/');
}

PolicyHub::PolicyHub(Storage& storage, Clock now, std::chrono::milliseconds hold)
    : storage_(storage), now_(std::move(now)), hold_(hold), timer_([this] { TimerLoop(); }) {}

PolicyHub::~PolicyHub() {
  std::map<uint64_t, Waiter> waiters;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiters.swap(waiters_);
    deadlines_.clear();
  }
  cv_.notify_all();
  timer_.join();
  for (auto& [id, waiter] : waiters) {
    waiter.respond(HttpResponse::Error(503, "unavailable", "the SOC is stopping"));
  }
}

Status PolicyHub::Reload() {
  policy::TrustedKeys initial;
  {
    std::lock_guard lock(mu_);
    initial = initial_keys_;
  }
  return Load(std::move(initial));
}

Status PolicyHub::Load(policy::TrustedKeys initial_keys) {
  CG_ASSIGN_OR_RETURN(auto stored, storage_.ListPolicies());
  policy::TrustedKeys initial_copy = initial_keys;
  std::vector<json> documents;
  std::vector<policy::Reporting> reporting;
  std::vector<std::optional<SysTime>> expires;
  policy::TrustedKeys trusted = std::move(initial_keys);
  // Oldest first, so that each rotation is applied in the order it was accepted.
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
    json envelope = json::parse(it->envelope, nullptr, false);
    if (envelope.is_discarded() || !envelope.is_object() || !envelope.contains("policy")) {
      return MakeError(ErrorCode::kDatabase,
                       "stored policy version " + std::to_string(it->version) + " is damaged");
    }
    documents.insert(documents.begin(), envelope["policy"]);
    expires.insert(expires.begin(), ExpiresAt(envelope["policy"]));
    // The target is the signed document's, whatever the row says.
    it->target = policy::LayerTarget(envelope["policy"]);
    auto parsed_policy = policy::ParsePolicy(envelope["policy"]);
    if (!parsed_policy.ok()) {
      return parsed_policy.error().Wrap("stored policy version " + std::to_string(it->version));
    }
    reporting.insert(reporting.begin(), parsed_policy->reporting);
    if (auto keys = envelope["policy"].find("trusted_keys"); keys != envelope["policy"].end()) {
      std::vector<std::string> pems;
      for (const auto& pem : *keys) {
        if (pem.is_string()) {
          pems.push_back(pem.get<std::string>());
        }
      }
      auto parsed = policy::ParseTrustedKeys(pems);
      if (!parsed.ok()) {
        return parsed.error().Wrap("stored policy version " + std::to_string(it->version));
      }
      trusted = std::move(parsed).value();
    }
  }
  std::lock_guard lock(mu_);
  initial_keys_ = std::move(initial_copy);
  trusted_ = std::move(trusted);
  policies_ = std::move(stored);
  documents_ = std::move(documents);
  reporting_ = std::move(reporting);
  expires_ = std::move(expires);
  return OkStatus();
}

std::variant<PushOutcome, PushRefusal> PolicyHub::Push(const json& envelope,
                                                       const std::string& scope,
                                                       const std::string& pushed_by) {
  const SysTime now = now_();
  std::unique_lock lock(mu_);
  if (trusted_.empty()) {
    return PushRefusal{409, "no_policy_keys",
                       "the SOC trusts no policy key: add the public key with `cg-soc policy-key "
                       "add --data-dir DIR KEY.pub` and restart cg-soc serve"};
  }
  policy::AcceptanceContext ctx;
  ctx.trusted = &trusted_;
  ctx.current_version = 0;
  ctx.now = now;
  auto verdict = policy::VerifyEnvelope(envelope, ctx);
  if (auto* refused = std::get_if<policy::RefusedPolicy>(&verdict)) {
    return PushRefusal{400, "policy_refused",
                       std::string(policy::RefusalCode(refused->reason)) + ": " + refused->message};
  }
  auto& verified = std::get<policy::VerifiedPolicy>(verdict);
  const json& document = envelope["policy"];
  if (!scope.empty() && !policy::TargetMatches(document, scope)) {
    return PushRefusal{400, "policy_refused",
                       "other_group: the policy's signed target does not include group " + scope};
  }
  StoredPolicy stored;
  stored.target = policy::LayerTarget(document);
  stored.version = verified.policy.version;
  stored.hash = verified.hash;
  stored.key_id = verified.key_id;
  stored.name = verified.policy.name;
  stored.scope = scope;
  stored.envelope = envelope.dump();
  stored.pushed_by = pushed_by;
  stored.pushed_at = now;
  // Versions count per target: a layer replaces the older versions of its own target only.
  const StoredPolicy* newest = nullptr;
  for (const auto& p : policies_) {
    if (p.target != stored.target) {
      continue;
    }
    if (p.version == stored.version && p.hash == stored.hash && p.scope == stored.scope) {
      return PushOutcome{p, /*already_stored=*/true, 0};
    }
    if (newest == nullptr || p.version > newest->version) {
      newest = &p;
    }
  }
  if (newest != nullptr && stored.version <= newest->version) {
    const std::string target = stored.target.empty() ? "every group" : "'" + stored.target + "'";
    return PushRefusal{409, "not_newer",
                       "policy version " + std::to_string(stored.version) +
                           " is not newer than the stored version " +
                           std::to_string(newest->version) + " for target " + target +
                           " (versions count per target: sign it with version " +
                           std::to_string(newest->version + 1) + " or higher)"};
  }
  // The database has the last word on "newer" (storage.h AddPolicy): another node of the SOC
  // may have stored a version this node's cache does not hold yet.
  auto added = storage_.AddPolicy(stored);
  if (!added.ok() || !*added) {
    lock.unlock();
    if (auto s = Reload(); !s.ok()) {
      spdlog::error("re-reading the stored policies: {}", s.error().ToString());
    }
    if (added.ok()) {  // the same policy, stored through another node
      return PushOutcome{stored, /*already_stored=*/true, 0};
    }
    if (added.error().code == ErrorCode::kAlreadyExists) {
      return PushRefusal{409, "not_newer", added.error().message};
    }
    spdlog::error("storing policy version {}: {}", stored.version, added.error().ToString());
    return PushRefusal{500, "internal", "storage error (the SOC log has the details)"};
  }
  if (verified.next_trusted_keys) {
    trusted_ = *verified.next_trusted_keys;
    spdlog::warn("policy version {} rotates the trusted policy keys ({} keys)", stored.version,
                 trusted_.size());
  }
  policies_.insert(policies_.begin(), stored);
  documents_.insert(documents_.begin(), document);
  reporting_.insert(reporting_.begin(), verified.policy.reporting);
  expires_.insert(expires_.begin(), ExpiresAt(document));
  lock.unlock();

  spdlog::info("policy version {} of target '{}' ({}) pushed by {} for {}", stored.version,
               stored.target, stored.hash, pushed_by,
               scope.empty() ? std::string("its signed target") : "group " + scope);
  PushOutcome outcome{stored, false, 0};
  const size_t before = Waiting();
  Wake([&](const PollRequest& r) {
    return GroupInScope(r.group, scope) && policy::TargetMatches(document, r.group);
  });
  const size_t after = Waiting();
  outcome.woken = before > after ? before - after : 0;
  return outcome;
}

std::vector<size_t> PolicyHub::LayerIndexesLocked(std::string_view group, SysTime at) const {
  // The newest version per target among the policies served to the group; an expired one
  // leaves its target out (the agents' floors refuse the older versions it replaced).
  std::map<std::string, size_t> newest;
  for (size_t i = 0; i < policies_.size(); ++i) {
    if (!GroupInScope(group, policies_[i].scope) || !policy::TargetMatches(documents_[i], group)) {
      continue;
    }
    auto [it, inserted] = newest.emplace(policies_[i].target, i);
    if (!inserted && policies_[i].version > policies_[it->second].version) {
      it->second = i;
    }
  }
  std::vector<policy::Layer> layers;
  for (const auto& [target, i] : newest) {
    if (!expires_[i] || at < *expires_[i]) {
      layers.push_back({target, policies_[i].version, policies_[i].hash, documents_[i]});
    }
  }
  policy::OrderLayers(layers, group);
  std::vector<size_t> indexes;
  for (const auto& l : layers) {
    indexes.push_back(newest.at(l.target));  // one layer per target
  }
  return indexes;
}

std::optional<ExpectedPolicy> PolicyHub::ExpectedForLocked(std::string_view group,
                                                           SysTime at) const {
  const std::vector<size_t> indexes = LayerIndexesLocked(group, at);
  if (indexes.empty()) {
    return std::nullopt;
  }
  ExpectedPolicy expected;
  std::vector<policy::Layer> layers;
  for (size_t i : indexes) {
    expected.layers.push_back(policies_[i]);
    layers.push_back({policies_[i].target, policies_[i].version, policies_[i].hash, documents_[i]});
  }
  expected.version = policy::LayerSetVersion(layers);
  expected.hash = policy::LayerSetHash(layers);
  return expected;
}

std::optional<ExpectedPolicy> PolicyHub::ExpectedFor(std::string_view group, SysTime at) const {
  std::lock_guard lock(mu_);
  return ExpectedForLocked(group, at);
}

Result<policy::MergedPolicy> PolicyHub::EffectiveFor(std::string_view group, SysTime at) const {
  std::vector<policy::Layer> layers;
  {
    std::lock_guard lock(mu_);
    for (size_t i : LayerIndexesLocked(group, at)) {
      layers.push_back(
          {policies_[i].target, policies_[i].version, policies_[i].hash, documents_[i]});
    }
  }
  return policy::MergeLayers(layers);
}

std::optional<std::chrono::seconds> PolicyHub::StaleAfterFor(std::string_view group) const {
  const SysTime now = now_();
  std::lock_guard lock(mu_);
  // The merged reporting section: the narrowest layer that sets a key wins.
  std::optional<int64_t> intervals;
  std::optional<int64_t> interval;
  const std::vector<size_t> indexes = LayerIndexesLocked(group, now);
  for (auto it = indexes.rbegin(); it != indexes.rend(); ++it) {
    const policy::Reporting& r = reporting_[*it];
    intervals = intervals ? intervals : r.stale_after_intervals;
    interval = interval ? interval : r.interval_seconds;
  }
  if (!intervals) {
    return std::nullopt;
  }
  return std::chrono::seconds(*intervals * interval.value_or(900));
}

std::vector<StoredPolicy> PolicyHub::Policies() const {
  std::lock_guard lock(mu_);
  return policies_;
}

size_t PolicyHub::Waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

Result<std::optional<HttpResponse>> PolicyHub::NewsLocked(const PollRequest& request,
                                                          std::vector<Served>* served) {
  json policy_json = nullptr;
  json layers_json = nullptr;
  const SysTime now = now_();
  if (auto expected = ExpectedForLocked(request.group, now)) {
    // Agents with layers say which set they run; older ones only a version.
    const bool differs = request.policy_hash.empty() ? expected->version > request.policy_version
                                                     : expected->hash != request.policy_hash;
    if (differs && expected->hash != request.refused_hash) {
      layers_json = json::array();
      for (const auto& layer : expected->layers) {
        json envelope = json::parse(layer.envelope, nullptr, false);
        if (envelope.is_discarded()) {
          return MakeError(ErrorCode::kDatabase, "stored policy version " +
                                                     std::to_string(layer.version) + " of '" +
                                                     layer.target + "' is damaged");
        }
        layers_json.push_back({{"target", layer.target},
                               {"version", layer.version},
                               {"hash", layer.hash},
                               {"envelope", std::move(envelope)}});
      }
      // One layer: also the single-policy form agents before layers read.
      policy_json = expected->layers.size() == 1 ? json{{"version", expected->version},
                                                        {"hash", expected->hash},
                                                        {"envelope", layers_json[0]["envelope"]}}
                                                 : json(nullptr);
      if (!request.device_id.empty() && served != nullptr) {
        served->push_back({request.device_id, expected->version, expected->hash});
      } else if (!request.device_id.empty()) {
        if (auto s =
                storage_.RecordPolicyServed(request.device_id, expected->version, expected->hash);
            !s.ok() && s.error().code != ErrorCode::kNotFound) {
          return s.error();
        }
      }
      layers_json = json{{"version", expected->version},
                         {"hash", expected->hash},
                         {"layers", std::move(layers_json)}};
    }
  }
  CG_ASSIGN_OR_RETURN(auto tasks, storage_.TakeTasks(request.device_id, now_()));
  if (layers_json.is_null() && tasks.empty()) {
    return std::optional<HttpResponse>();
  }
  json task_list = json::array();
  for (const auto& task : tasks) {
    task_list.push_back({{"id", task.id}, {"kind", task.kind}, {"yara", task.yara}});
  }
  return std::optional<HttpResponse>(
      HttpResponse::Json(200, {{"status", "update"},
                               {"policy", std::move(policy_json)},
                               {"policy_set", std::move(layers_json)},
                               {"tasks", std::move(task_list)}}));
}

void PolicyHub::Poll(PollRequest request, Responder respond) {
  Evaluate(std::move(request), std::move(respond), SteadyClock::now() + hold_);
}

void PolicyHub::Evaluate(PollRequest request, Responder respond, SteadyClock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    respond(HttpResponse::Error(503, "unavailable", "the SOC is stopping"));
    return;
  }
  auto news = NewsLocked(request);
  if (!news.ok()) {
    lock.unlock();
    spdlog::error("long-poll of device {}: {}", request.device_id, news.error().ToString());
    respond(HttpResponse::Error(500, "internal", "storage error (the SOC log has the details)"));
    return;
  }
  if (news->has_value()) {
    lock.unlock();
    respond(std::move(**news));
    return;
  }
  // Nothing new: parked under the same lock that Push and Wake take, so news that arrives from
  // now on finds this waiter.
  const uint64_t id = ++next_waiter_;
  waiters_.emplace(id, Waiter{std::move(request), std::move(respond), deadline});
  deadlines_.emplace(deadline, id);
  lock.unlock();
  cv_.notify_all();
}

void PolicyHub::Wake(const std::function<bool(const PollRequest&)>& match) {
  std::vector<Waiter> woken;
  {
    std::lock_guard lock(mu_);
    for (auto it = deadlines_.begin(); it != deadlines_.end();) {
      auto waiter = waiters_.find(it->second);
      if (waiter != waiters_.end() && match(waiter->second.request)) {
        woken.push_back(std::move(waiter->second));
        waiters_.erase(waiter);
        it = deadlines_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // A push wakes every agent of its groups, 10,000 on a node: their news is computed in
  // chunks under one lock each, and what they are served is recorded in one transaction per
  // chunk rather than one synchronous write per agent (which took 51 s for 10,000 agents:
  // docs/performance.md, "10,000 agents"). Each chunk is recorded before it is answered.
  constexpr size_t kChunk = 256;
  for (size_t first = 0; first < woken.size(); first += kChunk) {
    const size_t last = std::min(woken.size(), first + kChunk);
    std::vector<std::pair<Responder, HttpResponse>> answers;
    std::vector<Served> served;
    {
      std::lock_guard lock(mu_);
      for (size_t i = first; i < last; ++i) {
        Waiter& w = woken[i];
        if (stopping_) {
          answers.emplace_back(std::move(w.respond),
                               HttpResponse::Error(503, "unavailable", "the SOC is stopping"));
          continue;
        }
        auto news = NewsLocked(w.request, &served);
        if (!news.ok()) {
          spdlog::error("long-poll of device {}: {}", w.request.device_id, news.error().ToString());
          answers.emplace_back(
              std::move(w.respond),
              HttpResponse::Error(500, "internal", "storage error (the SOC log has the details)"));
        } else if (news->has_value()) {
          answers.emplace_back(std::move(w.respond), std::move(**news));
        } else {
          const uint64_t id = ++next_waiter_;
          deadlines_.emplace(w.deadline, id);
          waiters_.emplace(id, std::move(w));
        }
      }
    }
    cv_.notify_all();
    // One transaction per (version, hash) served in this chunk: usually one.
    std::map<std::pair<int64_t, std::string>, std::vector<std::string>> by_set;
    for (auto& s : served) {
      by_set[{s.version, s.hash}].push_back(std::move(s.device_id));
    }
    for (const auto& [set, devices] : by_set) {
      if (auto s = storage_.RecordPolicyServedMany(devices, set.first, set.second); !s.ok()) {
        spdlog::error("recording policy version {} served to {} devices: {}", set.first,
                      devices.size(), s.error().ToString());
      }
    }
    for (auto& [respond, answer] : answers) {
      respond(std::move(answer));
    }
  }
}

void PolicyHub::WakeDevices(const std::vector<std::string>& device_ids) {
  Wake([&](const PollRequest& r) {
    return std::find(device_ids.begin(), device_ids.end(), r.device_id) != device_ids.end();
  });
}

void PolicyHub::WakeAll() {
  Wake([](const PollRequest&) { return true; });
}

void PolicyHub::TimerLoop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const auto next = deadlines_.begin()->first;
    if (SteadyClock::now() < next) {
      cv_.wait_until(lock, next);
      continue;
    }
    std::vector<Responder> expired;
    while (!deadlines_.empty() && deadlines_.begin()->first <= SteadyClock::now()) {
      auto waiter = waiters_.find(deadlines_.begin()->second);
      if (waiter != waiters_.end()) {
        expired.push_back(std::move(waiter->second.respond));
        waiters_.erase(waiter);
      }
      deadlines_.erase(deadlines_.begin());
    }
    lock.unlock();
    for (auto& respond : expired) {
      respond(HttpResponse::Json(200, {{"status", "no_change"}}));
    }
    lock.lock();
  }
}

}  // namespace cg::soc

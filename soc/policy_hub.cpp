// Policy distribution and the long-poll: see policy_hub.h.
#include "soc/policy_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <variant>

#include "policy/policy.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpResponse;
using SteadyClock = std::chrono::steady_clock;

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

Status PolicyHub::Load(policy::TrustedKeys initial_keys) {
  CG_ASSIGN_OR_RETURN(auto stored, storage_.ListPolicies());
  std::vector<json> documents;
  std::vector<policy::Reporting> reporting;
  policy::TrustedKeys trusted = std::move(initial_keys);
  // Oldest first, so that each rotation is applied in the order it was accepted.
  for (auto it = stored.rbegin(); it != stored.rend(); ++it) {
    json envelope = json::parse(it->envelope, nullptr, false);
    if (envelope.is_discarded() || !envelope.is_object() || !envelope.contains("policy")) {
      return MakeError(ErrorCode::kDatabase,
                       "stored policy version " + std::to_string(it->version) + " is damaged");
    }
    documents.insert(documents.begin(), envelope["policy"]);
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
  trusted_ = std::move(trusted);
  policies_ = std::move(stored);
  documents_ = std::move(documents);
  reporting_ = std::move(reporting);
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
  stored.version = verified.policy.version;
  stored.hash = verified.hash;
  stored.key_id = verified.key_id;
  stored.name = verified.policy.name;
  stored.scope = scope;
  stored.envelope = envelope.dump();
  stored.pushed_by = pushed_by;
  stored.pushed_at = now;
  if (!policies_.empty()) {
    const StoredPolicy& newest = policies_.front();
    auto same = std::find_if(policies_.begin(), policies_.end(),
                             [&](const StoredPolicy& p) { return p.version == stored.version; });
    if (same != policies_.end() && same->hash == stored.hash && same->scope == stored.scope) {
      return PushOutcome{*same, /*already_stored=*/true, 0};
    }
    if (stored.version <= newest.version) {
      return PushRefusal{409, "not_newer",
                         "policy version " + std::to_string(stored.version) +
                             " is not newer than the stored version " +
                             std::to_string(newest.version) +
                             " (versions count across the province: sign it with version " +
                             std::to_string(newest.version + 1) + " or higher)"};
    }
  }
  auto added = storage_.AddPolicy(stored);
  if (!added.ok()) {
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
  lock.unlock();

  spdlog::info("policy version {} ({}) pushed by {} for {}", stored.version, stored.hash, pushed_by,
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

int PolicyHub::NewestIndexLocked(std::string_view group) const {
  for (size_t i = 0; i < policies_.size(); ++i) {
    if (GroupInScope(group, policies_[i].scope) && policy::TargetMatches(documents_[i], group)) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::optional<StoredPolicy> PolicyHub::NewestForLocked(std::string_view group) const {
  const int i = NewestIndexLocked(group);
  return i < 0 ? std::nullopt : std::optional<StoredPolicy>(policies_[static_cast<size_t>(i)]);
}

std::optional<std::chrono::seconds> PolicyHub::StaleAfterFor(std::string_view group) const {
  std::lock_guard lock(mu_);
  const int i = NewestIndexLocked(group);
  if (i < 0) {
    return std::nullopt;
  }
  const policy::Reporting& r = reporting_[static_cast<size_t>(i)];
  if (!r.stale_after_intervals) {
    return std::nullopt;
  }
  return std::chrono::seconds(*r.stale_after_intervals * r.interval_seconds.value_or(900));
}

std::optional<StoredPolicy> PolicyHub::NewestFor(std::string_view group) const {
  std::lock_guard lock(mu_);
  return NewestForLocked(group);
}

std::vector<StoredPolicy> PolicyHub::Policies() const {
  std::lock_guard lock(mu_);
  return policies_;
}

size_t PolicyHub::Waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

Result<std::optional<HttpResponse>> PolicyHub::NewsLocked(const PollRequest& request) {
  json policy_json = nullptr;
  if (auto newest = NewestForLocked(request.group);
      newest && newest->version > request.policy_version && newest->hash != request.refused_hash) {
    json envelope = json::parse(newest->envelope, nullptr, false);
    if (envelope.is_discarded()) {
      return MakeError(ErrorCode::kDatabase,
                       "stored policy version " + std::to_string(newest->version) + " is damaged");
    }
    policy_json = {
        {"version", newest->version}, {"hash", newest->hash}, {"envelope", std::move(envelope)}};
  }
  CG_ASSIGN_OR_RETURN(auto tasks, storage_.TakeTasks(request.device_id, now_()));
  if (policy_json.is_null() && tasks.empty()) {
    return std::optional<HttpResponse>();
  }
  json task_list = json::array();
  for (const auto& task : tasks) {
    task_list.push_back({{"id", task.id}, {"kind", task.kind}, {"yara", task.yara}});
  }
  return std::optional<HttpResponse>(HttpResponse::Json(
      200,
      {{"status", "update"}, {"policy", std::move(policy_json)}, {"tasks", std::move(task_list)}}));
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
  for (auto& waiter : woken) {
    Evaluate(std::move(waiter.request), std::move(waiter.respond), waiter.deadline);
  }
}

void PolicyHub::WakeDevices(const std::vector<std::string>& device_ids) {
  Wake([&](const PollRequest& r) {
    return std::find(device_ids.begin(), device_ids.end(), r.device_id) != device_ids.end();
  });
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

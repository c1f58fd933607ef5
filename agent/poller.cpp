// The agent's long-poll loop: see poller.h.
#include "agent/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "agent/soc_client.h"
#include "common/timeutil.h"
#include "protocol/http.h"
#include "protocol/https_client.h"
#include "protocol/json.h"

namespace cg::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// The SOC holds a poll for at most 110 s; the agent waits a little longer before giving up.
constexpr std::chrono::seconds kPollTimeout{120};
constexpr milliseconds kMinBackoff{2000};
constexpr milliseconds kMaxBackoff{300000};

milliseconds Jitter(milliseconds base) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> dist(0.5, 1.5);
  return milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * dist(rng)));
}

}  // namespace

PolicyPoller::PolicyPoller(const StateDir& state, Enrollment enrollment, SharedPolicy& policy,
                           Inbox& inbox, platform::Clock& clock)
    : state_(state),
      enrollment_(std::move(enrollment)),
      policy_(policy),
      inbox_(inbox),
      clock_(clock) {}

PolicyPoller::~PolicyPoller() { Stop(); }

void PolicyPoller::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void PolicyPoller::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  inbox_.RequestStop();
  {
    std::lock_guard lock(client_mu_);
    stopped_ = true;
    if (client_ != nullptr) {
      client_->Interrupt();
    }
  }
  thread_.join();
}

void PolicyPoller::Loop() {
  std::unique_ptr<protocol::HttpsClient> client;
  std::string stamp;  // the credentials `client` was made with
  while (!inbox_.stopping()) {
    if (client && DeviceCredentialStamp(state_) != stamp) {
      spdlog::info("long-poll: the device certificate changed; reconnecting with the new one");
      {
        std::lock_guard lock(client_mu_);
        client_ = nullptr;
      }
      client.reset();
    }
    if (!client) {
      stamp = DeviceCredentialStamp(state_);
      auto created = ConnectAsDevice(state_, enrollment_.server, kPollTimeout);
      if (!created.ok()) {
        spdlog::warn("long-poll: {}", created.error().ToString());
        backoff_ = std::clamp(backoff_ * 2, kMinBackoff, kMaxBackoff);
        inbox_.SleepFor(Jitter(backoff_));
        continue;
      }
      client = std::move(created).value();
      std::lock_guard lock(client_mu_);
      if (stopped_) {
        return;
      }
      client_ = client.get();
    }
    const milliseconds wait = PollOnce(*client);
    if (wait.count() > 0) {
      // A failed poll: start over on a new connection after the back-off.
      {
        std::lock_guard lock(client_mu_);
        client_ = nullptr;
      }
      client.reset();
      inbox_.SleepFor(wait);
    }
  }
  std::lock_guard lock(client_mu_);
  client_ = nullptr;
}

milliseconds PolicyPoller::PollOnce(protocol::HttpsClient& client) {
  int64_t version = 0;
  std::string hash;
  {
    std::lock_guard lock(policy_.mu);
    version = policy_.store->version();
    hash = policy_.store->hash();
  }
  std::string target = "/v1/poll?policy_version=" + std::to_string(version) +
                       "&policy_hash=" + protocol::UrlEncode(hash);
  if (!refused_hash_.empty()) {
    target += "&refused=" + protocol::UrlEncode(refused_hash_);
  }
  auto failed = [&](milliseconds at_least) {
    backoff_ = std::clamp(std::max(backoff_ * 2, at_least), kMinBackoff, kMaxBackoff);
    return Jitter(backoff_);
  };
  auto response = client.Request("GET", target);
  if (!response.ok()) {
    if (inbox_.stopping()) {
      return milliseconds(0);
    }
    spdlog::warn("long-poll: {}", response.error().ToString());
    if (protocol::IsCertificateRevoked(response.error())) {
      (void)state_.RecordRevoked(response.error().ToString(), FormatRfc3339(clock_.Now()));
      return failed(milliseconds(60000));  // revoked stays revoked: no point in knocking often
    }
    return failed(kMinBackoff);
  }
  if (response->status != 200) {
    spdlog::warn("long-poll: the SOC answered {}: {}", response->status,
                 response->body.substr(0, 200));
    // Refused (revoked, unknown device): no point in knocking often.
    const bool refused = response->status == 401 || response->status == 403;
    milliseconds at_least = refused ? milliseconds(60000) : kMinBackoff;
    // Retry-After in seconds (the SOC never sends the HTTP-date form).
    if (const std::string retry = response->Header("Retry-After");
        !retry.empty() && retry.size() < 6 &&
        std::all_of(retry.begin(), retry.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      at_least = std::max(at_least, milliseconds(std::stoll(retry) * 1000));
    }
    return failed(at_least);
  }
  json answer = protocol::ParseJsonOrDiscarded(response->body);
  if (answer.is_discarded() || !answer.is_object()) {
    spdlog::warn("long-poll: the SOC's answer is not JSON");
    return failed(kMinBackoff);
  }
  backoff_ = milliseconds(0);
  if (answer.value("status", "") != "update") {
    return milliseconds(0);  // no change: ask again at once
  }
  // The set of layers the device's group is served; each layer is judged on its own. A SOC
  // from before layers sends one policy only.
  json set = answer.value("policy_set", json(nullptr));
  if (!set.is_object()) {
    if (const json single = answer.value("policy", json(nullptr)); single.is_object()) {
      json layer = {{"envelope", single.value("envelope", json(nullptr))}};
      set = {{"hash", single.value("hash", "")}, {"layers", json::array({std::move(layer)})}};
    }
  }
  if (set.is_object()) {
    std::vector<json> envelopes;
    for (const auto& layer : set.value("layers", json::array())) {
      envelopes.push_back(layer.is_object() ? layer.value("envelope", json(nullptr)) : json());
    }
    const std::string offered_hash = set.value("hash", "");
    std::vector<protocol::Event> events;
    std::string running;
    {
      std::lock_guard lock(policy_.mu);
      events = policy_.store->OfferLayers(envelopes, clock_.Now());
      running = policy_.store->hash();
    }
    const bool applied = running == offered_hash;
    // Not asked for again unless the SOC's set changes (the refusals are in the next report).
    refused_hash_ = applied ? std::string() : offered_hash;
    if (!applied) {
      spdlog::warn("policy set {} from the SOC not (wholly) applied; running {}", offered_hash,
                   running);
    }
    for (auto& event : events) {
      inbox_.AddEvent(std::move(event));
    }
    inbox_.RequestCycle();
  }
  std::vector<AgentTask> tasks;
  for (const auto& t : answer.value("tasks", json::array())) {
    if (t.is_object() && t.value("kind", "") == "inspect" && t.contains("id") &&
        t["id"].is_string()) {
      tasks.push_back({t["id"].get<std::string>(), t.value("yara", false)});
    }
  }
  if (!tasks.empty()) {
    spdlog::info("{} task(s) from the SOC", tasks.size());
    inbox_.AddTasks(std::move(tasks));
  }
  return milliseconds(0);
}

}  // namespace cg::agent

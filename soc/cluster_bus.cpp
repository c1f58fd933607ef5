// The cluster events' wire form and the single-node bus: see cluster_bus.h.
#include "soc/cluster_bus.h"

#include <nlohmann/json.hpp>

#include "common/ids.h"

namespace cg::soc {

using nlohmann::json;

namespace {

constexpr std::pair<ClusterEventKind, std::string_view> kNames[] = {
    {ClusterEventKind::kPolicyPushed, "policy_pushed"},
    {ClusterEventKind::kTasksCreated, "tasks_created"},
    {ClusterEventKind::kDeviceRevoked, "device_revoked"},
    {ClusterEventKind::kCertificatesChanged, "certificates_changed"},
    {ClusterEventKind::kResync, "resync"},
};

class SingleNodeBus final : public ClusterBus {
 public:
  Status Start(Handler) override { return OkStatus(); }
  void Publish(ClusterEvent) override {}
  void Stop() override {}
  const std::string& node_id() const override { return id_; }

 private:
  std::string id_ = NewUuid();
};

}  // namespace

std::string_view ClusterEventName(ClusterEventKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) {
      return name;
    }
  }
  return "unknown";
}

std::string EncodeClusterEvent(const ClusterEvent& event) {
  json j = {{"kind", ClusterEventName(event.kind)},
            {"origin", event.origin},
            {"sent_at_ms", event.sent_at_ms},
            {"device_ids", event.device_ids}};
  std::string text = j.dump();
  if (text.size() > kMaxClusterPayload) {
    j["device_ids"] = json::array();
    text = j.dump();
  }
  return text;
}

Result<ClusterEvent> DecodeClusterEvent(std::string_view payload) {
  const json j = json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kParse, "a cluster event that is not a JSON object");
  }
  ClusterEvent event;
  const std::string kind = j.value("kind", "");
  bool known = false;
  for (const auto& [k, name] : kNames) {
    if (name == kind && k != ClusterEventKind::kResync) {
      event.kind = k;
      known = true;
    }
  }
  if (!known) {
    return MakeError(ErrorCode::kParse, "unknown cluster event kind '" + kind + "'");
  }
  event.origin = j.value("origin", "");
  event.sent_at_ms = j.value("sent_at_ms", int64_t{0});
  if (auto ids = j.find("device_ids"); ids != j.end() && ids->is_array()) {
    for (const auto& id : *ids) {
      if (!id.is_string()) {
        return MakeError(ErrorCode::kParse, "a cluster event with a device id that is no string");
      }
      event.device_ids.push_back(id.get<std::string>());
    }
  }
  return event;
}

std::unique_ptr<ClusterBus> MakeSingleNodeBus() { return std::make_unique<SingleNodeBus>(); }

}  // namespace cg::soc

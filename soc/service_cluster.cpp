// The service's side of several nodes on one database (soc/cluster_bus.h): publishing this
// node's changes and acting on the other nodes'.
#include <spdlog/spdlog.h>

#include <utility>

#include "soc/policy_hub.h"
#include "soc/service.h"

namespace cg::soc {

void SocService::Announce(ClusterEventKind kind, std::vector<std::string> device_ids) {
  if (bus_ == nullptr) {
    return;
  }
  ClusterEvent event;
  event.kind = kind;
  event.device_ids = std::move(device_ids);
  bus_->Publish(std::move(event));
}

void SocService::ApplyClusterEvent(const ClusterEvent& event) {
  const bool resync = event.kind == ClusterEventKind::kResync;
  if (hub_ != nullptr && (resync || event.kind == ClusterEventKind::kPolicyPushed)) {
    // The new policy (and the trusted keys it may rotate) from the database, then every
    // long-poll looks again: those with news are answered, the others wait on.
    if (auto s = hub_->Reload(); !s.ok()) {
      spdlog::error("re-reading the policies another node stored: {}", s.error().ToString());
    }
    hub_->WakeAll();
  } else if (hub_ != nullptr && event.kind == ClusterEventKind::kTasksCreated) {
    if (event.device_ids.empty()) {
      hub_->WakeAll();  // too many devices for one notification
    } else {
      hub_->WakeDevices(event.device_ids);
    }
  }
  if (event.kind == ClusterEventKind::kDeviceRevoked && on_revoke_) {
    for (const auto& id : event.device_ids) {
      spdlog::warn("device {} revoked through another node: closing its connections", id);
      on_revoke_(id);
    }
  }
  if (resync || event.kind == ClusterEventKind::kCertificatesChanged ||
      event.kind == ClusterEventKind::kDeviceRevoked) {
    RefreshCrl();
  }
}

}  // namespace cg::soc

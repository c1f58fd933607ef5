// Several cg-soc nodes on one database (issue 17): what one node changes that the others hold
// in memory or act on — a pushed policy (their policy cache and trusted keys, their agents'
// long-polls), tasks created (long-polls), a revoked device (its open connections), changed
// certificates (their cached CRL). The node that made the change acts on it itself and
// publishes it; the bus delivers it to every other node.
//
// On SQLite there is one node and nothing to deliver (SingleNodeBus). On PostgreSQL the bus is
// LISTEN/NOTIFY on a connection of its own (soc/pg/pg_cluster_bus.h). Notifications are not
// stored: a node that was disconnected from the database gets a kResync after it is back
// instead, and re-reads everything the events stand for, so that no change is missed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace cg::soc {

enum class ClusterEventKind {
  kPolicyPushed,         // reload the policies and trusted keys; wake every long-poll
  kTasksCreated,         // wake these devices' long-polls (every one when device_ids is empty)
  kDeviceRevoked,        // close the connections of device_ids
  kCertificatesChanged,  // a revocation or a superseded certificate: re-sign the CRL
  kResync,               // (local only) events may have been missed: re-read all of it
};

std::string_view ClusterEventName(ClusterEventKind kind);

struct ClusterEvent {
  ClusterEventKind kind = ClusterEventKind::kResync;
  std::vector<std::string> device_ids;
  std::string origin;      // the node that made the change
  int64_t sent_at_ms = 0;  // its wall clock when it published (for the logged delay)
};

// The wire form: one JSON object, at most kMaxClusterPayload bytes (PostgreSQL's NOTIFY takes
// < 8000): a device list that does not fit is dropped, which tasks read as "every device".
inline constexpr size_t kMaxClusterPayload = 7000;
std::string EncodeClusterEvent(const ClusterEvent& event);
Result<ClusterEvent> DecodeClusterEvent(std::string_view payload);

class ClusterBus {
 public:
  using Handler = std::function<void(const ClusterEvent&)>;
  virtual ~ClusterBus() = default;
  // Delivers the other nodes' events (never this node's own) to `handler` on a thread of the
  // bus, one at a time, and a kResync after every (re)connection. Returns once the first
  // connection is made, or its error.
  virtual Status Start(Handler handler) = 0;
  // Tells the other nodes, after the change is committed. Failures are logged: the database
  // is the record, and a node that misses an event re-reads at its next resync.
  virtual void Publish(ClusterEvent event) = 0;
  // Stops delivering (joins the thread); idempotent.
  virtual void Stop() = 0;
  // This node's name on its events (a fresh id per process).
  virtual const std::string& node_id() const = 0;
};

// One node alone (SQLite): Publish does nothing, Start never calls the handler.
std::unique_ptr<ClusterBus> MakeSingleNodeBus();

}  // namespace cg::soc

// The cluster bus on PostgreSQL (soc/cluster_bus.h): LISTEN/NOTIFY on channel "cg_cluster".
// A thread holds a connection of its own that LISTENs (TCP keepalives on, so a vanished server
// is noticed), reconnects with a growing pause when it is lost, and hands the handler a kResync
// after each (re)connection: notifications sent while a node was not listening are gone, so the
// node re-reads what they stand for. Publishing uses another connection (NOTIFY is sent at once,
// outside any transaction of the change, which is committed before).
#pragma once

#include <memory>
#include <string>

#include "soc/cluster_bus.h"

namespace cg::soc::pg {

inline constexpr const char* kClusterChannel = "cg_cluster";

// The listening connection says "cg-soc bus NODE_ID" in pg_stat_activity.application_name.
std::unique_ptr<ClusterBus> MakePgClusterBus(std::string uri);

}  // namespace cg::soc::pg

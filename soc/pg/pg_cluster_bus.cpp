// LISTEN/NOTIFY between the nodes of one SOC: see pg_cluster_bus.h.
#include "soc/pg/pg_cluster_bus.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "common/ids.h"
#include "common/timeutil.h"
#include "platform/os/socket_wait.h"
#include "soc/pg/pg.h"

namespace cg::soc::pg {
namespace {

using namespace std::chrono_literals;

constexpr auto kWaitSlice = 250ms;  // how soon Stop() is noticed
constexpr auto kFirstPause = 100ms;
constexpr auto kLongestPause = 5000ms;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string OneLine(const char* message) {
  std::string s = message == nullptr ? "" : message;
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  return s;
}

class PgClusterBus final : public ClusterBus {
 public:
  explicit PgClusterBus(std::string uri) : uri_(std::move(uri)) {}
  ~PgClusterBus() override { Stop(); }

  Status Start(Handler handler) override {
    handler_ = std::move(handler);
    CG_ASSIGN_OR_RETURN(PGconn * conn, Listen());
    thread_ = std::thread([this, conn] { Loop(conn); });
    return OkStatus();
  }

  void Publish(ClusterEvent event) override {
    event.origin = node_id_;
    event.sent_at_ms = NowMs();
    const std::string payload = EncodeClusterEvent(event);
    std::lock_guard lock(publish_mu_);
    // One retry on a fresh connection: the pooled one may have lost its server meanwhile.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (publisher_ == nullptr || !publisher_->healthy()) {
        auto opened = Connection::Open(uri_);
        if (!opened.ok()) {
          spdlog::error("cluster event {} not sent to the other nodes: {}",
                        ClusterEventName(event.kind), opened.error().ToString());
          return;
        }
        publisher_ = std::move(opened).value();
      }
      auto sent =
          publisher_->Query("SELECT pg_notify($1, $2)", std::string(kClusterChannel), payload);
      if (sent.ok()) {
        return;
      }
      if (attempt == 1 || publisher_->healthy()) {
        spdlog::error("cluster event {} not sent to the other nodes: {}",
                      ClusterEventName(event.kind), sent.error().ToString());
        return;
      }
    }
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  const std::string& node_id() const override { return node_id_; }

 private:
  // A connection that LISTENs, or why there is none.
  Result<PGconn*> Listen() {
    const std::string application = "cg-soc bus " + node_id_;
    const char* keys[] = {"dbname",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "connect_timeout",
                          nullptr};
    const char* values[] = {uri_.c_str(), application.c_str(), "1", "10", "5", "3", "10", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (conn == nullptr) {
      return MakeError(ErrorCode::kDatabase, "cluster bus: out of memory");
    }
    if (PQstatus(conn) != CONNECTION_OK) {
      Error e = MakeError(ErrorCode::kDatabase, "cluster bus: connecting to " + RedactUri(uri_) +
                                                    ": " + OneLine(PQerrorMessage(conn)));
      PQfinish(conn);
      return e;
    }
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(conn, (std::string("LISTEN ") + kClusterChannel).c_str());
    const bool ok = r != nullptr && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
      Error e = MakeError(ErrorCode::kDatabase,
                          "cluster bus: LISTEN failed: " + OneLine(PQerrorMessage(conn)));
      PQfinish(conn);
      return e;
    }
    return conn;
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Sleeps `pause` unless Stop() comes first; false when stopping.
  bool Pause(std::chrono::milliseconds pause) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, pause, [this] { return stopping_; });
  }

  void Deliver(const ClusterEvent& event) {
    try {
      handler_(event);
    } catch (const std::exception& e) {
      spdlog::error("cluster event {}: {}", ClusterEventName(event.kind), e.what());
    }
  }

  void Loop(PGconn* conn) {
    // Whatever happened between the node's start (it read the database then) and the LISTEN.
    Deliver(ClusterEvent{ClusterEventKind::kResync, {}, node_id_, NowMs()});
    auto pause = kFirstPause;
    bool outage_logged = false;
    while (!Stopping()) {
      if (conn == nullptr) {
        auto again = Listen();
        if (!again.ok()) {
          if (!outage_logged) {
            spdlog::error("{}; retrying (other nodes' changes reach this node once it is back)",
                          again.error().ToString());
            outage_logged = true;
          }
          if (!Pause(pause)) {
            break;
          }
          pause = std::min<std::chrono::milliseconds>(pause * 2, kLongestPause);
          continue;
        }
        conn = *again;
        pause = kFirstPause;
        outage_logged = false;
        spdlog::warn("cluster bus: listening again; re-reading what other nodes changed");
        Deliver(ClusterEvent{ClusterEventKind::kResync, {}, node_id_, NowMs()});
      }
      auto readable = os::WaitReadable(PQsocket(conn), kWaitSlice);
      if (readable.ok() && !*readable) {
        continue;
      }
      if (!readable.ok() || PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
        spdlog::warn("cluster bus: lost the connection to the database ({}); reconnecting",
                     readable.ok() ? OneLine(PQerrorMessage(conn)) : readable.error().ToString());
        PQfinish(conn);
        conn = nullptr;
        continue;
      }
      while (PGnotify* n = PQnotifies(conn)) {
        const std::string payload = n->extra == nullptr ? "" : n->extra;
        PQfreemem(n);
        auto event = DecodeClusterEvent(payload);
        if (!event.ok()) {
          spdlog::warn("cluster bus: ignoring a notification: {}", event.error().ToString());
          continue;
        }
        if (event->origin == node_id_) {
          continue;  // this node acted on its own change already
        }
        spdlog::debug("cluster event {} from node {} ({} ms after it was sent)",
                      ClusterEventName(event->kind), event->origin, NowMs() - event->sent_at_ms);
        Deliver(*event);
      }
    }
    if (conn != nullptr) {
      PQfinish(conn);
    }
  }

  const std::string uri_;
  const std::string node_id_ = NewUuid();
  Handler handler_;
  std::mutex publish_mu_;
  std::unique_ptr<Connection> publisher_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<ClusterBus> MakePgClusterBus(std::string uri) {
  return std::make_unique<PgClusterBus>(std::move(uri));
}

}  // namespace cg::soc::pg

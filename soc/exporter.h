// The SIEM exporter of cg-soc serve: a background thread that reads the database's outbox
// (soc/storage.h) and delivers each event to a rotated file and/or a syslog receiver (RFC 5424
// over TCP with RFC 6587 octet counting, or over TLS per RFC 5425), marking events delivered
// only after the write succeeded, retrying with exponential back-off. docs/siem.md says what
// that guarantees (at least once) and how a receiver drops duplicates by event id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/timeutil.h"
#include "soc/export_format.h"
#include "soc/storage.h"
#include "soc/syslog_client.h"

namespace cg::soc {

struct ExportFileConfig {
  std::string path;                  // the current file; rotated ones get .1, .2, ...
  uint64_t max_bytes = 64ull << 20;  // rotate before the file would grow past this
  int keep = 5;                      // rotated files kept
  ExportBody body = ExportBody::kEcs;
};

struct ExportSyslogConfig {
  SyslogTarget target;
  ExportBody body = ExportBody::kEcs;
  SyslogOptions format;
};

struct ExportConfig {
  std::optional<ExportFileConfig> file;
  std::optional<ExportSyslogConfig> syslog;
  size_t batch = 256;  // events per write
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds retry_initial{1000};
  std::chrono::milliseconds retry_max{5 * 60 * 1000};
  std::chrono::seconds stale_sweep_interval{60};
  // Without a sink, events older than this are deleted at each sweep, so that the outbox stays
  // bounded and a sink configured later starts with the last week of events.
  std::chrono::seconds unexported_keep{7LL * 86400};

  // The sinks configured, by the names their cursors have ("file", "syslog").
  std::vector<std::string> SinkNames() const;
};

// The "export" object of the SOC's config file (docs/siem.md). Relative file paths are taken
// from `base_dir` (the data dir). Unknown keys are refused, so that a typo is not a silent
// no-export.
Result<ExportConfig> ParseExportConfig(const nlohmann::json& j, const std::string& base_dir);

// Sink names and their metric slots.
inline constexpr const char* kFileSink = "file";
inline constexpr const char* kSyslogSink = "syslog";

class Exporter {
 public:
  // `storage` must outlive the exporter. `sweep` (may be empty) records stale devices; it is
  // called on the exporter's thread every stale_sweep_interval. An exporter without sinks still
  // runs: it sweeps stale devices (their events and audit do not depend on a SIEM) and trims
  // the outbox (Housekeep).
  Exporter(Storage& storage, ExportConfig config, std::function<SysTime()> now,
           std::function<void()> sweep = {});
  ~Exporter();  // Stop()
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  void Start();
  // Finishes the write in progress and ends the thread. Idempotent.
  void Stop();
  // Delivers now instead of at the next poll (after events were recorded).
  void Wake();

  // One pass over every sink whose back-off has passed: what the thread does each time.
  // Returns the number of events delivered.
  size_t RunOnce();
  // What the thread does every stale_sweep_interval: the stale sweep and, without a sink, the
  // deletion of events older than unexported_keep. Returns the number of events deleted.
  int64_t Housekeep();

  const ExportConfig& config() const { return config_; }

  struct Sink;  // a destination with its back-off state (exporter.cpp)

 private:
  void Loop();
  size_t Deliver(Sink& sink);

  Storage& storage_;
  ExportConfig config_;
  std::function<SysTime()> now_;
  std::function<void()> sweep_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace cg::soc

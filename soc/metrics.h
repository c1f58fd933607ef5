// The SOC's Prometheus metrics: one registry of cheap counters (relaxed atomics) that the
// listeners, the ingest path and the exporter bump, rendered as the text exposition format
// (version 0.0.4) with the gauges read at scrape time (devices, queue depth, export backlog).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::soc {

class MetricCounter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class MetricGauge {
 public:
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Fixed buckets (seconds) for the time from a report's arrival to its commit.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   10};
  void Observe(std::chrono::nanoseconds d);
  // Cumulative counts per bound, then +Inf; the sum in seconds.
  std::array<uint64_t, kBounds.size() + 1> Cumulative() const;
  double SumSeconds() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// Why a report was refused (label "reason").
enum class RefusalReason : size_t {
  kBadJson,
  kInvalidReport,
  kTooLarge,
  kWrongDevice,
  kUnknownDevice,
  kConflict,
  kOverloaded,
  kStorage,
  kCount
};
std::string_view ToString(RefusalReason r);

// Why a TLS connection was refused (label "reason").
enum class HandshakeRefusal : size_t {
  kTimeout,
  kCertificateRevoked,
  kCertificateInvalid,
  kTlsError,  // protocol or cipher mismatch, no client certificate, ...
  kClosed,    // the peer went away during the handshake
  kListenerFull,
  kAddressFull,
  kCount
};
std::string_view ToString(HandshakeRefusal r);

enum class Port : size_t { kAgent, kOperator, kCount };

struct SocMetrics {
  MetricCounter reports_stored;
  MetricCounter reports_duplicate;
  std::array<MetricCounter, static_cast<size_t>(RefusalReason::kCount)> reports_refused;
  LatencyHistogram ingest_latency;
  std::array<MetricCounter, static_cast<size_t>(Port::kCount)> handshakes;
  std::array<std::array<MetricCounter, static_cast<size_t>(HandshakeRefusal::kCount)>,
             static_cast<size_t>(Port::kCount)>
      handshake_refusals;
  std::array<MetricGauge, static_cast<size_t>(Port::kCount)> open_connections;
  std::array<MetricCounter, 2> export_delivered;  // by sink: file, syslog
  std::array<MetricCounter, 2> export_failures;

  void Refused(RefusalReason r) { reports_refused[static_cast<size_t>(r)].Inc(); }
  void HandshakeRefused(Port p, HandshakeRefusal r) {
    handshake_refusals[static_cast<size_t>(p)][static_cast<size_t>(r)].Inc();
  }
};

// The process's registry.
SocMetrics& Metrics();

// What is read at scrape time rather than counted.
struct MetricsSnapshot {
  // (group, status) -> devices
  std::map<std::pair<std::string, std::string>, int64_t> devices;
  int64_t ingest_queue_depth = 0;
  int64_t ingest_queue_capacity = 0;
  int64_t long_polls = 0;
  // sink -> events not yet delivered
  std::map<std::string, int64_t> export_backlog;
  // sink -> age in seconds of the oldest undelivered event
  std::map<std::string, int64_t> export_oldest_seconds;
};

// The text exposition: every metric with # HELP and # TYPE, label values escaped.
std::string RenderMetrics(const SocMetrics& m, const MetricsSnapshot& snapshot);
std::string EscapeLabelValue(std::string_view v);

}  // namespace cg::soc

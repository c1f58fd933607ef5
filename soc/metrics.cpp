// The metrics registry and its Prometheus text rendering.
#include "soc/metrics.h"

#include <cstdio>

namespace cg::soc {

void LatencyHistogram::Observe(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) {
    ++i;
  }
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(d.count() < 0 ? 0 : d.count()),
                    std::memory_order_relaxed);
}

std::array<uint64_t, LatencyHistogram::kBounds.size() + 1> LatencyHistogram::Cumulative() const {
  std::array<uint64_t, kBounds.size() + 1> out{};
  uint64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double LatencyHistogram::SumSeconds() const {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

std::string_view ToString(RefusalReason r) {
  switch (r) {
    case RefusalReason::kBadJson:
      return "bad_json";
    case RefusalReason::kInvalidReport:
      return "invalid_report";
    case RefusalReason::kTooLarge:
      return "too_large";
    case RefusalReason::kWrongDevice:
      return "wrong_device";
    case RefusalReason::kUnknownDevice:
      return "unknown_device";
    case RefusalReason::kConflict:
      return "conflict";
    case RefusalReason::kOverloaded:
      return "overloaded";
    case RefusalReason::kStorage:
      return "storage";
    case RefusalReason::kCount:
      break;
  }
  return "other";
}

std::string_view ToString(HandshakeRefusal r) {
  switch (r) {
    case HandshakeRefusal::kTimeout:
      return "timeout";
    case HandshakeRefusal::kCertificateRevoked:
      return "certificate_revoked";
    case HandshakeRefusal::kCertificateInvalid:
      return "certificate_invalid";
    case HandshakeRefusal::kTlsError:
      return "tls_error";
    case HandshakeRefusal::kClosed:
      return "closed";
    case HandshakeRefusal::kListenerFull:
      return "listener_full";
    case HandshakeRefusal::kAddressFull:
      return "address_full";
    case HandshakeRefusal::kCount:
      break;
  }
  return "other";
}

SocMetrics& Metrics() {
  static SocMetrics metrics;
  return metrics;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

constexpr const char* kPortNames[] = {"agent", "operator"};
constexpr const char* kSinkNames[] = {"file", "syslog"};

class Writer {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::initializer_list<std::pair<const char*, std::string>> l,
              double value) {
    out_ += name;
    if (l.size() != 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : l) {
        out_ += first ? "" : ",";
        out_ += k;
        out_ += "=\"";
        out_ += EscapeLabelValue(v);
        out_ += '"';
        first = false;
      }
      out_ += '}';
    }
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %.17g\n", value);
    out_ += buf;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

double D(uint64_t v) { return static_cast<double>(v); }
double D(int64_t v) { return static_cast<double>(v); }

}  // namespace

std::string RenderMetrics(const SocMetrics& m, const MetricsSnapshot& s) {
  Writer w;
  w.Family("counterguard_devices", "gauge",
           "Devices by group and status (stale and revoked as the operator API shows them).");
  for (const auto& [key, n] : s.devices) {
    w.Sample("counterguard_devices", {{"group", key.first}, {"status", key.second}}, D(n));
  }
  w.Family("counterguard_reports_ingested_total", "counter",
           "Reports stored (duplicates of stored reports are counted apart).");
  w.Sample("counterguard_reports_ingested_total", {{"result", "stored"}},
           D(m.reports_stored.Value()));
  w.Sample("counterguard_reports_ingested_total", {{"result", "duplicate"}},
           D(m.reports_duplicate.Value()));
  w.Family("counterguard_reports_refused_total", "counter", "Reports refused, by reason.");
  for (size_t i = 0; i < m.reports_refused.size(); ++i) {
    w.Sample("counterguard_reports_refused_total",
             {{"reason", std::string(ToString(static_cast<RefusalReason>(i)))}},
             D(m.reports_refused[i].Value()));
  }
  w.Family("counterguard_ingest_latency_seconds", "histogram",
           "Time from a report's arrival to the commit of its transaction.");
  const auto cumulative = m.ingest_latency.Cumulative();
  for (size_t i = 0; i < LatencyHistogram::kBounds.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof(le), "%g", LatencyHistogram::kBounds[i]);
    w.Sample("counterguard_ingest_latency_seconds_bucket", {{"le", le}}, D(cumulative[i]));
  }
  w.Sample("counterguard_ingest_latency_seconds_bucket", {{"le", "+Inf"}}, D(cumulative.back()));
  w.Sample("counterguard_ingest_latency_seconds_sum", {}, m.ingest_latency.SumSeconds());
  w.Sample("counterguard_ingest_latency_seconds_count", {}, D(cumulative.back()));
  w.Family("counterguard_ingest_queue_depth", "gauge", "Reports waiting for the writer.");
  w.Sample("counterguard_ingest_queue_depth", {}, D(s.ingest_queue_depth));
  w.Family("counterguard_ingest_queue_capacity", "gauge",
           "Reports the queue holds before the agent port answers 503.");
  w.Sample("counterguard_ingest_queue_capacity", {}, D(s.ingest_queue_capacity));
  w.Family("counterguard_tls_handshakes_total", "counter", "TLS handshakes completed, by port.");
  for (size_t p = 0; p < m.handshakes.size(); ++p) {
    w.Sample("counterguard_tls_handshakes_total", {{"port", kPortNames[p]}},
             D(m.handshakes[p].Value()));
  }
  w.Family("counterguard_connections_refused_total", "counter",
           "Connections refused before or during the TLS handshake, by port and reason.");
  for (size_t p = 0; p < m.handshake_refusals.size(); ++p) {
    for (size_t r = 0; r < m.handshake_refusals[p].size(); ++r) {
      w.Sample("counterguard_connections_refused_total",
               {{"port", kPortNames[p]},
                {"reason", std::string(ToString(static_cast<HandshakeRefusal>(r)))}},
               D(m.handshake_refusals[p][r].Value()));
    }
  }
  w.Family("counterguard_open_connections", "gauge", "Connections open, by port.");
  for (size_t p = 0; p < m.open_connections.size(); ++p) {
    w.Sample("counterguard_open_connections", {{"port", kPortNames[p]}},
             D(m.open_connections[p].Value()));
  }
  w.Family("counterguard_long_polls", "gauge", "Agents' long-polls held open.");
  w.Sample("counterguard_long_polls", {}, D(s.long_polls));
  w.Family("counterguard_export_backlog_events", "gauge",
           "Events in the outbox not yet delivered, by sink.");
  for (const auto& [sink, n] : s.export_backlog) {
    w.Sample("counterguard_export_backlog_events", {{"sink", sink}}, D(n));
  }
  w.Family("counterguard_export_oldest_pending_seconds", "gauge",
           "Age of the oldest undelivered event, by sink (0 when none).");
  for (const auto& [sink, n] : s.export_oldest_seconds) {
    w.Sample("counterguard_export_oldest_pending_seconds", {{"sink", sink}}, D(n));
  }
  w.Family("counterguard_export_delivered_total", "counter", "Events delivered, by sink.");
  for (size_t i = 0; i < m.export_delivered.size(); ++i) {
    w.Sample("counterguard_export_delivered_total", {{"sink", kSinkNames[i]}},
             D(m.export_delivered[i].Value()));
  }
  w.Family("counterguard_export_failures_total", "counter",
           "Failed delivery attempts (retried with back-off), by sink.");
  for (size_t i = 0; i < m.export_failures.size(); ++i) {
    w.Sample("counterguard_export_failures_total", {{"sink", kSinkNames[i]}},
             D(m.export_failures[i].Value()));
  }
  return w.Take();
}

}  // namespace cg::soc

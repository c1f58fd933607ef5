// The exporter thread, its sinks (rotated file, syslog) and the parsing of its configuration.
#include "soc/exporter.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>
#include <utility>

#include "platform/os/files.h"
#include "soc/metrics.h"

namespace cg::soc {

using nlohmann::json;

std::vector<std::string> ExportConfig::SinkNames() const {
  std::vector<std::string> names;
  if (file) {
    names.push_back(kFileSink);
  }
  if (syslog) {
    names.push_back(kSyslogSink);
  }
  return names;
}

namespace {

Error ConfigError(const std::string& what) {
  return MakeError(ErrorCode::kInvalidArgument, "export configuration: " + what);
}

Status OnlyKeys(const json& j, const std::string& where, std::set<std::string> allowed) {
  if (!j.is_object()) {
    return ConfigError(where + " must be an object");
  }
  for (const auto& [key, value] : j.items()) {
    if (allowed.count(key) == 0) {
      return ConfigError("unknown key \"" + key + "\" in " + where);
    }
  }
  return OkStatus();
}

template <typename T>
Status Get(const json& j, const char* key, const std::string& where, T& out, T min, T max) {
  auto it = j.find(key);
  if (it == j.end()) {
    return OkStatus();
  }
  if (!it->is_number_integer()) {
    return ConfigError(where + "." + key + " must be an integer");
  }
  const auto v = it->get<int64_t>();
  if (v < static_cast<int64_t>(min) || v > static_cast<int64_t>(max)) {
    return ConfigError(where + "." + key + " must be from " + std::to_string(min) + " to " +
                       std::to_string(max));
  }
  out = static_cast<T>(v);
  return OkStatus();
}

Status GetString(const json& j, const char* key, const std::string& where, std::string& out) {
  auto it = j.find(key);
  if (it == j.end()) {
    return OkStatus();
  }
  if (!it->is_string() || it->get<std::string>().empty()) {
    return ConfigError(where + "." + key + " must be a non-empty string");
  }
  out = it->get<std::string>();
  return OkStatus();
}

std::string Resolve(const std::string& path, const std::string& base) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) {
    return path;
  }
  return (std::filesystem::path(base) / path).string();
}

Status GetBody(const json& j, const std::string& where, ExportBody& out) {
  std::string text = "ecs";
  CG_RETURN_IF_ERROR(GetString(j, "format", where, text));
  auto body = ParseExportBody(text);
  if (!body.ok()) {
    return ConfigError(where + ".format: " + body.error().message);
  }
  out = *body;
  return OkStatus();
}

}  // namespace

Result<ExportConfig> ParseExportConfig(const json& j, const std::string& base_dir) {
  ExportConfig c;
  CG_RETURN_IF_ERROR(OnlyKeys(j, "export",
                              {"file", "syslog", "batch", "poll_interval_ms", "retry_initial_ms",
                               "retry_max_ms", "stale_sweep_seconds"}));
  CG_RETURN_IF_ERROR(Get<size_t>(j, "batch", "export", c.batch, 1, 10000));
  int64_t ms = c.poll_interval.count();
  CG_RETURN_IF_ERROR(Get<int64_t>(j, "poll_interval_ms", "export", ms, 10, 600000));
  c.poll_interval = std::chrono::milliseconds(ms);
  ms = c.retry_initial.count();
  CG_RETURN_IF_ERROR(Get<int64_t>(j, "retry_initial_ms", "export", ms, 10, 3600000));
  c.retry_initial = std::chrono::milliseconds(ms);
  ms = c.retry_max.count();
  CG_RETURN_IF_ERROR(Get<int64_t>(j, "retry_max_ms", "export", ms, 10, 24 * 3600000LL));
  c.retry_max = std::chrono::milliseconds(std::max(ms, c.retry_initial.count()));
  int64_t sweep = c.stale_sweep_interval.count();
  CG_RETURN_IF_ERROR(Get<int64_t>(j, "stale_sweep_seconds", "export", sweep, 1, 86400));
  c.stale_sweep_interval = std::chrono::seconds(sweep);

  if (auto f = j.find("file"); f != j.end()) {
    CG_RETURN_IF_ERROR(OnlyKeys(*f, "export.file", {"path", "max_bytes", "keep", "format"}));
    ExportFileConfig file;
    CG_RETURN_IF_ERROR(GetString(*f, "path", "export.file", file.path));
    if (file.path.empty()) {
      return ConfigError("export.file.path is required");
    }
    file.path = Resolve(file.path, base_dir);
    CG_RETURN_IF_ERROR(
        Get<uint64_t>(*f, "max_bytes", "export.file", file.max_bytes, 4096, 1ull << 40));
    CG_RETURN_IF_ERROR(Get<int>(*f, "keep", "export.file", file.keep, 1, 1000));
    CG_RETURN_IF_ERROR(GetBody(*f, "export.file", file.body));
    c.file = std::move(file);
  }
  if (auto s = j.find("syslog"); s != j.end()) {
    CG_RETURN_IF_ERROR(OnlyKeys(*s, "export.syslog",
                                {"host", "port", "tls", "ca_file", "server_name", "cert_file",
                                 "key_file", "format", "facility", "hostname", "timeout_ms"}));
    ExportSyslogConfig sys;
    CG_RETURN_IF_ERROR(GetString(*s, "host", "export.syslog", sys.target.host));
    if (sys.target.host.empty()) {
      return ConfigError("export.syslog.host is required");
    }
    int port = 0;
    CG_RETURN_IF_ERROR(Get<int>(*s, "port", "export.syslog", port, 1, 65535));
    if (auto tls = s->find("tls"); tls != s->end()) {
      if (!tls->is_boolean()) {
        return ConfigError("export.syslog.tls must be true or false");
      }
      sys.target.tls = tls->get<bool>();
    }
    // RFC 5425 assigns 6514 to syslog over TLS; plain TCP syslog has no assigned port, 514 by
    // custom.
    sys.target.port = static_cast<uint16_t>(port != 0 ? port : (sys.target.tls ? 6514 : 514));
    CG_RETURN_IF_ERROR(GetString(*s, "ca_file", "export.syslog", sys.target.ca_file));
    CG_RETURN_IF_ERROR(GetString(*s, "server_name", "export.syslog", sys.target.server_name));
    CG_RETURN_IF_ERROR(GetString(*s, "cert_file", "export.syslog", sys.target.cert_file));
    CG_RETURN_IF_ERROR(GetString(*s, "key_file", "export.syslog", sys.target.key_file));
    if (sys.target.tls && sys.target.ca_file.empty()) {
      return ConfigError("export.syslog.ca_file is required with tls: the receiver is verified");
    }
    if (sys.target.cert_file.empty() != sys.target.key_file.empty()) {
      return ConfigError("export.syslog.cert_file and key_file go together");
    }
    sys.target.ca_file = Resolve(sys.target.ca_file, base_dir);
    sys.target.cert_file = Resolve(sys.target.cert_file, base_dir);
    sys.target.key_file = Resolve(sys.target.key_file, base_dir);
    CG_RETURN_IF_ERROR(GetBody(*s, "export.syslog", sys.body));
    CG_RETURN_IF_ERROR(Get<int>(*s, "facility", "export.syslog", sys.format.facility, 0, 23));
    CG_RETURN_IF_ERROR(GetString(*s, "hostname", "export.syslog", sys.format.hostname));
    int64_t timeout = sys.target.timeout.count();
    CG_RETURN_IF_ERROR(Get<int64_t>(*s, "timeout_ms", "export.syslog", timeout, 100, 600000));
    sys.target.timeout = std::chrono::milliseconds(timeout);
    c.syslog = std::move(sys);
  }
  return c;
}

// One destination with its back-off state.
struct Exporter::Sink {
  virtual ~Sink() = default;
  virtual Status Write(const std::vector<OutboxEntry>& entries) = 0;

  std::string name;
  size_t metric = 0;  // slot in SocMetrics::export_*
  std::chrono::milliseconds backoff{0};
  std::chrono::steady_clock::time_point next_attempt{};
  int64_t failures_in_a_row = 0;
};

namespace {

class FileSink final : public Exporter::Sink {
 public:
  explicit FileSink(ExportFileConfig config) : config_(std::move(config)) {}

  Status Write(const std::vector<OutboxEntry>& entries) override {
    std::string data;
    for (const auto& entry : entries) {
      data += RenderBody(entry.event, config_.body);
      data += '\n';
    }
    CG_RETURN_IF_ERROR(RotateIfNeeded(data.size()));
    return AppendFileDurable(config_.path, data, 0640);
  }

 private:
  // Before a write that would take the file past max_bytes: path.N-1 -> path.N, ...,
  // path -> path.1; the oldest beyond `keep` is removed. A crash in between loses nothing
  // (every event written is in one of the files; the next write goes to a new file).
  Status RotateIfNeeded(size_t adding) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto size = fs::file_size(config_.path, ec);
    if (ec || size == 0 || size + adding <= config_.max_bytes) {
      return OkStatus();
    }
    const auto numbered = [&](int i) { return config_.path + "." + std::to_string(i); };
    fs::remove(numbered(config_.keep), ec);
    for (int i = config_.keep - 1; i >= 1; --i) {
      if (fs::exists(numbered(i), ec)) {
        fs::rename(numbered(i), numbered(i + 1), ec);
        if (ec) {
          return MakeError(ErrorCode::kIo, "rotating " + numbered(i) + ": " + ec.message());
        }
      }
    }
    fs::rename(config_.path, numbered(1), ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "rotating " + config_.path + ": " + ec.message());
    }
    return OkStatus();
  }

  ExportFileConfig config_;
};

class SyslogSink final : public Exporter::Sink {
 public:
  explicit SyslogSink(ExportSyslogConfig config) : config_(std::move(config)) {}

  Status Write(const std::vector<OutboxEntry>& entries) override {
    if (connection_ && !connection_->Alive()) {
      spdlog::info("export: the syslog receiver closed the connection; reconnecting");
      connection_.reset();
    }
    if (!connection_) {
      CG_ASSIGN_OR_RETURN(connection_, SyslogConnection::Connect(config_.target));
      spdlog::info("export: connected to syslog receiver {}:{}{}", config_.target.host,
                   config_.target.port, config_.target.tls ? " (TLS)" : "");
    }
    std::string data;
    for (const auto& entry : entries) {
      data += OctetCounted(
          Syslog5424(entry.event, RenderBody(entry.event, config_.body), config_.format));
    }
    if (auto s = connection_->Write(data); !s.ok()) {
      connection_.reset();
      return s;
    }
    return OkStatus();
  }

 private:
  ExportSyslogConfig config_;
  std::unique_ptr<SyslogConnection> connection_;
};

}  // namespace

Exporter::Exporter(Storage& storage, ExportConfig config, std::function<SysTime()> now,
                   std::function<void()> sweep)
    : storage_(storage),
      config_(std::move(config)),
      now_(std::move(now)),
      sweep_(std::move(sweep)) {
  if (config_.file) {
    auto sink = std::make_unique<FileSink>(*config_.file);
    sink->name = kFileSink;
    sink->metric = 0;
    sinks_.push_back(std::move(sink));
  }
  if (config_.syslog) {
    auto sink = std::make_unique<SyslogSink>(*config_.syslog);
    sink->name = kSyslogSink;
    sink->metric = 1;
    sinks_.push_back(std::move(sink));
  }
}

Exporter::~Exporter() { Stop(); }

void Exporter::Start() {
  std::lock_guard lock(mu_);
  if (!thread_.joinable() && !stopping_) {
    thread_ = std::thread([this] { Loop(); });
  }
}

void Exporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Exporter::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

size_t Exporter::Deliver(Sink& sink) {
  const auto now = std::chrono::steady_clock::now();
  if (now < sink.next_attempt) {
    return 0;
  }
  size_t delivered = 0;
  while (true) {
    auto entries = storage_.ReadOutbox(sink.name, config_.batch);
    Status written = entries.ok() ? OkStatus() : Status(entries.error());
    if (entries.ok() && entries->empty()) {
      break;
    }
    if (written.ok()) {
      written = sink.Write(*entries);
    }
    // Delivered only once written; a failure to record it means the batch goes again (a
    // duplicate the receiver drops by event.id), never that it is skipped.
    if (written.ok()) {
      written = storage_.MarkExported(sink.name, entries->back().seq, now_());
      if (written.ok()) {
        Metrics().export_delivered[sink.metric].Inc(entries->size());
        delivered += entries->size();
      }
    }
    if (!written.ok()) {
      Metrics().export_failures[sink.metric].Inc();
      ++sink.failures_in_a_row;
      sink.backoff = sink.backoff.count() == 0 ? config_.retry_initial
                                               : std::min(config_.retry_max, sink.backoff * 2);
      // Up to a quarter less, so that several SOC nodes do not retry in step.
      thread_local std::minstd_rand rng{std::random_device{}()};
      const auto jitter = std::chrono::milliseconds(
          std::uniform_int_distribution<int64_t>(0, sink.backoff.count() / 4)(rng));
      sink.next_attempt = std::chrono::steady_clock::now() + sink.backoff - jitter;
      // The first failure and then every tenth: a receiver down for a day is not 3,000 lines.
      if (sink.failures_in_a_row == 1 || sink.failures_in_a_row % 10 == 0) {
        spdlog::warn("export to {} failed ({} in a row), retrying in {} ms: {}", sink.name,
                     sink.failures_in_a_row, (sink.backoff - jitter).count(),
                     written.error().ToString());
      }
      break;
    }
    if (sink.failures_in_a_row > 0) {
      spdlog::info("export to {} works again after {} failed attempt(s)", sink.name,
                   sink.failures_in_a_row);
    }
    sink.failures_in_a_row = 0;
    sink.backoff = std::chrono::milliseconds(0);
    if (entries->size() < config_.batch) {
      break;
    }
  }
  return delivered;
}

size_t Exporter::RunOnce() {
  size_t delivered = 0;
  for (auto& sink : sinks_) {
    delivered += Deliver(*sink);
  }
  if (delivered > 0) {
    if (auto pruned = storage_.PruneOutbox(config_.SinkNames()); !pruned.ok()) {
      spdlog::warn("export: pruning delivered events failed: {}", pruned.error().ToString());
    }
  }
  return delivered;
}

int64_t Exporter::Housekeep() {
  if (sweep_) {
    sweep_();
  }
  if (!sinks_.empty()) {
    return 0;  // delivered events are pruned by RunOnce; undelivered ones wait for their sink
  }
  int64_t trimmed = 0;
  const SysTime before = now_() - config_.unexported_keep;
  // Small transactions, like retention, so that ingest never waits long for the write lock.
  while (true) {
    auto n = storage_.TrimOutbox(before, config_.batch);
    if (!n.ok()) {
      spdlog::warn("export: trimming the outbox failed: {}", n.error().ToString());
      break;
    }
    trimmed += *n;
    if (*n < static_cast<int64_t>(config_.batch)) {
      break;
    }
    std::lock_guard lock(mu_);
    if (stopping_) {
      break;
    }
  }
  if (trimmed > 0) {
    spdlog::info("export: no sink configured, {} event(s) older than {} days deleted", trimmed,
                 config_.unexported_keep.count() / 86400);
  }
  return trimmed;
}

void Exporter::Loop() {
  auto next_sweep = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (std::chrono::steady_clock::now() >= next_sweep) {
      Housekeep();
      next_sweep = std::chrono::steady_clock::now() + config_.stale_sweep_interval;
    }
    RunOnce();
    lock.lock();
    // The next poll, or sooner when a sink's back-off ends first.
    auto wake_at = std::chrono::steady_clock::now() + config_.poll_interval;
    for (const auto& sink : sinks_) {
      if (sink->failures_in_a_row > 0) {
        wake_at = std::max(std::min(wake_at, sink->next_attempt), std::chrono::steady_clock::now());
      }
    }
    cv_.wait_until(lock, wake_at, [&] { return stopping_ || woken_; });
    woken_ = false;
  }
}

}  // namespace cg::soc

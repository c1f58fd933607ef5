// Batches, answers, backoff and reconnection of the spool sender.
#include "agent/sender.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "protocol/https_client.h"
#include "protocol/json.h"

namespace cg::agent {
namespace {

using nlohmann::json;

// One HTTP answer turned into "done", "retry later (after this)", or "give up on this report".
struct Outcome {
  enum Kind { kCommitted, kRejected, kRetry } kind = kRetry;
  std::optional<std::chrono::seconds> retry_after;
  std::string reason;
};

std::string ErrorText(const protocol::HttpResponse& r) {
  const json body = protocol::ParseJsonOrDiscarded(r.body);
  std::string message;
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message = body["error"].value("message", "");
  }
  return "SOC answered " + std::to_string(r.status) + (message.empty() ? "" : ": " + message);
}

std::optional<std::chrono::seconds> RetryAfterOf(const protocol::HttpResponse& r) {
  for (const auto& [name, value] : r.headers) {
    if (name.size() == 11 && std::equal(name.begin(), name.end(), "retry-after",
                                        [](char a, char b) { return std::tolower(a) == b; })) {
      return ParseRetryAfter(value);
    }
  }
  return std::nullopt;
}

// 408, 425, 429 and 5xx are the SOC's or the network's trouble: retry. Other 4xx but 401/403:
// this report will never be accepted as it is (invalid, or another device's).
bool Retryable(int status) {
  return status == 408 || status == 425 || status == 429 || status >= 500;
}

// 401/403 for the request as a whole are about the connection's credentials (a certificate
// superseded by a renewal, a device revoked meanwhile), not about the reports: they stay
// spooled and go again on a new connection.
bool CredentialsRefused(int status) { return status == 401 || status == 403; }

}  // namespace

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  while (!value.empty() && value.back() == ' ') {
    value.remove_suffix(1);
  }
  int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::min<int64_t>(seconds, 24 * 3600));
}

Sender::Sender(Spool& spool, Connector connect, SenderOptions options, Sleeper sleep, uint64_t seed)
    : spool_(spool),
      connect_(std::move(connect)),
      options_(options),
      sleep_(std::move(sleep)),
      rng_(seed) {}

std::chrono::milliseconds Sender::Backoff(int attempt,
                                          std::optional<std::chrono::seconds> retry_after) {
  using std::chrono::milliseconds;
  if (retry_after) {
    // The SOC said when; a little jitter on top keeps agents told the same from colliding.
    const auto base = std::min<milliseconds>(*retry_after, options_.backoff_max);
    std::uniform_int_distribution<int64_t> extra(0, std::max<int64_t>(base.count() / 10, 1));
    return base + milliseconds(extra(rng_));
  }
  const int shift = std::min(attempt - 1, 20);
  const int64_t ceiling =
      std::min<int64_t>(options_.backoff_initial.count() << shift, options_.backoff_max.count());
  std::uniform_int_distribution<int64_t> full_jitter(0, std::max<int64_t>(ceiling, 1));
  return milliseconds(full_jitter(rng_));
}

Result<Transport*> Sender::Connection() {
  if (transport_ && transport_->Stale()) {
    spdlog::info("the device certificate changed; reconnecting with the new one");
    transport_->Close();
    transport_.reset();
  }
  if (!transport_) {
    CG_ASSIGN_OR_RETURN(transport_, connect_());
  }
  return transport_.get();
}

Result<DeliveryResult> Sender::Deliver() {
  DeliveryResult result;
  CG_ASSIGN_OR_RETURN(auto entries, spool_.List(/*repair=*/true));
  if (entries.empty()) {
    failures_ = 0;
    return result;
  }
  if (failures_ > 0 && options_.reconnect_window.count() > 0) {
    std::uniform_int_distribution<int64_t> spread(0, options_.reconnect_window.count() - 1);
    const std::chrono::milliseconds wait(spread(rng_));
    spdlog::info("delivery failed before; reconnecting in {} ms (spread over {} ms)", wait.count(),
                 options_.reconnect_window.count());
    sleep_(wait);
  }
  size_t next = 0;  // first entry not yet committed, rejected or skipped
  int attempt = 0;
  std::optional<Error> last_error;
  bool batch_route = true;
  while (next < entries.size()) {
    // A batch: consecutive entries up to the count and byte bounds (at least one).
    std::vector<const SpoolEntry*> batch;
    std::vector<std::string> bodies;
    size_t bytes = 0;
    for (size_t i = next; i < entries.size() && batch.size() < options_.max_batch_reports; ++i) {
      if (!batch.empty() && bytes + entries[i].bytes > options_.max_batch_bytes) {
        break;
      }
      auto body = spool_.Read(entries[i]);
      if (!body.ok()) {
        if (body.error().code == ErrorCode::kParse) {
          ++result.corrupt;  // moved aside by Read; the queue goes on
          if (batch.empty()) {
            next = i + 1;
          }
          continue;
        }
        return std::move(body).error();
      }
      bytes += body->size();
      batch.push_back(&entries[i]);
      bodies.push_back(std::move(body).value());
    }
    if (batch.empty()) {
      continue;  // everything left was corrupt
    }
    // Entries in [next, last batch entry] that are not in the batch were corrupt: skip them too.
    const size_t after_batch = static_cast<size_t>(batch.back() - entries.data()) + 1;

    std::vector<Outcome> outcomes(batch.size());
    std::optional<std::chrono::seconds> retry_after;
    std::optional<Error> failure;
    auto connection = Connection();
    if (!connection.ok()) {
      failure = connection.error();
    } else if (batch.size() == 1 || !batch_route) {
      // One report: the single route (also the fallback for a SOC without the batch route).
      auto r = (*connection)->Post("/v1/reports", bodies.front());
      if (!r.ok()) {
        failure = r.error();
      } else if (r->status == 200) {
        outcomes[0].kind = Outcome::kCommitted;
      } else if (CredentialsRefused(r->status)) {
        failure = MakeError(ErrorCode::kPermissionDenied, ErrorText(*r));
      } else if (Retryable(r->status)) {
        retry_after = RetryAfterOf(*r);
        failure = MakeError(ErrorCode::kUnavailable, ErrorText(*r));
      } else {
        outcomes[0].kind = Outcome::kRejected;
        outcomes[0].reason = ErrorText(*r);
      }
      batch.resize(1);
      outcomes.resize(1);
    } else {
      json reports = json::array();
      for (const auto& body : bodies) {
        reports.push_back(json::parse(body, nullptr, /*allow_exceptions=*/false));
      }
      const json request = {{"reports", std::move(reports)}};
      auto r = (*connection)->Post("/v1/reports/batch", request.dump());
      if (!r.ok()) {
        failure = r.error();
      } else if (r->status == 404 || r->status == 405) {
        spdlog::info("the SOC has no batch route; sending reports one by one");
        batch_route = false;
        continue;
      } else if (r->status != 200) {
        if (CredentialsRefused(r->status)) {
          failure = MakeError(ErrorCode::kPermissionDenied, ErrorText(*r));
        } else if (Retryable(r->status)) {
          retry_after = RetryAfterOf(*r);
          failure = MakeError(ErrorCode::kUnavailable, ErrorText(*r));
        } else {
          failure = MakeError(ErrorCode::kInvalidArgument, "batch refused: " + ErrorText(*r));
          batch_route = false;  // try the reports one by one: each gets its own verdict
        }
      } else {
        const json answer = protocol::ParseJsonOrDiscarded(r->body);
        const json* results =
            answer.is_object() && answer.contains("results") ? &answer["results"] : nullptr;
        if (results == nullptr || !results->is_array() || results->size() != batch.size()) {
          failure = MakeError(ErrorCode::kParse, "the SOC's batch answer is not understood");
        } else {
          for (size_t i = 0; i < batch.size(); ++i) {
            const json& e = (*results)[i];
            const std::string status = e.is_object() ? e.value("status", "") : "";
            if (!e.is_object() || e.value("report_id", "") != batch[i]->report_id) {
              failure = MakeError(ErrorCode::kParse, "the SOC's batch answer is out of order");
              break;
            }
            if (status == "committed") {
              outcomes[i].kind = Outcome::kCommitted;
            } else if (status == "rejected") {
              outcomes[i].kind = Outcome::kRejected;
              outcomes[i].reason = e.contains("error") ? e["error"].dump() : "rejected";
            } else {
              outcomes[i].kind = Outcome::kRetry;
            }
          }
        }
      }
    }
    // Apply the verdicts in order; stop at the first report to retry (order per device).
    size_t handled = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (failure && outcomes[i].kind == Outcome::kRetry) {
        break;
      }
      if (outcomes[i].kind == Outcome::kCommitted) {
        CG_RETURN_IF_ERROR(spool_.Remove(*batch[i]));
        ++result.committed;
      } else if (outcomes[i].kind == Outcome::kRejected) {
        CG_RETURN_IF_ERROR(spool_.Reject(*batch[i], outcomes[i].reason));
        ++result.rejected;
      } else {
        failure = MakeError(ErrorCode::kUnavailable,
                            "the SOC could not store report " + batch[i]->report_id + " yet");
        break;
      }
      ++handled;
    }
    if (handled == batch.size()) {
      next = batch.size() == 1 ? static_cast<size_t>(batch[0] - entries.data()) + 1 : after_batch;
      attempt = 0;
      continue;
    }
    next = static_cast<size_t>(batch[handled] - entries.data());
    // Something to retry: drop the connection on transport errors, back off, try again.
    last_error = failure;
    if (!failure || failure->code == ErrorCode::kNetwork || failure->code == ErrorCode::kTimeout ||
        failure->code == ErrorCode::kTls || failure->code == ErrorCode::kParse ||
        failure->code == ErrorCode::kPermissionDenied) {
      if (transport_) {
        transport_->Close();
        transport_.reset();
      }
    }
    // A revoked certificate stays revoked: no point in knocking again now.
    if (++attempt >= options_.max_attempts ||
        (failure && protocol::IsCertificateRevoked(*failure))) {
      ++failures_;
      return last_error->Wrap("delivery stopped after " + std::to_string(attempt) + " attempts; " +
                              std::to_string(entries.size() - next) + " report(s) stay spooled");
    }
    const auto wait = Backoff(attempt, retry_after);
    spdlog::warn("delivery attempt {} failed ({}); next in {} ms", attempt,
                 last_error ? last_error->ToString() : "?", wait.count());
    sleep_(wait);
  }
  failures_ = 0;
  return result;
}

}  // namespace cg::agent

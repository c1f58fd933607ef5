// Device certificate renewal over mutual TLS.
#include "agent/renewal.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>

#include "agent/soc_client.h"
#include "platform/os/files.h"
#include "platform/os/secret_file.h"
#include "protocol/http.h"
#include "protocol/https_client.h"
#include "protocol/json.h"
#include "protocol/pki.h"

namespace cg::agent {
namespace {

using nlohmann::json;

std::string PendingKeyPath(const StateDir& state) { return state.path() + "/renew.key"; }
std::string PendingCertPath(const StateDir& state) { return state.path() + "/renew.crt"; }

// The new key and certificate are first written beside the current ones; renew.crt existing
// means the pair is complete and is moved into place (key first). Called before every use, so a
// renewal interrupted by a crash is finished (or, without renew.crt, dropped) on the next cycle.
Status FinishPendingRenewal(const StateDir& state) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!FileExists(PendingCertPath(state))) {
    fs::remove(PendingKeyPath(state), ec);  // an incomplete pair: nothing was switched
    return OkStatus();
  }
  if (FileExists(PendingKeyPath(state))) {
    fs::rename(PendingKeyPath(state), state.KeyPath(), ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "installing the renewed key: " + ec.message());
    }
  }
  fs::rename(PendingCertPath(state), state.CertPath(), ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "installing the renewed certificate: " + ec.message());
  }
  return OkStatus();
}

class OffsetClock final : public platform::Clock {
 public:
  OffsetClock(std::unique_ptr<platform::Clock> inner, std::chrono::seconds offset)
      : inner_(std::move(inner)), offset_(offset) {}
  SysTime Now() const override { return inner_->Now() + offset_; }
  std::chrono::minutes UtcOffset() const override { return inner_->UtcOffset(); }

 private:
  std::unique_ptr<platform::Clock> inner_;
  std::chrono::seconds offset_;
};

// Asks the SOC for a new certificate; on success both new files are in place.
Status Renew(const StateDir& state, const Enrollment& enrollment, std::chrono::seconds timeout) {
  CG_ASSIGN_OR_RETURN(auto key, protocol::GenerateP256Key());
  CG_ASSIGN_OR_RETURN(auto csr, protocol::MakeCsrPem(*key, enrollment.device_id));
  CG_ASSIGN_OR_RETURN(auto client, ConnectAsDevice(state, enrollment.server, timeout));
  CG_ASSIGN_OR_RETURN(auto response,
                      client->Request("POST", "/v1/renew", json{{"csr_pem", csr}}.dump()));
  const json answer = protocol::ParseJsonOrDiscarded(response.body);
  if (response.status != 200) {
    std::string message;
    if (!answer.is_discarded() && answer.contains("error") && answer["error"].is_object()) {
      message = answer["error"].value("message", "");
    }
    return MakeError(ErrorCode::kUnavailable, "SOC answered " + std::to_string(response.status) +
                                                  (message.empty() ? "" : ": " + message));
  }
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("certificate_pem")) {
    return MakeError(ErrorCode::kParse, "the SOC's answer is not understood");
  }
  const std::string cert_pem = answer.value("certificate_pem", "");
  CG_ASSIGN_OR_RETURN(auto cert, protocol::CertificateFromPem(cert_pem));
  CG_ASSIGN_OR_RETURN(auto info, protocol::InspectCertificate(*cert));
  if (info.subject_cn != enrollment.device_id) {
    return MakeError(ErrorCode::kCrypto, "the renewed certificate names another device");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kCrypto, "the renewed certificate is not for the key sent");
  }
  client->Close();
  CG_ASSIGN_OR_RETURN(auto key_pem, protocol::PrivateKeyToPem(*key));
  CG_RETURN_IF_ERROR(WriteSecretFile(PendingKeyPath(state), key_pem));
  CG_RETURN_IF_ERROR(WriteFileAtomic(PendingCertPath(state), cert_pem, 0644));
  CG_RETURN_IF_ERROR(FinishPendingRenewal(state));
  spdlog::info("device certificate renewed: serial {}, valid until {}", info.serial_hex,
               FormatRfc3339(info.not_after));
  return OkStatus();
}

}  // namespace

RenewalPlan PlanRenewal(SysTime not_before, SysTime not_after, SysTime now) {
  RenewalPlan plan;
  const auto lifetime = not_after > not_before ? not_after - not_before : SysTime::duration(0);
  plan.due = not_before + lifetime * 2 / 3;
  if (now >= not_after) {
    plan.action = RenewalAction::kExpired;
  } else if (now >= plan.due) {
    plan.action = RenewalAction::kRenew;
  }
  return plan;
}

Status RenewCertificateIfDue(const StateDir& state, const Enrollment& enrollment,
                             const platform::Clock& clock, std::chrono::seconds timeout) {
  CG_RETURN_IF_ERROR(FinishPendingRenewal(state));
  CG_ASSIGN_OR_RETURN(auto pem, ReadFileToString(state.CertPath(), 1u << 20));
  auto info = protocol::InspectCertificatePem(pem);
  if (!info.ok()) {
    return info.error().Wrap(state.CertPath());
  }
  const RenewalPlan plan = PlanRenewal(info->not_before, info->not_after, clock.Now());
  switch (plan.action) {
    case RenewalAction::kNone:
      return OkStatus();
    case RenewalAction::kExpired: {
      Error expired = MakeError(
          ErrorCode::kPermissionDenied,
          "the device certificate expired at " + FormatRfc3339(info->not_after) +
              " and the SOC no longer accepts it: ask the SOC admin for a new enrollment token "
              "(`cgctl enroll-token create --group " +
              enrollment.group + "`) and run `cg-agent enroll --server " + enrollment.server +
              " --token-file FILE --ca CA.pem --state-dir " + state.path() + "` again");
      if (auto status = state.LoadStatus(); status.ok()) {
        status->last_error = expired.ToString();
        (void)state.SaveStatus(*status);
      }
      return expired;
    }
    case RenewalAction::kRenew:
      break;
  }
  spdlog::info("device certificate {} is past two thirds of its lifetime (due {}); renewing",
               info->serial_hex, FormatRfc3339(plan.due));
  if (auto renewed = Renew(state, enrollment, timeout); !renewed.ok()) {
    spdlog::warn("certificate renewal failed, keeping the current one until the next cycle: {}",
                 renewed.error().ToString());
  }
  return OkStatus();
}

void ApplyClockOffset(platform::Platform& platform, std::chrono::seconds offset) {
  if (offset.count() == 0) {
    return;
  }
  spdlog::warn("test clock offset in effect: the agent's clock is shifted by {} s", offset.count());
  platform.clock = std::make_unique<OffsetClock>(std::move(platform.clock), offset);
}

}  // namespace cg::agent

// Enrollment, certificate renewal and the CRL (agent port).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <variant>

#include "common/ids.h"
#include "platform/os/files.h"
#include "policy/policy.h"
#include "protocol/json.h"
#include "soc/escape.h"
#include "soc/ingest_writer.h"
#include "soc/policy_hub.h"
#include "soc/service.h"
#include "soc/service_internal.h"
#include "soc/validation.h"

namespace cg::soc {

using nlohmann::json;
using protocol::HttpRequest;
using protocol::HttpResponse;

HttpResponse SocService::Enroll(Call& call) {
  const HttpRequest& request = call.request;
  // Before anything is parsed or looked up: the route is open to anyone who can connect.
  if (const auto wait = enroll_limiter_.Take(AddressOf(request.peer_address), call.now);
      wait.count() > 0) {
    spdlog::debug("enrollment from {} rate-limited (retry in {} s)", request.peer_address,
                  wait.count());
    call.skip_audit = true;
    HttpResponse response = Fail(429, "rate_limited",
                                 "too many enrollment attempts from this address; retry in " +
                                     std::to_string(wait.count()) + " s");
    response.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    return response;
  }
  if (request.body.size() > kMaxEnrollBodyBytes) {
    return Fail(413, "too_large",
                "enrollment request larger than " + std::to_string(kMaxEnrollBodyBytes) + " bytes");
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto secret = StringField(*body, "token", kMaxTokenBytes, false);
  auto csr = StringField(*body, "csr_pem", protocol::kMaxCsrBytes, false, /*multiline=*/true);
  auto hostname = StringField(*body, "hostname", protocol::kMaxShortField, false);
  auto machine_id = StringField(*body, "machine_id", protocol::kMaxShortField, true);
  for (const auto* field : {&secret, &csr, &hostname, &machine_id}) {
    if (!field->ok()) {
      return InvalidRequest(field->error().message);
    }
  }
  call.audit_target = Clip("hostname " + *hostname, 200);
  // Never the token itself in the log: the peer, the host name it claims, the reason.
  auto refuse = [&](int status, std::string_view code, const std::string& reason) {
    spdlog::warn("enrollment from {} (hostname '{}') refused: {}", request.peer_address, *hostname,
                 reason);
    return Fail(status, code, reason);
  };
  const std::string token_hash = Sha256Hex(*secret);
  auto token = storage_.FindEnrollmentTokenByHash(token_hash);
  if (!token.ok()) {
    if (token.error().code == ErrorCode::kNotFound) {
      return refuse(401, "unauthenticated", "unknown enrollment token");
    }
    return StorageFailure("looking up an enrollment token", token.error());
  }
  call.audit_actor = "enroll-token " + token->id;
  if (auto refusal = EnrollmentTokenRefusal(*token, call.now)) {
    return refuse(403, "forbidden", *refusal);
  }

  // The same machine enrolling again becomes a new certificate of its device only when an admin
  // allowed it (`cgctl device allow-reenroll`) and the token is for the device's own group: the
  // machine id is no secret (world-readable on the PC, shown to analysts), so neither a token
  // alone nor an expired certificate is consent. Every other attempt is refused and stays an
  // open conflict until an admin closes it (`cgctl conflicts resolve`).
  auto same_machine = storage_.FindDevicesByMachine(*machine_id, *hostname);
  if (!same_machine.ok()) {
    return StorageFailure("looking up devices of a machine", same_machine.error());
  }
  std::optional<Device> previous;
  if (!same_machine->empty()) {
    const Device* target = &same_machine->front();
    for (const Device& d : *same_machine) {
      if (d.reenroll_allowed) {
        target = &d;
        break;
      }
    }
    std::string refusal;
    if (!target->reenroll_allowed) {
      const std::string state = target->revoked                      ? " (revoked)"
                                : call.now >= target->cert_not_after ? " (certificate expired)"
                                                                     : "";
      refusal = "this machine is already enrolled as device " + target->device_id + state +
                "; an admin must allow it to enroll again (`cgctl device allow-reenroll " +
                target->device_id + "`, see `cgctl conflicts`), with a token for its group " +
                target->group;
    } else if (token->group != target->group) {
      refusal = "device " + target->device_id + " belongs to group " + target->group +
                "; enrolling it again needs a token for that group, not " + token->group;
    }
    if (refusal.empty()) {
      previous = *target;
    } else {
      EnrollmentConflict conflict;
      conflict.time = call.now;
      conflict.device_id = target->device_id;
      conflict.hostname = *hostname;
      conflict.machine_id = *machine_id;
      conflict.group = token->group;
      conflict.source = Clip(request.peer_address, 64);
      if (auto added = storage_.AddEnrollmentConflict(conflict); !added.ok()) {
        return StorageFailure("recording an enrollment conflict", added.error());
      }
      call.audit_target = "conflict with device " + target->device_id;
      return refuse(409, "conflict", refusal);
    }
  }

  const std::string device_id = previous ? previous->device_id : NewUuid();
  auto certificate = ca_.IssueDeviceCertificate(*csr, device_id, token->group,
                                                config_.device_cert_validity, call.now);
  if (!certificate.ok()) {
    if (certificate.error().code == ErrorCode::kInvalidArgument) {
      return refuse(400, "bad_csr", certificate.error().message);
    }
    spdlog::error("issuing a device certificate failed: {}", certificate.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  auto info = protocol::InspectCertificatePem(*certificate);
  if (!info.ok()) {
    spdlog::error("reading back an issued certificate failed: {}", info.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  // The token is used only now, so a CSR the CA refuses does not cost one of its uses. Another
  // enrollment may have used it up meanwhile: the certificate above is then dropped unseen.
  auto consumed = storage_.ConsumeEnrollmentToken(token_hash, call.now);
  if (!consumed.ok()) {
    switch (consumed.error().code) {
      case ErrorCode::kNotFound:
        return refuse(401, "unauthenticated", consumed.error().message);
      case ErrorCode::kPermissionDenied:
        return refuse(403, "forbidden", consumed.error().message);
      default:
        return StorageFailure("using an enrollment token", consumed.error());
    }
  }
  call.audit_target = "device " + device_id;
  if (previous) {
    auto replaced = storage_.ReplaceDeviceCertificate(
        device_id, previous->cert_serial, info->serial_hex, info->not_after, consumed->group,
        /*reenroll=*/previous->reenroll_allowed, call.now);
    if (!replaced.ok()) {
      if (replaced.error().code == ErrorCode::kConflict) {
        return refuse(409, "conflict", "the device changed meanwhile; enroll again");
      }
      return StorageFailure("re-enrolling a device", replaced.error());
    }
    RepublishCrl();
    spdlog::info(
        "re-enrolled device {} (hostname '{}') into group {} from {} with enrollment token {}: "
        "certificate {} supersedes {}",
        device_id, *hostname, consumed->group, request.peer_address, consumed->id, info->serial_hex,
        previous->cert_serial);
  } else {
    Device device;
    device.device_id = device_id;
    device.hostname = *hostname;
    device.machine_id = *machine_id;
    device.group = consumed->group;
    device.cert_serial = info->serial_hex;
    device.cert_not_after = info->not_after;
    device.enrolled_at = call.now;
    // Another node (or thread) may be enrolling the same machine right now: the database
    // lets one of them make the device.
    if (auto added = storage_.AddEnrolledDevice(device); !added.ok()) {
      if (added.error().code == ErrorCode::kAlreadyExists) {
        return refuse(409, "conflict",
                      added.error().message +
                          " (enrolled meanwhile; the enrollment token use is "
                          "spent: see `cgctl devices` before enrolling again)");
      }
      return StorageFailure("storing an enrolled device", added.error());
    }
    spdlog::info(
        "enrolled device {} (hostname '{}') into group {} from {} with enrollment token {}",
        device_id, *hostname, consumed->group, request.peer_address, consumed->id);
  }
  return HttpResponse::Json(200, {{"device_id", device_id},
                                  {"group", consumed->group},
                                  {"reenrolled", previous.has_value()},
                                  {"certificate_pem", *certificate},
                                  {"ca_pem", ca_.cert_pem()}});
}

HttpResponse SocService::Renew(Call& call) {
  const HttpRequest& request = call.request;
  const protocol::PeerCertificate& peer = *request.peer_cert;  // Access::kDevice
  call.audit_actor = "device " + Clip(peer.subject_cn, 64);
  call.audit_target = "certificate " + Clip(peer.serial_hex, 64);
  // Every renewal signs a certificate and may supersede one (a CRL entry): a device gets a few
  // a day, not a flood.
  if (const auto wait = renew_limiter_.Take(peer.subject_cn, call.now); wait.count() > 0) {
    spdlog::warn("certificate renewal from {} (device {}) rate-limited (retry in {} s)",
                 request.peer_address, peer.subject_cn, wait.count());
    HttpResponse response = Fail(429, "rate_limited",
                                 "too many certificate renewals for this device; retry in " +
                                     std::to_string(wait.count()) + " s");
    response.headers.emplace_back("Retry-After", std::to_string(wait.count()));
    return response;
  }
  if (request.body.size() > kMaxEnrollBodyBytes) {
    return Fail(413, "too_large",
                "renewal request larger than " + std::to_string(kMaxEnrollBodyBytes) + " bytes");
  }
  auto body = ParseJsonBody(request.body);
  if (!body.ok()) {
    return Fail(400, "bad_json", body.error().message);
  }
  auto csr = StringField(*body, "csr_pem", protocol::kMaxCsrBytes, false, /*multiline=*/true);
  if (!csr.ok()) {
    return InvalidRequest(csr.error().message);
  }
  auto refuse = [&](int status, std::string_view code, const std::string& reason) {
    spdlog::warn("certificate renewal from {} (device {}) refused: {}", request.peer_address,
                 peer.subject_cn, reason);
    return Fail(status, code, reason);
  };
  const Device* device = &*call.device;  // Access::kDevice: live, and this is its certificate
  auto certificate = ca_.IssueDeviceCertificate(*csr, device->device_id, device->group,
                                                config_.device_cert_validity, call.now);
  if (!certificate.ok()) {
    if (certificate.error().code == ErrorCode::kInvalidArgument) {
      return refuse(400, "bad_csr", certificate.error().message);
    }
    spdlog::error("issuing a renewed certificate failed: {}", certificate.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  auto info = protocol::InspectCertificatePem(*certificate);
  if (!info.ok()) {
    spdlog::error("reading back an issued certificate failed: {}", info.error().ToString());
    return Fail(500, "internal", "the certificate could not be issued");
  }
  // The new certificate is pending: the current one stays valid until the device first uses the
  // new one, so an answer lost on the way (or an agent that dies before installing it) leaves
  // the device able to try again.
  const bool replaces_pending = !device->pending_cert_serial.empty();
  auto offered = storage_.OfferRenewedCertificate(device->device_id, peer.serial_hex,
                                                  info->serial_hex, info->not_after, call.now);
  if (!offered.ok()) {
    if (offered.error().code == ErrorCode::kConflict) {
      return refuse(409, "conflict", "the certificate was replaced or revoked meanwhile");
    }
    return StorageFailure("renewing a device certificate", offered.error());
  }
  call.audit_target = "certificate " + info->serial_hex + " renews " + peer.serial_hex;
  if (replaces_pending) {
    RepublishCrl();  // the unused earlier renewal is superseded
  }
  spdlog::info(
      "device {} renewed its certificate: {} (until {}) will supersede {} at its first use",
      device->device_id, info->serial_hex, FormatRfc3339(info->not_after), peer.serial_hex);
  return HttpResponse::Json(200, {{"device_id", device->device_id},
                                  {"certificate_pem", *certificate},
                                  {"not_after", FormatRfc3339(info->not_after)},
                                  {"ca_pem", ca_.cert_pem()}});
}

HttpResponse SocService::GetCrl(Call&) {
  auto crl = CrlPem();
  if (!crl.ok()) {
    spdlog::error("building the CRL failed: {}", crl.error().ToString());
    return Fail(500, "internal", "the CRL could not be built");
  }
  HttpResponse response;
  response.status = 200;
  response.content_type = "application/x-pem-file";
  response.body = std::move(crl).value();
  return response;
}

Result<std::string> SocService::CrlPem() {
  std::lock_guard lock(crl_mu_);
  return CrlPemLocked();
}

Result<std::string> SocService::CrlPemLocked() {
  const SysTime now = now_();
  // Re-signed when something changed (RepublishCrl drops the cache) or halfway to nextUpdate,
  // never per request: GET /v1/crl.pem needs no authentication.
  if (crl_cache_ && now >= crl_cache_->issued_at &&
      now < crl_cache_->issued_at + config_.crl_validity / 2) {
    return crl_cache_->pem;
  }
  CG_ASSIGN_OR_RETURN(auto revoked, storage_.ListRevokedCertificates(now));
  std::vector<protocol::CertificateAuthority::CrlEntry> entries;
  entries.reserve(revoked.size());
  for (const auto& r : revoked) {
    entries.push_back({r.serial_hex, r.revoked_at, r.reason == "superseded"});
  }
  // The CRL number must grow with every new CRL, across restarts and across the nodes of one
  // SOC: the database hands it out.
  CG_ASSIGN_OR_RETURN(const int64_t number, storage_.NextCrlNumber(now));
  CG_ASSIGN_OR_RETURN(auto pem, ca_.IssueCrl(entries, number, config_.crl_validity, now));
  crl_cache_ = CachedCrl{pem, now};
  return pem;
}

Status SocService::PublishCrl() {
  std::lock_guard lock(crl_mu_);
  CG_ASSIGN_OR_RETURN(auto pem, CrlPemLocked());
  if (config_.crl_file.empty()) {
    return OkStatus();
  }
  return WriteFileAtomic(config_.crl_file, pem, 0644);
}

void SocService::RepublishCrl() {
  Announce(ClusterEventKind::kCertificatesChanged, {});
  RefreshCrl();
}

void SocService::RefreshCrl() {
  {
    std::lock_guard lock(crl_mu_);
    crl_cache_.reset();
  }
  if (auto s = PublishCrl(); !s.ok()) {
    spdlog::error("rewriting the CRL {} failed (revocation itself is in effect): {}",
                  config_.crl_file, s.error().ToString());
  }
}

}  // namespace cg::soc

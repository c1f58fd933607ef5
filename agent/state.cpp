// State directory layout and its durable files.
#include "agent/state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>

#include "agent/spool.h"
#include "common/ids.h"
#include "platform/os/files.h"

namespace cg::agent {
namespace {

using nlohmann::json;

Result<json> LoadJson(const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 1u << 20));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kParse, path + ": not a JSON object (corrupt state file)");
  }
  return j;
}

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Status StateDir::Prepare() const {
  CG_RETURN_IF_ERROR(EnsureDirectory(path_, 0700));
  return EnsureDirectory(SpoolDir(), 0700);
}

Result<std::optional<Enrollment>> StateDir::LoadEnrollment() const {
  if (!FileExists(EnrollmentPath())) {
    return std::optional<Enrollment>();
  }
  CG_ASSIGN_OR_RETURN(auto j, LoadJson(EnrollmentPath()));
  Enrollment e{Str(j, "server"), Str(j, "device_id"), Str(j, "group"), Str(j, "enrolled_at")};
  if (e.server.empty() || !IsUuid(e.device_id)) {
    return MakeError(ErrorCode::kParse, EnrollmentPath() + ": missing server or device_id");
  }
  return std::optional<Enrollment>(std::move(e));
}

Status StateDir::SaveEnrollment(const Enrollment& e) const {
  const json j = {{"server", e.server},
                  {"device_id", e.device_id},
                  {"group", e.group},
                  {"enrolled_at", e.enrolled_at}};
  return WriteFileAtomic(EnrollmentPath(), j.dump(2) + "\n", 0600);
}

Result<RunStatus> StateDir::LoadStatus() const {
  RunStatus s;
  if (!FileExists(StatusPath())) {
    return s;
  }
  CG_ASSIGN_OR_RETURN(auto j, LoadJson(StatusPath()));
  s.last_report_at = Str(j, "last_report_at");
  s.last_report_id = Str(j, "last_report_id");
  s.last_attempt_at = Str(j, "last_attempt_at");
  s.last_error = Str(j, "last_error");
  if (auto it = j.find("policy_version"); it != j.end() && it->is_number_integer()) {
    s.policy_version = it->get<int64_t>();
  }
  return s;
}

Status StateDir::SaveStatus(const RunStatus& s) const {
  const json j = {{"last_report_at", s.last_report_at},
                  {"last_report_id", s.last_report_id},
                  {"last_attempt_at", s.last_attempt_at},
                  {"last_error", s.last_error},
                  {"policy_version", s.policy_version}};
  return WriteFileAtomic(StatusPath(), j.dump(2) + "\n", 0600);
}

Status StateDir::RecordRevoked(const std::string& error, const std::string& now) const {
  std::string first = now;
  if (auto previous = LoadRevocation(); previous.ok() && previous->has_value()) {
    first = (*previous)->first_refused_at;
  }
  const json j = {{"first_refused_at", first}, {"last_refused_at", now}, {"error", error}};
  return WriteFileAtomic(RevokedPath(), j.dump(2) + "\n", 0600);
}

Result<std::optional<Revocation>> StateDir::LoadRevocation() const {
  if (!FileExists(RevokedPath())) {
    return std::optional<Revocation>();
  }
  CG_ASSIGN_OR_RETURN(auto j, LoadJson(RevokedPath()));
  Revocation r{Str(j, "first_refused_at"), Str(j, "last_refused_at"), Str(j, "error")};
  return std::optional<Revocation>(std::move(r));
}

Status StateDir::ClearRevocation() const {
  std::error_code ec;
  std::filesystem::remove(RevokedPath(), ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "deleting " + RevokedPath() + ": " + ec.message());
  }
  return OkStatus();
}

protocol::Event SetAsideDamaged(const std::string& path, const std::string& reason, SysTime now) {
  std::string stamp = FormatRfc3339(now);
  std::replace(stamp.begin(), stamp.end(), ':', '-');
  const std::string moved = path + ".damaged-" + stamp;
  std::error_code ec;
  std::filesystem::rename(path, moved, ec);
  const std::string file = std::filesystem::path(path).filename().string();
  if (ec) {
    // Left in place: the next attempt finds it damaged again and says so again.
    spdlog::error("{} is damaged ({}) and could not be moved aside: {}", path, reason,
                  ec.message());
  } else {
    spdlog::error("{} is damaged ({}): moved to {}; it is rebuilt", path, reason, moved);
  }
  return {
      "state_file_damaged",
      FormatRfc3339(now),
      {{"file", file},
       {"reason", reason.substr(0, 300)},
       {"moved_to", ec ? json(nullptr) : json(std::filesystem::path(moved).filename().string())}}};
}

// The report-id API below predates agent/spool.h and now goes through it (checksummed
// entries, the byte bound), so that any caller still using it writes and reads the same spool
// as SpoolReport/SendSpool (agent/delivery.h), which the service loop uses.
Status StateDir::SpoolPut(const std::string& report_id, const std::string& body) const {
  if (!IsUuid(report_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "spool: report id is not a UUID");
  }
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto report =
      j.is_discarded()
          ? Result<protocol::Report>(MakeError(ErrorCode::kParse, "spool: report is not JSON"))
          : protocol::ReportFromJson(j);
  if (!report.ok()) {
    return std::move(report).error();
  }
  if (report->report_id != report_id) {
    return MakeError(ErrorCode::kInvalidArgument, "spool: report id does not match the report");
  }
  CG_RETURN_IF_ERROR(EnsureDirectory(SpoolDir(), 0700));
  return Spool(SpoolDir()).Put(*report, std::chrono::system_clock::now());
}

Result<std::vector<std::string>> StateDir::SpoolList() const {
  Spool spool(SpoolDir());
  CG_ASSIGN_OR_RETURN(auto entries, spool.List(/*repair=*/false));
  std::vector<std::string> ids;
  for (auto& e : entries) {
    ids.push_back(std::move(e.report_id));
  }
  return ids;
}

namespace {

Result<SpoolEntry> FindEntry(Spool& spool, const std::string& report_id) {
  CG_ASSIGN_OR_RETURN(auto entries, spool.List(/*repair=*/false));
  for (auto& e : entries) {
    if (e.report_id == report_id) {
      return e;
    }
  }
  return MakeError(ErrorCode::kNotFound, "spool: no report " + report_id);
}

}  // namespace

Result<std::string> StateDir::SpoolGet(const std::string& report_id) const {
  Spool spool(SpoolDir());
  CG_ASSIGN_OR_RETURN(auto entry, FindEntry(spool, report_id));
  return spool.Read(entry);
}

Status StateDir::SpoolRemove(const std::string& report_id) const {
  Spool spool(SpoolDir());
  auto entry = FindEntry(spool, report_id);
  if (!entry.ok()) {
    if (entry.error().code == ErrorCode::kNotFound) {
      return OkStatus();  // already gone: removing twice is not an error
    }
    return entry.error();
  }
  return spool.Remove(*entry);
}

}  // namespace cg::agent

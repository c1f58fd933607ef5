// State directory layout and its durable files.
#include "agent/state.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/files.h"
#include "common/ids.h"

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

Status StateDir::SpoolPut(const std::string& report_id, const std::string& body) const {
  if (!IsUuid(report_id)) {
    return MakeError(ErrorCode::kInvalidArgument, "spool: report id is not a UUID");
  }
  return WriteFileAtomic(SpoolDir() + "/" + report_id + ".json", body, 0600);
}

Result<std::vector<std::string>> StateDir::SpoolList() const {
  std::error_code ec;
  std::vector<std::pair<std::filesystem::file_time_type, std::string>> entries;
  for (const auto& entry : std::filesystem::directory_iterator(SpoolDir(), ec)) {
    const auto name = entry.path().filename().string();
    if (name.size() != 41 || !name.ends_with(".json") || !IsUuid(name.substr(0, 36))) {
      continue;  // temporary files of an interrupted write, or foreign files
    }
    std::error_code time_ec;
    const auto t = entry.last_write_time(time_ec);
    entries.emplace_back(t, name.substr(0, 36));
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, "list " + SpoolDir() + ": " + ec.message());
  }
  std::sort(entries.begin(), entries.end());
  std::vector<std::string> ids;
  for (auto& e : entries) {
    ids.push_back(std::move(e.second));
  }
  return ids;
}

Result<std::string> StateDir::SpoolGet(const std::string& report_id) const {
  return ReadFileToString(SpoolDir() + "/" + report_id + ".json", 4u << 20);
}

Status StateDir::SpoolRemove(const std::string& report_id) const {
  const std::string path = SpoolDir() + "/" + report_id + ".json";
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("remove " + path);
  }
  return OkStatus();
}

}  // namespace cg::agent

// agent.json and the enrollment token as `cg-agent service install` leaves them.
#include "agent/service_setup.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/config.h"
#include "agent/enroll_token.h"
#include "agent/state.h"
#include "platform/os/files.h"

namespace cg::agent {

using nlohmann::json;

namespace {

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
}

}  // namespace

Result<std::string> NormalizeServerAddress(const std::string& server) {
  std::string s = server;
  const auto bad = [&](const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "server '" + server + "': " + why +
                                                      " (expected HOST:PORT or https://HOST:PORT)");
  };
  if (s.starts_with("https://")) {
    s = s.substr(8);
    if (s.ends_with("/")) {
      s.pop_back();
    }
  } else if (s.find("://") != std::string::npos) {
    return bad("only https is spoken to the SOC");
  }
  if (s.find_first_of("/\\ ?#@") != std::string::npos) {
    return bad("a path or other characters after the port");
  }
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return bad("no port");
  }
  const std::string port = s.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return bad("the port is not a number from 1 to 65535");
  }
  return s;
}

Status UpdateServiceConfig(const std::string& config_file, const ServiceConfigUpdate& update) {
  json j = json::object();
  if (FileExists(config_file)) {
    CG_ASSIGN_OR_RETURN(std::string text, ReadFileToString(config_file, 64u << 10));
    j = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return MakeError(ErrorCode::kParse, config_file +
                                              ": not a JSON object; fix or delete it, then "
                                              "install again (it was left as it is)");
    }
  }
  if (update.server) {
    CG_ASSIGN_OR_RETURN(j["server"], NormalizeServerAddress(*update.server));
  }
  if (update.group) {
    if (update.group->empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "group must not be empty");
    }
    j["group"] = *update.group;
  }
  const auto fill = [&](const char* key, const std::optional<std::string>& value) {
    if (value && !j.contains(key)) {
      j[key] = *value;
    }
  };
  fill("state_dir", update.state_dir);
  fill("ca_file", update.ca_file);
  fill("policy_key_file", update.policy_key_file);
  // Checked as the service will read it, before it replaces what is there.
  const std::string candidate = config_file + ".new";
  CG_RETURN_IF_ERROR(WriteFileAtomic(candidate, j.dump(2) + "\n", 0644));
  auto checked = LoadAgentConfig(candidate);
  if (!checked.ok()) {
    RemoveQuietly(candidate);
    return checked.error();
  }
  RemoveQuietly(candidate);
  return WriteFileAtomic(config_file, j.dump(2) + "\n", 0644);
}

Result<bool> StageEnrollToken(const std::string& token_file, const std::string& destination,
                              const std::string& state_dir) {
  CG_ASSIGN_OR_RETURN(std::string token, ReadTokenFile(token_file));
  CG_ASSIGN_OR_RETURN(auto enrollment, StateDir(state_dir).LoadEnrollment());
  if (enrollment) {
    return false;
  }
  CG_RETURN_IF_ERROR(WriteFileAtomic(destination, token + "\n", 0600));
  return true;
}

}  // namespace cg::agent

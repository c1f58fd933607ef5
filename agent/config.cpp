// Agent configuration file parsing.
#include "agent/config.h"

#include <nlohmann/json.hpp>

#include "platform/os/files.h"
#include "platform/os/paths.h"

namespace cg::agent {

std::string DefaultConfigFile() { return os::DefaultAgentPaths().config_file; }
std::string DefaultEnrollTokenFile() { return os::DefaultAgentPaths().enroll_token; }
std::string DefaultStateDir() { return os::DefaultAgentPaths().state_dir; }

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(path, 64u << 10));
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kParse, path + ": not a JSON object");
  }
  AgentConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& key = it.key();
    auto bad = [&](const char* what) {
      return MakeError(ErrorCode::kInvalidArgument, path + ": '" + key + "' " + what);
    };
    if (auto* field = key == "state_dir"           ? &c.state_dir
                      : key == "log_format"        ? &c.log_format
                      : key == "log_level"         ? &c.log_level
                      : key == "server"            ? &c.server
                      : key == "ca_file"           ? &c.ca_file
                      : key == "policy_key_file"   ? &c.policy_key_file
                      : key == "group"             ? &c.group
                      : key == "enroll_token_file" ? &c.enroll_token_file
                                                   : nullptr) {
      if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
        return bad("must be a non-empty string");
      }
      *field = it->get<std::string>();
    } else if (key == "interval_seconds") {
      if (!it->is_number_integer() || it->get<int64_t>() < 10 || it->get<int64_t>() > 7 * 86400) {
        return bad("must be an integer between 10 and 604800");
      }
      c.interval_seconds = it->get<int64_t>();
    } else if (key == "spool_max_bytes") {
      if (!it->is_number_integer() || it->get<int64_t>() < (64 << 10) ||
          it->get<int64_t>() > (int64_t{1} << 40)) {
        return bad("must be an integer from 65536 to 1099511627776");
      }
      c.spool_max_bytes = it->get<int64_t>();
    } else if (key == "reconnect_window_seconds") {
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86400) {
        return bad("must be an integer from 0 to 86400");
      }
      c.reconnect_window_seconds = it->get<int64_t>();
    } else if (key == "delivery_attempts") {
      if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 20) {
        return bad("must be an integer from 1 to 20");
      }
      c.delivery_attempts = it->get<int64_t>();
    } else {
      return bad(
          "is not a known setting (state_dir, interval_seconds, log_format, log_level, "
          "spool_max_bytes, reconnect_window_seconds, delivery_attempts, server, ca_file, "
          "policy_key_file, group, enroll_token_file)");
    }
  }
  return c;
}

}  // namespace cg::agent

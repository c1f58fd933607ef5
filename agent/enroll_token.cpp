// Token files for enrollment: reading one, and the service's one-time use of enroll.token.
#include "agent/enroll_token.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "agent/state.h"
#include "common/text.h"
#include "platform/os/files.h"

namespace cg::agent {
namespace {

Status RemoveFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "deleting " + path + ": " + ec.message());
  }
  return OkStatus();
}

// The refusal or the group mismatch, for `cg-agent status`.
void KeepAsLastError(const StateDir& state, const std::string& message) {
  if (!state.Prepare().ok()) {
    return;
  }
  auto status = state.LoadStatus();
  if (!status.ok()) {
    return;
  }
  status->last_error = message;
  (void)state.SaveStatus(*status);
}

}  // namespace

Result<std::string> ReadTokenFile(const std::string& path) {
  CG_ASSIGN_OR_RETURN(auto text,
                      path == "-" ? ReadStandardInput(4096) : ReadFileToString(path, 4096));
  const std::string where = path == "-" ? "standard input" : path;
  std::string_view rest = Trim(text);
  const size_t newline = rest.find('\n');
  const std::string_view token = Trim(rest.substr(0, newline));
  if (token.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no enrollment token in " + where);
  }
  if (newline != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument,
                     where + " has more than one line; it should hold the token alone");
  }
  for (char c : token) {
    if (c == ' ' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return MakeError(ErrorCode::kInvalidArgument,
                       where + " does not hold a token (white space or control characters)");
    }
  }
  return std::string(token);
}

std::string TokenFilePath(const AgentConfig& config, const std::string& config_file) {
  if (config.enroll_token_file) {
    return *config.enroll_token_file;
  }
  // Beside the configuration, with its separator: C:\ProgramData\CounterGuard\agent.json on
  // Windows.
  const size_t slash = config_file.find_last_of("/\\");
  if (slash == std::string::npos) {
    return "./enroll.token";
  }
  return config_file.substr(0, slash + 1) + "enroll.token";
}

Status EnrollFromTokenFile(const AgentConfig& config, const std::string& config_file,
                           const std::string& state_dir, platform::Platform& platform,
                           std::function<void(std::chrono::seconds)> sleep) {
  const std::string path = TokenFilePath(config, config_file);
  if (!FileExists(path)) {
    return OkStatus();
  }
  StateDir state(state_dir);
  CG_ASSIGN_OR_RETURN(auto enrolled, state.LoadEnrollment());
  if (enrolled) {
    spdlog::warn(
        "{}: this device is already enrolled as {}; the token file is deleted unused (to "
        "enroll again, run `cg-agent enroll --token-file FILE`)",
        path, enrolled->device_id);
    return RemoveFile(path);
  }
  if (!config.server || !config.ca_file) {
    return MakeError(ErrorCode::kInvalidArgument,
                     path + " waits to be used, but " + config_file +
                         " does not name the SOC to enroll with (\"server\" and \"ca_file\")");
  }
  if (auto others = ReadableByOthers(path); others.ok() && *others) {
    spdlog::warn(
        "{} can be read by other users than root and the administrators ({}); it is "
        "deleted once used",
        path, **others);
  }
  CG_ASSIGN_OR_RETURN(auto token, ReadTokenFile(path));
  EnrollOptions options;
  options.server = *config.server;
  options.token = std::move(token);
  options.ca_file = *config.ca_file;
  options.policy_key_file = config.policy_key_file.value_or("");
  options.state_dir = state_dir;
  options.sleep = std::move(sleep);
  spdlog::info("enrolling with the token file {} at {}", path, options.server);
  auto enrollment = Enroll(options, platform);
  if (!enrollment.ok()) {
    const Error e = enrollment.error().Wrap("enrolling with " + path);
    const ErrorCode code = enrollment.error().code;
    if (code == ErrorCode::kUnauthenticated || code == ErrorCode::kPermissionDenied) {
      // Unknown, expired, revoked or used up: it will never work, and a secret lies on disk.
      KeepAsLastError(state, e.ToString() + " (token file deleted)");
      CG_RETURN_IF_ERROR(RemoveFile(path));
      return e;
    }
    KeepAsLastError(state, e.ToString() + " (the token file is kept; the service tries again)");
    return e;
  }
  CG_RETURN_IF_ERROR(RemoveFile(path));
  spdlog::info("enrolled as device {} in group {}; {} deleted", enrollment->device_id,
               enrollment->group, path);
  if (config.group && *config.group != enrollment->group) {
    const std::string message = "enrolled as device " + enrollment->device_id + " in group " +
                                enrollment->group + ", but " + config_file + " expects group " +
                                *config.group + " (a token of the wrong group?)";
    spdlog::error("{}", message);
    KeepAsLastError(state, message);
  }
  return OkStatus();
}

std::chrono::milliseconds EnrollRetryDelay(int failures, double unit) {
  constexpr std::chrono::milliseconds kFirst{10'000};
  constexpr std::chrono::milliseconds kMost{300'000};
  std::chrono::milliseconds wait = kFirst;
  for (int i = 1; i < failures && wait < kMost; ++i) {
    wait *= 2;
  }
  wait = std::min(wait, kMost);
  const double scale = 0.8 + 0.4 * std::clamp(unit, 0.0, 1.0);
  return std::chrono::milliseconds(std::llround(static_cast<double>(wait.count()) * scale));
}

}  // namespace cg::agent

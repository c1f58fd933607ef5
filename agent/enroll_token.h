// Enrollment without the token on a command line: `cg-agent enroll --token-file FILE|-`, and
// the token file an admin (or Ansible) drops at /etc/counterguard/enroll.token, which the
// service uses once at start and deletes (docs/operations.md, "Rolling out").
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "agent/agent.h"
#include "agent/config.h"
#include "common/result.h"
#include "platform/platform.h"

namespace cg::agent {

// The token in FILE ("-": standard input): its first line without surrounding white space.
// An empty file, a second non-empty line or a token with white space inside is an error (the
// file is most likely not a token).
Result<std::string> ReadTokenFile(const std::string& path);

// Where the service looks for a token file: agent.json's enroll_token_file, else enroll.token
// beside agent.json.
std::string TokenFilePath(const AgentConfig& config, const std::string& config_file);

// The service (cg-agent run --config FILE, agent.cpp's Run) and `service install`: when the
// token file exists and the device is not enrolled yet, enrolls with agent.json's server,
// ca_file and policy_key_file, and deletes the file once enrolled. A token the SOC refused for
// good (401/403) is deleted too, and the refusal is kept as the status's last error; after any
// other failure (SOC unreachable, still rate-limited) the file stays for the next attempt and
// the error is returned. On a device that is already enrolled the file is deleted unused (with
// a warning). A `group` in agent.json that differs from the group the SOC put the device in is
// logged as an error. Nothing to do (no file) is Ok. `sleep` sleeps the waits a 429 asks for
// (empty: std::this_thread::sleep_for; the service passes one that a stop ends).
Status EnrollFromTokenFile(const AgentConfig& config, const std::string& config_file,
                           const std::string& state_dir, platform::Platform& platform,
                           std::function<void(std::chrono::seconds)> sleep = {});

// How long the service waits before its next attempt with the token file after `failures`
// failed ones in a row (1, 2, ...): 10 s, doubling, at most 5 min, scaled by 0.8 + 0.4 * unit
// (unit in [0, 1), a random draw) so that the PCs of a commune whose SOC comes back do not all
// enroll in the same second.
std::chrono::milliseconds EnrollRetryDelay(int failures, double unit);

}  // namespace cg::agent

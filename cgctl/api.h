// cgctl's connection to the operator API: the global options, the bearer token (from
// --token-file, or the session `cgctl login` saved), and calls that return the JSON answer or
// the SOC's error as one line. Shared by the command files of cgctl/.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.h"
#include "protocol/https_client.h"

namespace cg::cgctl {

struct Globals {
  std::string server = "https://localhost:8444";
  std::string token_file;
  std::string ca_file;
  bool json = false;
  bool csv = false;
};

// Prints "cgctl: MESSAGE" (escaped) on stderr; returns 2.
int Fail(const std::string& message);
std::string Env(const char* name, std::string fallback);

// Where `cgctl login` keeps its session: $XDG_CONFIG_HOME/counterguard/cgctl-session.json
// (default ~/.config), 0600 in a 0700 directory.
std::string SessionFile();
// {"server", "account", "token", "expires_at", ...}; nullopt when there is none.
Result<std::optional<nlohmann::json>> LoadSession();
Status SaveSession(const nlohmann::json& session);
Status RemoveSession();

class Api {
 public:
  // With the token of --token-file (or CGCTL_TOKEN_FILE), else the saved login session for this
  // server.
  static Result<Api> Connect(const Globals& g);
  // Without a token: login and account setup.
  static Result<Api> ConnectAnonymous(const Globals& g);

  // Returns the JSON body of a 2xx answer, or the SOC's error as one line.
  Result<nlohmann::json> Call(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr);
  // The SOC's answer as it is, whatever its status (documents that are not JSON).
  Result<protocol::HttpResponse> Raw(const std::string& method, const std::string& target,
                                     const std::string& body = {});

 private:
  Api(std::unique_ptr<protocol::HttpsClient> c, std::string t)
      : client_(std::move(c)), token_(std::move(t)) {}
  static Result<std::unique_ptr<protocol::HttpsClient>> Client(const Globals& g);
  std::unique_ptr<protocol::HttpsClient> client_;
  std::string token_;
};

}  // namespace cg::cgctl

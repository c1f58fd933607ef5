// The operator API client of cgctl and the saved login session.
#include "cgctl/api.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "platform/os/files.h"
#include "platform/os/private_files.h"
#include "soc/escape.h"

namespace cg::cgctl {

using nlohmann::json;

int Fail(const std::string& message) {
  std::fprintf(stderr, "cgctl: %s\n", cg::soc::EscapeControlCharacters(message).c_str());
  return 2;
}

std::string Env(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string SessionFile() {
  std::string base = Env("XDG_CONFIG_HOME", "");
  if (base.empty()) {
    base = Env("HOME", ".") + "/.config";
  }
  return base + "/counterguard/cgctl-session.json";
}

Result<std::optional<json>> LoadSession() {
  const std::string file = SessionFile();
  if (!FileExists(file)) {
    return std::optional<json>();
  }
  // A session others can read is no secret: refused like a readable token file.
  CG_RETURN_IF_ERROR(cg::CheckPrivateFile(file, "the saved login session"));
  CG_ASSIGN_OR_RETURN(auto text, ReadFileToString(file, 64 * 1024));
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("token") || !j["token"].is_string()) {
    return MakeError(ErrorCode::kParse, file + " is not a cgctl session (remove it: cgctl logout)");
  }
  return std::optional<json>(std::move(j));
}

Status SaveSession(const json& session) {
  const std::filesystem::path file(SessionFile());
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path().parent_path(), ec);
  CG_RETURN_IF_ERROR(EnsureDirectory(file.parent_path().string(), 0700));
  return WriteFileAtomic(file.string(), session.dump(2) + "\n", 0600);
}

Status RemoveSession() {
  std::error_code ec;
  std::filesystem::remove(SessionFile(), ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "removing " + SessionFile() + ": " + ec.message());
  }
  return OkStatus();
}

Result<std::unique_ptr<protocol::HttpsClient>> Api::Client(const Globals& g) {
  if (g.ca_file.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no SOC CA: pass --ca CA.pem or set CGCTL_CA");
  }
  CG_ASSIGN_OR_RETURN(auto hp, protocol::ParseHostPort(g.server));
  protocol::ClientOptions o;
  o.host = hp.first;
  o.port = hp.second;
  o.ca_file = g.ca_file;
  return protocol::HttpsClient::Create(std::move(o));
}

Result<Api> Api::ConnectAnonymous(const Globals& g) {
  CG_ASSIGN_OR_RETURN(auto client, Client(g));
  return Api(std::move(client), "");
}

Result<Api> Api::Connect(const Globals& g) {
  std::optional<json> session;
  if (g.token_file.empty()) {
    CG_ASSIGN_OR_RETURN(session, LoadSession());
    if (!session) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "not logged in: run `cgctl login`, or pass --token-file FILE (or set "
                       "CGCTL_TOKEN_FILE) for an operator token");
    }
  }
  if (g.ca_file.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "no SOC CA: pass --ca CA.pem or set CGCTL_CA");
  }
  std::string token;
  if (!g.token_file.empty()) {
    // Refused like ssh refuses a readable private key: a token others can read is no secret.
    CG_RETURN_IF_ERROR(cg::CheckPrivateFile(g.token_file, "the operator token file"));
    CG_ASSIGN_OR_RETURN(token, ReadFileToString(g.token_file, 4096));
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
      token.pop_back();
    }
    if (token.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, g.token_file + " is empty");
    }
  } else {
    if (session->value("server", "") != g.server) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "the saved login is for " + session->value("server", "?") + ", not " +
                           g.server + ": run `cgctl login` for this server");
    }
    token = session->value("token", "");
  }
  CG_ASSIGN_OR_RETURN(auto client, Client(g));
  return Api(std::move(client), std::move(token));
}

Result<protocol::HttpResponse> Api::Raw(const std::string& method, const std::string& target,
                                        const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!token_.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token_);
  }
  return client_->Request(method, target, body, headers);
}

Result<json> Api::Call(const std::string& method, const std::string& target, const json& body) {
  CG_ASSIGN_OR_RETURN(auto r, Raw(method, target, body.is_null() ? std::string() : body.dump()));
  json j = json::parse(r.body, nullptr, false);
  if (r.status < 200 || r.status >= 300) {
    std::string message = "HTTP " + std::to_string(r.status);
    if (!j.is_discarded() && j.contains("error") && j["error"].is_object()) {
      message += ": " + j["error"].value("message", "");
    }
    return MakeError(r.status == 401   ? ErrorCode::kUnauthenticated
                     : r.status == 403 ? ErrorCode::kPermissionDenied
                     : r.status == 404 ? ErrorCode::kNotFound
                                       : ErrorCode::kInvalidArgument,
                     message);
  }
  if (j.is_discarded()) {
    return MakeError(ErrorCode::kParse, "the SOC answered something that is not JSON");
  }
  return j;
}

}  // namespace cg::cgctl

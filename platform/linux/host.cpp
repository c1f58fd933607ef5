// Host identity from the running kernel (root "/") or the files of a tree.
#include "platform/linux/host.h"

#include <limits.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <optional>

#include "common/text.h"

namespace cg::platform::linux_ {
namespace {

bool IsKey(std::string_view key) {
  if (key.empty() || (key.front() >= '0' && key.front() <= '9')) {
    return false;
  }
  for (const char c : key) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

// One shell word; nullopt for an unterminated quote.
std::optional<std::string> ParseShellWord(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      break;  // the word ends; anything after it (a comment) is not part of the value
    }
    if (c == '\'') {
      const size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) {
        return std::nullopt;
      }
      out.append(s.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        if (s[i] == '\\' && i + 1 < s.size() &&
            (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == '$' || s[i + 1] == '`')) {
          out += s[i + 1];
          i += 2;
          continue;
        }
        out += s[i++];
      }
      if (!closed) {
        return std::nullopt;
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      out += s[i + 1];
      i += 2;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

// The file's content, "" when it does not exist, an error when it exists but is unreadable.
Result<std::string> ReadOptional(const RootedFileSystem& fs, std::string_view path) {
  auto r = fs.ReadFile(path, 64u << 10);
  if (!r.ok() && r.error().code == ErrorCode::kNotFound) {
    return std::string();
  }
  return r;
}

std::string FirstLine(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (!line.empty() && line.front() != '#') {
      return std::string(line);
    }
  }
  return {};
}

}  // namespace

std::map<std::string, std::string, std::less<>> ParseOsRelease(std::string_view text) {
  std::map<std::string, std::string, std::less<>> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = Trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || !IsKey(line.substr(0, eq))) {
      continue;
    }
    if (auto value = ParseShellWord(line.substr(eq + 1))) {
      out[std::string(line.substr(0, eq))] = std::move(*value);
    }
  }
  return out;
}

Result<HostIdentity> LinuxHost::Identity() const {
  HostIdentity id;
  const bool live = fs_.root() == "/";
  if (live) {
    char name[HOST_NAME_MAX + 1] = {};
    if (::gethostname(name, sizeof(name) - 1) != 0) {
      return ErrnoError("gethostname");
    }
    id.hostname = name;
    utsname uts{};
    if (::uname(&uts) != 0) {
      return ErrnoError("uname");
    }
    id.kernel = uts.release;
    id.arch = uts.machine;
  } else {
    CG_ASSIGN_OR_RETURN(const auto hostname, ReadOptional(fs_, "/etc/hostname"));
    id.hostname = FirstLine(hostname);
    CG_ASSIGN_OR_RETURN(const auto kernel, ReadOptional(fs_, "/proc/sys/kernel/osrelease"));
    id.kernel = FirstLine(kernel);
    CG_ASSIGN_OR_RETURN(const auto arch, ReadOptional(fs_, "/proc/sys/kernel/arch"));
    id.arch = FirstLine(arch);
  }
  CG_ASSIGN_OR_RETURN(const auto machine_id, ReadOptional(fs_, "/etc/machine-id"));
  id.machine_id = FirstLine(machine_id);

  auto os_release = fs_.ReadFile("/etc/os-release", 64u << 10);
  if (!os_release.ok() && os_release.error().code == ErrorCode::kNotFound) {
    os_release = fs_.ReadFile("/usr/lib/os-release", 64u << 10);
  }
  if (!os_release.ok() && os_release.error().code != ErrorCode::kNotFound) {
    return os_release.error();
  }
  if (os_release.ok()) {
    const auto kv = ParseOsRelease(*os_release);
    auto get = [&kv](std::string_view key) -> std::string {
      const auto it = kv.find(key);
      return it == kv.end() ? std::string() : it->second;
    };
    id.os_name = get("NAME");
    if (id.os_name.empty()) {
      id.os_name = get("PRETTY_NAME");
    }
    if (id.os_name.empty()) {
      id.os_name = "Linux";
    }
    id.os_id = get("ID");
    if (id.os_id.empty()) {
      id.os_id = "linux";
    }
    id.os_version = get("VERSION_ID");
  }
  return id;
}

}  // namespace cg::platform::linux_

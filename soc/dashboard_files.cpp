// Static files of the dashboard (see dashboard_files.h).
#include "soc/dashboard_files.h"

#include <spdlog/spdlog.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/ids.h"
#include "soc/validation.h"

namespace cg::soc {
namespace {

namespace fs = std::filesystem;
using protocol::HttpRequest;
using protocol::HttpResponse;

struct TypeOf {
  std::string_view extension;
  std::string_view content_type;
};

constexpr std::array<TypeOf, 13> kTypes{{
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".webp", "image/webp"},
    {".woff2", "font/woff2"},
    {".woff", "font/woff"},
    {".map", "application/json; charset=utf-8"},
}};

bool AllowedChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}

HttpResponse NotFound() {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "not found\n";
  return r;
}

std::string ETagOf(std::string_view body) { return "\"" + Sha256Hex(body).substr(0, 32) + "\""; }

// If-None-Match: "*" or a comma-separated list of entity tags (weak ones compare equal too).
bool IfNoneMatchHas(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const size_t comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
      tag.remove_prefix(1);
    }
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
      tag.remove_suffix(1);
    }
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    if (tag == "*" || tag == etag) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string_view DashboardContentType(std::string_view file_name) {
  const size_t slash = file_name.rfind('/');
  const std::string_view base =
      slash == std::string_view::npos ? file_name : file_name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return {};
  }
  const std::string_view ext = base.substr(dot);
  for (const auto& t : kTypes) {
    if (t.extension == ext) {
      return t.content_type;
    }
  }
  return {};
}

Result<std::string> DashboardRelativePath(std::string_view request_path) {
  if (request_path.empty() || request_path.front() != '/') {
    return MakeError(ErrorCode::kInvalidArgument, "not an absolute path");
  }
  // Decoded once: an encoded '%' ("%252e") stays a '%', which is refused below.
  const std::string path = protocol::UrlDecode(request_path, /*plus_is_space=*/false);
  if (path == "/") {
    return std::string("index.html");
  }
  for (char c : path) {
    if (!AllowedChar(c)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "character outside A-Z a-z 0-9 . _ - / (backslash, NUL, '%', space...)");
    }
  }
  std::string relative = path.substr(1);
  size_t start = 0;
  while (start <= relative.size()) {
    const size_t slash = std::min(relative.find('/', start), relative.size());
    const std::string_view segment(relative.data() + start, slash - start);
    if (segment.empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "empty path segment (a directory?)");
    }
    if (segment.front() == '.') {
      return MakeError(ErrorCode::kInvalidArgument, "'.', '..' or a hidden file");
    }
    start = slash + 1;
  }
  if (DashboardContentType(relative).empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "not a file type the dashboard serves");
  }
  return relative;
}

Result<std::unique_ptr<DashboardFiles>> DashboardFiles::Open(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kNotFound, "no dashboard directory at '" + dir + "'");
  }
  const fs::path canonical = fs::canonical(dir, ec);
  if (ec) {
    return MakeError(ErrorCode::kNotFound, "dashboard directory '" + dir + "': " + ec.message());
  }
  return std::unique_ptr<DashboardFiles>(new DashboardFiles(dir, canonical.string()));
}

HttpResponse DashboardFiles::Serve(const HttpRequest& request) const {
  const std::string request_path = request.Path();
  auto relative = DashboardRelativePath(request_path);
  if (!relative.ok()) {
    spdlog::debug("dashboard: {} refused: {}", Clip(request_path, 200), relative.error().message);
    return NotFound();
  }
  std::error_code ec;
  // Symbolic links inside the directory are followed, but only to files inside it.
  const fs::path file = fs::canonical(fs::path(canonical_) / *relative, ec);
  if (ec) {
    return NotFound();
  }
  const std::string file_text = file.string();
  if (file_text.size() <= canonical_.size() ||
      file_text.compare(0, canonical_.size(), canonical_) || file_text[canonical_.size()] != '/') {
    spdlog::warn("dashboard: {} leads outside {}: refused", Clip(request_path, 200), canonical_);
    return NotFound();
  }
  if (!fs::is_regular_file(file, ec)) {
    return NotFound();
  }
  const auto size = fs::file_size(file, ec);
  if (ec || size > kMaxFileBytes) {
    spdlog::warn("dashboard: {} not served: {}", file_text,
                 ec ? ec.message() : "larger than 16 MiB");
    return NotFound();
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream body;
  body << in.rdbuf();
  if (!in.good() && !in.eof()) {
    spdlog::warn("dashboard: reading {} failed", file_text);
    HttpResponse r = NotFound();
    r.status = 500;
    r.body = "the file could not be read\n";
    return r;
  }
  HttpResponse r;
  r.content_type = std::string(DashboardContentType(*relative));
  r.body = std::move(body).str();
  const std::string etag = ETagOf(r.body);
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (IfNoneMatchHas(request.Header("If-None-Match"), etag)) {
    r.status = 304;
    r.body.clear();
  }
  return r;
}

std::string FindDashboardDir(const std::string& program_path) {
  std::error_code ec;
  if (!program_path.empty()) {
    const fs::path installed =
        fs::path(program_path).parent_path().parent_path() / std::string(kDashboardShareDir);
    if (fs::is_directory(installed, ec)) {
      return installed.lexically_normal().string();
    }
  }
#ifdef CG_SOURCE_DASHBOARD_DIR
  if (fs::is_directory(CG_SOURCE_DASHBOARD_DIR, ec)) {
    return CG_SOURCE_DASHBOARD_DIR;
  }
#endif
  return {};
}

HttpResponse NoDashboardAnswer() {
  HttpResponse r;
  r.status = 404;
  r.content_type = "text/plain; charset=utf-8";
  r.body =
      "The CounterGuard dashboard is not installed on this SOC (no dashboard directory: see "
      "cg-soc serve --dashboard-dir). The operator API (/api/v1/...) works.\n";
  return r;
}

}  // namespace cg::soc

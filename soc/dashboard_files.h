// The dashboard's static files (plain HTML, CSS, JS and images from the repo's dashboard/),
// served on the operator port from one directory: GET / is index.html; no directory listing,
// nothing outside the directory (no "..", no encoded dots, no backslashes, no NUL, no hidden
// files, no symbolic link leading out), only known file types, ETag revalidation.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "protocol/http.h"

namespace cg::soc {

// What a request path names inside the dashboard directory ("/" -> "index.html",
// "/assets/app.js" -> "assets/app.js"), percent-decoded once; kInvalidArgument (with why) for
// anything outside the allowed shape: characters other than A-Z a-z 0-9 . _ - /, an empty or
// dot-led segment ("..", ".git"), an unknown extension.
Result<std::string> DashboardRelativePath(std::string_view request_path);

// The Content-Type of a file name by its extension; "" for a type not served.
std::string_view DashboardContentType(std::string_view file_name);

class DashboardFiles {
 public:
  // kNotFound when `dir` is not a directory.
  static Result<std::unique_ptr<DashboardFiles>> Open(const std::string& dir);

  const std::string& dir() const { return dir_; }

  // The answer to GET or HEAD of `request`'s path: the file with its Content-Type, an ETag and
  // `Cache-Control: no-cache` (revalidated every time, so an upgrade shows at once), 304 when
  // If-None-Match has its ETag, 404 for anything else (refused paths included: which rule
  // refused it is logged, not told).
  protocol::HttpResponse Serve(const protocol::HttpRequest& request) const;

  // Files larger than this are not served (the dashboard's are a few hundred KiB).
  static constexpr size_t kMaxFileBytes = 16 << 20;

 private:
  DashboardFiles(std::string dir, std::string canonical)
      : dir_(std::move(dir)), canonical_(std::move(canonical)) {}

  std::string dir_;
  std::string canonical_;  // the directory's canonical path, symbolic links resolved
};

// Where `cg-soc serve` looks for the dashboard without --dashboard-dir: the installed share
// directory next to the program (`<prefix>/bin/cg-soc` -> `<prefix>/share/counterguard/
// dashboard`), else the source tree's `dashboard/` (a build tree's cg-soc). "" when neither is a
// directory.
std::string FindDashboardDir(const std::string& program_path);
// The installed location relative to the install prefix.
inline constexpr std::string_view kDashboardShareDir = "share/counterguard/dashboard";

// What GET / answers when cg-soc serve found no dashboard directory (the API still works).
protocol::HttpResponse NoDashboardAnswer();

}  // namespace cg::soc

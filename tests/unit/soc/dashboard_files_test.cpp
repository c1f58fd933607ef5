// Tests for soc/dashboard_files.cpp: the dashboard's static files from a real directory, the
// paths that must never leave it (dots, encoded dots, backslashes, NUL, hidden files, symbolic
// links), content types, ETag revalidation, and where cg-soc looks for the directory.
#include "soc/dashboard_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "protocol/http.h"
#include "tests/unit/testing/test_pki.h"

namespace cg::soc {
namespace {

namespace fs = std::filesystem;
using protocol::HttpRequest;
using protocol::HttpResponse;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr const char* kSecret = "TOP-SECRET-soc.db-contents";

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

class DashboardFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // root/site is the dashboard; root/secret.txt and root/site-old/x.css are beside it.
    Write("site/index.html", "<!doctype html><title>Bảng điều khiển</title>");
    Write("site/assets/app.js", "export const xin = 'chào';");
    Write("site/assets/style.css", "body { font-family: sans-serif; }");
    Write("site/assets/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");
    Write("site/i18n/vi.json", "{\"title\": \"Giám sát\"}");
    Write("site/.env", kSecret);
    Write("site/assets/notes.bak", kSecret);
    Write("secret.txt", kSecret);
    Write("site-old/x.css", kSecret);
    fs::create_symlink(fs::path(root_.path()) / "secret.txt",
                       fs::path(root_.path()) / "site/assets/leak.css");
    fs::create_directory_symlink(fs::path(root_.path()), fs::path(root_.path()) / "site/up");
    // A link inside the directory to a file inside it is fine.
    fs::create_symlink(fs::path(root_.path()) / "site/assets/style.css",
                       fs::path(root_.path()) / "site/assets/current.css");
    auto files = DashboardFiles::Open(root_.File("site"));
    ASSERT_TRUE(files.ok()) << files.error().ToString();
    files_ = std::move(files).value();
  }

  void Write(const std::string& relative, const std::string& text) {
    const fs::path path = fs::path(root_.path()) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }

  HttpResponse Get(const std::string& target, const std::string& if_none_match = "") {
    HttpRequest r;
    r.method = "GET";
    r.target = target;
    if (!if_none_match.empty()) {
      r.headers.emplace_back("If-None-Match", if_none_match);
    }
    return files_->Serve(r);
  }

  TempDir root_;
  std::unique_ptr<DashboardFiles> files_;
};

TEST_F(DashboardFilesTest, TheRootIsIndexAndFilesHaveTheirContentTypes) {
  struct Case {
    std::string target;
    std::string content_type;
    std::string contains;
  };
  const Case cases[] = {
      {"/", "text/html; charset=utf-8", "Bảng điều khiển"},
      {"/index.html", "text/html; charset=utf-8", "Bảng điều khiển"},
      {"/assets/app.js", "text/javascript; charset=utf-8", "chào"},
      {"/assets/style.css", "text/css; charset=utf-8", "font-family"},
      {"/assets/current.css", "text/css; charset=utf-8", "font-family"},
      {"/assets/logo.svg", "image/svg+xml", "<svg"},
      {"/i18n/vi.json?lang=vi", "application/json; charset=utf-8", "Giám sát"},
      {"/assets/%61pp.js", "text/javascript; charset=utf-8", "chào"},  // %61 = 'a'
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    const HttpResponse r = Get(c.target);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, c.content_type);
    EXPECT_THAT(r.body, HasSubstr(c.contains));
    EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-cache");
    EXPECT_FALSE(HeaderOf(r, "ETag").empty());
  }
}

TEST_F(DashboardFilesTest, NoPathLeavesTheDirectoryOrListsIt) {
  const std::string refused[] = {
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/assets/../index.html",  // even inside: no dot segments at all
      "/%2e%2e/secret.txt",
      "/%2E%2E/secret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/..%2Fsecret.txt",
      "/%2e%2e%2fsecret.txt",
      "/..%5csecret.txt",
      "/..\\secret.txt",
      "/assets\\..\\..\\secret.txt",
      "/%252e%252e/secret.txt",  // double encoding
      "/index.html%00.png",
      "/index.html%00",
      std::string("/index.html\0.css", 16),
      "/./index.html",
      "/.env",
      "/%2eenv",
      "/assets/notes.bak",   // not a dashboard file type
      "/assets/leak.css",    // a symbolic link out of the directory
      "/up/secret.txt",      // a directory link out of it
      "/up/site-old/x.css",  // ... that would pass a naive prefix check
      "/assets/",
      "/assets",
      "//secret.txt",
      "/i18n//vi.json",
      "/assets/app.js/",
      "/nope.css",
      "/index.html?x=/../secret.txt#",
      "/%E1%BA%A3.css",  // "ả.css": outside the allowed characters
      "/index html.css",
      "relative.css",
  };
  for (const std::string& target : refused) {
    SCOPED_TRACE(target);
    const HttpResponse r = Get(target);
    if (target == "/index.html?x=/../secret.txt#") {
      // The query is not part of the path: this is index.html.
      EXPECT_EQ(r.status, 200);
      continue;
    }
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.body.find(kSecret), std::string::npos);
    EXPECT_EQ(r.body.find("<title>"), std::string::npos) << "no listing, no index instead";
  }
}

TEST_F(DashboardFilesTest, AnUnchangedFileIsRevalidatedWithItsETag) {
  const HttpResponse first = Get("/assets/app.js");
  const std::string etag = HeaderOf(first, "ETag");
  ASSERT_THAT(etag, ::testing::MatchesRegex("\"[0-9a-f]{32}\""));
  for (const std::string& header : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    const HttpResponse again = Get("/assets/app.js", header);
    EXPECT_EQ(again.status, 304) << header;
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(HeaderOf(again, "ETag"), etag);
  }
  EXPECT_EQ(Get("/assets/app.js", "\"stale\"").status, 200);
  // A changed file has a new ETag: an upgrade shows at once.
  Write("site/assets/app.js", "export const xin = 'chào buổi sáng';");
  const HttpResponse changed = Get("/assets/app.js", etag);
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(HeaderOf(changed, "ETag"), etag);
}

TEST_F(DashboardFilesTest, RelativePathsAreCheckedBeforeAnyFileIsOpened) {
  EXPECT_EQ(DashboardRelativePath("/").value_or(""), "index.html");
  EXPECT_EQ(DashboardRelativePath("/assets/app.js").value_or(""), "assets/app.js");
  EXPECT_FALSE(DashboardRelativePath("/assets/app").ok());
  EXPECT_FALSE(DashboardRelativePath("/a/../b.css").ok());
  EXPECT_EQ(DashboardContentType("x/y.woff2"), "font/woff2");
  EXPECT_EQ(DashboardContentType(".css"), "");
  EXPECT_EQ(DashboardContentType("Makefile"), "");
}

TEST(DashboardDirTest, AMissingDirectoryIsAnErrorAndTheInstalledOneIsFoundBesideTheProgram) {
  TempDir prefix;
  EXPECT_FALSE(DashboardFiles::Open(prefix.File("nothing")).ok());
  EXPECT_FALSE(DashboardFiles::Open("").ok());
  std::ofstream(prefix.File("file.txt")) << "x";
  EXPECT_FALSE(DashboardFiles::Open(prefix.File("file.txt")).ok());

  fs::create_directories(prefix.File("bin"));
  fs::create_directories(prefix.File("share/counterguard/dashboard"));
  EXPECT_EQ(FindDashboardDir(prefix.File("bin/cg-soc")),
            prefix.File("share/counterguard/dashboard"));
  // Not installed: the source tree's dashboard/ when there is one, else nothing.
  TempDir elsewhere;
  const std::string found = FindDashboardDir(elsewhere.File("bin/cg-soc"));
  if (!found.empty()) {
    EXPECT_TRUE(fs::is_directory(found));
    EXPECT_THAT(found, ::testing::EndsWith("/dashboard"));
  }

  const HttpResponse none = NoDashboardAnswer();
  EXPECT_EQ(none.status, 404);
  EXPECT_THAT(none.body, HasSubstr("--dashboard-dir"));
}

}  // namespace
}  // namespace cg::soc

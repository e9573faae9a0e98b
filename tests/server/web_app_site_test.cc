// The web app's pure parts: which targets are app paths (WebAppTarget), loading the
// built app (WebAppFiles), and WebAppSite's answers without a network.
#include "parley/server/web_app_site.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace parley::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kInvite[] = "AbCdEfGhIjKlMnOpQrSt-_";

TEST(WebAppTargetTest, AcceptsTheAppLayout) {
  struct Case {
    std::string target, file, query;
    bool bare;
  };
  const std::string i = kInvite;
  for (const Case& c : std::vector<Case>{
           {"/" + i, "", "", true},
           {"/" + i + "?a=b", "", "a=b", true},
           {"/" + i + "/", "index.html", "", false},
           {"/" + i + "/?source=pwa", "index.html", "source=pwa", false},
           {"/" + i + "/config.json", "config.json", "", false},
           {"/" + i + "/assets/index-AbC_1-2.js", "assets/index-AbC_1-2.js", "", false},
           {"/" + i + "/a/b/c/d/e/f/g/h.js", "a/b/c/d/e/f/g/h.js", "", false},
       }) {
    auto t = WebAppTarget::Parse(c.target);
    ASSERT_TRUE(t.has_value()) << c.target;
    EXPECT_EQ(t->invite, i);
    EXPECT_EQ(t->file, c.file) << c.target;
    EXPECT_EQ(t->query, c.query) << c.target;
    EXPECT_EQ(t->bare, c.bare) << c.target;
  }
}

TEST(WebAppTargetTest, RefusesEverythingElse) {
  const std::string i = kInvite;
  for (const std::string& target :
       {std::string(), std::string("/"), std::string("/index.html"), "/" + i.substr(1), "/" + i.substr(1) + "/",
        "/" + i + "x", "/" + i + "x/", "/" + i.substr(0, 21) + "+/", "/" + i.substr(0, 21) + "%/", i + "/",
        "/" + i + "//", "/" + i + "/assets/", "/" + i + "/../x", "/" + i + "/./x", "/" + i + "/.env",
        "/" + i + "/a/../b", "/" + i + "/%2e%2e/x", "/" + i + "/a b", "/" + i + "/a\\b",
        "/" + i + "/a/b/c/d/e/f/g/h/i.js", "/" + i + "/" + std::string(257, 'a'), "http://h/" + i + "/"}) {
    EXPECT_FALSE(WebAppTarget::Parse(target).has_value()) << target;
  }
}

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/parley-webapp-XXXXXX";
    PARLEY_CHECK(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& relative, const std::string& content) const {
    const std::filesystem::path p = std::filesystem::path(path_) / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }

 private:
  std::string path_;
};

TEST(WebAppFilesTest, LoadsTheBuiltAppSkippingDotFilesAndLinks) {
  TempDir dir;
  dir.Write("index.html", "<!doctype html>");
  dir.Write("assets/index-1.js", "js");
  dir.Write(".git/config", "secret");
  dir.Write(".env", "secret");
  std::filesystem::create_symlink("/etc/passwd", std::filesystem::path(dir.path()) / "passwd");
  auto files = WebAppFiles::Load(dir.path());
  ASSERT_TRUE(files.ok()) << files.error().message;
  EXPECT_EQ(files->file_count(), 2u);
  ASSERT_NE(files->Find("assets/index-1.js"), nullptr);
  EXPECT_EQ(files->Find("assets/index-1.js")->content, "js");
  EXPECT_GT(files->Find("index.html")->modified_unix_s, 1'600'000'000);
  EXPECT_EQ(files->Find(".env"), nullptr);
  EXPECT_EQ(files->Find("passwd"), nullptr);
  EXPECT_EQ(files->total_bytes(), 17u);
}

TEST(WebAppFilesTest, ClearErrorsForAMissingOrUnbuiltApp) {
  auto missing = WebAppFiles::Load("/nonexistent/parley-web");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("does not exist: run `make web`"));
  TempDir dir;
  dir.Write("other.js", "x");
  auto unbuilt = WebAppFiles::Load(dir.path());
  ASSERT_FALSE(unbuilt.ok());
  EXPECT_THAT(unbuilt.error().message, HasSubstr("has no index.html"));
}

TEST(WebAppSiteTest, AnswersOnlyGetAndHeadOfFilesItHas) {
  std::map<std::string, WebAppFile, std::less<>> map;
  map["index.html"] = WebAppFile{"<p>app</p>", 1000};
  WebAppSite site(WebAppFiles::FromMap(std::move(map)), WebAppSite::Config{"srv", "/ws/x"});
  EXPECT_EQ(site.config_json(), R"({"server":"srv","websocket_path":"/ws/x"})");
  auto index = WebAppTarget::Parse(std::string("/") + kInvite + "/");
  auto missing = WebAppTarget::Parse(std::string("/") + kInvite + "/nope.js");
  ASSERT_TRUE(index && missing);
  auto get = site.Respond(WebAppRequest{"GET", &*index, false, "", ""}, 2000);
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->status, 200);
  EXPECT_TRUE(get->close);
  EXPECT_THAT(get->bytes, HasSubstr("\r\nConnection: close\r\n"));
  EXPECT_THAT(get->bytes, HasSubstr("\r\n\r\n<p>app</p>"));
  auto head = site.Respond(WebAppRequest{"HEAD", &*index, true, "", ""}, 2000);
  ASSERT_TRUE(head.has_value());
  EXPECT_THAT(head->bytes, HasSubstr("Content-Length: 10\r\n"));
  EXPECT_EQ(head->bytes.substr(head->bytes.size() - 4), "\r\n\r\n");
  EXPECT_FALSE(site.Respond(WebAppRequest{"POST", &*index, true, "", ""}, 2000).has_value());
  EXPECT_FALSE(site.Respond(WebAppRequest{"OPTIONS", &*index, true, "", ""}, 2000).has_value());
  EXPECT_FALSE(site.Respond(WebAppRequest{"GET", &*missing, true, "", ""}, 2000).has_value());
  EXPECT_FALSE(site.Respond(WebAppRequest{"GET", nullptr, true, "", ""}, 2000).has_value());
}

TEST(WebAppSiteTest, ContentTypesByExtension) {
  EXPECT_EQ(WebAppSite::ContentType("a.wasm"), "application/wasm");
  EXPECT_EQ(WebAppSite::ContentType("a.webmanifest"), "application/manifest+json");
  EXPECT_EQ(WebAppSite::ContentType("a.mjs"), "application/javascript; charset=utf-8");
  EXPECT_EQ(WebAppSite::ContentType("a.unknown"), "application/octet-stream");
  EXPECT_EQ(WebAppSite::ContentType("html"), "application/octet-stream");
}

}  // namespace
}  // namespace parley::server

// Loopback tests of the web app at invite paths on the real TLS web front: what a live
// invite serves (files, types, caching, security headers, 304, the directory 301,
// config.json), that strangers (/, wrong or revoked invites, paths under them, the
// WebSocket endpoints without credentials, foreign Origins) get exactly the decoy's
// bytes, and that browser-style upgrades (Origin, permessage-deflate offered) work.
#include <mutex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parley/crypto/key_source.h"
#include "parley/server/decoy_site.h"
#include "parley/server/web_app_site.h"
#include "tls_test_client.h"
#include "web_front_fixture.h"

namespace parley::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::kPath;
using testing::TlsTestClient;
using testing::WebFrontTest;

constexpr int64_t kModified = 1764000000;  // 2025-11-24

// Live invites by text; thread-safe as InviteDirectory requires.
class FakeInvites final : public InviteDirectory {
 public:
  bool IsLive(const InviteCode& invite) override {
    std::lock_guard lock(mu_);
    ++lookups_;
    return live_.count(invite.text()) > 0;
  }
  void Add(const std::string& text) {
    std::lock_guard lock(mu_);
    live_.insert(text);
  }
  void Revoke(const std::string& text) {
    std::lock_guard lock(mu_);
    live_.erase(text);
  }

 private:
  std::mutex mu_;  // guards live_ and lookups_
  std::set<std::string> live_;
  int lookups_ = 0;
};

WebAppFiles AppFiles() {
  std::map<std::string, WebAppFile, std::less<>> files;
  for (const char* name : {"index.html", "sw.js", "manifest.webmanifest", "icon.png", "icon.svg", "favicon.ico",
                           "assets/index-AbCd1234.js", "assets/index-AbCd1234.css", "assets/libsodium-x1.wasm",
                           "assets/worklet-Zz9.mjs", "data.json"}) {
    files[name] = WebAppFile{std::string("content of ") + name, kModified};
  }
  return WebAppFiles::FromMap(std::move(files));
}

class WebFrontAppTest : public WebFrontTest {
 protected:
  void SetUp() override {
    crypto::SeededKeySource random(42);
    live_ = InviteCode::Generate(random).text();
    revoked_ = InviteCode::Generate(random).text();
    stranger_ = InviteCode::Generate(random).text();
    invites_.Add(live_);
    invites_.Add(revoked_);
    invites_.Revoke(revoked_);
    WebFrontOptions options;
    options.web_app = &site_;
    options.invites = &invites_;
    StartFront(options);
  }

  // One request on a fresh connection; the whole response.
  std::string Get(const std::string& target, const std::string& extra_headers = "", const std::string& method = "GET") {
    TlsTestClient client;
    EXPECT_TRUE(client.Connect(port()));
    EXPECT_TRUE(client.Write(method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n"));
    return client.ReadHttpResponse(method == "HEAD");
  }

  static std::string Header(const std::string& response, const std::string& name) {
    const size_t at = response.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 4;
    return response.substr(start, response.find("\r\n", start) - start);
  }
  static std::string Body(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

  WebAppSite site_{AppFiles(), WebAppSite::Config{"parley.example", kPath}};
  FakeInvites invites_;
  std::string live_, revoked_, stranger_;
};

TEST_F(WebFrontAppTest, LiveInviteServesTheAppWithNginxHeadersAndAppSecurityHeaders) {
  const std::string r = Get("/" + live_ + "/");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: "));
  EXPECT_EQ(Body(r), "content of index.html");
  EXPECT_EQ(Header(r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(Header(r, "Last-Modified"), DecoySite::HttpDate(kModified));
  EXPECT_EQ(Header(r, "Content-Security-Policy"), std::string(WebAppSite::kContentSecurityPolicy));
  EXPECT_THAT(Header(r, "Content-Security-Policy"), HasSubstr("script-src 'self' 'wasm-unsafe-eval'"));
  EXPECT_THAT(Header(r, "Content-Security-Policy"), HasSubstr("connect-src 'self'"));
  EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  // nginx's order: its own headers, ETag, then add_header ones, Accept-Ranges last.
  EXPECT_LT(r.find("\r\nConnection: "), r.find("\r\nETag: "));
  EXPECT_LT(r.find("\r\nETag: "), r.find("\r\nCache-Control: "));
  EXPECT_LT(r.find("\r\nCross-Origin-Opener-Policy: "), r.find("\r\nAccept-Ranges: bytes\r\n"));
  EXPECT_EQ(Body(Get("/" + live_ + "/index.html")), "content of index.html");
}

TEST_F(WebFrontAppTest, ContentTypesAndCaching) {
  struct Case {
    std::string file, type, cache;
  };
  for (const Case& c : std::vector<Case>{
           {"sw.js", "application/javascript; charset=utf-8", "no-cache"},
           {"manifest.webmanifest", "application/manifest+json", "no-cache"},
           {"icon.png", "image/png", "no-cache"},
           {"icon.svg", "image/svg+xml", "no-cache"},
           {"favicon.ico", "image/x-icon", "no-cache"},
           {"data.json", "application/json", "no-cache"},
           {"assets/index-AbCd1234.js", "application/javascript; charset=utf-8", "max-age=31536000, immutable"},
           {"assets/index-AbCd1234.css", "text/css; charset=utf-8", "max-age=31536000, immutable"},
           {"assets/libsodium-x1.wasm", "application/wasm", "max-age=31536000, immutable"},
           {"assets/worklet-Zz9.mjs", "application/javascript; charset=utf-8", "max-age=31536000, immutable"},
       }) {
    const std::string r = Get("/" + live_ + "/" + c.file);
    EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n")) << c.file;
    EXPECT_EQ(Header(r, "Content-Type"), c.type) << c.file;
    EXPECT_EQ(Header(r, "Cache-Control"), c.cache) << c.file;
    EXPECT_EQ(Body(r), "content of " + c.file);
  }
}

TEST_F(WebFrontAppTest, ConditionalGetsHeadAndKeepAlive) {
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  const std::string target = "/" + live_ + "/sw.js";
  ASSERT_TRUE(client.Write("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  const std::string first = client.ReadHttpResponse();
  const std::string etag = Header(first, "ETag");
  EXPECT_EQ(etag, "\"" + [] {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx-%zx", static_cast<unsigned long long>(kModified),
                  std::string("content of sw.js").size());
    return std::string(buf);
  }() + "\"");
  ASSERT_TRUE(client.Write("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: " + etag + "\r\n\r\n"));
  const std::string not_modified = client.ReadHttpResponse(/*head_only=*/true);
  EXPECT_THAT(not_modified, StartsWith("HTTP/1.1 304 Not Modified\r\nServer: nginx\r\n"));
  EXPECT_EQ(Header(not_modified, "Cache-Control"), "no-cache");
  ASSERT_TRUE(client.Write("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nIf-Modified-Since: " +
                           DecoySite::HttpDate(kModified) + "\r\n\r\n"));
  EXPECT_THAT(client.ReadHttpResponse(true), StartsWith("HTTP/1.1 304 Not Modified\r\n"));
  ASSERT_TRUE(client.Write("HEAD " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  const std::string head = client.ReadHttpResponse(/*head_only=*/true);
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Header(head, "Content-Length"), std::to_string(std::string("content of sw.js").size()));
  EXPECT_TRUE(client.WaitClosed());  // and no body was sent after the head
}

TEST_F(WebFrontAppTest, BareInviteRedirectsLikeAnNginxDirectory) {
  const std::string r = Get("/" + live_);
  EXPECT_THAT(r, StartsWith("HTTP/1.1 301 Moved Permanently\r\nServer: nginx\r\nDate: "));
  EXPECT_EQ(Header(r, "Location"), "/" + live_ + "/");
  EXPECT_EQ(Header(r, "Content-Type"), "text/html");
  EXPECT_THAT(Body(r), HasSubstr("<center><h1>301 Moved Permanently</h1></center>"));
  EXPECT_EQ(Header(Get("/" + live_ + "?from=pwa"), "Location"), "/" + live_ + "/?from=pwa");
}

TEST_F(WebFrontAppTest, ConfigJsonNamesTheServerAndTheSignalingPath) {
  const std::string r = Get("/" + live_ + "/config.json");
  EXPECT_THAT(r, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-store");
  const auto json = nlohmann::json::parse(Body(r));
  EXPECT_EQ(json.at("server"), "parley.example");
  EXPECT_EQ(json.at("websocket_path"), kPath);
}

TEST_F(WebFrontAppTest, StrangersGetExactlyTheDecoysMissingPage) {
  const std::string missing = WithoutDate(Get("/random-9f8e7d"));
  ASSERT_THAT(missing, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  std::vector<std::string> targets = {
      "/" + stranger_ + "/", "/" + stranger_, "/" + stranger_ + "/index.html", "/" + stranger_ + "/config.json",
      "/" + stranger_ + "/assets/index-AbCd1234.js", "/" + revoked_ + "/", "/" + revoked_ + "/config.json",
      "/" + revoked_, "/" + live_.substr(0, 21) + "/", "/" + live_ + "x/", "/" + live_ + "/missing.js",
      "/" + live_ + "/assets/", "/" + live_ + "/.hidden", "/" + live_ + "/assets//index-AbCd1234.js",
      "/" + live_ + "/%69ndex.html", kPath, std::string(kPath) + "/m/AAAA"};
  for (const std::string& target : targets) {
    EXPECT_EQ(WithoutDate(Get(target)), missing) << target;
  }
  // A POST to the app is what a POST to any missing page is.
  EXPECT_EQ(WithoutDate(Get("/" + live_ + "/", "Content-Length: 0\r\n", "POST")),
            WithoutDate(Get("/random-9f8e7d", "Content-Length: 0\r\n", "POST")));
  // The site's own pages are untouched.
  DecoySite decoy;
  EXPECT_EQ(WithoutDate(Get("/")), WithoutDate(decoy.Respond(DecoyRequest{"GET", "/", true, "", ""}, 0).bytes));
}

TEST_F(WebFrontAppTest, WebSocketEndpointsWithoutCredentialsLookLikeMissingPages) {
  const std::string missing = WithoutDate(Get("/random-9f8e7d"));
  // The signaling path without an upgrade, the media path with a made-up ticket.
  for (const std::string& target : {std::string(kPath), std::string(kPath) + "/m/bm90LWEtdGlja2V0"}) {
    TlsTestClient client;
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_TRUE(client.Write("GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), missing) << target;
    ASSERT_TRUE(client.Write(TlsTestClient::UpgradeRequest(target == kPath ? "/ws/nope" : target)));
    EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), missing) << target;
  }
}

// What Chromium sends for `new WebSocket("wss://localhost:PORT" + path)` from the app.
std::string BrowserUpgrade(const std::string& path, const std::string& origin) {
  return "GET " + path +
         " HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
         "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
         "Safari/537.36\r\nUpgrade: websocket\r\n" +
         (origin.empty() ? "" : "Origin: " + origin + "\r\n") +
         "Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
}

TEST_F(WebFrontAppTest, BrowserUpgradeFromTheSameOriginWorksAndDeclinesCompression) {
  TlsTestClient client;
  ASSERT_TRUE(client.Connect(port()));
  ASSERT_TRUE(client.Write(BrowserUpgrade(kPath, "https://localhost")));
  const std::string head = client.ReadHttpResponse(/*head_only=*/true);
  EXPECT_THAT(head, StartsWith("HTTP/1.1 101 Switching Protocols\r\n"));
  EXPECT_THAT(head, Not(HasSubstr("Sec-WebSocket-Extensions")));  // permessage-deflate declined
  auto hello = client.WsRead();
  ASSERT_TRUE(hello.has_value());
  EXPECT_EQ(hello->payload, "hello");
  ExpectEcho(client, "from a browser");
}

TEST_F(WebFrontAppTest, UpgradeFromAnotherOriginGetsTheDecoy) {
  const std::string missing = WithoutDate(Get("/random-9f8e7d"));
  for (const char* origin : {"https://evil.example", "http://localhost", "https://localhost.evil.example",
                                    "null", "https://localhost:1"}) {
    TlsTestClient client;
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_TRUE(client.Write(BrowserUpgrade(kPath, origin)));
    EXPECT_EQ(WithoutDate(client.ReadHttpResponse()), missing) << origin;
  }
  EXPECT_EQ(sink_.Count("connect 127.0.0.1"), 0);
  EXPECT_EQ(front_->stats().foreign_origin_refused, 5);
  // The native client sends no Origin, and an Origin's case does not matter.
  for (const std::string& origin : {std::string(), std::string("HTTPS://LocalHost")}) {
    TlsTestClient client;
    ASSERT_TRUE(client.Connect(port()));
    ASSERT_TRUE(client.Write(BrowserUpgrade(kPath, origin)));
    EXPECT_THAT(client.ReadHttpResponse(true), StartsWith("HTTP/1.1 101 ")) << origin;
  }
}

TEST_F(WebFrontAppTest, RevokingTakesEffectAtTheNextRequest) {
  EXPECT_THAT(Get("/" + live_ + "/"), StartsWith("HTTP/1.1 200 OK\r\n"));
  invites_.Revoke(live_);
  EXPECT_THAT(Get("/" + live_ + "/"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_GE(front_->stats().app_responses, 1);
}

}  // namespace
}  // namespace parley::server

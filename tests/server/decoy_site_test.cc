// Tests for the decoy website: nginx-identical status lines, headers, error pages,
// conditional requests and URI normalisation, without sockets.
#include "parley/server/decoy_site.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::server {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kNow = 1764367200;  // Fri, 28 Nov 2025 22:00:00 GMT

DecoyResponse Get(std::string_view target, bool keep_alive = true, std::string_view method = "GET") {
  DecoyRequest r;
  r.method = method;
  r.target = target;
  r.keep_alive = keep_alive;
  return DecoySite().Respond(r, kNow);
}

TEST(DecoySiteTest, HttpDate) {
  EXPECT_EQ(DecoySite::HttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
  EXPECT_EQ(DecoySite::HttpDate(kNow), "Fri, 28 Nov 2025 22:00:00 GMT");
}

TEST(DecoySiteTest, IndexHasNginxHeadersInNginxOrder) {
  const DecoyResponse r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.close);
  EXPECT_THAT(r.bytes, StartsWith("HTTP/1.1 200 OK\r\n"
                                  "Server: nginx\r\n"
                                  "Date: Fri, 28 Nov 2025 22:00:00 GMT\r\n"
                                  "Content-Type: text/html\r\n"
                                  "Content-Length: "));
  EXPECT_THAT(r.bytes, HasSubstr("\r\nLast-Modified: Fri, 14 Mar 2025 11:12:13 GMT\r\n"
                                 "Connection: keep-alive\r\n"
                                 "ETag: \"67d40f0d-"));
  EXPECT_THAT(r.bytes, HasSubstr("\r\nAccept-Ranges: bytes\r\n\r\n<!DOCTYPE html>"));
  EXPECT_THAT(r.bytes, EndsWith("</html>\n"));
  EXPECT_EQ(Get("/index.html").bytes, r.bytes);
  EXPECT_EQ(Get("/?utm=1").bytes, r.bytes);
  EXPECT_EQ(Get("//index.html").bytes, r.bytes);
  EXPECT_EQ(Get("/about.html/../index.html").bytes, r.bytes);
  EXPECT_EQ(Get("/%69ndex.html").bytes, r.bytes);
  EXPECT_EQ(Get("http://example.org/index.html").bytes, r.bytes);
}

TEST(DecoySiteTest, ContentLengthMatchesBody) {
  for (const char* path : {"/", "/about.html", "/repairs.html", "/contact.html", "/style.css", "/favicon.ico",
                           "/robots.txt", "/nope"}) {
    const DecoyResponse r = Get(path);
    const size_t header_end = r.bytes.find("\r\n\r\n");
    ASSERT_NE(header_end, std::string::npos);
    const size_t cl = r.bytes.find("Content-Length: ");
    ASSERT_NE(cl, std::string::npos);
    EXPECT_EQ(std::stoul(r.bytes.substr(cl + 16)), r.bytes.size() - header_end - 4) << path;
  }
  EXPECT_THAT(Get("/style.css").bytes, HasSubstr("Content-Type: text/css\r\n"));
  EXPECT_THAT(Get("/favicon.ico").bytes, HasSubstr("Content-Type: image/x-icon\r\n"));
  EXPECT_THAT(Get("/robots.txt").bytes, HasSubstr("Content-Type: text/plain\r\n"));
}

TEST(DecoySiteTest, UnknownPathsGetNginx404) {
  const std::string expected =
      "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nDate: Fri, 28 Nov 2025 22:00:00 GMT\r\n"
      "Content-Type: text/html\r\nContent-Length: 146\r\nConnection: keep-alive\r\n\r\n"
      "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
      "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  EXPECT_EQ(Get("/ws/abcdef").bytes, expected);
  EXPECT_EQ(Get("/wp-login.php").bytes, expected);
  EXPECT_EQ(Get("/about").bytes, expected);
  EXPECT_EQ(DecoySite().NotFound(true, kNow).bytes, expected);
  EXPECT_EQ(Get("/x", false).bytes.find("Connection: close\r\n") != std::string::npos, true);
  EXPECT_TRUE(Get("/x", false).close);
  // HEAD: the same headers, no body.
  const DecoyResponse head = Get("/nope", true, "HEAD");
  EXPECT_EQ(head.bytes, expected.substr(0, expected.find("\r\n\r\n") + 4));
}

TEST(DecoySiteTest, MethodsAsNginxStaticModule) {
  EXPECT_EQ(Get("/", true, "POST").status, 405);
  EXPECT_THAT(Get("/", true, "POST").bytes, HasSubstr("<title>405 Not Allowed</title>"));
  EXPECT_EQ(Get("/missing", true, "POST").status, 404);
  EXPECT_EQ(Get("/missing", true, "DELETE").status, 405);
  EXPECT_EQ(Get("/", true, "OPTIONS").status, 405);
  const DecoyResponse head = Get("/", true, "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_THAT(head.bytes, EndsWith("Accept-Ranges: bytes\r\n\r\n"));
  EXPECT_EQ(Get("/", true, "get").status, 400);  // nginx takes only upper-case methods
}

TEST(DecoySiteTest, BadTargetsAre400AndClose) {
  for (const char* target : {"/%zz", "/%4", "/../etc/passwd", "*", "index.html", "/a%00b"}) {
    const DecoyResponse r = Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_TRUE(r.close) << target;
    EXPECT_THAT(r.bytes, HasSubstr("Connection: close\r\n")) << target;
  }
  EXPECT_THAT(DecoySite().BadRequest(kNow).bytes, HasSubstr("<center><h1>400 Bad Request</h1></center>"));
  // HEAD: the same headers (Content-Length of the page nginx would send), no body.
  const std::string bad = DecoySite().BadRequest(kNow).bytes;
  const DecoyResponse head = Get("/%zz", true, "HEAD");
  EXPECT_EQ(head.status, 400);
  EXPECT_TRUE(head.close);
  EXPECT_EQ(head.bytes, bad.substr(0, bad.find("\r\n\r\n") + 4));
}

TEST(DecoySiteTest, ConditionalRequestsGet304) {
  const DecoyResponse full = Get("/about.html");
  const size_t at = full.bytes.find("ETag: ") + 6;
  const std::string etag = full.bytes.substr(at, full.bytes.find("\r\n", at) - at);
  DecoyRequest r;
  r.method = "GET";
  r.target = "/about.html";
  r.if_none_match = etag;
  const DecoyResponse not_modified = DecoySite().Respond(r, kNow);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_THAT(not_modified.bytes, StartsWith("HTTP/1.1 304 Not Modified\r\nServer: nginx\r\n"));
  EXPECT_THAT(not_modified.bytes, EndsWith("ETag: " + etag + "\r\n\r\n"));
  r.if_none_match = "\"other\"";
  EXPECT_EQ(DecoySite().Respond(r, kNow).status, 200);
  r.if_none_match = "";
  r.if_modified_since = "Fri, 14 Mar 2025 11:12:13 GMT";
  EXPECT_EQ(DecoySite().Respond(r, kNow).status, 304);
}

TEST(DecoySiteTest, IsPage) {
  EXPECT_TRUE(DecoySite::IsPage("/"));
  EXPECT_TRUE(DecoySite::IsPage("/about.html"));
  EXPECT_FALSE(DecoySite::IsPage("/ws/x"));
}

}  // namespace
}  // namespace parley::server

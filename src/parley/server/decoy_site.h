// The decoy website everyone without a WebSocket upgrade on the signaling path sees:
// a small static site answered byte for byte the way nginx (server_tokens off) serves
// static files. Logic without I/O: a request and the time in, response bytes out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::server {

// The parts of an HTTP request the site looks at. Views live for the call only.
struct DecoyRequest {
  std::string_view method;  // "GET", "HEAD", ... as sent
  std::string_view target;  // origin-form, with any query: "/about.html?x=1"
  bool keep_alive = true;   // what the client asked for (HTTP/1.1 default, Connection header)
  std::string_view if_none_match;      // header value or empty
  std::string_view if_modified_since;  // header value or empty
};

struct DecoyResponse {
  int status = 0;
  std::string bytes;   // the complete response: status line, headers, body
  bool close = false;  // close the connection after sending
};

// Why nginx: it serves the largest share of small sites, and with `server_tokens off`
// it says only "Server: nginx", so a prober learns nothing it would not learn from
// millions of other hosts; its error pages are short and well known, so copying them
// exactly is easy, and it also terminates TLS with OpenSSL as we do.
//
// Immutable and thread-safe: Respond may be called from any thread.
class DecoySite {
 public:
  // The modification time every page claims (Last-Modified and ETag), Unix seconds.
  static constexpr int64_t kSiteModifiedUnixS = 1741950733;  // 2025-03-14 11:12:13 UTC

  // True for a path the site has a page at ("/", "/about.html", ...), query excluded.
  static bool IsPage(std::string_view path);

  // The answer to a parsed request: 200/304 for pages (GET, HEAD), 405 for other
  // methods on pages and for methods a static site never takes, 404 for anything else.
  DecoyResponse Respond(const DecoyRequest& request, int64_t now_unix_s) const;

  // Errors nginx sends before it has a request it can route: 400 (unparsable request;
  // closes) and 413 (body over the limit; closes). Also the bodies nginx sends.
  DecoyResponse BadRequest(int64_t now_unix_s) const;
  DecoyResponse PayloadTooLarge(int64_t now_unix_s) const;

  // The 404 a GET to an unknown path gets, for tests that compare the signaling path.
  DecoyResponse NotFound(bool keep_alive, int64_t now_unix_s) const;

  // RFC 9110 §5.6.7 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  static std::string HttpDate(int64_t unix_s);
};

}  // namespace parley::server

// Fuzzes the decoy website's routing (DecoySite::Respond), what every stranger and
// every active prober reaches: method, request target, keep-alive and the two
// conditional headers. Checks that the answer never depends on the request beyond
// nginx's routing (so the signaling path, or any probe, gets the very 404 a missing
// page gets and nothing of a request is echoed), that statuses come from the allowed
// set, and that framing (status line, Server, Connection, Content-Length) is nginx's.
//
// Input: byte 0 is flags (bit 0 keep-alive, bit 1 prefix the target with a signaling
// path, bit 2 a fixed time instead of the input's), then up to 8 bytes of time when
// bit 2 is clear, then method, target, If-None-Match and If-Modified-Since separated
// by '\n' (missing fields are empty).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/check.h"
#include "parley/server/decoy_files.h"
#include "parley/server/decoy_site.h"

using namespace parley::server;

namespace {

// What a server might use as its signaling path (it never reaches DecoySite on its own).
constexpr std::string_view kSignalingPath = "/k7Qm2xWv9LpR4tYz8NcB";

std::string_view NextField(std::string_view& rest) {
  const size_t newline = rest.find('\n');
  const std::string_view field = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  return field;
}

bool AllowedStatus(int status) {
  return status == 200 || status == 304 || status == 400 || status == 404 || status == 405;
}

// The body after the header block, or the whole text if there is none.
std::string_view Body(std::string_view bytes) {
  const size_t end = bytes.find("\r\n\r\n");
  PARLEY_CHECK_MSG(end != std::string_view::npos, "a response without the end of its headers");
  return bytes.substr(end + 4);
}

// The value of header `name` ("Content-Length"), or empty.
std::string_view Header(std::string_view bytes, std::string_view name) {
  const std::string key = "\r\n" + std::string(name) + ": ";
  const size_t at = bytes.substr(0, bytes.find("\r\n\r\n") + 2).find(key);
  if (at == std::string_view::npos) return {};
  const size_t start = at + key.size();
  return bytes.substr(start, bytes.find("\r\n", start) - start);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  int64_t now = 1764367200;  // Fri, 28 Nov 2025 22:00:00 GMT
  if ((flags & 4) == 0) {
    // Any time from 1970 to 9999 (HttpDate prints four-digit years).
    uint64_t raw = 0;
    for (size_t i = 0; i < 8 && !rest.empty(); ++i) {
      raw = raw << 8 | static_cast<uint8_t>(rest[0]);
      rest.remove_prefix(1);
    }
    now = static_cast<int64_t>(raw % 253402300800ULL);
  }
  DecoyRequest request;
  request.keep_alive = (flags & 1) != 0;
  request.method = NextField(rest);
  std::string target(NextField(rest));
  if (flags & 2) target = std::string(kSignalingPath) + target;
  request.target = target;
  request.if_none_match = NextField(rest);
  request.if_modified_since = NextField(rest);

  const DecoySite site;
  const DecoyResponse response = site.Respond(request, now);
  const std::string_view bytes = response.bytes;

  // Status and framing as nginx's.
  PARLEY_CHECK_MSG(AllowedStatus(response.status), "a status the decoy site must never send");
  PARLEY_CHECK(bytes.starts_with("HTTP/1.1 " + std::to_string(response.status) + " "));
  PARLEY_CHECK(bytes.substr(bytes.find("\r\n") + 2).starts_with("Server: nginx\r\nDate: " + DecoySite::HttpDate(now) +
                                                                "\r\n"));
  PARLEY_CHECK(response.close == (!request.keep_alive || response.status == 400));
  PARLEY_CHECK(Header(bytes, "Connection") == (response.close ? "close" : "keep-alive"));
  const std::string_view body = Body(bytes);
  const bool head = request.method == "HEAD";
  if (response.status == 304 || head) {
    PARLEY_CHECK_MSG(body.empty(), "a body in a 304 or an answer to HEAD");
  } else {
    PARLEY_CHECK(Header(bytes, "Content-Length") == std::to_string(body.size()));
  }

  // Nothing of the request in the answer: each answer is the one a canonical request
  // of its class gets, so two requests nginx routes alike cannot be told apart.
  const auto canonical = [&](std::string_view method, std::string_view path) {
    DecoyRequest c = request;
    c.method = method;
    c.target = path;
    return site.Respond(c, now);
  };
  switch (response.status) {
    case 400: {
      // nginx sends no body to HEAD, whatever the status (ngx_http_header_filter).
      const std::string bad = site.BadRequest(now).bytes;
      PARLEY_CHECK(response.bytes == (head ? bad.substr(0, bad.find("\r\n\r\n") + 4) : bad));
      break;
    }
    case 404:
      PARLEY_CHECK(request.method == "GET" || head || request.method == "POST");
      PARLEY_CHECK_MSG(response.bytes == canonical(request.method, "/no-such-page").bytes,
                       "a 404 that differs from any missing page's");
      break;
    case 405:
      PARLEY_CHECK(response.bytes == canonical("DELETE", "/").bytes);
      break;
    case 200:
    case 304: {
      bool found = false;
      for (size_t i = 0; i < kDecoyFileCount && !found; ++i) {
        found = response.bytes == canonical(request.method, kDecoyFiles[i].path).bytes;
        if (found && response.status == 200 && !head) PARLEY_CHECK(body == kDecoyFiles[i].content);
      }
      PARLEY_CHECK_MSG(found, "a page answer that is not one of the site's files");
      break;
    }
  }
  // The signaling path (a secret) never appears in an answer.
  PARLEY_CHECK(bytes.find(kSignalingPath) == std::string_view::npos);
  // Under the signaling path only dot segments reach a page ("/path/../").
  if ((flags & 2) && target.find('.') == std::string::npos && target.find('%') == std::string::npos) {
    PARLEY_CHECK(response.status == 400 || response.status == 404 || response.status == 405);
  }
  return 0;
}

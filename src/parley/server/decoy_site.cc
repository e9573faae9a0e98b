// The decoy website: nginx's static-file behaviour (status codes, header order,
// error pages, ETag format, URI normalisation) over the embedded files.
#include "parley/server/decoy_site.h"

#include <cstdio>
#include <ctime>
#include <optional>
#include <vector>

#include "parley/server/decoy_files.h"

namespace parley::server {
namespace {

// nginx's built-in error pages (src/http/ngx_http_special_response.c) with
// server_tokens off; lines end in CRLF exactly as nginx sends them.
std::string ErrorPage(std::string_view status_text) {
  std::string page = "<html>\r\n<head><title>";
  page += status_text;
  page += "</title></head>\r\n<body>\r\n<center><h1>";
  page += status_text;
  page += "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  return page;
}

std::string_view ContentType(std::string_view path) {
  // nginx's mime.types for the extensions the site has.
  const auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html";
  if (ends(".css")) return "text/css";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".txt")) return "text/plain";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

const DecoyFile* FindFile(std::string_view path) {
  if (path == "/") path = "/index.html";  // nginx's index directive
  for (size_t i = 0; i < kDecoyFileCount; ++i) {
    if (kDecoyFiles[i].path == path) return &kDecoyFiles[i];
  }
  return nullptr;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path nginx would look up for a request target: query dropped, %XX decoded,
// slashes merged, "." and ".." resolved. Nothing if nginx would answer 400 (not a
// path, a bad escape, a NUL, or ".." above the root).
std::optional<std::string> NormalisePath(std::string_view target) {
  // Absolute form (RFC 9112 §3.2.2): nginx takes the path after the authority.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      const size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  if (target.empty() || target[0] != '/') return std::nullopt;
  target = target.substr(0, target.find('?'));
  std::string decoded;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '%') {
      decoded += target[i];
      continue;
    }
    if (i + 2 >= target.size() || HexValue(target[i + 1]) < 0 || HexValue(target[i + 2]) < 0) {
      return std::nullopt;
    }
    decoded += static_cast<char>(HexValue(target[i + 1]) * 16 + HexValue(target[i + 2]));
    i += 2;
  }
  std::vector<std::string> segments;
  size_t start = 1;
  while (start <= decoded.size()) {
    size_t end = decoded.find('/', start);
    if (end == std::string::npos) end = decoded.size();
    const std::string segment = decoded.substr(start, end - start);
    if (segment.find('\0') != std::string::npos) return std::nullopt;
    if (segment == "..") {
      if (segments.empty()) return std::nullopt;
      segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string path;
  for (const auto& s : segments) path += "/" + s;
  // A trailing slash (or a final "." / "..") names a directory, as in nginx.
  const bool directory = decoded.empty() || decoded.back() == '/' || decoded.ends_with("/.") ||
                         decoded.ends_with("/..");
  if (path.empty() || directory) path += "/";
  return path;
}

bool IsNginxMethod(std::string_view method) {
  if (method.empty()) return false;
  for (char c : method) {
    if (!((c >= 'A' && c <= 'Z') || c == '_')) return false;
  }
  return true;
}

std::string ETag(size_t length) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%zx\"", static_cast<unsigned long long>(DecoySite::kSiteModifiedUnixS),
                length);
  return buf;
}

std::string StatusLine(int status) {
  switch (status) {
    case 200: return "HTTP/1.1 200 OK\r\n";
    case 304: return "HTTP/1.1 304 Not Modified\r\n";
    case 400: return "HTTP/1.1 400 Bad Request\r\n";
    case 404: return "HTTP/1.1 404 Not Found\r\n";
    case 405: return "HTTP/1.1 405 Not Allowed\r\n";
    case 413: return "HTTP/1.1 413 Request Entity Too Large\r\n";
  }
  return "HTTP/1.1 500 Internal Server Error\r\n";
}

std::string_view StatusText(int status) {
  switch (status) {
    case 400: return "400 Bad Request";
    case 404: return "404 Not Found";
    case 405: return "405 Not Allowed";
    case 413: return "413 Request Entity Too Large";
  }
  return "500 Internal Server Error";
}

// Header order is nginx's: Server, Date, Content-Type, Content-Length, Last-Modified,
// Connection, ETag, Accept-Ranges.
DecoyResponse Error(int status, bool keep_alive, bool head, int64_t now_unix_s) {
  const std::string body = ErrorPage(StatusText(status));
  DecoyResponse r;
  r.status = status;
  r.close = !keep_alive;
  r.bytes = StatusLine(status) + "Server: nginx\r\nDate: " + DecoySite::HttpDate(now_unix_s) +
            "\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: " + (keep_alive ? "keep-alive" : "close") + "\r\n\r\n";
  if (!head) r.bytes += body;
  return r;
}

}  // namespace

bool DecoySite::IsPage(std::string_view path) { return FindFile(path) != nullptr; }

std::string DecoySite::HttpDate(int64_t unix_s) {
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

DecoyResponse DecoySite::BadRequest(int64_t now_unix_s) const { return Error(400, false, false, now_unix_s); }

DecoyResponse DecoySite::PayloadTooLarge(int64_t now_unix_s) const {
  return Error(413, false, false, now_unix_s);
}

DecoyResponse DecoySite::NotFound(bool keep_alive, int64_t now_unix_s) const {
  return Error(404, keep_alive, false, now_unix_s);
}

DecoyResponse DecoySite::Respond(const DecoyRequest& request, int64_t now_unix_s) const {
  if (!IsNginxMethod(request.method)) return BadRequest(now_unix_s);
  const bool head = request.method == "HEAD";
  // A bad target to HEAD gets the 400's headers without its body, as from nginx,
  // whose header filter drops the body of every answer to HEAD (found by
  // decoy_site_fuzzer: a prober could tell the two apart).
  const std::optional<std::string> path = NormalisePath(request.target);
  if (!path) return Error(400, false, head, now_unix_s);
  const bool get = request.method == "GET";
  // ngx_http_static_handler: anything but GET, HEAD and POST is refused outright; POST
  // to an existing file is refused, to a missing one is 404.
  if (!get && !head && request.method != "POST") return Error(405, request.keep_alive, false, now_unix_s);
  const DecoyFile* file = FindFile(*path);
  if (file == nullptr) return Error(404, request.keep_alive, head, now_unix_s);
  if (!get && !head) return Error(405, request.keep_alive, false, now_unix_s);

  const std::string etag = ETag(file->content.size());
  const std::string modified = HttpDate(kSiteModifiedUnixS);
  const std::string connection = request.keep_alive ? "keep-alive" : "close";
  DecoyResponse r;
  r.close = !request.keep_alive;
  // ngx_http_not_modified_filter: If-None-Match wins over If-Modified-Since, which
  // nginx compares exactly (if_modified_since exact).
  const bool not_modified = !request.if_none_match.empty()
                                ? (request.if_none_match == etag || request.if_none_match == "*")
                                : request.if_modified_since == modified;
  if (not_modified) {
    r.status = 304;
    r.bytes = StatusLine(304) + "Server: nginx\r\nDate: " + HttpDate(now_unix_s) +
              "\r\nLast-Modified: " + modified + "\r\nConnection: " + connection + "\r\nETag: " + etag +
              "\r\n\r\n";
    return r;
  }
  r.status = 200;
  r.bytes = StatusLine(200) + "Server: nginx\r\nDate: " + HttpDate(now_unix_s) +
            "\r\nContent-Type: " + std::string(ContentType(file->path)) +
            "\r\nContent-Length: " + std::to_string(file->content.size()) + "\r\nLast-Modified: " + modified +
            "\r\nConnection: " + connection + "\r\nETag: " + etag + "\r\nAccept-Ranges: bytes\r\n\r\n";
  if (get) r.bytes += file->content;
  return r;
}

}  // namespace parley::server

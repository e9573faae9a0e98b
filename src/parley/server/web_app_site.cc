// WebAppSite: static files with nginx's headers and header order, the app's security
// headers (add_header ones go after ETag and before Accept-Ranges, as nginx sends them).
#include "parley/server/web_app_site.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace parley::server {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string ETag(int64_t modified_unix_s, size_t length) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%llx-%zx\"", static_cast<unsigned long long>(modified_unix_s), length);
  return buf;
}

// Vite names everything under assets/ by its content hash, so those can be cached for
// a year; everything else (index.html, the service worker, the manifest, icons,
// config.json) is revalidated each time so that an update reaches installed apps.
std::string_view CacheControl(std::string_view file) {
  if (file == "config.json") return "no-store";
  if (file.substr(0, 7) == "assets/") return "max-age=31536000, immutable";
  return "no-cache";
}

std::string AppHeaders(std::string_view file) {
  std::string h;
  h += "Cache-Control: " + std::string(CacheControl(file)) + "\r\n";
  h += "Content-Security-Policy: " + std::string(WebAppSite::kContentSecurityPolicy) + "\r\n";
  h += "Referrer-Policy: no-referrer\r\n";
  h += "X-Content-Type-Options: nosniff\r\n";
  h += "Permissions-Policy: microphone=(self), camera=(), geolocation=()\r\n";
  h += "Cross-Origin-Opener-Policy: same-origin\r\n";
  return h;
}

std::string MovedPermanentlyPage() {
  return "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved "
         "Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
}

}  // namespace

WebAppSite::WebAppSite(WebAppFiles files, Config config) : files_(std::move(files)) {
  nlohmann::json json;
  json["server"] = config.server;
  json["websocket_path"] = config.websocket_path;
  config_json_ = json.dump();
}

std::string_view WebAppSite::ContentType(std::string_view path) {
  if (EndsWith(path, ".html")) return "text/html; charset=utf-8";
  if (EndsWith(path, ".js") || EndsWith(path, ".mjs")) return "application/javascript; charset=utf-8";
  if (EndsWith(path, ".css")) return "text/css; charset=utf-8";
  if (EndsWith(path, ".wasm")) return "application/wasm";
  if (EndsWith(path, ".json") || EndsWith(path, ".map")) return "application/json";
  if (EndsWith(path, ".webmanifest")) return "application/manifest+json";
  if (EndsWith(path, ".png")) return "image/png";
  if (EndsWith(path, ".svg")) return "image/svg+xml";
  if (EndsWith(path, ".ico")) return "image/x-icon";
  if (EndsWith(path, ".txt")) return "text/plain; charset=utf-8";
  if (EndsWith(path, ".woff2")) return "font/woff2";
  return "application/octet-stream";
}

std::optional<DecoyResponse> WebAppSite::Respond(const WebAppRequest& request, int64_t now_unix_s) const {
  const bool head = request.method == "HEAD";
  if ((!head && request.method != "GET") || request.target == nullptr) return std::nullopt;
  const WebAppTarget& target = *request.target;
  const std::string connection = request.keep_alive ? "keep-alive" : "close";
  const std::string date = DecoySite::HttpDate(now_unix_s);
  DecoyResponse r;
  r.close = !request.keep_alive;

  if (target.bare) {
    // nginx's answer for a directory named without its slash (absolute_redirect off,
    // so the Location is the path alone and no Host header is echoed).
    const std::string body = MovedPermanentlyPage();
    std::string location = "/" + std::string(target.invite) + "/";
    if (!target.query.empty()) location += "?" + std::string(target.query);
    r.status = 301;
    r.bytes = "HTTP/1.1 301 Moved Permanently\r\nServer: nginx\r\nDate: " + date +
              "\r\nContent-Type: text/html\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nLocation: " + location + "\r\nConnection: " + connection + "\r\n\r\n";
    if (!head) r.bytes += body;
    return r;
  }

  if (target.file == "config.json") {
    r.status = 200;
    r.bytes = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: " + date +
              "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(config_json_.size()) +
              "\r\nConnection: " + connection + "\r\n" + AppHeaders(target.file) + "\r\n";
    if (!head) r.bytes += config_json_;
    return r;
  }

  const WebAppFile* file = files_.Find(target.file);
  if (file == nullptr) return std::nullopt;
  const std::string etag = ETag(file->modified_unix_s, file->content.size());
  const std::string modified = DecoySite::HttpDate(file->modified_unix_s);
  // ngx_http_not_modified_filter: If-None-Match wins; If-Modified-Since compared exactly.
  const bool not_modified = !request.if_none_match.empty()
                                ? (request.if_none_match == etag || request.if_none_match == "*")
                                : request.if_modified_since == modified;
  if (not_modified) {
    r.status = 304;
    r.bytes = "HTTP/1.1 304 Not Modified\r\nServer: nginx\r\nDate: " + date + "\r\nLast-Modified: " + modified +
              "\r\nConnection: " + connection + "\r\nETag: " + etag + "\r\n" + AppHeaders(target.file) + "\r\n";
    return r;
  }
  r.status = 200;
  r.bytes = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: " + date + "\r\nContent-Type: " +
            std::string(ContentType(target.file)) + "\r\nContent-Length: " + std::to_string(file->content.size()) +
            "\r\nLast-Modified: " + modified + "\r\nConnection: " + connection + "\r\nETag: " + etag + "\r\n" +
            AppHeaders(target.file) + "Accept-Ranges: bytes\r\n\r\n";
  if (!head) r.bytes += file->content;
  return r;
}

}  // namespace parley::server

// The web app as the web front serves it at a live invite's path: the built files with
// nginx's static-file behaviour (ETag, Last-Modified, 304, the directory 301) plus the
// headers an app holding keys needs, and the generated config.json. Logic without I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parley/server/decoy_site.h"
#include "parley/server/web_app_files.h"
#include "parley/server/web_app_target.h"

namespace parley::server {

// The parts of a request the app looks at; views live for the call only. The invite
// in `target` has already been found live.
struct WebAppRequest {
  std::string_view method;
  const WebAppTarget* target = nullptr;
  bool keep_alive = true;
  std::string_view if_none_match;
  std::string_view if_modified_since;
};

// Immutable; Respond may be called from any thread.
class WebAppSite {
 public:
  // What the page reads from `config.json` (docs/protocol.md, "Web app and invites").
  struct Config {
    std::string server;          // the name the hub sends in `hello` and clients sign
    std::string websocket_path;  // signaling at wss://<page host> + this; media at + "/m/<ticket>"
  };

  WebAppSite(WebAppFiles files, Config config);

  // 200 or 304 for GET/HEAD of an app file or config.json, 301 to "/<invite>/" for the
  // bare invite. Nothing for other methods and for files the app does not have: the
  // caller answers those as the decoy site does, so that such requests look exactly
  // like any missing page.
  std::optional<DecoyResponse> Respond(const WebAppRequest& request, int64_t now_unix_s) const;

  // The Content-Security-Policy every app response carries: only this origin, wasm
  // compilation for libsodium and the Opus fallback, WebSockets to this host
  // ('self' covers wss: to the same host and port, CSP Level 3 §6.7.2.8).
  static constexpr std::string_view kContentSecurityPolicy =
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
      "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; worker-src 'self'; "
      "manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
      "frame-ancestors 'none'";

  // "text/html; charset=utf-8", "application/wasm", ... by extension (nginx's mime.types,
  // with charset utf-8 for text).
  static std::string_view ContentType(std::string_view path);

  const std::string& config_json() const { return config_json_; }

 private:
  WebAppFiles files_;
  std::string config_json_;
};

}  // namespace parley::server

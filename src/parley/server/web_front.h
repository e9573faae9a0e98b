// parleyd's TLS web front on one TCP port: the decoy website for everyone, and
// WebSocket signaling for a proper upgrade on the configured path (Boost.Beast over
// OpenSSL; all of Beast stays in web_front.cc behind this header).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "parley/base/result.h"
#include "parley/server/invite_directory.h"
#include "parley/server/media_relay_routes.h"
#include "parley/server/relay_ticket.h"
#include "parley/server/signaling_sink.h"
#include "parley/server/tls_certificate.h"

namespace boost::asio {
class io_context;
}

namespace parley::server {

class WebAppSite;  // web_app_site.h

struct WebFrontOptions {
  std::string host = "127.0.0.1";  // an IP address
  uint16_t port = 0;               // 0 = any free port (see bound_port)
  std::string websocket_path;      // exact request target of the signaling upgrade
  std::chrono::milliseconds tls_handshake_timeout{10000};  // TCP accept to TLS done
  std::chrono::seconds http_keepalive_timeout{75};  // limit on reading each HTTP request
  std::chrono::seconds websocket_idle_timeout{60};  // pings at half; closes when silent
  // A signaling WebSocket whose login (a SignalingSend with logged_in) has not come
  // this long after the upgrade is closed (1008, "log in first"): one that answers
  // pings but never logs in would otherwise hold a connection slot for ever. 0 = off.
  std::chrono::seconds login_timeout{30};
  size_t max_message_bytes = 64 * 1024;     // larger WebSocket messages close with 1009
  size_t max_queued_bytes = 1024 * 1024;    // a reader this far behind is closed
  size_t max_request_body_bytes = 1 << 20;  // nginx's client_max_body_size: 413 above
  int64_t max_connections = 1024;
  int64_t max_connections_per_ip = 32;

  // Media over TLS (docs/protocol.md, "Media over TLS"): an upgrade at websocket_path +
  // "/m/" + base64url(relay ticket) whose ticket verifies becomes a media WebSocket,
  // bridged datagram for frame to the relay's bridge socket on 127.0.0.1. Off while
  // media_tickets is null or relay_bridge_port is 0 (media targets then get the 404
  // any missing page gets). media_tickets must outlive the WebFront.
  const RelayTicketIssuer* media_tickets = nullptr;
  uint16_t relay_bridge_port = 0;
  // A media upgrade whose target names a relay (the call's, as the `relay` message gave
  // it) is bridged where this says: this node's relay through relay_bridge_port, or a
  // relay the community knows over UDP from the connection's own socket, as an
  // ordinary relay participant. Nothing (a relay nobody here knows, never an address a
  // client made up: an SSRF) gets the decoy's 404 as a bad ticket does. Called on the
  // hub strand, since it may ask the node bus. Null: only upgrades naming no relay
  // (this node's own) are accepted.
  std::function<std::optional<MediaRelayRoute>(const std::string& host, uint16_t port)> media_relay_route;
  size_t max_media_frame_bytes = 1472;   // the largest UDP payload on a 1500-byte MTU; larger closes with 1009
  size_t max_media_queue_frames = 32;    // toward the client (~0.6 s of audio); the oldest is dropped beyond
  size_t max_media_queue_bytes = 48 * 1024;
  std::chrono::seconds media_idle_timeout{30};  // nothing from the client (not even a ping): closed

  // The web app (docs/protocol.md, "Web app and invites"): GET/HEAD of /<invite>/... is
  // answered from web_app when `invites` finds the invite live; every other target, a
  // wrong or revoked invite, and a file the app does not have get the decoy's answer.
  // Off while either is null. Both must outlive the WebFront.
  const WebAppSite* web_app = nullptr;
  InviteDirectory* invites = nullptr;
};

// Counters for tests and the operator's log; all since Start.
struct WebFrontStats {
  int64_t open_connections = 0;
  int64_t refused_over_cap = 0;     // closed at accept: total or per-IP cap reached
  int64_t handshake_failures = 0;   // TLS handshake failed or timed out
  int64_t websocket_sessions = 0;   // upgrades that reached the sink
  int64_t media_sessions = 0;       // media upgrades accepted (ticket verified)
  int64_t media_refused = 0;        // upgrades off the signaling path without a valid ticket: decoy 404
  int64_t media_relay_refused = 0;  // valid tickets naming a relay nobody here knows: decoy 404
  int64_t media_frames_dropped = 0;  // toward clients, dropped oldest-first by the queue cap
  int64_t app_responses = 0;         // answered from the web app (live invite)
  int64_t foreign_origin_refused = 0;  // upgrades with an Origin other than this host: decoy
};

// Behaviour a prober sees (docs/protocol.md, "Web front"): TLS 1.2/1.3 with ALPN
// http/1.1 only (h2 is not implemented: a client offering only h2 gets no ALPN and
// speaks HTTP/1.1, like an nginx without http2); HTTP/1.1 keep-alive; the decoy site's
// exact responses for every request that is not a valid WebSocket upgrade on
// websocket_path, including a plain GET to websocket_path (404), for every media
// upgrade whose ticket does not verify, for every upgrade whose Origin header (sent by
// browsers, never by the native client) is not https:// + its own Host, and for every
// app path whose invite is not live. Binary frames on the signaling WebSocket are
// refused (close 1003); media has its own WebSocket (see WebFrontOptions).
//
// Threads: any number of threads may run the io_context. Each connection runs on its
// own strand; the sink is called on one hub strand only. Lifetimes: the io_context,
// the sink and this object must outlive every handler: call Stop(), let
// io_context::run() return, then destroy the WebFront, then the sink.
class WebFront {
 public:
  // Binds and starts accepting. Errors (address in use, bad certificate) are one
  // sentence naming the address or file.
  static Result<std::unique_ptr<WebFront>> Start(boost::asio::io_context& ioc, const TlsCertificate& certificate,
                                                 SignalingSink& sink, WebFrontOptions options);
  ~WebFront();
  WebFront(const WebFront&) = delete;
  WebFront& operator=(const WebFront&) = delete;

  uint16_t bound_port() const;
  // Stops accepting and closes every connection (WebSockets with 1001 going away);
  // the sink gets OnDisconnect for each. Any thread; idempotent.
  void Stop();
  WebFrontStats stats() const;
  // Hands an envelope from another node (NodeBus's receiver, on the bus's thread) to
  // the sink's OnEnvelope on the hub strand. Any thread.
  void PostToHub(NodeEnvelope envelope);

  struct Shared;  // state the sessions share; defined in web_front.cc

 private:
  explicit WebFront(std::shared_ptr<Shared> shared);
  std::shared_ptr<Shared> shared_;
};

}  // namespace parley::server

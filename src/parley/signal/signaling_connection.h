// The client's signaling connection to parleyd: a WebSocket over TLS over TCP with the
// server certificate pinned (Boost.Beast over OpenSSL, all of it in the .cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/signal/signaling_endpoint.h"

namespace parley::signal {

struct SignalingOptions {
  // Only when the endpoint has no pin: refuse a certificate that does not verify
  // against the system's CAs for the host name (a server with a CA-issued
  // certificate) instead of trusting whatever is shown on first use.
  bool require_ca_when_unpinned = false;
  // With no traffic for half of this a ping goes out; a connection silent for all of
  // it is closed as dead. parleyd pings at 30 s and drops at 60 s of silence.
  Duration idle_timeout = seconds(40);
  // Larger incoming messages close the connection (1009); parleyd's own cap is 64 KiB.
  std::size_t max_message_bytes = 64 * 1024;
};

// One open signaling connection; messages are the JSON text of messages.h.
//
// The TLS handshake looks like a browser's as far as OpenSSL allows
// (net::ConfigureBrowserLikeClient, shared with media over TLS): SNI = the host unless
// it is an IP address, ALPN h2,http/1.1 (an h2 answer is refused: we speak HTTP/1.1). The
// certificate is checked during the handshake, before anything else is sent:
//  - with a pin, the leaf's SHA-256 must equal it (CA validation plays no part);
//  - without one, the connection proceeds (trust on first use) and
//    peer_fingerprint_sha256() tells the caller what to pin from now on, unless
//    require_ca_when_unpinned demands a CA-valid chain for the host.
// Then a WebSocket upgrade (RFC 6455) at the path, with a browser's User-Agent, Origin
// and cache headers.
//
// Threads: the connection runs its own io_context thread. Every public method may be
// called from any thread. Incoming messages wait in a queue until Receive takes them;
// event_fd() is readable whenever Receive would return at once, so an event loop can
// poll() it beside stdin and the relay socket. The destructor closes (waiting up to
// 1 s for the close handshake) and joins the thread.
class SignalingConnection {
 public:
  // Connects, within `timeout` for all of name lookup, TCP, TLS and the upgrade;
  // blocks the calling thread meanwhile. Errors are one sentence, e.g.
  //   "cannot reach example.org:8443: connection refused ..."
  //   "the server's certificate changed: expected <pin>, got <seen> — if the operator
  //    replaced it, run parley init again; otherwise someone may be intercepting ..."
  //   "example.org:8443 does not serve Parley at this path (got HTTP 404); ..."
  //   "timed out after 5 s connecting to example.org:8443 (during the TLS handshake); ..."
  static Result<std::unique_ptr<SignalingConnection>> Connect(const SignalingEndpoint& endpoint, Duration timeout,
                                                              SignalingOptions options = {});
  ~SignalingConnection();
  SignalingConnection(const SignalingConnection&) = delete;
  SignalingConnection& operator=(const SignalingConnection&) = delete;

  // Queues one text message; messages go out in the order Send was called, one write
  // in flight at a time. Returns false (and drops it) if the connection is closed.
  bool Send(std::string text);

  // The next received message, waiting up to `wait` for one. nullopt on timeout or
  // when the connection is closed and every message received before has been taken
  // (then connected() is false and close_reason() says why). Receive(Duration::zero())
  // never blocks.
  std::optional<std::string> Receive(Duration wait);

  // An eventfd that is readable (POLLIN) while a message is waiting or the connection
  // has closed; Receive resets it. Owned by this object; do not read or close it.
  int event_fd() const;

  // True from Connect until the connection closes for any reason.
  bool connected() const;
  // Why it closed, one sentence for the user, e.g. "the server closed the connection
  // (1001 going away)"; empty while connected.
  std::string close_reason() const;
  // Starts the closing handshake (close 1000); Receive then drains what had arrived.
  // Idempotent; does not block.
  void Close();

  // SHA-256 of the certificate the server presented, in the pin format (64 lower-case
  // hex digits). What to store after a trust-on-first-use connection.
  const std::string& peer_fingerprint_sha256() const;
  // True if the certificate was checked against a pin (false: trusted on first use or
  // by CA).
  bool pinned() const;
  // True if the chain verified against the system CAs for the host name (checked only
  // when there was no pin).
  bool ca_verified() const;

  struct Impl;  // the Beast state; defined in signaling_connection.cc

 private:
  explicit SignalingConnection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::signal

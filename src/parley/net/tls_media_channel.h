// The client's carrier for media over TLS: a WebSocket over TLS to parleyd's web front,
// upgraded at the media target with the relay ticket, carrying one client<->relay
// datagram per binary frame, reconnecting by itself (docs/protocol.md, "Media over TLS").
// Boost.Beast over OpenSSL, all of it in the .cc behind a pimpl.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"
#include "parley/base/time.h"
#include "parley/net/tls_media_target.h"

namespace parley::net {

struct TlsMediaEndpoint {
  std::string host;            // DNS name (sent as SNI and Host) or IP literal (no SNI)
  uint16_t port = 0;           // the web front's TCP port (443 in production)
  std::string signaling_path;  // the signaling WebSocket path; the media target extends it
  std::string pin_sha256;      // the certificate the signaling connection saw: required
  std::vector<uint8_t> ticket;  // the relay ticket from the `relay` message
  // The relay the front is asked to bridge to (the `relay` message's host and port);
  // none: the front's own relay (docs/protocol.md, "Media over TLS").
  std::optional<MediaTargetRelay> relay;
};

struct TlsMediaChannelOptions {
  Duration connect_timeout = seconds(5);     // lookup + TCP + TLS + upgrade, per attempt
  Duration idle_timeout = seconds(20);       // a ping at half; closed (and redialled) when silent
  Duration first_retry = milliseconds(250);  // reconnect backoff: doubles per failure...
  Duration max_retry = seconds(4);           // ...up to this; reset by a successful upgrade
  std::size_t max_frame_bytes = 1472;        // larger datagrams are refused (both ways)
  std::size_t max_queued_frames = 32;        // each way; the oldest is dropped beyond
  std::size_t max_queued_bytes = 48 * 1024;
};

// Counters since Open. Readable from any thread.
struct TlsMediaChannelStats {
  uint64_t frames_sent = 0;       // written to the WebSocket
  uint64_t bytes_sent = 0;        // payload bytes of those frames
  uint64_t frames_dropped = 0;    // refused by Send (not upgraded, too big) or pushed out of a queue
  uint64_t frames_received = 0;   // binary frames handed to Receive's queue
  uint64_t bytes_received = 0;
  uint64_t upgrades = 0;          // successful media upgrades (1 + reconnects)
  uint64_t failed_attempts = 0;   // connection attempts that failed or died
};

// Lifecycle: Open starts connecting in the background and returns at once. Whenever a
// connection fails or dies it is redialled after a backoff, each time re-authenticating
// with the ticket, until the object is destroyed; only a definite refusal (certificate
// not the pinned one, or the front answering the upgrade with a 404: the ticket is
// not valid there) stops it, and then open() turns false and last_error() says why.
// Frames queued for a connection that dies are dropped (stale audio is useless).
//
// Threads: its own io thread does all I/O. Every public method may be called from any
// thread; Send never blocks (it queues to the io thread), Receive pops from a locked
// queue. fd() is an eventfd readable while Receive has something. The destructor
// closes the connection (without waiting for a close handshake) and joins the thread.
class TlsMediaChannel {
 public:
  static Result<std::unique_ptr<TlsMediaChannel>> Open(TlsMediaEndpoint endpoint, TlsMediaChannelOptions options = {});
  ~TlsMediaChannel();
  TlsMediaChannel(const TlsMediaChannel&) = delete;
  TlsMediaChannel& operator=(const TlsMediaChannel&) = delete;

  // Queues one datagram as one binary frame. False (dropped) while no connection is
  // upgraded, or if it is empty or over max_frame_bytes.
  bool Send(std::span<const uint8_t> datagram);
  // The next datagram that arrived, or nullopt. Never blocks.
  std::optional<std::vector<uint8_t>> Receive();
  int fd() const;

  // True while a connection is upgraded. upgrades() grows by one with every new
  // connection, so a user can tell that it must re-bind at the relay.
  bool upgraded() const;
  uint64_t upgrades() const;
  // False once the channel gave up for good (see above).
  bool open() const;
  // Why the last attempt failed or the connection ended, one sentence; empty if never.
  std::string last_error() const;
  TlsMediaChannelStats stats() const;
  // "relay-tls host:port"
  std::string description() const;

  struct Impl;  // defined in tls_media_channel.cc

 private:
  explicit TlsMediaChannel(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace parley::net

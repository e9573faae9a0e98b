// The relay over TLS as a PacketPath (kind kRelayTls): the relay session's datagrams
// (binds, acks, sealed packets) carried by a TlsMediaChannel, one per WebSocket frame.
// docs/protocol.md, "Media over TLS".
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "parley/net/packet_path.h"
#include "parley/net/relay_client_session.h"
#include "parley/net/tls_media_channel.h"

namespace parley::net {

// Where the TLS path goes: the web front parleyd serves signaling on.
struct TlsRelayPathTarget {
  std::string host;            // the server's name (SNI, Host) or an IP literal
  uint16_t port = 0;           // the web front's TCP port
  std::string signaling_path;  // the signaling WebSocket path
  std::string pin_sha256;      // the certificate the signaling connection accepted
  // The relay the call was given (the `relay` message's host and port): the front
  // bridges to it, so a peer on relay UDP and this path meet at the same relay. None:
  // the front's own relay (docs/protocol.md, "Media over TLS").
  std::optional<MediaTargetRelay> relay;
};

// Threads: as PacketPath (Send, Receive, Tick from the media thread; the rest from
// any thread). The channel's io thread does the I/O; this object only wraps and
// unwraps. Every new connection of the channel (a redial) makes the session bind
// again, since the relay sees a new bridge address; ready() is false until it is acked.
class TlsRelayPath final : public PacketPath {
 public:
  static Result<std::unique_ptr<TlsRelayPath>> Open(TlsRelayPathTarget target, RelayCredentials credentials,
                                                    TimePoint ticket_received_at,
                                                    TlsMediaChannelOptions channel_options = {},
                                                    RelayClientSessionOptions session_options = {});

  Status Send(std::span<const uint8_t> sealed, TimePoint now) override;
  std::optional<std::vector<uint8_t>> Receive(TimePoint now) override;
  void Tick(TimePoint now) override;
  int fd() const override { return channel_->fd(); }
  bool ready() const override { return ready_; }
  bool open() const override { return channel_->open(); }
  PathKind kind() const override { return PathKind::kRelayTls; }
  std::string description() const override { return channel_->description(); }
  PacketPathStats stats() const override;

  // Why the carrier last failed, for `parley doctor` and logs; empty if it never did.
  std::string last_error() const { return channel_->last_error(); }

 private:
  TlsRelayPath(std::unique_ptr<TlsMediaChannel> channel, RelayClientSession session);
  // A redial happened since the last look: the relay must learn the new bridge address.
  void NoticeReconnect();

  std::unique_ptr<TlsMediaChannel> channel_;
  RelayClientSession session_;  // media thread only
  uint64_t upgrades_seen_ = 0;  // media thread only
  std::atomic<bool> ready_{false};
  // Written by the media thread, read by stats() from any thread.
  std::atomic<uint64_t> packets_sent_{0}, send_failures_{0}, packets_received_{0}, bytes_received_{0},
      dropped_received_{0};
};

}  // namespace parley::net
